"""Native kernels of the spectral composites (``EIGH``, ``SVD``) for NumPy-compatible array
modules, merged into ``composites``: ``xp.linalg.eigh`` and ``xp.linalg.svd`` (LAPACK on the
CPU, cuSOLVER under CuPy), batched over leading dims, in the input's precision. They take the
decompositions' arguments (``mbtorch/core/ops/spectral.py``) with arrays in place of tensors;
``eigh`` returns ascending eigenvalues and ``svd`` descending singular values, as the ops
promise. A LAPACK failure to converge becomes ``mbtorch.linalg.LinAlgError``."""

from __future__ import annotations

__all__ = ["build"]

from typing import Any, Callable

import numpy as np

from mbtorch.core.op import Op
from mbtorch.core.ops.solvers import LinAlgError


def build(xp: Any) -> dict[Op, Callable]:
    failure = np.linalg.LinAlgError  # what NumPy and CuPy raise

    def eigh(a, uplo):
        try:
            w, v = xp.linalg.eigh(a, UPLO=uplo)
        except failure as exc:
            raise LinAlgError(f"linalg.eigh: The algorithm failed to converge ({exc})") from None
        return w.astype(a.dtype, copy=False), v.astype(a.dtype, copy=False)

    def svd(a, full_matrices):
        try:
            u, s, vh = xp.linalg.svd(a, full_matrices=full_matrices)
        except failure as exc:
            raise LinAlgError(f"linalg.svd: The algorithm failed to converge ({exc})") from None
        return (u.astype(a.dtype, copy=False), s.astype(a.dtype, copy=False),
                vh.astype(a.dtype, copy=False))

    return {Op.EIGH: eigh, Op.SVD: svd}
