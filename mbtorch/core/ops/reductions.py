"""Reductions: ``sum``, ``prod``, ``mean``, ``amax``/``amin``, ``max``/``min`` (whole tensor,
along a dim with indices, or elementwise), ``argmax``/``argmin``, ``all``/``any``,
``count_nonzero``, ``nansum``/``nanmean``, ``aminmax``.

Op attrs (for the derivative table and native kernels):
``SUM``/``PROD``/``AMAX``/``AMIN``/``MEAN``/``ANY``/``ALL``: ``(x, dims, keepdim)`` with
``dims`` a sorted non-empty tuple; ``ARGMAX``/``ARGMIN``: ``(x, dim, keepdim)`` with one
non-negative ``dim`` whose size is not 0. ``max(x, dim)`` is ``ARGMAX`` then ``GATHER``, so
its gradient flows to the one selected element, as PyTorch's.
"""

from __future__ import annotations

from typing import Any

from .. import dtypes as _dt
from ..op import Op, define
from ..tensor import Tensor, method_table, wrap_dim
from . import binary as _b
from . import unary as _u
from ._common import cast, return_type, run
from ._reduce import (
    check_input,
    check_nonempty,
    numel_of,
    prepare,
    reduce,
    reduced_shape,
    sum_dtype,
    upcast,
)
from .creation import iota

TENSOR_METHODS: dict = {}
"""The ``Tensor`` methods this module provides, by name (installed by ``mbtorch.core.ops``)."""
tensor_method = method_table(TENSOR_METHODS)

# members read per call: ``Op.X`` is a slow attribute on Python 3.11 (EnumType.__getattr__)
_ALL = Op.ALL
_AMAX = Op.AMAX
_AMIN = Op.AMIN
_ANY = Op.ANY
_ARGMAX = Op.ARGMAX
_ARGMIN = Op.ARGMIN
_GATHER = Op.GATHER
_MEAN = Op.MEAN
_PROD = Op.PROD
_SUM = Op.SUM
_FLOATING = _dt.FLOATING_CATEGORY
# a full sum's kernel arguments by rank (0-d goes the long way: it is viewed as (1,) first)
_FULL_SUM = (None,) + tuple((tuple(range(n)), False) for n in range(1, 9))




max_result = return_type("max", ("values", "indices"))
min_result = return_type("min", ("values", "indices"))
aminmax_result = return_type("aminmax", ("min", "max"))


# -- decompositions ---------------------------------------------------------------------------
@define(Op.AMIN)
def _amin(x: Tensor, dims: tuple, keepdim: bool) -> Tensor:
    """amin(x) = -amax(-x) for floats (NaN still propagates); ~amax(~x) for integers and
    bools, where ``~`` reverses the order without overflow."""
    shape = reduced_shape(x._shape, dims, keepdim)
    if x._dtype.category == _dt.FLOATING_CATEGORY:
        return _u.neg(reduce(_AMAX, _u.neg(x), dims, keepdim, shape))
    return _u.bitwise_not(reduce(_AMAX, _u.bitwise_not(x), dims, keepdim, shape))


def _arg_extreme(x: Tensor, dim: int, keepdim: bool, extreme: Op) -> Tensor:
    """The first index along ``dim`` holding the extreme value (or the first NaN, which
    PyTorch treats as both the largest and the smallest)."""
    n = x._shape[dim]
    m = reduce(extreme, x, (dim,), True, reduced_shape(x._shape, (dim,), True))
    hit = _b.eq(x, m)
    if x._dtype.category == _dt.FLOATING_CATEGORY:
        hit = _b.logical_or(hit, _b.ne(x, x))
    idx = iota(n, x._device, x._be).reshape(tuple(n if d == dim else 1 for d in range(x.ndim)))
    candidates = _u.where(hit, idx, n)
    return reduce(_AMIN, candidates, (dim,), keepdim,
                  reduced_shape(x._shape, (dim,), keepdim))


@define(Op.ARGMAX)
def _argmax(x: Tensor, dim: int, keepdim: bool) -> Tensor:
    return _arg_extreme(x, dim, keepdim, _AMAX)


