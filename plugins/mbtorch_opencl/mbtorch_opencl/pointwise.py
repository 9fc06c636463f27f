"""Elementwise kernels: the C expression of each op, per dtype, and the kernel functions
the table maps ``Op`` members to. ``CT`` in an expression is replaced by the compute type, so
literals never drag float32 math into double, and so an expression is also valid on OpenCL
vector types (a bare ``0`` beside a ``char8`` does not compile); ``VECTOR`` lists the ops whose
expressions may run on vectors (``elementwise.Pointwise``)."""

from __future__ import annotations

from typing import Any, Callable

from mbtorch.core import dtypes as dt
from mbtorch.core.op import Op

from . import codegen as cg
from .elementwise import ERR_NEG_POW, ERR_ZERO_DIV, Pointwise, elementwise
from .storage import CLArray

__all__ = [
    "BINARY", "COMPARE", "UNARY", "PREDICATE", "binary_kernel", "compare_kernel", "unary_kernel",
    "where", "cast", "copy_", "cast_copy", "clamp", "lerp", "nan_to_num", "table",
    "inplace_kernel", "inplace_table", "vector_ok", "overlaps_differently"
]

_FLOAT_FLOORDIV = """
CT fdiv_floor(CT a, CT b) {
    if (b == 0) return a / b;
    CT mod = fmod(a, b);
    CT div = (a - mod) / b;
    if (mod != 0 && ((b < 0) != (mod < 0))) div -= 1;
    if (div == 0) return copysign((CT)0, a / b);
    CT fl = floor(div);
    if (div - fl > (CT)0.5) fl += 1;
    return fl;
}"""
_FLOAT_MOD = """
CT fmod_py(CT a, CT b) {  /* exact, as PyTorch: fmod, then the divisor's sign */
    /* PyTorch's vectorized CPU kernel gives NaN where the quotient overflows */
    if (isinf(a / b) && isfinite(a) && isfinite(b)) return NAN;
    CT m = fmod(a, b);
    if (m != 0 && ((b < 0) != (m < 0))) m += b;
    return m;
}"""
_INT_FLOORDIV = """
CT idiv_floor(CT a, CT b, __global long* err) {
    if (b == 0) { err[0] = %d; return 0; }
    %s
    CT q = a / b;
    if ((a %% b != 0) && ((a < 0) != (b < 0))) q -= 1;
    return q;
}
CT imod_py(CT a, CT b, __global long* err) {
    if (b == 0) { err[0] = %d; return 0; }
    %s
    CT r = a %% b;
    if (r != 0 && ((r < 0) != (b < 0))) r += b;
    return r;
}"""
_POW_BIG = """
CT pow_big(CT a, CT b) {  /* PoCL's double pow gives 0 for 3^1.8e308: a huge |b| is an even
                             integer (beyond 2^53), so the result is 1, 0 or inf by |a| */
    if (isfinite(b) && fabs(b) >= (CT)9007199254740992.0 && !isnan(a)) {
        CT m = fabs(a);
        if (m == (CT)1) return (CT)1;
        if (m == (CT)0) return b > (CT)0 ? (CT)0 : INFINITY;
        return ((m > (CT)1) == (b > (CT)0)) ? INFINITY : (CT)0;
    }
    return pow(a, b);
}"""
_INT_POW = """
CT ipow(CT a, CT b, __global long* err) {
    if (b < 0) { err[0] = %d; return 0; }
    CT r = 1;
    while (b) { if (b & 1) r *= a; a *= a; b >>= 1; }
    return r;
}""" % ERR_NEG_POW


def _fl(d: dt.dtype) -> bool:
    return d.category == dt.FLOATING_CATEGORY


def _int_preamble(d: dt.dtype) -> str:
    # a signed MIN / -1 traps on x86; it wraps to MIN in PyTorch
    guard_div = "if (b == -1) return (CT)(0 - a);" if d.is_signed else ""
    guard_mod = "if (b == -1) return 0;" if d.is_signed else ""
    return _INT_FLOORDIV % (ERR_ZERO_DIV, guard_div, ERR_ZERO_DIV, guard_mod)


