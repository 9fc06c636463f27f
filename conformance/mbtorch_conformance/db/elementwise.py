"""Elementwise entries: unary, binary and ternary ops, compared with NumPy in float64."""

from __future__ import annotations

import math

import numpy as np

import mbtorch as mt
from mbtorch.core.host import NUMPY_DTYPES
from mbtorch.core.op import Op

from ..samples import BINARY, TERNARY, UNARY, Lit, Mask, Vals, case
from . import ALL, FLOATS, INTEGRAL, INTS, NUMERIC, Bad, Entry

__all__ = [
    "NOT_TENSOR", "NO_BROADCAST", "BOOL_IN", "FLOAT_IN", "CLAMP_CASES", "WHERE_CASES",
    "LERP_CASES", "EXP_HARD", "ENTRIES"
]

_erf = np.vectorize(math.erf, otypes=[np.float64])
NOT_TENSOR = Bad((Lit([1.0, 2.0]),), {}, TypeError, "a list is not a Tensor")
NO_BROADCAST = Bad(((2, 3), (4,)), {}, RuntimeError, "shapes (2, 3) and (4,) don't broadcast")
BOOL_IN = Bad(((3,),), {}, NotImplementedError, "not implemented for bool", mt.bool)
FLOAT_IN = Bad(((3,), (3,)), {}, NotImplementedError, "not implemented for float")


def _un(op: Op, name: str, ref, dtypes=ALL, out="same", domain="real", errors=(),
        cases=UNARY, **kw) -> Entry:
    kw.setdefault("specials", True)
    kw.setdefault("inplace", f"{name}_")
    return Entry(name, op, f"mbtorch.{name}", ref, cases, dtypes, (domain,), out,
                 errors=(NOT_TENSOR, *errors), **kw)


def _fl(op: Op, name: str, ref, domain="real", **kw) -> Entry:
    """Float-producing unary op: integer and bool input computes in the default float."""
    return _un(op, name, ref, ALL, "float", domain, float_ref=True, **kw)


def _bi(op: Op, name: str, ref, dtypes=NUMERIC, out="same", domains=("real", "real"),
        scalars=(3, -2.5), errors=(), inplace=True, specials=True, **kw) -> Entry:
    no_broadcast = Bad(NO_BROADCAST.args, {}, RuntimeError, NO_BROADCAST.why, dtypes[-1])
    return Entry(name, op, f"mbtorch.{name}", ref, BINARY, dtypes, domains, out,
                 scalars=scalars, scalar_promotion=True, inplace=f"{name}_" if inplace else None,
                 errors=(no_broadcast, *errors), specials=specials, **kw)


def _cmp(op: Op, name: str, ref) -> Entry:
    return _bi(op, name, ref, ALL, "bool", scalars=(3, -2.5), grad=False)


def _remainder(a, b, _dtype=None):
    if not _dtype.is_floating_point:
        return np.remainder(a, b)
    # PyTorch: fmod, moved into the divisor's sign; NaN where the quotient overflows
    m = np.fmod(a, b)
    m = np.where((m != 0) & ((b < 0) != (m < 0)), m + b, m)
    wide = np.float32 if _dtype.itemsize == 2 else NUMPY_DTYPES[_dtype]  # half computes in float
    q = np.asarray(np.asarray(a) / b).astype(wide)
    return np.where(np.isinf(q) & np.isfinite(a) & np.isfinite(b), np.nan, m)


def _erfinv_scalar(v: float) -> float:
    a = abs(v)
    if not a <= 1.0:
        return math.nan
    if a == 1.0:
        return math.copysign(math.inf, v)
    if a < 1e-8:  # erfinv(x) = sqrt(pi)/2 (x + pi x**3 / 12 + ...)
        return v * math.sqrt(math.pi) / 2
    # bisection on erf, or on erfc near 1 where 1 - a is exact and erf would round to 1
    lo, hi = 0.0, 7.0
    for _ in range(90):
        mid = (lo + hi) / 2
        below = math.erf(mid) < a if a < 0.5 else math.erfc(mid) > 1.0 - a
        lo, hi = (mid, hi) if below else (lo, mid)
    return math.copysign((lo + hi) / 2, v)


_erfinv = np.vectorize(_erfinv_scalar, otypes=[np.float64])


def _sign(x):
    return x.copy() if x.dtype == bool else np.where(np.isnan(x), 0.0, np.sign(x))


def _sigmoid(x):
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


def _lerp(a, b, w):
    return np.where(np.abs(w) < 0.5, a + w * (b - a), b - (b - a) * (1 - w))


