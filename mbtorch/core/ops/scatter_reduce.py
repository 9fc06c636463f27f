"""Reducing writes: ``scatter_reduce`` (sum, prod, mean, amax, amin, with or without the
original values), ``index_reduce`` (the same along one dim at a vector of indices) and
``put`` (writes or sums at flat indices).

Compositions: sums are ``scatter_add``; products, maxima and minima sort the target positions
and reduce each run with a segmented scan (``_segments.py``), writing one value per run, so no
backend needs a reducing scatter primitive and the result does not depend on write order.
Gradients flow through those ops; for ``amax``/``amin`` the gradient is rewired to PyTorch's
rule (shared evenly among all inputs equal to the result) without changing the values.
"""

from __future__ import annotations

from .. import dtypes as _dt
from ..dispatch import needs_grad
from ..tensor import Tensor, method_table, wrap_dim
from . import binary as _b
from . import views as _v
from ._common import cast
from ._segments import _target_keys, segmented_scan
from .copying import write_result
from .creation import _full_on
from .gathering import _scatter_meta, gather, scatter, scatter_add
from .joining import cat
from .sorting import sort
from .ternary import where
from .unary import isfinite

TENSOR_METHODS: dict = {}
"""The ``Tensor`` methods this module provides, by name (installed by ``mbtorch.core.ops``)."""
tensor_method = method_table(TENSOR_METHODS)

_SCATTER_REDUCES = {"sum": "sum", "prod": "prod", "mean": "mean", "amax": "amax",
                    "amin": "amin", "max": "amax", "min": "amin"}
_COMBINE = {"prod": _b.mul, "amax": _b.maximum, "amin": _b.minimum}


def _segment_reduce(n: int, keys: Tensor, vals: Tensor, reduce: str) -> Tensor:
    """A flat ``(n,)`` buffer holding, at each key, the reduction of the ``vals`` with that key
    (other slots hold junk; the caller masks them)."""
    if reduce in ("sum", "mean"):
        return scatter_add(_full_on((n,), 0, vals._dtype, vals._device, vals._be), 0, keys,
                           vals)
    keys, perm = sort(keys)
    runs = segmented_scan(gather(vals, 0, perm), keys, _COMBINE[reduce])
    m = keys._shape[0]
    tail = _full_on((1,), -1, _dt.int64, keys._device, keys._be)
    following = cat([_v.slice_dim(keys, 0, 1, m), tail]) if m else keys
    # only the last element of each run carries the whole run; the others go to a spare slot
    target = where(following != keys, keys, n)
    buf = _full_on((n + 1,), 0, vals._dtype, vals._device, vals._be)
    return _v.slice_dim(scatter(buf, 0, target, runs), 0, 0, n)


def _scatter_reduce(x: Tensor, d: int, index: Tensor, src: Tensor, reduce: str,
                    include_self: bool) -> Tensor:
    if x.ndim == 0:
        out = _scatter_reduce(_v.reshape(x, (1,)), 0, _v.reshape(index, (-1,)),
                              _v.reshape(src, (-1,)), reduce, include_self)
        return _v.reshape(out, ())
    n = x.numel()
    flat = _v.reshape(x, (-1,))
    if index.numel() == 0:
        return x.clone()
    keys = _target_keys(x, d, index)
    vals = _v.reshape(src, (-1,))
    red = _segment_reduce(n, keys, vals, reduce)
    ones = _full_on(keys._shape, 1, _dt.int64, x._device, x._be)
    counts = scatter_add(_full_on((n,), 0, _dt.int64, x._device, x._be), 0, keys, ones)
    touched = counts > 0
    if reduce == "mean":
        total = red + flat if include_self else red
        counts = counts + 1 if include_self else counts.clamp_min(1)
        mode = None if x._dtype.is_floating_point else "floor"
        out = where(touched, _b.div(total, counts, rounding_mode=mode), flat)
    elif include_self:
        combine = _b.add if reduce == "sum" else _COMBINE[reduce]
        out = where(touched, combine(flat, red), flat)
    else:
        out = where(touched, red, flat)
    out = _v.reshape(out.to(x._dtype), x._shape)
    if reduce in ("amax", "amin") and needs_grad((x, src)):
        return _split_ties(x, d, index, src, out, _v.reshape(touched, x._shape), include_self)
    return out


