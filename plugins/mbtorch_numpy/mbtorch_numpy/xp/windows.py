"""Native kernels of the sliding-window composites (``IM2COL``, ``COL2IM``, ``MAX_POOL``) for
NumPy-compatible array modules, merged into ``composites``. They take the decompositions'
arguments (``mbtorch/core/ops/windows.py``) with arrays in place of tensors and return the
same values; what they save is the per-window-position dispatch of the decompositions:
one strided copy for im2col, one strided add per kernel position for col2im, and for max
pooling a chain of elementwise maxima over the kernel positions (no copy of the windows)."""

from __future__ import annotations

__all__ = ["build"]

import itertools
from typing import Any, Callable

from mbtorch.core.op import Op
from mbtorch.core.ops.windows import ceil_extra

from .primitives import HALF


def build(xp: Any) -> dict[Op, Callable]:
    as_strided = xp.lib.stride_tricks.as_strided

    def out_sizes(spatial, kernel, dilation, stride):
        return tuple((spatial[i] - dilation[i] * (k - 1) - 1) // stride[i] + 1
                     for i, k in enumerate(kernel))

    def windows(x, kernel, dilation, stride):
        """(N, C, *kernel, *out) strided view of ``x``'s windows."""
        out = out_sizes(x.shape[2:], kernel, dilation, stride)
        st = x.strides
        n = len(kernel)
        strides = st[:2] + tuple(st[2 + i] * dilation[i] for i in range(n)) + \
            tuple(st[2 + i] * stride[i] for i in range(n))
        return as_strided(x, x.shape[:2] + tuple(kernel) + out, strides)

    def im2col(x, kernel, dilation, stride):
        win = windows(x, kernel, dilation, stride)
        n = len(kernel)
        return xp.ascontiguousarray(win).reshape(
            x.shape[0], x.shape[1] * _prod(kernel), _prod(win.shape[2 + n:]))

    def col2im(cols, spatial, kernel, dilation, stride):
        out_sp = out_sizes(spatial, kernel, dilation, stride)
        batch = cols.shape[0]
        parts = cols.reshape((batch, cols.shape[1] // _prod(kernel)) + tuple(kernel) + out_sp)
        # float16/bfloat16 sum in float32 and round once
        acc_dtype = xp.float32 if cols.dtype.char in HALF else cols.dtype
        z = xp.zeros((batch, parts.shape[1]) + tuple(spatial), acc_dtype)
        # Adding a window position's values into its strided region of z runs NumPy's inner
        # loop over rows of out_sp[-1] elements only. Per position of the last kernel dim,
        # the other positions are summed first into ``acc``, whose rows are whole (regions
        # along the other dims are contiguous runs of rows), and acc is then added into z:
        # one strided add per position of the last kernel dim instead of per position.
        acc = xp.empty(z.shape[:-1] + out_sp[-1:], acc_dtype)
        lead = (slice(None), slice(None))
        for last in range(kernel[-1]):
            acc.fill(0)
            for pos in itertools.product(*[range(k) for k in kernel[:-1]]):
                acc[lead + tuple(_span(p, dilation[i], stride[i], out_sp[i])
                                 for i, p in enumerate(pos))] += parts[lead + pos + (last,)]
            z[(Ellipsis, _span(last, dilation[-1], stride[-1], out_sp[-1]))] += acc
        return z.astype(cols.dtype, copy=False)

    def max_pool(x, kernel, stride, padding, dilation, ceil_mode):
        n = len(kernel)
        spatial = x.shape[2:]
        extra = [ceil_extra(spatial[i], kernel[i], stride[i], padding[i], dilation[i],
                             ceil_mode) for i in range(n)]
        floating = x.dtype.kind == "f" or x.dtype.char in HALF
        if any(padding) or any(extra):
            pads = [(0, 0), (0, 0)] + [(padding[i], padding[i] + extra[i]) for i in range(n)]
            x = xp.pad(x, pads, constant_values=-xp.inf if floating else xp.iinfo(x.dtype).min)
        win = windows(x, kernel, dilation, stride)  # (N, C, *k, *out)
        positions = list(itertools.product(*[range(k) for k in kernel]))
        parts = [win[(slice(None), slice(None)) + pos] for pos in positions]
        best = parts[0]
        for v in parts[1:]:
            best = xp.maximum(best, v)
        if floating and bool(xp.isnan(xp.sum(best))):
            # NaN is the maximum and the first NaN the argmax: the windows' own arg-reduce
            flat = xp.ascontiguousarray(xp.moveaxis(win.reshape(win.shape[:2] + (-1,) +
                                                                win.shape[2 + n:]), 2, -1))
            arg = xp.argmax(flat, axis=-1)
            best = xp.take_along_axis(flat, arg[..., None], -1)[..., 0]
        else:
            arg = xp.zeros(best.shape, xp.int32)
            open_ = xp.ones(best.shape, bool)  # no maximum met yet: the first one wins
            for v in parts[:-1]:
                xp.logical_and(open_, v != best, out=open_)
                arg += open_
        if len(parts) == 1:
            best = best.copy()
        # window-local position -> flat position in the unpadded input
        plane = [_prod(spatial[i + 1:]) for i in range(n)]
        table = xp.asarray([sum(p[i] * dilation[i] * plane[i] for i in range(n))
                            for p in positions], xp.int64)
        base = 0
        for i in range(n):
            shape = [1] * n
            shape[i] = best.shape[2 + i]
            o = xp.arange(best.shape[2 + i], dtype=xp.int64).reshape(shape)
            base = base + (o * stride[i] - padding[i]) * plane[i]
        return best, xp.take(table, arg) + base

    return {Op.IM2COL: im2col, Op.COL2IM: col2im, Op.MAX_POOL: max_pool}


def _span(p: int, dilation: int, stride: int, size: int) -> slice:
    """The positions kernel offset ``p`` reaches along a dim with ``size`` windows."""
    return slice(p * dilation, p * dilation + (size - 1) * stride + 1, stride)


def _prod(xs: Any) -> int:
    n = 1
    for v in xs:
        n *= v
    return n

