"""Unary elementwise ops with their decompositions. Numerically delicate functions
(``log1p``, ``expm1``, ``tanh``) are primitives; the others decompose stably (``asin``
through ``atan2``, ``sinh`` through ``expm1``) so a backend with only the primitives is still
precise."""

from __future__ import annotations

import math
from typing import Any

from .. import dtypes as _dt
from ..op import Op, define
from ..tensor import Tensor, method_table
from . import binary as _b
from ._common import cast, run
from ._elementwise import (
    ARITH,
    BITWISE,
    FLOAT,
    INTEGRAL_ID,
    LOGICAL,
    check_tensor,
    unary,
)
from .copying import write_result

__all__ = [
    "abs", "absolute", "neg", "negative", "exp", "exp2", "expm1", "log", "log2", "log10", "log1p",
    "sqrt", "rsqrt", "sin", "cos", "tan", "asin", "acos", "atan", "arcsin", "arccos", "arctan",
    "sinh", "cosh", "tanh", "sigmoid", "erf", "relu", "floor", "ceil", "trunc", "fix",
    "reciprocal", "square", "sign", "bitwise_not", "logical_not", "round", "isnan", "isinf",
    "isfinite", "isposinf", "isneginf", "signbit", "sgn", "frac", "deg2rad", "rad2deg"
]

TENSOR_METHODS: dict = {}
"""The ``Tensor`` methods this module provides, by name (installed by ``mbtorch.core.ops``)."""
tensor_method = method_table(TENSOR_METHODS)

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)


def _public(op: Op, name: str, kind: int, bool_error: Any = None):
    """The public function of a unary op (and its method and in-place form);
    ``bool_error()`` is the exception a bool input raises, where the op refuses bools."""
    if bool_error is None:
        def fn(input: Tensor) -> Tensor:
            return unary(op, name, input, kind)
    else:
        def fn(input: Tensor) -> Tensor:
            if isinstance(input, Tensor) and input._dtype is _dt.bool:
                raise bool_error()
            return unary(op, name, input, kind)

    fn.__name__ = name
    fn.__doc__ = f"Elementwise ``{name}``."
    tensor_method(fn)

    def inplace(self: Tensor) -> Tensor:
        return write_result(self, fn(self), name + "_")

    inplace.__name__ = name + "_"
    TENSOR_METHODS[name + "_"] = inplace
    return fn


# -- decompositions -----------------------------------------------------------------------
@define(Op.NEG)
def _neg(x):
    return _b.mul(x, -1)


@define(Op.BITWISE_NOT)
def _bitwise_not(x):
    return _b.bitwise_xor(x, True if x._dtype is _dt.bool else -1)


@define(Op.LOGICAL_NOT)
def _logical_not(x):
    return _b.bitwise_xor(x, True)


@define(Op.SIGN)
def _sign(x):
    if x._dtype is _dt.bool:
        return x.clone()
    return _b.sub(cast(_b.gt(x, 0), x._dtype), cast(_b.lt(x, 0), x._dtype))


@define(Op.EXP2)
def _exp2(x):
    return _b.pow(2.0, x)


@define(Op.LOG2)
def _log2(x):
    return _b.div(log(x), _LN2)


@define(Op.LOG10)
def _log10(x):
    return _b.div(log(x), _LN10)


@define(Op.RSQRT)
def _rsqrt(x):
    return _b.div(1.0, sqrt(x))


@define(Op.TAN)
def _tan(x):
    return _b.div(sin(x), cos(x))


def _one_minus_sq_root(x):
    # sqrt((1 - x)(1 + x)) keeps precision near |x| = 1, unlike sqrt(1 - x*x)
    return sqrt(_b.mul(_b.sub(1.0, x), _b.add(x, 1.0)))


@define(Op.ASIN)
def _asin(x):
    return _b.atan2(x, _one_minus_sq_root(x))


@define(Op.ACOS)
def _acos(x):
    return _b.atan2(_one_minus_sq_root(x), x)


@define(Op.ATAN)
def _atan(x):
    from .creation import ones_like

    return _b.atan2(x, ones_like(x))


@define(Op.SINH)
def _sinh(x):
    return _b.mul(_b.sub(expm1(x), expm1(neg(x))), 0.5)


@define(Op.COSH)
def _cosh(x):
    return _b.mul(_b.add(exp(x), exp(neg(x))), 0.5)


@define(Op.SIGMOID)
def _sigmoid(x):
    return _b.div(1.0, _b.add(exp(neg(x)), 1.0))


@define(Op.RELU)
def _relu(x):
    return where(_b.lt(x, 0), 0, x)  # keeps -0.0 and NaN, as PyTorch


