"""Compiled kernels for the cpu device's 2-D sliding windows: ``MAX_POOL``, ``IM2COL`` and
``COL2IM`` over two spatial dims, float32 and float64, compiled by Numba.

Why: in a CNN training step these were NumPy's slowest kernels. NumPy can only express them
as passes over strided views whose rows are a window's width long (max pooling: a compare, a
max and position bookkeeping per window position; im2col and col2im: one strided copy or add
per kernel position), and those short rows, not the arithmetic, set their speed. One loop over the
output elements does the same work in one pass.

Each kernel is compiled for one window geometry (kernel size, stride, dilation: constants of
a closure), which lets the compiler unroll the window loops: with the geometry as run-time
arguments the same loops ran four to five times slower. So a model compiles one kernel per
distinct pooling/convolution geometry and dtype (about half a second each, at first use);
the machine code is cached on disk (``cache=True``: next to this module, or in Numba's
per-user cache where that is read-only), so later processes load it instead of compiling
(about 0.2 s for the first kernel, most of it Numba's own start-up). Numba is imported at
the first 2-D window op, not with the plugin (its import takes about 0.4 s). The
kernels release the GIL (``nogil``): threads running inference on one model overlap in them.

What runs here keeps the semantics of the shared kernels (``mbtorch_numpy/xp/windows.py``):
the window's maximum with the row-major position of its first maximum, a NaN counting as the
maximum and the first NaN its position (as the decomposition's argmax); padding and
``ceil_mode``'s partial windows as the shared kernel pads (with -inf); col2im sums each
element's contributions in row-major kernel order (its own rounding order: equal to the NumPy
kernel's within the dtype's tolerance, not bit for bit). NaN is found per window from the sum
of its values (a NaN anywhere makes it NaN; so does inf - inf, which only costs the slower
exact pass for that window), so the running maximum needs one comparison per element.
Integer and half-precision dtypes and 1-D/3-D windows take the NumPy kernels.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import numpy as np

from mbtorch.core.ops.windows import ceil_extra, out_size

from . import FLOATS

__all__ = ["max_pool", "col2im", "im2col", "im2col_out", "takes"]

def takes(x: Any, kernel: tuple) -> bool:
    """Whether the compiled kernels handle an array ``x`` with windows ``kernel``."""
    return len(kernel) == 2 and x.dtype in FLOATS and 0 not in x.shape


@functools.lru_cache(maxsize=None)
def _max_pool2d(kh: int, kw: int, sh: int, sw: int, dh: int, dw: int) -> Callable:
    import numba

    @numba.njit(cache=True, nogil=True, boundscheck=False)
    def kernel(x, ph, pw, width, best, index):
        # x: padded (N, C, H, W) contiguous; index: flat positions in the unpadded plane
        n_, c_ = x.shape[0], x.shape[1]
        oh, ow = best.shape[2], best.shape[3]
        for n in range(n_):
            for c in range(c_):
                for i in range(oh):
                    for j in range(ow):
                        h0, w0 = i * sh, j * sw
                        m = x[n, c, h0, w0]
                        s = m - m
                        arg = 0
                        for a in range(kh):
                            for b in range(kw):
                                v = x[n, c, h0 + a * dh, w0 + b * dw]
                                s += v
                                if v > m:
                                    m = v
                                    arg = a * kw + b
                        if s != s:  # a NaN, or inf - inf: the exact pass
                            m = x[n, c, h0, w0]
                            arg = 0
                            for q in range(kh * kw):
                                a, b = q // kw, q % kw
                                v = x[n, c, h0 + a * dh, w0 + b * dw]
                                if v != v:
                                    m, arg = v, q
                                    break
                                if v > m:
                                    m, arg = v, q
                        best[n, c, i, j] = m
                        a, b = arg // kw, arg % kw
                        index[n, c, i, j] = (h0 + a * dh - ph) * width + (w0 + b * dw - pw)

    return kernel


@functools.lru_cache(maxsize=None)
def _unfold2d(kh: int, kw: int, dh: int, dw: int, sh: int, sw: int, fold: bool) -> Callable:
    """im2col (``fold`` false: the image's windows copied into ``cols``) or col2im, its
    adjoint (``fold`` true: ``cols`` added back into the zeroed image), one loop nest."""
    import numba

    @numba.njit(cache=True, nogil=True, boundscheck=False)
    def kernel(image, oh, ow, cols):
        n_, c_ = image.shape[0], image.shape[1]
        for n in range(n_):
            for c in range(c_):
                for a in range(kh):
                    for b in range(kw):
                        row = (c * kh + a) * kw + b
                        for i in range(oh):
                            h = i * sh + a * dh
                            for j in range(ow):
                                if fold:  # a constant of the closure: compiled away
                                    image[n, c, h, j * sw + b * dw] += cols[n, row, i * ow + j]
                                else:
                                    cols[n, row, i * ow + j] = image[n, c, h, j * sw + b * dw]

    return kernel


def _windows(spatial: tuple, kernel: tuple, dilation: tuple, stride: tuple) -> tuple:
    return tuple(out_size(spatial[i], kernel[i], stride[i], 0, dilation[i]) for i in range(2))


def max_pool(shared: Callable) -> Callable:
    """The ``MAX_POOL`` kernel: compiled for 2-D float32/float64, else ``shared``."""

    def kernel(x, kernel, stride, padding, dilation, ceil_mode):
        if not takes(x, kernel):
            return shared(x, kernel, stride, padding, dilation, ceil_mode)
        extra = [ceil_extra(x.shape[2 + i], kernel[i], stride[i], padding[i], dilation[i],
                            ceil_mode) for i in range(2)]
        width = x.shape[3]
        if any(padding) or any(extra):
            x = np.pad(x, [(0, 0), (0, 0)] + [(padding[i], padding[i] + extra[i])
                                              for i in range(2)], constant_values=-np.inf)
        shape = x.shape[:2] + _windows(x.shape[2:], kernel, dilation, stride)
        best = np.empty(shape, x.dtype)
        index = np.empty(shape, np.int64)
        _max_pool2d(*kernel, *stride, *dilation)(np.ascontiguousarray(x), padding[0],
                                                 padding[1], width, best, index)
        return best, index

    return kernel


def col2im(shared: Callable) -> Callable:
    """The ``COL2IM`` kernel: compiled for 2-D float32/float64, else ``shared``."""

    def kernel(cols, spatial, kernel, dilation, stride):
        if not takes(cols, kernel):
            return shared(cols, spatial, kernel, dilation, stride)
        oh, ow = _windows(spatial, kernel, dilation, stride)
        channels = cols.shape[1] // (kernel[0] * kernel[1])
        z = np.zeros((cols.shape[0], channels) + tuple(spatial), cols.dtype)
        _unfold2d(*kernel, *dilation, *stride, True)(z, oh, ow, np.ascontiguousarray(cols))
        return z

    return kernel


def im2col(shared: Callable) -> Callable:
    """The ``IM2COL`` kernel: compiled for 2-D float32/float64, else ``shared``."""

    def kernel(x, kernel, dilation, stride):
        if not takes(x, kernel):
            return shared(x, kernel, dilation, stride)
        oh, ow = _windows(x.shape[2:], kernel, dilation, stride)
        cols = np.empty((x.shape[0], x.shape[1] * kernel[0] * kernel[1], oh * ow), x.dtype)
        _unfold2d(*kernel, *dilation, *stride, False)(np.ascontiguousarray(x), oh, ow, cols)
        return cols

    return kernel


def im2col_out(shared: Callable) -> Callable:
    """``IM2COL``'s out kernel (compiled replays' planned buffers): ``out`` is contiguous."""

    def kernel(out, x, kernel, dilation, stride):
        if not takes(x, kernel):
            return shared(out, x, kernel, dilation, stride)
        oh, ow = _windows(x.shape[2:], kernel, dilation, stride)
        _unfold2d(*kernel, *dilation, *stride, False)(np.ascontiguousarray(x), oh, ow, out)

    return kernel