def _max(d: dt.dtype, cmp: str) -> str:
    if _fl(d):
        return f"((isnan(x0) || x0 {cmp} x1) ? x0 : x1)"
    return f"(x0 {cmp} x1 ? x0 : x1)"


# op -> (dtype -> (expr, preamble, errors?)); output dtype: bool for comparisons/logical
BINARY: dict[Op, Callable[[dt.dtype], tuple[str, str, bool]]] = {
    Op.ADD: lambda d: ("x0 | x1" if d is dt.bool else "x0 + x1", "", False),
    Op.SUB: lambda d: ("x0 - x1", "", False),
    Op.MUL: lambda d: ("x0 & x1" if d is dt.bool else "x0 * x1", "", False),
    Op.DIV: lambda d: ("x0 / x1", "", False),
    Op.POW: lambda d: (("pow_big(x0, x1)", _POW_BIG, False) if d is dt.float64 else
                       ("pow(x0, x1)", "", False) if _fl(d) else
                       ("ipow(x0, x1, err)", _INT_POW, True)),
    Op.MAXIMUM: lambda d: (_max(d, ">"), "", False),
    Op.MINIMUM: lambda d: (_max(d, "<"), "", False),
    Op.FLOOR_DIVIDE: lambda d: (("fdiv_floor(x0, x1)", _FLOAT_FLOORDIV, False) if _fl(d) else
                                ("idiv_floor(x0, x1, err)", _int_preamble(d), True)),
    Op.REMAINDER: lambda d: (("fmod_py(x0, x1)", _FLOAT_MOD, False) if _fl(d) else
                             ("imod_py(x0, x1, err)", _int_preamble(d), True)),
    Op.ATAN2: lambda d: ("atan2(x0, x1)", "", False),
    Op.BITWISE_AND: lambda d: ("x0 & x1", "", False),
    Op.BITWISE_OR: lambda d: ("x0 | x1", "", False),
    Op.BITWISE_XOR: lambda d: ("x0 ^ x1", "", False),
}
COMPARE: dict[Op, str] = {
    Op.EQ: "x0 == x1", Op.NE: "x0 != x1", Op.LT: "x0 < x1", Op.LE: "x0 <= x1",
    Op.GT: "x0 > x1", Op.GE: "x0 >= x1", Op.LOGICAL_AND: "x0 && x1",
    Op.LOGICAL_OR: "x0 || x1", Op.LOGICAL_XOR: "(x0 != 0) != (x1 != 0)",
}


def _float_only(f: str) -> Callable[[dt.dtype], str]:
    return lambda d: f"{f}(x0)"


def _abs(d: dt.dtype) -> str:
    if _fl(d):
        return "fabs(x0)"
    return "(x0 < (CT)0 ? -x0 : x0)" if d.is_signed else "x0"


UNARY: dict[Op, Callable[[dt.dtype], str]] = {
    Op.ABS: _abs, Op.NEG: lambda d: "-x0",
    Op.BITWISE_NOT: lambda d: "!x0" if d is dt.bool else "~x0",
    Op.SIGMOID: lambda d: "(CT)1 / ((CT)1 + exp(-x0))",
    Op.RELU: lambda d: "(x0 < (CT)0 ? (CT)0 : x0)",
    Op.RSQRT: lambda d: "(CT)1 / sqrt(x0)", Op.RECIPROCAL: lambda d: "(CT)1 / x0",
    Op.SQUARE: lambda d: "x0 * x0", Op.ROUND: lambda d: "rint(x0)",
}
for _op, _f in ((Op.EXP, "exp"), (Op.LOG, "log"), (Op.LOG1P, "log1p"), (Op.EXPM1, "expm1"),
                (Op.SQRT, "sqrt"), (Op.SIN, "sin"), (Op.COS, "cos"), (Op.TANH, "tanh"),
                (Op.FLOOR, "floor"), (Op.ERF, "erf"), (Op.EXP2, "exp2"), (Op.LOG2, "log2"),
                (Op.LOG10, "log10"), (Op.TAN, "tan"), (Op.ASIN, "asin"), (Op.ACOS, "acos"),
                (Op.ATAN, "atan"), (Op.SINH, "sinh"), (Op.COSH, "cosh"), (Op.CEIL, "ceil"),
                (Op.TRUNC, "trunc")):
    UNARY[_op] = _float_only(_f)
