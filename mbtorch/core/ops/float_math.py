"""Floating-point helpers: ``fmax``/``fmin`` (NaN-ignoring extremes), ``frexp``/``ldexp``
(mantissa and exponent), ``nextafter``; and ``rsub``, ``sub`` with its operands swapped.

Compositions of elementwise primitives. ``frexp`` and ``nextafter`` never reinterpret bits:
the exponent comes from ``log2`` corrected by one step either way, scalings by powers of two
are split in two (float64) so neither half overflows, and the neighbour of ``x`` is ``x``
plus or minus one unit in the last place, added exactly.
"""

from __future__ import annotations

import math
from typing import Any

from .. import dtypes as _dt
from ..host import finfo
from ..meta import result_type
from ..tensor import Tensor, method_table
from . import binary as _b
from ._common import cast, return_type
from .copying import write_result
from .creation import full
from .special import copysign
from .ternary import where
from .unary import isinf, isnan

TENSOR_METHODS: dict = {}
"""The ``Tensor`` methods this module provides, by name (installed by ``mbtorch.core.ops``)."""
tensor_method = method_table(TENSOR_METHODS)

# significand bits (with the implicit one) per floating dtype
_DIGITS = {_dt.float16: 11, _dt.bfloat16: 8, _dt.float32: 24, _dt.float64: 53}

frexp_result = return_type("frexp", ("mantissa", "exponent"))


def _tensors(name: str, **args: Any) -> None:
    for position, (arg, v) in enumerate(args.items(), 1):
        if not isinstance(v, Tensor):
            raise TypeError(f"{name}(): argument '{arg}' (position {position}) must be Tensor, "
                            f"not {type(v).__name__}")


def _extreme(input: Tensor, other: Tensor, name: str, keep_self: Any) -> Tensor:
    _tensors(name, input=input, other=other)
    dtype = result_type((input, other), name)
    a, b = cast(input, dtype), cast(other, dtype)
    if not dtype.is_floating_point:
        return where(keep_self(a, b), a, b)
    # ties and NaN in ``other`` go to ``input``, so the gradient follows PyTorch's rule
    return where(keep_self(a, b) | isnan(b), a, b)


@tensor_method
def fmax(input: Tensor, other: Tensor) -> Tensor:
    """Elementwise maximum that ignores NaN (NaN only where both are NaN).

    >>> mbtorch.fmax(mbtorch.tensor([1.0, float("nan")]), mbtorch.tensor([float("nan"), 3.0]))
    tensor([1., 3.])
    """
    return _extreme(input, other, "fmax", _b.ge)


@tensor_method
def fmin(input: Tensor, other: Tensor) -> Tensor:
    """Elementwise minimum that ignores NaN (NaN only where both are NaN)."""
    return _extreme(input, other, "fmin", _b.le)


def _exponent(x64: Tensor) -> Tensor:
    """frexp's exponent of finite non-zero float64 ``x64`` (other elements: junk)."""
    ax = x64.abs()
    safe = where((ax > 0) & ~isinf(ax) & ~isnan(ax), ax, 1.0)
    e = cast(safe.log2().floor(), _dt.int64) + 1
    m = _scale(safe, -e)
    return e + cast(m >= 1, _dt.int64) - cast(m < 0.5, _dt.int64)


def _scale(x64: Tensor, e: Tensor) -> Tensor:
    """``x64 * 2**e`` (exact), the power split in two so that neither factor overflows."""
    half = _b.div(e, 2, rounding_mode="floor")
    return x64 * _b.pow(2.0, cast(half, _dt.float64)) * _b.pow(2.0, cast(e - half, _dt.float64))


@tensor_method
def frexp(input: Tensor) -> tuple:
    """``(mantissa, exponent)`` with ``input = mantissa * 2**exponent``, ``|mantissa|`` in
    [0.5, 1) (0, inf and NaN: themselves with exponent 0); the exponent is int32."""
    _tensors("frexp", input=input)
    if not input._dtype.is_floating_point:
        raise RuntimeError("torch.frexp() only supports floating-point dtypes")
    x64 = cast(input, _dt.float64)
    special = (input == 0) | isinf(input) | isnan(input)
    e = where(special, 0, _exponent(x64))
    mantissa = cast(where(special, x64, _scale(x64, -e)), input._dtype)
    return frexp_result(mantissa, cast(e, _dt.int32))


@tensor_method
def ldexp(input: Tensor, other: Tensor) -> Tensor:
    """``input * 2**other`` (integer inputs give the default float dtype).

    >>> mbtorch.ldexp(mbtorch.tensor([1.0]), mbtorch.tensor([3]))
    tensor([8.])
    """
    _tensors("ldexp", input=input, other=other)
    return _b.mul(input, _b.pow(2.0, other))


@tensor_method
def ldexp_(self: Tensor, other: Tensor) -> Tensor:
    out = ldexp(self, other)
    if out._dtype.category > self._dtype.category:
        raise RuntimeError(f"ldexp can't be cast to the desired output type "
                           f"{self._dtype.scalar_name}")
    return write_result(self, out, "ldexp_")


@tensor_method
def nextafter(input: Tensor, other: Tensor) -> Tensor:
    """The next representable value after ``input`` towards ``other``, elementwise."""
    _tensors("nextafter", input=input, other=other)
    dtype = result_type((input, other), "nextafter")
    if not dtype.is_floating_point:
        raise NotImplementedError(f'"nextafter_cpu" not implemented for '
                                  f"'{dtype.scalar_name}'")
    x, y = cast(input, dtype), cast(other, dtype)
    info, p = finfo(dtype), _DIGITS[dtype]
    lowest = round(math.log2(info.tiny)) - (p - 1)  # exponent of the smallest subnormal
    x64 = cast(x, _dt.float64)
    e = _exponent(x64)
    m = _scale(x64, -e).abs()
    away = (y > x) == (x > 0)
    # one unit in the last place; half of it below a power of two when moving towards zero
    shift = where(~away & (m == 0.5), e - p - 1, e - p).clamp_min(lowest)
    step = cast(_b.pow(2.0, cast(shift, _dt.float64)), dtype)
    moved = where(y > x, x + step, x - step)
    tiny = full((), 2.0 ** lowest, dtype=dtype, device=x._device)
    largest = full((), info.max, dtype=dtype, device=x._device)
    out = where(isinf(x), copysign(largest, x), moved)
    out = where(x == 0, copysign(tiny, y), out)
    out = where(x == y, y, out)
    return where(isnan(x) | isnan(y), x + y, out)


@tensor_method
def nextafter_(self: Tensor, other: Tensor) -> Tensor:
    return write_result(self, nextafter(self, other), "nextafter_")


def rsub(input: Tensor, other: Any, *, alpha: Any = 1) -> Tensor:
    """``other - alpha * input`` (``sub`` with the operands swapped).

    >>> mbtorch.rsub(mbtorch.tensor([1, 2]), 5)
    tensor([4, 3])
    """
    _tensors("rsub", input=input)
    return _b.sub(other, input, alpha=alpha)


__all__ = ["fmax", "fmin", "frexp", "ldexp", "ldexp_", "nextafter", "rsub"]
