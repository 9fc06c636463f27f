"""Sliding-window ops behind convolution and pooling: ``IM2COL`` (``F.unfold``), ``COL2IM``
(``F.fold``, the gradient of im2col) and ``MAX_POOL`` (values and flat argmax indices).

Each is a composite: its decomposition is written with views and primitives, so every backend
runs it, and a backend may register a native kernel (the NumPy-compatible ones share theirs in
``mbtorch_numpy/xp/windows.py``). They are ops of their own, rather than inline view chains, because
their gradients are cheap as whole ops (col2im is a handful of strided adds, max pooling's is
one scatter) and slow as the gradients of their parts (one zero-fill and write per window
position per dim, an argmax over a copied window tensor).

Inputs are batched, ``(N, C, *spatial)``, with the spatial rank given by ``len(kernel)``;
padding is the caller's (``CONSTANT_PAD`` first), except for max pooling, whose indices count
positions of the unpadded input as PyTorch's do.
"""

from __future__ import annotations

import itertools
from typing import Sequence

from .. import dtypes as _dt
from ..host import iinfo
from ..op import Op, define
from ..tensor import Tensor
from . import binary as _b
from . import views as _v
from ._common import cast, run
from .creation import arange, zeros
from .gathering import _scatter_run, gather
from .joining import pad_constant
from .reductions import argmax

__all__ = ["out_size", "ceil_extra", "windows", "im2col", "col2im", "max_pool", "max_pool_grad"]