# expressions that mean the same on vector types (every float helper above is scalar-only);
# not sin/cos/tan: PoCL 3.1's vector versions return 0.0078 for sin(FLT_MIN) (conformance,
# special values), its scalar ones are right
VECTOR = {Op.ADD, Op.SUB, Op.MUL, Op.MAXIMUM, Op.MINIMUM, Op.BITWISE_AND, Op.BITWISE_OR,
          Op.BITWISE_XOR} | set(UNARY) - {Op.SIN, Op.COS, Op.TAN}
VECTOR_FLOAT = {Op.DIV, Op.POW, Op.ATAN2}
PREDICATE: dict[Op, Callable[[dt.dtype], str]] = {
    Op.ISNAN: lambda d: "isnan(x0)" if _fl(d) else "0",
    Op.ISINF: lambda d: "isinf(x0)" if _fl(d) else "0",
    Op.ISFINITE: lambda d: "isfinite(x0)" if _fl(d) else "1",
    Op.LOGICAL_NOT: lambda d: "!x0",
}


def _dtype_of(*xs: Any) -> dt.dtype:
    for x in xs:
        if isinstance(x, CLArray):
            return x.dtype
    raise TypeError("opencl: an elementwise kernel needs at least one tensor operand")


def _sub_ct(s: str, d: dt.dtype) -> str:
    return s.replace("CT", cg.ctype(d))


def _per_dtype(op: Op, make: Callable[[dt.dtype], Pointwise], arity: int) -> Callable:
    """The kernel function of ``op``: one ``Pointwise`` per operand dtype, made on first use,
    so a call is a dict hit and the engine's own flat-path checks."""
    made: dict[dt.dtype, Pointwise] = {}

    def pointwise(d: dt.dtype) -> Pointwise:
        pw = made.get(d)
        if pw is None:
            pw = made[d] = make(d)
        return pw

    if arity == 1:
        def kernel(x):
            return pointwise(x.dtype)(x)
    else:
        def kernel(a, b):
            return pointwise(a.dtype if type(a) is CLArray else _dtype_of(a, b))(a, b)

    kernel.__name__ = op.name.lower()
    return kernel


def vector_ok(op: Op, d: dt.dtype) -> bool:
    """Whether ``op``'s expression on ``d`` means the same on vector types."""
    if op is Op.POW and d is dt.float64:
        return False  # pow_big is scalar code
    return op in VECTOR or (op in VECTOR_FLOAT and _fl(d))


def binary_kernel(op: Op) -> Callable:
    rule = BINARY[op]

    def make(d: dt.dtype) -> Pointwise:
        expr, pre, errors = rule(d)
        return Pointwise(op.name, _sub_ct(expr, d), (d, d), d, _sub_ct(pre, d),
                         op.name.lower() if errors else None, vector_ok(op, d))

    return _per_dtype(op, make, 2)


def compare_kernel(op: Op) -> Callable:
    expr = COMPARE[op]
    return _per_dtype(op, lambda d: Pointwise(op.name, expr, (d, d), dt.bool), 2)


def unary_kernel(op: Op, predicate: bool = False) -> Callable:
    rule = PREDICATE[op] if predicate else UNARY[op]

    def make(d: dt.dtype) -> Pointwise:
        return Pointwise(op.name, _sub_ct(rule(d), d), (d,), dt.bool if predicate else d,
                         vector=vector_ok(op, d))

    return _per_dtype(op, make, 1)


def where(cond, a, b):
    if isinstance(a, CLArray) or isinstance(b, CLArray):
        d = _dtype_of(a, b)
    else:  # both scalars: the dtype a Python value of that type gets (the kernel has no meta)
        d = dt.scalar_dtype(a)
    return elementwise("WHERE", "x0 ? x1 : x2", (cond, a, b), (dt.bool, d, d), d)


def cast(x, dtype, force: bool = False):
    """``x`` as a new contiguous array of ``dtype`` (the core never casts to the same dtype;
    ``force`` is for internal callers that rely on getting a copy)."""
    return elementwise("CAST", "x0", (x,), (x.dtype,), dtype, vector=True)