@define(Op.ARGMIN)
def _argmin(x: Tensor, dim: int, keepdim: bool) -> Tensor:
    return _arg_extreme(x, dim, keepdim, _AMIN)


@define(Op.MEAN)
def _mean(x: Tensor, dims: tuple, keepdim: bool) -> Tensor:
    y = upcast(x)
    total = reduce(_SUM, y, dims, keepdim, reduced_shape(x._shape, dims, keepdim))
    return cast(_b.div(total, numel_of(x._shape, dims)), x._dtype)  # 0/0: mean of empty is nan


@define(Op.ANY)
def _any(x: Tensor, dims: tuple, keepdim: bool) -> Tensor:
    shape = reduced_shape(x._shape, dims, keepdim)
    return _b.ne(reduce(_SUM, cast(x, _dt.int64), dims, keepdim, shape), 0)


@define(Op.ALL)
def _all(x: Tensor, dims: tuple, keepdim: bool) -> Tensor:
    shape = reduced_shape(x._shape, dims, keepdim)
    misses = cast(_u.logical_not(x), _dt.int64)
    return _b.eq(reduce(_SUM, misses, dims, keepdim, shape), 0)


# -- sums and products ------------------------------------------------------------------------
@tensor_method
def sum(input: Tensor, dim: Any = None, keepdim: bool = False, *,  # noqa: A001
        dtype: _dt.dtype | None = None) -> Tensor:
    """Sum over ``dim`` (int, tuple, or None for all); integers and bools give int64.

    >>> mbtorch.tensor([[1, 2], [3, 4]]).sum(0)
    tensor([4, 6])
    """
    if dim is None and dtype is None and not keepdim and type(input) is Tensor and \
            input._dtype.category == _FLOATING:
        # ``loss.sum()``, the common full reduction: its meta rule in a line
        attrs = _FULL_SUM[len(input._shape)]
        if attrs is not None:
            return run(_SUM, (input,), attrs, ((), input._dtype), input._device, input._be)
    check_input(input, "sum")
    x = input
    if dtype is not None or x._dtype.category != _FLOATING:
        x = cast(input, sum_dtype(input, dtype, "sum"), "sum")
    x, dims, keepdim, shape = prepare(x, dim, keepdim, "sum")
    return run(_SUM, (x,), (dims, keepdim), (shape, x._dtype), x._device, x._be)


@tensor_method
def prod(input: Tensor, dim: int | None = None, keepdim: bool = False, *,
         dtype: _dt.dtype | None = None) -> Tensor:
    """Product over one ``dim`` (or all elements); integers and bools give int64."""
    check_input(input, "prod")
    if dim is not None:
        wrap_dim(dim, input.ndim, "prod")  # one int only, as torch.prod
    x = cast(input, sum_dtype(input, dtype, "prod"), "prod")
    x, dims, keepdim, shape = prepare(x, dim, keepdim, "prod")
    return reduce(_PROD, x, dims, keepdim, shape)


@tensor_method
def mean(input: Tensor, dim: Any = None, keepdim: bool = False, *,
         dtype: _dt.dtype | None = None) -> Tensor:
    """Arithmetic mean of a floating tensor (``dtype=`` to average integers)."""
    check_input(input, "mean")
    if dtype is not None:
        dtype = _dt.as_dtype(dtype, "mean")
        if dtype.category < _dt.FLOATING_CATEGORY:
            raise RuntimeError("mean(): could not infer output dtype. Optional dtype must be "
                               f"either a floating point or complex dtype. Got: "
                               f"{dtype.scalar_name}")
        input = cast(input, dtype, "mean")
    elif input._dtype.category < _dt.FLOATING_CATEGORY:
        raise RuntimeError("mean(): could not infer output dtype. Input dtype must be either "
                           f"a floating point or complex dtype. Got: {input._dtype.scalar_name}")
    x, dims, keepdim, shape = prepare(input, dim, keepdim, "mean")
    return reduce(_MEAN, x, dims, keepdim, shape)