@define(Op.CEIL)
def _ceil(x):
    return neg(floor(neg(x)))


@define(Op.TRUNC)
def _trunc(x):
    return where(_b.lt(x, 0), ceil(x), floor(x))


@define(Op.ROUND)
def _round(x):
    # half to even, exact: x - floor(x) is exact, so compare the fraction with 0.5
    f = floor(x)
    frac = _b.sub(x, f)
    f_odd = _b.ne(_b.sub(f, _b.mul(floor(_b.mul(f, 0.5)), 2.0)), 0)
    up = _b.logical_or(_b.gt(frac, 0.5), _b.logical_and(_b.eq(frac, 0.5), f_odd))
    r = where(up, _b.add(f, 1.0), f)
    return where(_b.eq(r, 0), _b.mul(x, 0.0), r)  # round(-0.3) is -0.0


@define(Op.RECIPROCAL)
def _reciprocal(x):
    return _b.div(1.0, x)


@define(Op.SQUARE)
def _square(x):
    return _b.mul(x, x)


@define(Op.ISNAN)
def _isnan(x):
    return _b.ne(x, x)


@define(Op.ISINF)
def _isinf(x):
    return _b.eq(abs(x), math.inf)


@define(Op.ISFINITE)
def _isfinite(x):
    return _b.eq(_b.sub(x, x), 0)  # inf - inf and NaN - NaN are NaN


# -- public functions ---------------------------------------------------------------------
def _neg_bool() -> Exception:
    return RuntimeError("neg(): Negation, the `-` operator, on a bool tensor is not supported. "
                        "If you are trying to invert a mask, use the `~` or `logical_not()` "
                        "operator instead.")


def _abs_bool() -> Exception:
    return NotImplementedError("abs(): not implemented for 'Bool'")


def _relu_bool() -> Exception:
    return RuntimeError("relu(): Boolean inputs not supported for relu")


abs = _public(Op.ABS, "abs", ARITH, _abs_bool)  # noqa: A001
absolute = abs
tensor_method(abs, name="absolute")
neg = _public(Op.NEG, "neg", ARITH, _neg_bool)
Tensor.__neg__ = neg
negative = neg
exp = _public(Op.EXP, "exp", FLOAT)
exp2 = _public(Op.EXP2, "exp2", FLOAT)
expm1 = _public(Op.EXPM1, "expm1", FLOAT)
log = _public(Op.LOG, "log", FLOAT)
log2 = _public(Op.LOG2, "log2", FLOAT)
log10 = _public(Op.LOG10, "log10", FLOAT)
log1p = _public(Op.LOG1P, "log1p", FLOAT)
sqrt = _public(Op.SQRT, "sqrt", FLOAT)
rsqrt = _public(Op.RSQRT, "rsqrt", FLOAT)
sin = _public(Op.SIN, "sin", FLOAT)
cos = _public(Op.COS, "cos", FLOAT)
tan = _public(Op.TAN, "tan", FLOAT)
asin = _public(Op.ASIN, "asin", FLOAT)
acos = _public(Op.ACOS, "acos", FLOAT)
atan = _public(Op.ATAN, "atan", FLOAT)
arcsin, arccos, arctan = asin, acos, atan
sinh = _public(Op.SINH, "sinh", FLOAT)
cosh = _public(Op.COSH, "cosh", FLOAT)
tanh = _public(Op.TANH, "tanh", FLOAT)
sigmoid = _public(Op.SIGMOID, "sigmoid", FLOAT)
erf = _public(Op.ERF, "erf", FLOAT)
relu = _public(Op.RELU, "relu", ARITH, _relu_bool)
floor = _public(Op.FLOOR, "floor", INTEGRAL_ID)
ceil = _public(Op.CEIL, "ceil", INTEGRAL_ID)
trunc = _public(Op.TRUNC, "trunc", INTEGRAL_ID)
fix = trunc
reciprocal = _public(Op.RECIPROCAL, "reciprocal", FLOAT)
_square_op = _public(Op.SQUARE, "square", ARITH)


@tensor_method
def square(input: Tensor) -> Tensor:
    """Elementwise ``square``; a bool tensor gives int64, as ``torch.pow(input, 2)``."""
    if isinstance(input, Tensor) and input._dtype is _dt.bool:
        return _b.pow(input, 2)
    return _square_op(input)


sign = _public(Op.SIGN, "sign", ARITH)
bitwise_not = _public(Op.BITWISE_NOT, "bitwise_not", BITWISE)
logical_not = _public(Op.LOGICAL_NOT, "logical_not", LOGICAL)
for _n, _f in (("arcsin", asin), ("arccos", acos), ("arctan", atan), ("negative", neg),
               ("fix", trunc)):
    tensor_method(_f, name=_n)