def out_size(size: int, k: int, s: int, p: int, d: int) -> int:
    """Windows along one dim (floor mode)."""
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def ceil_extra(size: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """Padding past the end that ``ceil_mode`` adds (a last partial window that starts inside
    the input or the left padding, as PyTorch)."""
    if not ceil_mode:
        return 0
    out = -(-(size + 2 * p - d * (k - 1) - 1) // s) + 1
    if (out - 1) * s >= size + p:
        out -= 1
    return max(0, (out - 1) * s + d * (k - 1) + 1 - (size + 2 * p))


def _prod(xs: Sequence[int]) -> int:
    n = 1
    for v in xs:
        n *= v
    return n


def windows(x: Tensor, kernel: Sequence[int], stride: Sequence[int],
            dilation: Sequence[int]) -> Tensor:
    """(N, C, *spatial) -> (N, C, *out_spatial, *kernel) as a view."""
    for i, k in enumerate(kernel):
        span = dilation[i] * (k - 1) + 1
        x = _v.unfold_(x, 2 + i, span, stride[i])
        if dilation[i] > 1:
            x = _v.slice_dim(x, x.ndim - 1, 0, span, dilation[i])
    return x


# -- im2col / col2im ---------------------------------------------------------------------------
@define(Op.IM2COL)
def _im2col(x: Tensor, kernel: tuple, dilation: tuple, stride: tuple) -> Tensor:
    n = len(kernel)
    win = windows(x, kernel, stride, dilation)  # (N, C, *out, *k)
    order = (0, 1) + tuple(range(2 + n, 2 + 2 * n)) + tuple(range(2, 2 + n))
    cols = _v.permute(win, order)  # (N, C, *k, *out): each row's windows are runs of input
    return _v.reshape(cols, (x._shape[0], x._shape[1] * _prod(kernel),
                             _prod(win._shape[2:2 + n])))


def im2col(x: Tensor, kernel: tuple, dilation: tuple, stride: tuple) -> Tensor:
    """(N, C, *spatial) -> (N, C * prod(kernel), L): ``F.unfold`` without padding. The caller
    has checked that at least one window fits."""
    n = len(kernel)
    out = [out_size(x._shape[2 + i], kernel[i], stride[i], 0, dilation[i]) for i in range(n)]
    shape = (x._shape[0], x._shape[1] * _prod(kernel), _prod(out))
    return run(Op.IM2COL, (x,), (kernel, dilation, stride), (shape, x._dtype), x._device,
               x._be)


@define(Op.COL2IM)
def _col2im(cols: Tensor, spatial: tuple, kernel: tuple, dilation: tuple,
            stride: tuple) -> Tensor:
    n = len(kernel)
    batch, ck, _ = cols._shape
    c = ck // _prod(kernel)
    out_sp = tuple(out_size(spatial[i], kernel[i], stride[i], 0, dilation[i]) for i in range(n))
    parts = _v.reshape(cols, (batch, c) + tuple(kernel) + out_sp)
    # float16/bfloat16 overlaps are summed in float32 and rounded once, as the native kernels
    # and PyTorch's cpu do (up to prod(kernel) terms that may cancel)
    acc = _dt.float32 if cols._dtype in (_dt.float16, _dt.bfloat16) else cols._dtype
    z = zeros((batch, c) + tuple(spatial), dtype=acc, device=cols._device)
    # overlapping windows: each kernel position adds its block into a strided region of z
    for pos in itertools.product(*[range(k) for k in kernel]):
        region, part = z, parts
        for i, p in enumerate(pos):
            start = p * dilation[i]
            region = _v.slice_dim(region, 2 + i, start, start + (out_sp[i] - 1) * stride[i] + 1,
                                  stride[i])
            part = _v.select(part, 2, p)
        region.copy_(_b.add(region, part))
    return z if acc is cols._dtype else cast(z, cols._dtype)


def col2im(cols: Tensor, spatial: tuple, kernel: tuple, dilation: tuple,
           stride: tuple) -> Tensor:
    """(N, C * prod(kernel), L) -> (N, C, *spatial), summing overlaps: ``F.fold`` without
    padding, the gradient of ``im2col``."""
    c = cols._shape[1] // _prod(kernel)
    shape = (cols._shape[0], c) + tuple(spatial)
    return run(Op.COL2IM, (cols,), (tuple(spatial), kernel, dilation, stride),
               (shape, cols._dtype), cols._device, cols._be)


# -- max pooling -------------------------------------------------------------------------------
@define(Op.MAX_POOL)
def _max_pool(x: Tensor, kernel: tuple, stride: tuple, padding: tuple, dilation: tuple,
              ceil_mode: bool) -> tuple:
    n = len(kernel)
    spatial = x._shape[2:]
    extra = [ceil_extra(spatial[i], kernel[i], stride[i], padding[i], dilation[i], ceil_mode)
             for i in range(n)]
    if any(padding) or any(extra):
        flat = []
        for i in reversed(range(n)):
            flat += [padding[i], padding[i] + extra[i]]
        low = float("-inf") if x._dtype.is_floating_point else iinfo(x._dtype).min
        x = pad_constant(x, flat, low)
    win = windows(x, kernel, stride, dilation)
    flat_win = _v.reshape(win, win._shape[:2 + n] + (_prod(kernel),))
    idx = argmax(flat_win, -1, True)  # the first maximum, NaN counted as one, as PyTorch
    values = _v.select(gather(flat_win, -1, idx), -1, 0)
    return values, _flat_indices(_v.select(idx, -1, 0), kernel, stride, padding, dilation,
                                 spatial)


def _flat_indices(idx: Tensor, kernel: tuple, stride: tuple, padding: tuple,
                  dilation: tuple, spatial: tuple) -> Tensor:
    """Window-local argmax positions -> flat positions in the unpadded input."""
    n = len(kernel)
    flat, rem = None, idx
    for i in range(n):
        kstride = _prod(kernel[i + 1:])
        ki = _b.div(rem, kstride, rounding_mode="floor")
        rem = _b.sub(rem, _b.mul(ki, kstride))
        shape = [1] * idx.ndim
        shape[2 + i] = idx._shape[2 + i]
        oi = _v.reshape(arange(idx._shape[2 + i], device=idx._device), tuple(shape))
        pos = _b.sub(_b.add(_b.mul(oi, stride[i]), _b.mul(ki, dilation[i])), padding[i])
        term = _b.mul(pos, _prod(spatial[i + 1:]))
        flat = term if flat is None else _b.add(flat, term)
    return flat


def max_pool(x: Tensor, kernel: tuple, stride: tuple, padding: tuple, dilation: tuple,
             ceil_mode: bool) -> tuple:
    """(values, int64 indices into each (n, c) plane of the unpadded input) of max pooling a
    batched ``x``; arguments checked by the caller."""
    if x._dtype._q is not None:  # exact on the integers, as PyTorch's quantized max pooling
        from .quantize import on_integers

        return on_integers(x, max_pool, kernel, stride, padding, dilation, ceil_mode)
    n = len(kernel)
    out = []
    for i in range(n):
        size, k, s, p, d = x._shape[2 + i], kernel[i], stride[i], padding[i], dilation[i]
        extra = ceil_extra(size, k, s, p, d, ceil_mode)
        out.append((size + 2 * p + extra - d * (k - 1) - 1) // s + 1)
    shape = x._shape[:2] + tuple(out)
    return run(Op.MAX_POOL, (x,), (kernel, stride, padding, dilation, ceil_mode),
               [(shape, x._dtype), (shape, _dt.int64)], x._device, x._be)


def max_pool_grad(g: Tensor, indices: Tensor, x_shape: tuple, kernel: tuple, stride: tuple,
                  dilation: tuple) -> Tensor:
    """Max pooling's gradient: ``g`` scattered to the argmax positions. Disjoint windows
    (stride >= extent in every dim) pick distinct positions, so a plain write does; windows
    that overlap may pick one position twice and add."""
    disjoint = all(s >= d * (k - 1) + 1 for k, s, d in zip(kernel, stride, dilation))
    lead = x_shape[:2]
    z = zeros(lead + (_prod(x_shape[2:]),), dtype=g._dtype, device=g._device)
    flat_idx = _v.reshape(indices, lead + (_prod(indices._shape[2:]),))
    flat_g = _v.reshape(g, flat_idx._shape)
    out = _scatter_run(z, 2, flat_idx, flat_g, "none" if disjoint else "add")
    return _v.reshape(out, x_shape)