def _clamp(x, lo=None, hi=None):
    if lo is not None:
        x = np.where(np.isnan(x), x, np.maximum(x, lo))
    if hi is not None:
        x = np.where(np.isnan(x), x, np.minimum(x, hi))
    return x


def _nan_to_num(x, nan=0.0, posinf=None, neginf=None, _dtype=None):
    info = mt.finfo(_dtype)
    hi = info.max if posinf is None else posinf
    lo = info.min if neginf is None else neginf
    return np.where(np.isnan(x), nan, np.where(x == np.inf, hi, np.where(x == -np.inf, lo, x)))


_ROUNDING = INTS + FLOATS  # PyTorch's rounding ops keep integers, refuse bool
CLAMP_CASES = [
    case((7,), Lit(-1.0), Lit(1.5)), case((3, 4), Lit(0), Lit(None)),
    case((3, 4), Lit(None), Lit(2)),
    case((2, 3, 4), (4,), (3, 1)), case((), Lit(-2.0), Lit(2.0)), case((0, 3), Lit(1), Lit(2)),
    case((5, 6), (5, 6), (5, 6), tiers=("standard", "full")),
    case((4, 1), (1, 3), Lit(None), tiers=("standard", "full")),
    case((9,), Lit(5), Lit(2), tiers=("standard", "full")),  # min > max: all become max
]
WHERE_CASES = [case(Mask(s[0]), *s[1:], **c.kwargs) for c in TERNARY for s in [c.args]]
LERP_CASES = [case(*c.args[:2], Lit(w)) for c in BINARY[:6] for w in (0.25,)] + TERNARY
# hard values for exp-like ops, one kind per sample (samples.HARD_KINDS): tiny and near-zero first
# (where exp(x) - 1 cancels), then exponents that overflow and underflow the dtype. They test
# the forward kernels: at 411 elements they stay out of the gradient checks (which take samples
# of up to 400), where finite differences and half-precision products near overflow would
# measure the method, not the backend
EXP_HARD = UNARY + [case(Vals((411,), k), tiers=("standard", "full"))
                    for k in ("tiny", "near_zero", "large", "large_neg", "huge")]

