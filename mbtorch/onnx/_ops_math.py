"""ONNX translations of the elementwise ops and reductions. Where ONNX has no operator, or its
operator differs from PyTorch's definition (``remainder``'s sign, ``floor_divide``, ``log1p``'s
accuracy), the translation spells out PyTorch's formula with ONNX operators."""

from __future__ import annotations

__all__: list[str] = []

import math

from onnx import TensorProto

from ..core.op import Op
from ._context import Ctx, translates

_SAME = {
    Op.ADD: "Add", Op.SUB: "Sub", Op.MUL: "Mul", Op.DIV: "Div", Op.POW: "Pow",
    Op.MAXIMUM: "Max", Op.MINIMUM: "Min", Op.EQ: "Equal", Op.LT: "Less",
    Op.LE: "LessOrEqual", Op.GT: "Greater", Op.GE: "GreaterOrEqual", Op.MATMUL: "MatMul",
    Op.LOGICAL_AND: "And", Op.LOGICAL_OR: "Or", Op.LOGICAL_XOR: "Xor", Op.WHERE: "Where",
    Op.ABS: "Abs", Op.EXP: "Exp", Op.LOG: "Log", Op.SQRT: "Sqrt", Op.SIN: "Sin", Op.COS: "Cos",
    Op.TANH: "Tanh", Op.FLOOR: "Floor", Op.CEIL: "Ceil", Op.ERF: "Erf", Op.NEG: "Neg",
    Op.SIGN: "Sign", Op.ROUND: "Round", Op.RECIPROCAL: "Reciprocal", Op.TAN: "Tan",
    Op.ASIN: "Asin", Op.ACOS: "Acos", Op.ATAN: "Atan", Op.SINH: "Sinh", Op.COSH: "Cosh",
    Op.SIGMOID: "Sigmoid", Op.RELU: "Relu", Op.ISNAN: "IsNaN", Op.ISINF: "IsInf",
    Op.LOGICAL_NOT: "Not", Op.CONTIGUOUS: "Identity",
}


@translates(*_SAME)
def _same(c: Ctx) -> list[str]:
    return [c.b.op1(_SAME[c.op], c.inputs())]


@translates(Op.NE)
def _ne(c: Ctx) -> list[str]:
    return [c.b.op1("Not", [c.b.op1("Equal", c.inputs())])]


@translates(Op.BITWISE_AND, Op.BITWISE_OR, Op.BITWISE_XOR, Op.BITWISE_NOT)
def _bitwise(c: Ctx) -> list[str]:
    word = {Op.BITWISE_AND: "And", Op.BITWISE_OR: "Or", Op.BITWISE_XOR: "Xor",
            Op.BITWISE_NOT: "Not"}[c.op]
    name = word if c.out_dtype.name == "bool" else "Bitwise" + word
    return [c.b.op1(name, c.inputs())]


@translates(Op.CAST)
def _cast(c: Ctx) -> list[str]:
    return [c.b.op1("Cast", [c.input(0)], to=c.out_type)]


def _k(c: Ctx, value: float) -> str:
    """A scalar constant of the node's output dtype."""
    return c.b.scalar(value, c.out_dtype)


@translates(Op.SQUARE)
def _square(c: Ctx) -> list[str]:
    x = c.input(0)
    return [c.b.op1("Mul", [x, x])]


@translates(Op.RSQRT)
def _rsqrt(c: Ctx) -> list[str]:
    return [c.b.op1("Reciprocal", [c.b.op1("Sqrt", [c.input(0)])])]


@translates(Op.EXP2)
def _exp2(c: Ctx) -> list[str]:
    return [c.b.op1("Pow", [_k(c, 2.0), c.input(0)])]


@translates(Op.LOG2, Op.LOG10)
def _log_base(c: Ctx) -> list[str]:
    base = 2.0 if c.op is Op.LOG2 else 10.0
    return [c.b.op1("Div", [c.b.op1("Log", [c.input(0)]), _k(c, math.log(base))])]