def _no_value(t: Tensor) -> Tensor:
    """``t.detach() - t``: +0.0 everywhere (0 where ``t`` is infinite or NaN, whose
    difference would be NaN), with derivative -1 where finite."""
    return where(isfinite(t), t.detach() - t, 0.0)


def _split_ties(x: Tensor, d: int, index: Tensor, src: Tensor, out: Tensor, touched: Tensor,
                include_self: bool) -> Tensor:
    """``out`` (the amax/amin) with PyTorch's gradient: shared evenly among the inputs equal
    to the result. The value stays ``out`` bit for bit (``a - (+0.0)`` is ``a``, signed zeros
    too); only the gradient is rewired."""
    res = out.detach()
    src_hit = cast(src == gather(res, d, index), res._dtype)
    self_hit = cast(x == res, res._dtype)
    # as PyTorch, the input is counted among the ties even without include_self, and then
    # gets no share where something was written
    count = scatter_add(self_hit, d, index, src_hit)
    self_share = self_hit if include_self else self_hit * cast(~touched, res._dtype)
    ties = scatter_add(self_share * _no_value(x), d, index, src_hit * _no_value(src))
    return res - ties / count


@tensor_method
def scatter_reduce(input: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *,
                   include_self: bool = True) -> Tensor:
    """A copy of ``input`` where each position named by ``index`` along ``dim`` holds the
    ``reduce`` (``sum``, ``prod``, ``mean``, ``amax``, ``amin``) of the ``src`` values sent
    there, and of its own value when ``include_self``.

    >>> x = mbtorch.tensor([1.0, 2.0])
    >>> x.scatter_reduce(0, mbtorch.tensor([0, 0]), mbtorch.tensor([5.0, 3.0]), "amax")
    tensor([5., 2.])
    """
    if not isinstance(src, Tensor):
        raise TypeError(f"scatter_reduce(): argument 'src' (position 4) must be Tensor, not "
                        f"{type(src).__name__}")
    if reduce not in _SCATTER_REDUCES:
        raise RuntimeError("reduce argument must be either sum, prod, mean, amax or amin, got "
                           f"{reduce}")
    d, src = _scatter_meta(input, dim, index, src, "scatter_reduce")
    return _scatter_reduce(input, d, index, src, _SCATTER_REDUCES[reduce], include_self)


@tensor_method
def scatter_reduce_(self: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *,
                    include_self: bool = True) -> Tensor:
    return write_result(self, scatter_reduce(self, dim, index, src, reduce,
                                             include_self=include_self), "scatter_reduce_")


def _index_reduce(input: Tensor, dim: int, index: Tensor, source: Tensor, reduce: str,
                  include_self: bool, name: str) -> Tensor:
    if reduce not in ("prod", "mean", "amax", "amin"):
        raise RuntimeError(f"{name}(): Expected reduce to be one of prod, mean, amax or amin "
                           f"but got {reduce}.")
    for arg, t in (("input", input), ("index", index), ("source", source)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}(): argument '{arg}' must be Tensor, not "
                            f"{type(t).__name__}")
    d = wrap_dim(dim, max(input.ndim, 1), name)
    if index.ndim > 1:
        raise IndexError(f"{name}_(): Index is supposed to be a vector, but got dim: "
                         f"{index.ndim} with type: {index._dtype.scalar_name} and size: "
                         f"{list(index._shape)}")
    if index._dtype not in (_dt.int64, _dt.int32):
        raise RuntimeError(f"{name}_(): Expected dtype int32/int64 for index but got: "
                           f"{index._dtype.scalar_name}")
    if source._dtype is not input._dtype:
        raise RuntimeError(f"{name}_(): self ({input._dtype.scalar_name}) and source "
                           f"({source._dtype.scalar_name}) must have the same scalar type")
    src = source if source.ndim else _v.reshape(source, (1,))
    x_shape = input._shape if input.ndim else (1,)
    m = index.numel()
    if src.ndim != len(x_shape) or src._shape[d] != m:
        raise RuntimeError(f"{name}_(): Number of indices ({m}) should be equal to "
                           f"source.size(dim): ({src._shape[d] if src.ndim > d else 1}), for "
                           f"dim: {d}")
    if any(src._shape[i] != x_shape[i] for i in range(src.ndim) if i != d):
        raise RuntimeError("source tensor shape must match self tensor shape, excluding the "
                           f"specified dimension. Got self.shape = {list(x_shape)} "
                           f"source.shape = {list(src._shape)}")
    view = tuple(m if i == d else 1 for i in range(src.ndim))
    spread = _v.expand(_v.reshape(index.to(_dt.int64), view), src._shape)
    x = input if input.ndim else _v.reshape(input, (1,))
    d, src = _scatter_meta(x, d, spread, src, name)
    out = _scatter_reduce(x, d, spread, src, reduce, include_self)
    return out if input.ndim else _v.reshape(out, ())


