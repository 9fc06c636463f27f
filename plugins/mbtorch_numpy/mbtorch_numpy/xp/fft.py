"""Native kernels of the complex-number composites for NumPy-compatible array modules
(``xp.fft`` and ``xp.conj``; CuPy has both under the same names): merged into
``composites.build``'s table. The views between complex and real pairs have no kernel: their
decompositions lay a geometry over the storage's ``reinterpret``, as every view op does."""

from __future__ import annotations

__all__ = ["build"]

from typing import Any, Callable

from mbtorch.core.op import Op


def build(xp: Any) -> dict[Op, Callable]:
    def fft(x, dim, inverse):
        # unnormalised both ways ("forward" puts no 1/n on the inverse); NumPy >= 2 keeps
        # complex64 in single precision, the astype is free there and a cast elsewhere
        if inverse:
            out = xp.fft.ifft(x, axis=dim, norm="forward")
        else:
            out = xp.fft.fft(x, axis=dim)
        return out.astype(x.dtype, copy=False)

    def conj_physical(x):
        return xp.conj(x)

    return {Op.FFT: fft, Op.CONJ_PHYSICAL: conj_physical}