ENTRIES = [
    # -- primitives
    _bi(Op.ADD, "add", np.add, ALL), _bi(Op.MUL, "mul", np.multiply, ALL),
    _bi(Op.DIV, "div", np.divide, ALL, "float", ("real", "nonzero"), float_ref=True),
    _bi(Op.POW, "pow", np.power, NUMERIC, domains=("real", "exp"), specials="float",
        grad_domain="pos"),
    _bi(Op.MAXIMUM, "maximum", np.maximum, ALL, scalars=(), grad_domain="real"),
    _bi(Op.FLOOR_DIVIDE, "floor_divide", np.floor_divide, NUMERIC, domains=("real", "nonzero"),
        specials="float", grad=False),
    _bi(Op.ATAN2, "atan2", np.arctan2, ALL, "float", float_ref=True, scalars=()),
    _cmp(Op.EQ, "eq", np.equal), _cmp(Op.LT, "lt", np.less),
    _bi(Op.BITWISE_AND, "bitwise_and", np.bitwise_and, INTEGRAL, scalars=(3,), grad=False,
        errors=(FLOAT_IN,)),
    _bi(Op.BITWISE_OR, "bitwise_or", np.bitwise_or, INTEGRAL, scalars=(3,), grad=False),
    _bi(Op.BITWISE_XOR, "bitwise_xor", np.bitwise_xor, INTEGRAL, scalars=(3,), grad=False),
    _un(Op.ABS, "abs", np.abs, NUMERIC, errors=(BOOL_IN,), grad_domain="nonzero"),
    _fl(Op.EXP, "exp", np.exp, cases=EXP_HARD), _fl(Op.LOG, "log", np.log, "pos"),
    _fl(Op.LOG1P, "log1p", np.log1p, "pos", cases=EXP_HARD[:len(UNARY) + 2]),
    _fl(Op.EXPM1, "expm1", np.expm1, cases=EXP_HARD),
    _fl(Op.SQRT, "sqrt", np.sqrt, "pos"), _fl(Op.SIN, "sin", np.sin),
    _fl(Op.COS, "cos", np.cos), _fl(Op.TANH, "tanh", np.tanh),
    _un(Op.FLOOR, "floor", np.floor, _ROUNDING, grad=False, errors=(BOOL_IN,)),
    _fl(Op.ERF, "erf", _erf),
    Entry("where", Op.WHERE, "mbtorch.where", np.where, WHERE_CASES, ALL,
          ("real", "real", "real"), scalar_promotion=True, errors=(
              Bad((Mask((2, 3)), (2, 3), (4,)), {}, RuntimeError, "shapes don't broadcast"),)),
    # -- composites
    _bi(Op.SUB, "sub", np.subtract, NUMERIC,
        errors=(Bad(((2,), (2,)), {}, RuntimeError, "bool - bool", mt.bool),)),
    _un(Op.NEG, "neg", np.negative, NUMERIC,
        errors=(Bad(((2,),), {}, RuntimeError, "-bool", mt.bool),)),
    _bi(Op.MINIMUM, "minimum", np.minimum, ALL, scalars=(), grad_domain="real"),
    _cmp(Op.NE, "ne", np.not_equal), _cmp(Op.LE, "le", np.less_equal),
    _cmp(Op.GT, "gt", np.greater), _cmp(Op.GE, "ge", np.greater_equal),
    _bi(Op.REMAINDER, "remainder", _remainder, NUMERIC, domains=("real", "nonzero"),
        specials="float", grad_domain="pos", ref_dtype=True),
    _un(Op.BITWISE_NOT, "bitwise_not", np.invert, INTEGRAL, grad=False,
        errors=(Bad(((3,),), {}, NotImplementedError, "bitwise_not(float)"),)),
    _un(Op.LOGICAL_NOT, "logical_not", np.logical_not, ALL, "bool", grad=False),
    _bi(Op.LOGICAL_AND, "logical_and", np.logical_and, ALL, "bool", grad=False,
        scalars=()),
    _bi(Op.LOGICAL_OR, "logical_or", np.logical_or, ALL, "bool", grad=False,
        scalars=()),
    _bi(Op.LOGICAL_XOR, "logical_xor", np.logical_xor, ALL, "bool", grad=False,
        scalars=()),
    _un(Op.SIGN, "sign", _sign, ALL, grad=False),
    _fl(Op.EXP2, "exp2", np.exp2, cases=EXP_HARD), _fl(Op.LOG2, "log2", np.log2, "pos"),
    _fl(Op.LOG10, "log10", np.log10, "pos"), _fl(Op.RSQRT, "rsqrt", lambda x: 1 / np.sqrt(x),
                                                 "pos"),
    _fl(Op.TAN, "tan", np.tan, "unit"), _fl(Op.ASIN, "asin", np.arcsin, "unit"),
    _fl(Op.ACOS, "acos", np.arccos, "unit"), _fl(Op.ATAN, "atan", np.arctan),
    _fl(Op.SINH, "sinh", np.sinh), _fl(Op.COSH, "cosh", np.cosh),
    _fl(Op.SIGMOID, "sigmoid", _sigmoid, cases=EXP_HARD),
    _un(Op.RELU, "relu", lambda x: np.where((x > 0) | (x != x), x, np.zeros_like(x)), NUMERIC,
        grad_domain="nonzero", errors=(Bad(((2,),), {}, RuntimeError, "relu(bool)", mt.bool),)),
    _un(Op.CEIL, "ceil", np.ceil, _ROUNDING, grad=False, errors=(BOOL_IN,)),
    _un(Op.ROUND, "round", np.round, _ROUNDING, grad=False, errors=(BOOL_IN,)),
    _un(Op.TRUNC, "trunc", np.trunc, _ROUNDING, grad=False, errors=(BOOL_IN,)),
    _fl(Op.RECIPROCAL, "reciprocal", lambda x: 1 / x, "nonzero"),
    _un(Op.SQUARE, "square", np.square, NUMERIC),
    Entry("clamp", Op.CLAMP, "mbtorch.clamp", _clamp, CLAMP_CASES, NUMERIC,
          ("real", "small", "small"), inplace="clamp_", scalar_promotion=True, grad_domain="real",
          errors=(Bad(((3,),), {}, RuntimeError, "neither min nor max"),)),
    _un(Op.ISNAN, "isnan", np.isnan, ALL, "bool", grad=False, inplace=None),
    _un(Op.ISINF, "isinf", np.isinf, ALL, "bool", grad=False, inplace=None),
    _un(Op.ISFINITE, "isfinite", np.isfinite, ALL, "bool", grad=False, inplace=None),
    Entry("nan_to_num", Op.NAN_TO_NUM, "mbtorch.nan_to_num", _nan_to_num,
          UNARY + [case((5,), nan=1.5, posinf=100.0, neginf=-100.0)], FLOATS, inplace=None,
          grad_domain="real", ref_dtype=True),
    Entry("lerp", Op.LERP, "mbtorch.lerp", _lerp, LERP_CASES, FLOATS, ("real", "real", "prob"),
          errors=(Bad(((3,), (3,), Lit(0.5)), {}, NotImplementedError, "lerp on int",
                      mt.int64),)),
    _fl(Op.ERFINV, "erfinv", _erfinv, "unit"),
]