@translates(Op.LOG1P)
def _log1p(c: Ctx) -> list[str]:
    # log(u) * x / (u - 1) with u = 1 + x: exact where 1 + x rounds (Goldberg's formula)
    b, x, one = c.b, c.input(0), _k(c, 1.0)
    u = b.op1("Add", [x, one])
    um1 = b.op1("Sub", [u, one])
    ratio = b.op1("Div", [b.op1("Mul", [b.op1("Log", [u]), x]), um1])
    fine = b.op1("Where", [b.op1("Equal", [u, b.op1("Add", [u, one])]), b.op1("Log", [u]),
                           ratio])  # u is huge or inf: log(u)
    return [b.op1("Where", [b.op1("Equal", [u, one]), x, fine])]


@translates(Op.EXPM1)
def _expm1(c: Ctx) -> list[str]:
    # (u - 1) * x / log(u) with u = exp(x) (Kahan's formula); x where u rounds to 1
    b, x, one = c.b, c.input(0), _k(c, 1.0)
    u = b.op1("Exp", [x])
    um1 = b.op1("Sub", [u, one])
    ratio = b.op1("Div", [b.op1("Mul", [um1, x]), b.op1("Log", [u])])
    plain = b.op1("Where", [b.op1("IsInf", [u]), u, ratio])
    plain = b.op1("Where", [b.op1("Equal", [um1, _k(c, -1.0)]), um1, plain])
    return [b.op1("Where", [b.op1("Equal", [u, one]), x, plain])]


@translates(Op.TRUNC)
def _trunc(c: Ctx) -> list[str]:
    x = c.input(0)
    return [c.b.op1("Mul", [c.b.op1("Sign", [x]), c.b.op1("Floor", [c.b.op1("Abs", [x])])])]


@translates(Op.ISFINITE)
def _isfinite(c: Ctx) -> list[str]:
    x = c.input(0)
    bad = c.b.op1("Or", [c.b.op1("IsNaN", [x]), c.b.op1("IsInf", [x])])
    return [c.b.op1("Not", [bad])]


@translates(Op.CLAMP)
def _clamp(c: Ctx) -> list[str]:
    x = out = c.input(0)
    for i, name in ((1, "Max"), (2, "Min")):
        if c.arg(i) is not None:
            out = c.b.op1(name, [out, c.input(i)])
    if not c.out_dtype.is_floating_point:
        return [out]
    # PyTorch's clamp propagates a NaN in x whatever the bounds
    return [c.b.op1("Where", [c.b.op1("IsNaN", [x]), x, out])]


@translates(Op.NAN_TO_NUM)
def _nan_to_num(c: Ctx) -> list[str]:
    b, x = c.b, c.input(0)
    nan, posinf, neginf = (_k(c, c.arg(i)) for i in (1, 2, 3))
    out = b.op1("Where", [b.op1("IsInf", [x], detect_negative=0), posinf, x])
    out = b.op1("Where", [b.op1("IsInf", [x], detect_positive=0), neginf, out])
    return [b.op1("Where", [b.op1("IsNaN", [x]), nan, out])]


@translates(Op.LERP)
def _lerp(c: Ctx) -> list[str]:
    # PyTorch: weight < 0.5 ? start + w (end - start) : end - (end - start)(1 - w)
    b = c.b
    start, end, w = c.input(0), c.input(1), c.input(2)
    diff = b.op1("Sub", [end, start])
    low = b.op1("Add", [start, b.op1("Mul", [w, diff])])
    high = b.op1("Sub", [end, b.op1("Mul", [diff, b.op1("Sub", [_k(c, 1.0), w])])])
    return [b.op1("Where", [b.op1("Less", [b.op1("Abs", [w]), _k(c, 0.5)]), low, high])]


