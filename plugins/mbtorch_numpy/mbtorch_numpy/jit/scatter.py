"""``SCATTER`` along the last dim with a full row of indices per row (max pooling's gradient
writes each window's gradient at its argmax), compiled by Numba for float32/float64 values
and int64 indices: one pass that copies each row of ``x`` and writes its row of ``src``,
where NumPy needs the bounds (two reductions), a flat index array (two more passes and an
int64 temporary) and a fancy-index write. Indices are checked first, so an index out of range
writes nothing and the caller's shared kernel raises PyTorch's error. A repeated index in a
row keeps the last value written, as NumPy's fancy-index write (PyTorch leaves it undefined).
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import numpy as np

from . import FLOATS

__all__ = ["takes", "scatter_rows"]


def takes(x: Any, index: Any, src: Any) -> bool:
    """Whether the compiled kernel handles these operands."""
    return x.dtype in FLOATS and src.dtype == x.dtype and index.dtype == np.int64


@functools.lru_cache(maxsize=None)
def _kernel() -> Callable:
    import numba

    @numba.njit(cache=True, nogil=True, boundscheck=False)
    def kernel(x, index, src, out):
        rows, size = x.shape
        k = index.shape[1]
        for r in range(rows):
            for j in range(k):
                i = index[r, j]
                if i < 0 or i >= size:
                    return False
        for r in range(rows):
            for j in range(size):
                out[r, j] = x[r, j]
            for j in range(k):
                out[r, index[r, j]] = src[r, j]
        return True

    return kernel


def scatter_rows(x: Any, index: Any, src: Any, out: Any | None) -> Any | None:
    """``x`` with ``src`` written at ``index`` along the last dim, in ``out`` (contiguous, of
    x's shape and dtype) or a new array; None when an index is out of range (nothing written).
    The caller has checked ``takes`` and that index and src have x's shape but the last dim."""
    size = x.shape[-1]
    rows = x.size // size
    result = np.empty(x.shape, x.dtype) if out is None else out
    done = _kernel()(x.reshape(rows, size), index.reshape(rows, -1), src.reshape(rows, -1),
                     result.reshape(rows, size))
    return result if done else None