@tensor_method
def round(input: Tensor, *, decimals: int = 0) -> Tensor:  # noqa: A001
    """Round half to even; ``decimals`` scales by ``10**decimals`` first, as PyTorch."""
    if decimals == 0:
        return unary(Op.ROUND, "round", input, INTEGRAL_ID)
    check_tensor(input, "round")
    if input._dtype.category != _dt.FLOATING_CATEGORY:
        raise NotImplementedError(f"round(): decimals={decimals} is not implemented for "
                                  f"'{input._dtype.scalar_name}'")
    if decimals < 0:  # divide by the exact power of ten, as PyTorch
        scale = 10.0 ** -decimals
        return _b.mul(unary(Op.ROUND, "round", _b.div(input, scale), INTEGRAL_ID), scale)
    scale = 10.0 ** decimals
    return _b.div(unary(Op.ROUND, "round", _b.mul(input, scale), INTEGRAL_ID), scale)


def _round_(self: Tensor, *, decimals: int = 0) -> Tensor:
    return write_result(self, round(self, decimals=decimals), "round_")


TENSOR_METHODS["round_"] = _round_


@tensor_method
def isnan(input: Tensor) -> Tensor:
    return _classify(Op.ISNAN, "isnan", input, False)


@tensor_method
def isinf(input: Tensor) -> Tensor:
    return _classify(Op.ISINF, "isinf", input, False)


@tensor_method
def isfinite(input: Tensor) -> Tensor:
    return _classify(Op.ISFINITE, "isfinite", input, True)


def _classify(op: Op, name: str, x: Tensor, int_value: bool) -> Tensor:
    check_tensor(x, name)
    if x._dtype.category < _dt.FLOATING_CATEGORY:
        from .creation import full_like

        return full_like(x, int_value, dtype=_dt.bool)
    return run(op, (x,), (), (x._shape, _dt.bool), x._device, x._be)


@tensor_method
def isposinf(input: Tensor) -> Tensor:
    return _b.eq(input, math.inf)


@tensor_method
def isneginf(input: Tensor) -> Tensor:
    return _b.eq(input, -math.inf)


@tensor_method
def signbit(input: Tensor) -> Tensor:
    if input._dtype.category != _dt.FLOATING_CATEGORY:
        return _b.lt(input, 0)
    # -0.0 has its sign bit set: 1 / -0.0 is -inf
    return _b.logical_or(_b.lt(input, 0),
                         _b.logical_and(_b.eq(input, 0), _b.lt(_b.div(1.0, input), 0)))


@tensor_method
def sgn(input: Tensor) -> Tensor:
    """``sign`` of a real tensor; ``x / abs(x)`` (0 at 0) of a complex one."""
    if isinstance(input, Tensor) and input._dtype.is_complex:
        from .ternary import where

        mag = abs(input)
        return where(_b.eq(mag, 0), 0.0, _b.div(input, where(_b.eq(mag, 0), 1.0, mag)))
    return sign(input)


@tensor_method
def frac(input: Tensor) -> Tensor:
    """The fractional part ``x - trunc(x)``, with the sign of ``x``; floating only."""
    check_tensor(input, "frac")
    if input._dtype.category != _dt.FLOATING_CATEGORY:
        raise NotImplementedError(f"frac(): not implemented for '{input._dtype.scalar_name}'")
    return _b.sub(input, trunc(input))


_RAD_PER_DEG = math.pi / 180.0


@tensor_method
def deg2rad(input: Tensor) -> Tensor:
    """Degrees to radians; integers and bools give the default float dtype."""
    check_tensor(input, "deg2rad")
    x = input if input._dtype.is_floating_point else cast(input, _dt.get_default_dtype())
    return _b.mul(x, _RAD_PER_DEG)


@tensor_method
def rad2deg(input: Tensor) -> Tensor:
    """Radians to degrees; integers and bools give the default float dtype."""
    check_tensor(input, "rad2deg")
    x = input if input._dtype.is_floating_point else cast(input, _dt.get_default_dtype())
    return _b.mul(x, 180.0 / math.pi)


for _f in (sgn, frac, deg2rad, rad2deg):
    TENSOR_METHODS[_f.__name__ + "_"] = (
        lambda f: lambda self: write_result(self, f(self), f.__name__ + "_"))(_f)


# ``where``, ``clamp``, ``lerp``... live in ternary.py; re-exported here because the
# decompositions above (and other op modules, through ``unary.where``) use them.
from .ternary import (  # noqa: E402,F401,I001
    addcdiv, addcmul, clamp, clamp_max, clamp_min, clip, lerp, nan_to_num, where,
)