def _fmod_floor(c: Ctx) -> tuple[str, str, str]:
    """``(mod, a, b)``: Python's modulo of the node's operands (the sign of b)."""
    b, x, y = c.b, c.input(0), c.input(1)
    floating = c.out_dtype.is_floating_point
    mod = b.op1("Mod", [x, y], fmod=1 if floating else 0)
    if floating:  # fmod has the sign of a: move it to b's side as PyTorch does
        zero = _k(c, 0.0)
        signs = b.op1("Xor", [b.op1("Less", [y, zero]), b.op1("Less", [mod, zero])])
        fix = b.op1("And", [b.op1("Not", [b.op1("Equal", [mod, zero])]), signs])
        mod = b.op1("Where", [fix, b.op1("Add", [mod, y]), mod])
    return mod, x, y


@translates(Op.REMAINDER)
def _remainder(c: Ctx) -> list[str]:
    return [_fmod_floor(c)[0]]


@translates(Op.FLOOR_DIVIDE)
def _floor_divide(c: Ctx) -> list[str]:
    b = c.b
    mod, x, y = _fmod_floor(c)
    q = b.op1("Div", [b.op1("Sub", [x, mod]), y])  # exact for integers
    if not c.out_dtype.is_floating_point:
        return [q]
    q = b.op1("Round", [q])  # (a - mod) / b is an integer up to rounding
    # by zero: a / 0 (inf with a's sign, or nan), as PyTorch
    return [b.op1("Where", [b.op1("Equal", [y, _k(c, 0.0)]), b.op1("Div", [x, y]), q])]


@translates(Op.ATAN2)
def _atan2(c: Ctx) -> list[str]:
    b, y, x = c.b, c.input(0), c.input(1)
    zero, pi = _k(c, 0.0), _k(c, math.pi)
    base = b.op1("Atan", [b.op1("Div", [y, x])])
    neg_x = b.op1("Less", [x, zero])
    shift = b.op1("Where", [b.op1("Less", [y, zero]), b.op1("Neg", [pi]), pi])
    out = b.op1("Where", [neg_x, b.op1("Add", [base, shift]), base])
    half = b.op1("Mul", [b.op1("Sign", [y]), _k(c, math.pi / 2)])
    on_axis = b.op1("Where", [b.op1("Equal", [y, zero]), y, half])  # atan2(±0, 0) = ±0
    return [b.op1("Where", [b.op1("Equal", [x, zero]), on_axis, out])]


# -- reductions ------------------------------------------------------------------------
_REDUCE = {Op.SUM: "ReduceSum", Op.PROD: "ReduceProd", Op.AMAX: "ReduceMax",
           Op.AMIN: "ReduceMin", Op.MEAN: "ReduceMean"}


def _axes(c: Ctx, dims: tuple) -> str:
    return c.b.ints(c.static(tuple(dims), "the reduced dims"), "axes")


@translates(*_REDUCE)
def _reduce(c: Ctx) -> list[str]:
    dims, keep = c.arg(1), c.arg(2)
    return [c.b.op1(_REDUCE[c.op], [c.input(0), _axes(c, dims)], keepdims=int(keep))]


@translates(Op.ANY, Op.ALL)
def _any_all(c: Ctx) -> list[str]:
    b, dims, keep = c.b, c.arg(1), c.arg(2)
    x = c.input(0)
    if c.value(0).dtype.name != "bool":
        x = b.op1("Cast", [x], to=c.out_type)
    ints = b.op1("Cast", [x], to=TensorProto.INT32)
    name = "ReduceMax" if c.op is Op.ANY else "ReduceMin"
    red = b.op1(name, [ints, _axes(c, dims)], keepdims=int(keep))
    return [b.op1("Cast", [red], to=c.out_type)]


def _count(c: Ctx, dims: tuple) -> str:
    """The number of elements reduced over ``dims``, as a scalar of the output dtype."""
    n = 1
    for d in dims:
        n = n * c.shape(0)[d]
    return c.b.scalar(n, c.out_dtype)