@tensor_method
def index_reduce(input: Tensor, dim: int, index: Tensor, source: Tensor, reduce: str, *,
                 include_self: bool = True) -> Tensor:
    """A copy of ``input`` where slice ``index[i]`` along ``dim`` is reduced (``prod``,
    ``mean``, ``amax``, ``amin``) with slice ``i`` of ``source`` (and itself when
    ``include_self``)."""
    return _index_reduce(input, dim, index, source, reduce, include_self, "index_reduce")


@tensor_method
def index_reduce_(self: Tensor, dim: int, index: Tensor, source: Tensor, reduce: str, *,
                  include_self: bool = True) -> Tensor:
    out = _index_reduce(self, dim, index, source, reduce, include_self, "index_reduce")
    return write_result(self, out, "index_reduce_")


@tensor_method
def put(input: Tensor, index: Tensor, source: Tensor, accumulate: bool = False) -> Tensor:
    """A copy of ``input`` with ``source`` written (or added, ``accumulate=True``) at the flat
    positions ``index`` (negative counts from the end)."""
    for arg, t in (("input", input), ("index", index), ("source", source)):
        if not isinstance(t, Tensor):
            raise TypeError(f"put(): argument '{arg}' must be Tensor, not {type(t).__name__}")
    if index._dtype is not _dt.int64:
        raise RuntimeError(f"put_(): Expected a long tensor for index, but got "
                           f"{index._dtype.scalar_name}")
    if source._dtype is not input._dtype:
        raise RuntimeError(f"put_(): self and source expected to have the same dtype, but got "
                           f"self.dtype = {input._dtype.scalar_name} and source.dtype = "
                           f"{source._dtype.scalar_name}")
    if source.numel() != index.numel():
        raise IndexError("put_(): Expected source and index to have the same number of "
                         f"elements, but got source.numel() = {source.numel()}, "
                         f"index.numel() = {index.numel()}")
    n = input.numel()
    flat_index = _v.reshape(index, (-1,))
    if flat_index.numel():
        lo, hi = flat_index.min().item(), flat_index.max().item()
        for bad in (lo, hi):
            if not -n <= bad < n:
                raise IndexError(f"out of range: tried to access index {bad} on a tensor of "
                                 f"{n} elements.")
    flat_index = where(flat_index < 0, flat_index + n, flat_index)
    flat = _v.reshape(input, (-1,))
    values = _v.reshape(source, (-1,))
    out = (scatter_add(flat, 0, flat_index, values) if accumulate
           else scatter(flat, 0, flat_index, values))
    return _v.reshape(out, input._shape)


@tensor_method
def put_(self: Tensor, index: Tensor, source: Tensor, accumulate: bool = False) -> Tensor:
    return write_result(self, put(self, index, source, accumulate), "put_")


__all__ = ["index_reduce", "put", "scatter_reduce"]
