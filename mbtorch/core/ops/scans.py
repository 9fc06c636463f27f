"""Scans: ``cumsum``, ``cumprod``, ``cummax``/``cummin`` and their inverse, ``diff``.

Op attrs: ``CUMSUM``/``CUMPROD``: ``(x, dim)`` with one non-negative ``dim``; the input is
already in the output dtype. The decomposition is a Hillis-Steele scan (log2(n) steps of
"combine with the value ``2**k`` places back"), built from GATHER, WHERE and one binary
primitive, so a backend with only primitives runs it.
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any, Sequence

from .. import dtypes as _dt
from ..op import Op, define
from ..tensor import Tensor, method_table, wrap_dim
from . import binary as _b
from . import unary as _u
from ._common import cast, run
from ._reduce import check_input, sum_dtype
from .copying import clone, write_result
from .creation import iota

TENSOR_METHODS: dict = {}
"""The ``Tensor`` methods this module provides, by name (installed by ``mbtorch.core.ops``)."""
tensor_method = method_table(TENSOR_METHODS)


def _scan(x: Tensor, dim: int, combine: Any, identity: Any) -> Tensor:
    n = x._shape[dim]
    if n <= 1:
        return clone(x)
    if x._dtype in (_dt.float16, _dt.bfloat16):
        return cast(_scan(cast(x, _dt.float32), dim, combine, identity), x._dtype)
    pos = iota(n, x._device, x._be).reshape(tuple(n if d == dim else 1 for d in range(x.ndim)))
    pos = pos.expand(x._shape)
    step = 1
    while step < n:
        back = _b.sub(pos, step)
        source = run(Op.GATHER, (x, dim, _u.clamp_min(back, 0)), (),
                     (x._shape, x._dtype), x._device, x._be)
        x = combine(x, _u.where(_b.ge(back, 0), source, identity))
        step *= 2
    return x


@define(Op.CUMSUM)
def _cumsum(x: Tensor, dim: int) -> Tensor:
    return _scan(x, dim, _b.add, 0)


@define(Op.CUMPROD)
def _cumprod(x: Tensor, dim: int) -> Tensor:
    return _scan(x, dim, _b.mul, 1)


def _scan_public(op: Op, name: str, input: Tensor, dim: Any, dtype: Any) -> Tensor:
    check_input(input, name)
    if dim is None:
        raise TypeError(f"{name}(): argument 'dim' must be int, not NoneType")
    d = wrap_dim(dim, input.ndim, name)
    x = cast(input, sum_dtype(input, dtype, name), name)
    if x._dtype is _dt.bool:  # PyTorch has no bool scan kernel: 0-d, empty pass through
        if x._shape and x.numel():
            raise NotImplementedError(f"\"{name}_out_{input._device.type}\" not implemented "
                                      "for 'Bool'")
        return clone(x) if x is input else x
    flat = x if x._shape else x.reshape(1)
    out = run(op, (flat,), (d,), (flat._shape, flat._dtype), x._device, x._be)
    return out if x._shape else out.reshape(())


@tensor_method
def cumsum(input: Tensor, dim: int, *, dtype: _dt.dtype | None = None) -> Tensor:
    """Running sum along ``dim``; integers and bools give int64.

    >>> mbtorch.tensor([1, 2, 3]).cumsum(0)
    tensor([1, 3, 6])
    """
    return _scan_public(Op.CUMSUM, "cumsum", input, dim, dtype)


@tensor_method
def cumprod(input: Tensor, dim: int, *, dtype: _dt.dtype | None = None) -> Tensor:
    """Running product along ``dim``; integers and bools give int64."""
    return _scan_public(Op.CUMPROD, "cumprod", input, dim, dtype)


def _cumsum_(self: Tensor, dim: int, *, dtype: _dt.dtype | None = None) -> Tensor:
    return write_result(self, cumsum(self, dim, dtype=dtype), "cumsum_")


def _cumprod_(self: Tensor, dim: int, *, dtype: _dt.dtype | None = None) -> Tensor:
    return write_result(self, cumprod(self, dim, dtype=dtype), "cumprod_")


TENSOR_METHODS["cumsum_"] = _cumsum_
TENSOR_METHODS["cumprod_"] = _cumprod_

CumResult = namedtuple("cummax", ["values", "indices"])


def _cum_extreme_indices(x: Tensor, dim: int, largest: bool) -> Tensor:
    """Indices of the running max (min) along ``dim``: PyTorch's rule, a later equal value
    or a NaN replaces the running one, which a number never replaces once it is NaN. A
    Hillis-Steele scan over (value, index) pairs: the pair from ``step`` places back wins
    unless the current one is NaN, if it is NaN or strictly beats the current one."""
    n = x._shape[dim]
    pos = iota(n, x._device, x._be).reshape(tuple(n if d == dim else 1 for d in range(x.ndim)))
    idx = pos.expand(x._shape)
    pos, vals = idx, x
    is_float = x._dtype.category == _dt.FLOATING_CATEGORY
    step = 1
    while step < n:
        back = _b.sub(pos, step)
        src = _u.clamp_min(back, 0)
        v_back = run(Op.GATHER, (vals, dim, src), (), (x._shape, x._dtype), x._device, x._be)
        i_back = run(Op.GATHER, (idx, dim, src), (), (x._shape, _dt.int64), x._device, x._be)
        beats = _b.gt(v_back, vals) if largest else _b.lt(v_back, vals)
        if is_float:  # a NaN wins over anything before it, and an earlier NaN over numbers
            beats = _b.logical_and(_b.logical_or(beats, _u.isnan(v_back)),
                                   _u.logical_not(_u.isnan(vals)))
        take = _b.logical_and(_b.ge(back, 0), beats)
        vals = _u.where(take, v_back, vals)
        idx = _u.where(take, i_back, idx)
        step *= 2
    return idx


def _cum_extreme(input: Tensor, dim: int, largest: bool, name: str) -> CumResult:
    check_input(input, name)
    d = wrap_dim(dim, input.ndim, name)
    x = input if input._shape else input.reshape(1)
    if x._dtype is _dt.bool:  # compare as integers; values come back as bool
        key = cast(x, _dt.uint8)
    else:
        key = x
    from . import views as _v
    from .creation import zeros
    from .gathering import _gather_run

    if x.numel() == 0:
        idx = zeros(x._shape, dtype=_dt.int64, device=x._device)
    else:
        idx = _cum_extreme_indices(key.detach(), d, largest)
    values = _gather_run(x, d, idx)  # differentiable: the gradient flows to the winners
    if not input._shape:
        values, idx = _v.reshape(values, ()), _v.reshape(idx, ())
    return CumResult(values, idx)


@tensor_method
def cummax(input: Tensor, dim: int) -> CumResult:
    """``(values, indices)`` of the running maximum along ``dim``.

    >>> mbtorch.tensor([1, 3, 2, 3]).cummax(0).indices
    tensor([0, 1, 1, 3])
    """
    return _cum_extreme(input, dim, True, "cummax")


@tensor_method
def cummin(input: Tensor, dim: int) -> CumResult:
    """``(values, indices)`` of the running minimum along ``dim``."""
    res = _cum_extreme(input, dim, False, "cummin")
    return _CumMin(*res)


_CumMin = namedtuple("cummin", ["values", "indices"])


def _diff_operand(x: Tensor, t: Any, d: int) -> Tensor:
    check_input(t, "diff", "prepend")
    if t.ndim != x.ndim:
        raise RuntimeError("diff expects prepend or append to be the same dimension as input")
    for i in range(x.ndim):
        if i != d and t._shape[i] != x._shape[i]:
            raise RuntimeError(f"diff expects the shape of tensor to prepend or append to match "
                               f"that of input except along the differencing dimension; "
                               f"input.size({i}) = {x._shape[i]}, but got tensor.size({i}) = "
                               f"{t._shape[i]}")
    return t


@tensor_method
def diff(input: Tensor, n: int = 1, dim: int = -1, prepend: Tensor | None = None,
         append: Tensor | None = None) -> Tensor:
    """The ``n``-th forward difference along ``dim`` (``x[1:] - x[:-1]``, ``!=`` for bool),
    after joining ``prepend`` and ``append`` to ``input`` along ``dim``."""
    check_input(input, "diff")
    if input.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    if n < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    d = wrap_dim(dim, input.ndim, "diff")
    parts: Sequence[Tensor] = [input]
    if prepend is not None:
        parts = [_diff_operand(input, prepend, d), *parts]
    if append is not None:
        parts = [*parts, _diff_operand(input, append, d)]
    from . import views as _v
    from .joining import cat

    x = cat(parts, d) if len(parts) > 1 else input
    for _ in range(n):
        size = x._shape[d]
        if size == 0:
            break
        hi, lo = _v.slice_dim(x, d, 1, size), _v.slice_dim(x, d, 0, size - 1)
        x = _b.ne(hi, lo) if x._dtype is _dt.bool else _b.sub(hi, lo)
    return x if x is not input else clone(input)


__all__ = ["cumsum", "cumprod", "cummax", "cummin", "diff"]
