"""The softmax family, computed stably around the maximum: ``logsumexp``, ``softmax``,
``log_softmax``.

Op attrs: ``LOGSUMEXP``: ``(x, dims, keepdim)``; ``SOFTMAX``/``LOG_SOFTMAX``: ``(x, dim)``
with one non-negative ``dim``. Inputs are floating (the public functions convert); float16
and bfloat16 are computed in float32 and rounded once, as PyTorch's cpu kernels do.
"""

from __future__ import annotations

from typing import Any

from .. import dtypes as _dt
from ..op import Op, define
from ..tensor import Tensor, method_table, wrap_dim
from . import binary as _b
from . import unary as _u
from ._common import cast, run
from ._reduce import check_input, float_dtype, prepare, reduce, reduced_shape, upcast

TENSOR_METHODS: dict = {}
"""The ``Tensor`` methods this module provides, by name (installed by ``mbtorch.core.ops``)."""
tensor_method = method_table(TENSOR_METHODS)

# members read per call: ``Op.X`` is a slow attribute on Python 3.11 (EnumType.__getattr__)
_AMAX = Op.AMAX
_LOGSUMEXP = Op.LOGSUMEXP
_LOG_SOFTMAX = Op.LOG_SOFTMAX
_SOFTMAX = Op.SOFTMAX
_SUM = Op.SUM


def _shifted(y: Tensor, dims: tuple) -> tuple[Tensor, Tensor]:
    """``(y - m, m)`` with ``m`` the max over ``dims`` (kept), infinities in ``m`` replaced
    by 0 so that a slice of all -inf (or one +inf) does not turn into inf - inf = nan."""
    m = reduce(_AMAX, y, dims, True, reduced_shape(y._shape, dims, True))
    m = _u.where(_u.isinf(m), 0.0, m)
    return _b.sub(y, m), m


@define(Op.LOGSUMEXP)
def _logsumexp(x: Tensor, dims: tuple, keepdim: bool) -> Tensor:
    y = upcast(x)
    shape = reduced_shape(y._shape, dims, keepdim)
    if any(y._shape[d] == 0 for d in dims):  # no maximum to shift by; the sum is 0
        return cast(_u.log(reduce(_SUM, _u.exp(y), dims, keepdim, shape)), x._dtype)
    z, m = _shifted(y, dims)
    out = _b.add(_u.log(reduce(_SUM, _u.exp(z), dims, keepdim, shape)),
                 m if keepdim else m.reshape(shape))
    return cast(out, x._dtype)


@define(Op.SOFTMAX)
def _softmax(x: Tensor, dim: int) -> Tensor:
    if x._shape[dim] == 0:
        return _u.exp(x)  # empty
    y = upcast(x)
    # PyTorch shifts by the true max: a row holding +inf gives nan, as there
    m = reduce(_AMAX, y, (dim,), True, reduced_shape(y._shape, (dim,), True))
    e = _u.exp(_b.sub(y, m))
    total = reduce(_SUM, e, (dim,), True, m._shape)
    return cast(_b.div(e, total), x._dtype)


@define(Op.LOG_SOFTMAX)
def _log_softmax(x: Tensor, dim: int) -> Tensor:
    if x._shape[dim] == 0:
        return _u.exp(x)  # empty
    y = upcast(x)
    m = reduce(_AMAX, y, (dim,), True, reduced_shape(y._shape, (dim,), True))
    z = _b.sub(y, m)
    total = reduce(_SUM, _u.exp(z), (dim,), True, m._shape)
    return cast(_b.sub(z, _u.log(total)), x._dtype)


@tensor_method
def logsumexp(input: Tensor, dim: Any, keepdim: bool = False) -> Tensor:
    """``log(sum(exp(input), dim))`` without overflow; integers give the default float.

    >>> mbtorch.logsumexp(mbtorch.tensor([1000.0, 1000.0]), 0)
    tensor(1000.6931)
    """
    check_input(input, "logsumexp")
    x = cast(input, float_dtype(input, None, "logsumexp"), "logsumexp")
    x, dims, keepdim, shape = prepare(x, dim, keepdim, "logsumexp")
    return reduce(_LOGSUMEXP, x, dims, keepdim, shape)


def _softmax_like(op: Op, name: str, input: Tensor, dim: Any, dtype: Any) -> Tensor:
    check_input(input, name)
    if dim is None:
        raise TypeError(f"{name}(): argument 'dim' must be int, not NoneType")
    if dtype is not None:
        input = cast(input, _dt.as_dtype(dtype, name), name)
    if input._dtype.category != _dt.FLOATING_CATEGORY:
        raise NotImplementedError(f'"{name}_kernel_impl" not implemented for '
                                  f"'{input._dtype.scalar_name}'")
    d = wrap_dim(dim, input.ndim, name)
    x = input if input._shape else input.reshape(1)
    out = run(op, (x,), (d,), (x._shape, x._dtype), x._device, x._be)
    return out if input._shape else out.reshape(())


@tensor_method
def softmax(input: Tensor, dim: int, dtype: _dt.dtype | None = None) -> Tensor:
    """``exp(x) / sum(exp(x), dim)``, computed as ``exp(x - max)`` for stability;
    ``dtype=`` converts the input first."""
    return _softmax_like(_SOFTMAX, "softmax", input, dim, dtype)


@tensor_method
def log_softmax(input: Tensor, dim: int, dtype: _dt.dtype | None = None) -> Tensor:
    """``x - logsumexp(x, dim)``, stable for large inputs."""
    return _softmax_like(_LOG_SOFTMAX, "log_softmax", input, dim, dtype)


__all__ = ["logsumexp", "softmax", "log_softmax"]