@translates(Op.VAR)
def _var(c: Ctx) -> list[str]:
    b, dims, correction, keep = c.b, c.arg(1), c.arg(2), c.arg(3)
    x, axes = c.input(0), _axes(c, dims)
    d = b.op1("Sub", [x, b.op1("ReduceMean", [x, axes], keepdims=1)])
    ss = b.op1("ReduceSum", [b.op1("Mul", [d, d]), axes], keepdims=int(keep))
    denom = b.op1("Sub", [_count(c, dims), b.scalar(correction, c.out_dtype)])
    denom = b.op1("Max", [denom, _k(c, 0.0)])  # PyTorch: n <= correction gives inf / nan
    return [b.op1("Div", [ss, denom])]


@translates(Op.LOGSUMEXP)
def _logsumexp(c: Ctx) -> list[str]:
    b, dims, keep = c.b, c.arg(1), c.arg(2)
    x, axes = c.input(0), _axes(c, dims)
    m = b.op1("ReduceMax", [x, axes], keepdims=1)
    m = b.op1("Where", [b.op1("IsInf", [m]), _k(c, 0.0), m])  # all -inf (or inf) stays so
    s = b.op1("ReduceSum", [b.op1("Exp", [b.op1("Sub", [x, m])]), axes], keepdims=int(keep))
    if not keep:
        m = b.op1("Squeeze", [m, axes])
    return [b.op1("Add", [b.op1("Log", [s]), m])]


@translates(Op.VECTOR_NORM)
def _vector_norm(c: Ctx) -> list[str]:
    b, dims, ord_, keep = c.b, c.arg(1), c.arg(2), c.arg(3)
    x, axes, k = c.input(0), _axes(c, dims), int(keep)
    if ord_ == 2:
        return [b.op1("ReduceL2", [x, axes], keepdims=k)]
    if ord_ == 1:
        return [b.op1("ReduceL1", [x, axes], keepdims=k)]
    a = b.op1("Abs", [x])
    if math.isinf(ord_):
        return [b.op1("ReduceMax" if ord_ > 0 else "ReduceMin", [a, axes], keepdims=k)]
    if ord_ == 0:
        nz = b.op1("Cast", [b.op1("Not", [b.op1("Equal", [x, _k(c, 0.0)])])], to=c.out_type)
        return [b.op1("ReduceSum", [nz, axes], keepdims=k)]
    s = b.op1("ReduceSum", [b.op1("Pow", [a, _k(c, ord_)]), axes], keepdims=k)
    return [b.op1("Pow", [s, _k(c, 1.0 / ord_)])]


@translates(Op.ARGMAX, Op.ARGMIN)
def _arg(c: Ctx) -> list[str]:
    dim, keep = c.arg(1), c.arg(2)
    name = "ArgMax" if c.op is Op.ARGMAX else "ArgMin"
    return [c.b.op1(name, [c.input(0)], axis=int(dim), keepdims=int(keep),
                    select_last_index=0)]


@translates(Op.SOFTMAX, Op.LOG_SOFTMAX)
def _softmax(c: Ctx) -> list[str]:
    name = "Softmax" if c.op is Op.SOFTMAX else "LogSoftmax"
    return [c.b.op1(name, [c.input(0)], axis=int(c.arg(1)))]


@translates(Op.CUMSUM)
def _cumsum(c: Ctx) -> list[str]:
    return [c.b.op1("CumSum", [c.input(0), c.b.size(int(c.arg(1)))])]


@translates(Op.CUMPROD)
def _cumprod(c: Ctx) -> list[str]:
    # ONNX has no CumProd: a running product over the (static) dim, one Mul per step
    b, dim = c.b, int(c.arg(1))
    n = c.static(c.shape(0)[dim], "the scanned dim's size")
    x = c.input(0)
    parts = [b.op1("Slice", [x, b.ints([i]), b.ints([i + 1]), b.ints([dim])])
             for i in range(n)]
    for i in range(1, n):
        parts[i] = b.op1("Mul", [parts[i - 1], parts[i]])
    return [b.op1("Concat", parts, axis=dim) if n else x]
