"""Scans over runs of equal keys, built from primitives (log2(n) doubling steps, each a
shift, a compare and a ``where``), so data-dependent grouping (``unique``'s inverse and counts,
``scatter(reduce='multiply')``) runs on any backend without a host round trip."""

from __future__ import annotations

from typing import Callable

from .. import dtypes as _dt
from ..op import Op
from ..tensor import Tensor
from . import binary as _b
from . import views as _v
from ._common import run
from ._index_common import iota

__all__ = ["shift", "segmented_scan", "cumsum_1d", "scatter_multiply"]


def shift(x: Tensor, s: int, fill: int | float | bool) -> Tensor:
    """1-d ``x`` moved ``s`` places towards the end, ``fill`` shifted in."""
    from .creation import _full_on
    from .joining import cat

    n = x._shape[0]
    head = _full_on((min(s, n),), fill, x._dtype, x._device, x._be)
    if s >= n:
        return head
    return cat([head, _v.slice_dim(x, 0, 0, n - s)])


def segmented_scan(values: Tensor, keys: Tensor, combine: Callable) -> Tensor:
    """Inclusive scan of 1-d ``values`` within runs of equal (non-negative) ``keys``."""
    from .unary import where

    n = values._shape[0]
    s = 1
    while s < n:
        same = _b.eq(shift(keys, s, -1), keys)
        values = where(same, combine(values, shift(values, s, 0)), values)
        s *= 2
    return values


def cumsum_1d(x: Tensor) -> Tensor:
    """Inclusive prefix sum of 1-d ``x``."""
    from .creation import zeros

    keys = zeros(x._shape[0], dtype=_dt.int64, device=x._device)
    return segmented_scan(x, keys, _b.add)


def _target_keys(x: Tensor, d: int, index: Tensor) -> Tensor:
    """For each element of ``index`` (flattened), the flat position in ``x`` it writes."""
    key = None
    stride = 1
    for k in range(x.ndim - 1, -1, -1):
        if k == d:
            coord = index
        else:
            view = [1] * index.ndim
            view[k] = index._shape[k]
            coord = _v.expand(_v.reshape(iota(index._shape[k], x), tuple(view)), index._shape)
        term = _b.mul(coord, stride)
        key = term if key is None else _b.add(key, term)
        stride *= x._shape[k]
    return _v.reshape(key, (-1,))


def scatter_multiply(x: Tensor, d: int, index: Tensor, src: Tensor) -> Tensor:
    """``scatter(x, d, index, src, reduce='multiply')``: sort the target positions, take the
    product of each run, write one product per run, multiply ``x`` by it."""
    from .creation import _full_on
    from .sorting import sort

    n = x.numel()
    keys, perm = sort(_target_keys(x, d, index))
    vals = _v.reshape(src, (-1,))
    vals = run(Op.GATHER, (vals, 0, perm), (), (perm._shape, x._dtype), x._device, x._be)
    prods = segmented_scan(vals, keys, _b.mul)
    m = keys._shape[0]
    nxt = _v.slice_dim(_full_on((m + 1,), -1, _dt.int64, x._device, x._be), 0, 0, m)
    if m:
        from .joining import cat

        nxt = cat([_v.slice_dim(keys, 0, 1, m), _full_on((1,), -1, _dt.int64, x._device,
                                                         x._be)])
    from .unary import where

    # only the last element of each run carries the full product; the rest go to a spare slot
    target = where(_b.ne(nxt, keys), keys, n)
    ones = _full_on((n + 1,), 1, x._dtype, x._device, x._be)
    factors = run(Op.SCATTER, (ones, 0, target, prods), ("none",), ((n + 1,), x._dtype),
                  x._device, x._be)
    return _b.mul(x, _v.reshape(_v.slice_dim(factors, 0, 0, n), x._shape))