def copy_(dst, src):
    if isinstance(src, CLArray) and src.buf is dst.buf:
        lo, hi = src.span()
        dlo, dhi = dst.span()
        if lo < dhi and dlo < hi:  # overlapping memory: read everything before writing
            src = cast_copy(src)
    elementwise("COPY", "x0", (src,), (dst.dtype,), dst.dtype, out=dst, vector=True)


def cast_copy(x: CLArray) -> CLArray:
    return elementwise("CAST", "x0", (x,), (x.dtype,), x.dtype, vector=True)


_CLAMP = """
CT clamp_lo(CT m, CT b) { return (NAN(m) || m > b) ? m : b; }
CT clamp_hi(CT m, CT b) { return (NAN(m) || m < b) ? m : b; }"""


def clamp(x, lo, hi):
    d = x.dtype
    ops, expr = [x], "x0"
    for bound, fn in ((lo, "clamp_lo"), (hi, "clamp_hi")):
        if bound is not None:
            ops.append(bound)
            expr = f"{fn}({expr}, x{len(ops) - 1})"
    pre = _CLAMP.replace("NAN(m)", "isnan(m)" if _fl(d) else "0")
    return elementwise("CLAMP", expr, ops, [d] * len(ops), d, preamble=_sub_ct(pre, d))


def lerp(start, end, weight):
    d = start.dtype
    expr = ("(x2 < (CT)0.5 ? x0 + x2 * (x1 - x0) : x1 - (x1 - x0) * ((CT)1 - x2))")
    return elementwise("LERP", _sub_ct(expr, d), (start, end, weight), (d, d, d), d,
                       vector=True)


def nan_to_num(x, nan, posinf, neginf):
    d = x.dtype
    expr = "(isnan(x0) ? x1 : (isinf(x0) ? (x0 > 0 ? x2 : x3) : x0))"
    return elementwise("NAN_TO_NUM", expr, (x, nan, posinf, neginf), (d, d, d, d), d)


def overlaps_differently(b: Any, out: CLArray) -> bool:
    """``b`` reads memory ``out`` writes, element for element at other places (``x[1:] +=
    x[:-1]``): it must be read whole before any of ``out`` is written."""
    if not isinstance(b, CLArray) or b.buf is not out.buf:
        return False
    if b.offset == out.offset and b.strides == out.strides and b.shape == out.shape:
        return False  # the same elements: each item reads its own before writing it
    lo, hi = b.span()
    olo, ohi = out.span()
    return lo < ohi and olo < hi


def inplace_kernel(op: Op) -> Callable:
    """``kernel(out, a, b)`` writing ``op(a, b)`` into ``out`` (``a`` is ``out``; the core's
    ``op.INPLACE`` convention): one pass where compute-then-``copy_`` makes two and a
    temporary (the optimizers' updates, gradient accumulation)."""
    rule = BINARY[op]
    made: dict[dt.dtype, Pointwise] = {}

    def kernel(out, a, b):
        d = out.dtype
        pw = made.get(d)
        if pw is None:
            expr, pre, errors = rule(d)
            pw = made[d] = Pointwise(op.name, _sub_ct(expr, d), (d, d), d, _sub_ct(pre, d),
                                     op.name.lower() if errors else None, vector_ok(op, d))
        if overlaps_differently(b, out):
            b = cast_copy(b)
        pw(a, b, out=out)

    kernel.__name__ = op.name.lower() + "_"
    return kernel


def inplace_table() -> dict[Op, Callable]:
    return {op: inplace_kernel(op) for op in (Op.ADD, Op.SUB, Op.MUL, Op.DIV)}


def table() -> dict[Op, Callable]:
    kernels: dict[Op, Callable] = {op: binary_kernel(op) for op in BINARY}
    kernels.update({op: compare_kernel(op) for op in COMPARE})
    kernels.update({op: unary_kernel(op) for op in UNARY})
    kernels.update({op: unary_kernel(op, predicate=True) for op in PREDICATE})
    kernels.update({Op.WHERE: where, Op.CAST: cast, Op.COPY_: copy_, Op.CLAMP: clamp,
                    Op.LERP: lerp, Op.NAN_TO_NUM: nan_to_num})
    return kernels