@tensor_method
def nansum(input: Tensor, dim: Any = None, keepdim: bool = False, *,
           dtype: _dt.dtype | None = None) -> Tensor:
    """``sum`` treating NaN as zero."""
    check_input(input, "nansum")
    if input._dtype.category == _dt.FLOATING_CATEGORY:
        input = _u.where(_u.isnan(input), 0.0, input)
    return sum(input, dim, keepdim, dtype=dtype)


@tensor_method
def nanmean(input: Tensor, dim: Any = None, keepdim: bool = False, *,
            dtype: _dt.dtype | None = None) -> Tensor:
    """``mean`` over the non-NaN elements."""
    check_input(input, "nanmean")
    if input._dtype.category != _dt.FLOATING_CATEGORY:
        raise RuntimeError("nanmean(): expected input to have floating point or complex dtype "
                           f"but got {input._dtype.scalar_name}")
    x = input if dtype is None else cast(input, _dt.as_dtype(dtype, "nanmean"), "nanmean")
    count = sum(_u.logical_not(_u.isnan(x)), dim, keepdim)
    return _b.div(nansum(x, dim, keepdim), cast(count, x._dtype))


@tensor_method
def count_nonzero(input: Tensor, dim: Any = None) -> Tensor:
    """The number of non-zero elements (over ``dim``), as int64."""
    check_input(input, "count_nonzero")
    return sum(_b.ne(input, 0), dim)


# -- extremes ---------------------------------------------------------------------------------
def _extreme(op: Op, input: Tensor, dim: Any, keepdim: bool, name: str,
             exc: type = RuntimeError) -> Tensor:
    _check_ordered(check_input(input, name), name)
    try:
        x, dims, keepdim, shape = prepare(input, dim, keepdim, name)
    except RuntimeError:  # PyTorch reports an empty reduction dim before a repeated one
        if isinstance(dim, (tuple, list)):
            wrapped = tuple(wrap_dim(d, input.ndim, name) for d in dim)
            check_nonempty(input, dim, wrapped, name, exc)
        raise
    check_nonempty(input, dim, dims, name, exc)
    return reduce(op, x, dims, keepdim, shape)


@tensor_method
def amax(input: Tensor, dim: Any = (), keepdim: bool = False) -> Tensor:
    """The maximum over ``dim`` (default: all dims); NaN propagates."""
    return _extreme(_AMAX, input, dim, keepdim, "amax")


@tensor_method
def amin(input: Tensor, dim: Any = (), keepdim: bool = False) -> Tensor:
    """The minimum over ``dim`` (default: all dims); NaN propagates."""
    return _extreme(_AMIN, input, dim, keepdim, "amin")


@tensor_method
def aminmax(input: Tensor, *, dim: int | None = None, keepdim: bool = False) -> Any:
    """``(min, max)`` over ``dim`` or the whole tensor."""
    if dim is not None:
        wrap_dim(dim, check_input(input, "aminmax").ndim, "aminmax")
    return aminmax_result(_extreme(_AMIN, input, dim, keepdim, "aminmax"),
                          _extreme(_AMAX, input, dim, keepdim, "aminmax"))


def _arg(op: Op, input: Tensor, dim: Any, keepdim: bool, name: str) -> Tensor:
    """ARGMAX/ARGMIN along one dim; ``dim=None`` flattens first (``keepdim`` then gives a
    shape of ones)."""
    if dim is None:
        check_nonempty(input, None, (), name, IndexError)
        out = run(op, (input.reshape(-1),), (0, False), ((), _dt.int64), input._device,
                  input._be)
        return out.reshape((1,) * input.ndim) if keepdim else out
    d = wrap_dim(dim, input.ndim, name)
    if not input._shape:
        out = run(op, (input.reshape(1),), (0, False), ((), _dt.int64), input._device,
                  input._be)
        return out
    check_nonempty(input, dim, (d,), name)
    shape = reduced_shape(input._shape, (d,), keepdim)
    return run(op, (input,), (d, bool(keepdim)), (shape, _dt.int64), input._device, input._be)


