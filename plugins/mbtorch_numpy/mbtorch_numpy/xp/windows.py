"""Native kernels of the sliding-window composites (``IM2COL``, ``COL2IM``, ``MAX_POOL``) for
NumPy-compatible array modules, merged into ``composites``. They take the decompositions'
arguments (``mbtorch/core/ops/windows.py``) with arrays in place of tensors and return the
same values; what they save is the per-window-position dispatch of the decompositions:
one strided copy for im2col, one strided add per kernel position for col2im, and for max
pooling running maxima over strided views, one spatial dim at a time (no copy of the
windows)."""

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
        best, arg = _separable_max(xp, x, kernel, stride, dilation)
        positions = list(itertools.product(*[range(k) for k in kernel]))
        if floating and bool(xp.isnan(xp.sum(best))):
            # NaN is the maximum and the first NaN the argmax: the windows' own arg-reduce
            win = windows(x, kernel, dilation, stride)  # (N, C, *k, *out)
            flat = xp.ascontiguousarray(xp.moveaxis(win.reshape(win.shape[:2] + (-1,) +
                                                                win.shape[2 + n:]), 2, -1))
            arg = xp.argmax(flat, axis=-1)
            best = xp.take_along_axis(flat, arg[..., None], -1)[..., 0]
        return best, _flat_index(xp, arg, positions, spatial, stride, padding, dilation)

    return {Op.IM2COL: im2col, Op.COL2IM: col2im, Op.MAX_POOL: max_pool}


def _separable_max(xp: Any, x: Any, kernel: tuple, stride: tuple, dilation: tuple) -> tuple:
    """(maximum over each window of ``x``, the window position of its first occurrence, in
    row-major order over the kernel, as a small unsigned integer). NaN is left to the caller
    (a NaN never compares greater).

    Max is separable: the last dim's windows are reduced first, then the next dim's over those
    maxima, and so on, so that the first maximum in row-major order is found (a row's first
    maximum, taken from the first row holding the overall maximum). Each dim takes one pass per
    window position: a position whose value is greater than the running maximum replaces it
    and its position code. On a contiguous input whose last-dim windows tile its rows (the
    usual 2×2/stride-2 pooling), the last dim's passes run as one long strided loop, and the
    passes over later dims read contiguous runs."""
    code_type = _index_type(xp, _prod(kernel))
    cur, code, inner = x, None, 1
    for i in reversed(range(len(kernel))):
        k, s, d = kernel[i], stride[i], dilation[i]
        span = (cur.shape[2 + i] - d * (k - 1) - 1) // s * s + 1
        lead = (slice(None),) * (2 + i)
        parts = [lead + (slice(j * d, j * d + span, s),) for j in range(k)]
        best = cur[parts[0]].copy()
        pos = xp.zeros(best.shape, code_type) if code is None else code[parts[0]].copy()
        ahead = xp.empty(best.shape, bool)
        step = xp.empty(best.shape, code_type)
        for j in range(1, k):
            v = cur[parts[j]]
            xp.greater(v, best, out=ahead)
            xp.maximum(v, best, out=best)
            if code is None:  # positions only grow: a maximum records the new one
                xp.multiply(ahead, j * inner, out=step, dtype=code_type)
                xp.maximum(pos, step, out=pos)
            else:  # pos += ahead * (code at j + j * inner - pos), wrapping as unsigned
                xp.subtract(code[parts[j]], pos, out=step)
                xp.add(step, code_type(j * inner), out=step)
                xp.multiply(step, ahead, out=step)
                xp.add(pos, step, out=pos)
        cur, code, inner = best, pos, inner * k
    return cur, code


def _flat_index(xp: Any, arg: Any, positions: list, spatial: tuple, stride: tuple,
                padding: tuple, dilation: tuple) -> Any:
    """Window-local positions ``arg`` (of ``(N, C, *out)`` windows) -> int64 flat positions in
    each plane of the unpadded input."""
    n = len(spatial)
    plane = [_prod(spatial[i + 1:]) for i in range(n)]
    table = xp.asarray([sum(p[i] * dilation[i] * plane[i] for i in range(n))
                        for p in positions], xp.int64)
    base = 0
    for i in range(n):
        shape = [1] * n
        shape[i] = arg.shape[2 + i]
        o = xp.arange(arg.shape[2 + i], dtype=xp.int64).reshape(shape)
        base = base + (o * stride[i] - padding[i]) * plane[i]
    index = xp.take(table, arg)
    xp.add(index, base, out=index)
    return index


def _index_type(xp: Any, count: int) -> Any:
    """The smallest unsigned type that holds the window positions ``0 .. count - 1``."""
    return xp.uint8 if count <= 256 else xp.uint16 if count <= 65536 else xp.int64


def _span(p: int, dilation: int, stride: int, size: int) -> slice:
    """The positions kernel offset ``p`` reaches along a dim with ``size`` windows."""
    return slice(p * dilation, p * dilation + (size - 1) * stride + 1, stride)


def _prod(xs: Any) -> int:
    n = 1
    for v in xs:
        n *= v
    return n