def _check_ordered(input: Tensor, name: str) -> None:
    """Complex numbers have no order: PyTorch refuses them in every extreme (and has no
    extreme kernels for its limited uint16/32/64)."""
    if input._dtype.is_complex or input._dtype in _dt.LIMITED_UINTS:
        raise NotImplementedError(f"{name}(): \"{name}\" not implemented for "
                                  f"'{input._dtype.scalar_name}'")


def _check_not_bool(input: Tensor, name: str) -> None:
    if check_input(input, name)._dtype is _dt.bool:
        raise RuntimeError(f"{name}(): does not support bool input")
    if input._dtype.is_complex:
        raise RuntimeError(f"{name}(): does not support complex input")
    _check_ordered(input, name)  # the limited uint16/32/64


@tensor_method
def argmax(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the first maximum (NaN counts as the maximum); ``dim=None`` flattens."""
    _check_not_bool(input, "argmax")
    return _arg(_ARGMAX, input, dim, keepdim, "argmax")


@tensor_method
def argmin(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the first minimum (NaN counts as the minimum); ``dim=None`` flattens."""
    _check_not_bool(input, "argmin")
    return _arg(_ARGMIN, input, dim, keepdim, "argmin")


def _max_min(input: Tensor, dim: Any, keepdim: bool, largest: bool) -> Any:
    name = "max" if largest else "min"
    check_input(input, name)
    if isinstance(dim, Tensor):
        return (_b.maximum if largest else _b.minimum)(input, dim)
    if dim is None:
        return _extreme(_AMAX if largest else _AMIN, input, None, False, name)
    if input._dtype.is_complex:
        raise RuntimeError(f"{name}(): does not support complex input")
    _check_ordered(input, name)  # the limited uint16/32/64
    d = wrap_dim(dim, input.ndim, name)
    x = input if input._shape else input.reshape(1)
    indices = _arg(_ARGMAX if largest else _ARGMIN, x, d, True, name)
    values = run(_GATHER, (x, d, indices), (), (indices._shape, x._dtype), x._device, x._be)
    if not input._shape or not keepdim:
        shape = reduced_shape(input._shape, (d,), False) if input._shape else ()
        values, indices = values.reshape(shape), indices.reshape(shape)
    return (max_result if largest else min_result)(values, indices)


@tensor_method
def max(input: Tensor, dim: Any = None, keepdim: bool = False) -> Any:  # noqa: A001
    """``max(x)``: the largest element; ``max(x, dim)``: ``(values, indices)``;
    ``max(x, other)``: elementwise ``maximum``."""
    return _max_min(input, dim, keepdim, True)


@tensor_method
def min(input: Tensor, dim: Any = None, keepdim: bool = False) -> Any:  # noqa: A001
    """``min(x)``, ``min(x, dim)`` -> ``(values, indices)``, or ``min(x, other)``."""
    return _max_min(input, dim, keepdim, False)


# -- logical ----------------------------------------------------------------------------------
def _logical(op: Op, input: Tensor, dim: Any, keepdim: bool, name: str) -> Tensor:
    check_input(input, name)
    if dim == () and isinstance(dim, tuple):  # PyTorch: no dims, nothing reduced
        from .binary import ne

        return ne(input, 0) if input._dtype is not _dt.uint8 else cast(ne(input, 0), _dt.uint8)
    x, dims, keepdim, shape = prepare(cast(input, _dt.bool), dim, keepdim, name)
    out = reduce(op, x, dims, keepdim, shape, _dt.bool)
    # PyTorch keeps uint8 for uint8 input (a legacy of masks being uint8)
    return cast(out, _dt.uint8) if input._dtype is _dt.uint8 else out


@tensor_method
def all(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:  # noqa: A001
    """True where every element (over ``dim``) is non-zero; True for empty input."""
    return _logical(_ALL, input, dim, keepdim, "all")


@tensor_method
def any(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:  # noqa: A001
    """True where some element (over ``dim``) is non-zero; False for empty input."""
    return _logical(_ANY, input, dim, keepdim, "any")


__all__ = ["sum", "prod", "mean", "nansum", "nanmean", "count_nonzero", "amax", "amin",
           "aminmax", "argmax", "argmin", "max", "min", "all", "any"]
