"""The ``fuse`` hook: one CuPy ``ElementwiseKernel`` per chain of pointwise kernels
(``mbtorch.core.fusion.PointwiseGroup``). Each step is the C++ expression of the ufunc the
unfused kernel calls, nested, with each step's value converted to its dtype's C++ type where
the unfused kernel would have stored it (narrow integers wrap as they do unfused); Python
scalars become typed kernel parameters. CuPy's elementwise kernels take any strides and
broadcast their inputs.

A chain ending in ``SUM`` or ``PROD`` becomes one ``ReductionKernel`` (the chain as its map
expression). Declined (replayed unfused): float16/bfloat16 and complex dtypes (unfused, every
step rounds to the storage type), unsigned types wider than 8 bits, integer ``pow``,
``floor_divide`` and ``remainder`` (their error and sign rules), ``AMAX`` as a trailing
reduction, and expressions past ``MAX_EXPR`` characters.

``describe(group)`` (parameters, output type, expression) is pure Python, so tests compile the
same expression with a host C++ compiler on machines without a GPU.
"""

from __future__ import annotations

import re
from typing import Any, Callable

from mbtorch.core import dtypes as dt
from mbtorch.core.fusion import PointwiseGroup, Ref
from mbtorch.core.op import Op

__all__ = ["CTYPES", "MAX_EXPR", "describe", "reduction_parts", "make_fuse"]

MAX_EXPR = 4000
CTYPES = {dt.bool: "bool", dt.uint8: "unsigned char", dt.int8: "signed char",
          dt.int16: "short", dt.int32: "int", dt.int64: "long long", dt.float32: "float",
          dt.float64: "double"}
"""The C++ type of each dtype a fused kernel computes in (others are declined)."""
_OPERAND = re.compile(r"\bx(\d+)\b")
_NAN_MAX = "((isnan(x0) || x0 {} x1) ? x0 : x1)"
_BINARY = {Op.ADD: "x0 + x1", Op.SUB: "x0 - x1", Op.MUL: "x0 * x1", Op.DIV: "x0 / x1",
           Op.ATAN2: "atan2(x0, x1)", Op.BITWISE_AND: "x0 & x1", Op.BITWISE_OR: "x0 | x1",
           Op.BITWISE_XOR: "x0 ^ x1", Op.EQ: "x0 == x1", Op.NE: "x0 != x1", Op.LT: "x0 < x1",
           Op.LE: "x0 <= x1", Op.GT: "x0 > x1", Op.GE: "x0 >= x1", Op.LOGICAL_AND: "x0 && x1",
           Op.LOGICAL_OR: "x0 || x1", Op.LOGICAL_XOR: "(x0 != 0) != (x1 != 0)"}
_FLOAT_UNARY = {Op.EXP: "exp", Op.LOG: "log", Op.LOG1P: "log1p", Op.EXPM1: "expm1",
                Op.SQRT: "sqrt", Op.SIN: "sin", Op.COS: "cos", Op.TANH: "tanh",
                Op.FLOOR: "floor", Op.ERF: "erf", Op.EXP2: "exp2", Op.LOG2: "log2",
                Op.LOG10: "log10", Op.TAN: "tan", Op.ASIN: "asin", Op.ACOS: "acos",
                Op.ATAN: "atan", Op.SINH: "sinh", Op.COSH: "cosh", Op.CEIL: "ceil",
                Op.TRUNC: "trunc"}


class _Decline(Exception):
    """This group is not fused here (the reason is the message)."""


def _float(d: dt.dtype) -> bool:
    return d.category == dt.FLOATING_CATEGORY


def _binary(op: Op, d: dt.dtype) -> str:
    if d is dt.bool and op in (Op.ADD, Op.MUL):
        return "x0 | x1" if op is Op.ADD else "x0 & x1"
    if op in (Op.MAXIMUM, Op.MINIMUM):
        cmp = ">" if op is Op.MAXIMUM else "<"
        return _NAN_MAX.format(cmp) if _float(d) else f"(x0 {cmp} x1 ? x0 : x1)"
    if op is Op.POW and _float(d):
        return "pow(x0, x1)"
    if op in _BINARY:
        return _BINARY[op]
    raise _Decline(f"{op.name.lower()} on {d.name}")


def _unary(op: Op, d: dt.dtype) -> str:
    t = CTYPES[d]
    if op in _FLOAT_UNARY and _float(d):
        return f"{_FLOAT_UNARY[op]}(x0)"
    table = {
        Op.NEG: "-x0", Op.SQUARE: "x0 * x0", Op.LOGICAL_NOT: "!x0",
        Op.RELU: f"(x0 < ({t})0 ? ({t})0 : x0)",
        Op.BITWISE_NOT: "!x0" if d is dt.bool else "~x0",
        Op.ABS: "fabs(x0)" if _float(d) else ("(x0 < 0 ? -x0 : x0)" if d.is_signed else "x0"),
        Op.SIGMOID: ("1.0f / (expf(-x0) + 1.0f)" if d is dt.float32 else
                     "1.0 / (exp(-x0) + 1.0)"),
        Op.ISNAN: "isnan(x0)" if _float(d) else "false",
        Op.ISINF: "isinf(x0)" if _float(d) else "false",
        Op.ISFINITE: "isfinite(x0)" if _float(d) else "true",
    }
    if op in table and (op is not Op.SIGMOID or _float(d)):
        return table[op]
    raise _Decline(f"{op.name.lower()} on {d.name}")


def _cast(d: dt.dtype, to: dt.dtype) -> str:
    if to is dt.bool:
        return "(x0 != 0)"
    if not _float(to) and _float(d):
        return f"({CTYPES[to]})(long long)(x0)"  # wraps, as the unfused cast
    return f"({CTYPES[to]})(x0)"


def describe(group: PointwiseGroup) -> tuple[list, list, str] | None:
    """``(params, scalars, expression)``: ``params`` are ``(name, dtype)`` of the inputs
    (``x0 ..``) then of the scalar parameters; None for a group this backend declines."""
    try:
        return _describe(group)
    except _Decline:
        return None


def _describe(group: PointwiseGroup) -> tuple[list[tuple[str, dt.dtype]], list[Any], str]:
    if group.reduction is not None:
        reduction_parts(group)  # declines what is not fused
    params = [(f"x{i}", d) for i, (_, d) in enumerate(group.inputs)]
    scalars: list[Any] = []
    exprs: list[str] = []
    for st in group.steps:
        d = group.compute_dtype(st)
        for x in (d, st.dtype):
            if x not in CTYPES:
                raise _Decline(f"{x.name} is not fused")
        if st.op is Op.WHERE:
            expr = "x0 ? x1 : x2"
        elif st.op is Op.CAST:
            expr = _cast(d, st.dtype)
        elif len(st.args) == 2:
            expr = _binary(st.op, d)
        else:
            expr = _unary(st.op, d)
        ops = []
        for k, a in enumerate(st.args):
            if isinstance(a, Ref):
                ops.append(f"x{a.index}" if a.kind == "input" else f"({exprs[a.index]})")
            else:
                scalars.append(a)
                params.append((f"x{len(params)}", dt.bool if st.op is Op.WHERE and k == 0
                               else d))
                ops.append(params[-1][0])
        expr = f"({CTYPES[st.dtype]})({_OPERAND.sub(lambda m, o=ops: o[int(m.group(1))], expr)})"
        if len(expr) > MAX_EXPR:
            raise _Decline(f"expression longer than {MAX_EXPR} characters")
        exprs.append(expr)
    return params, scalars, exprs[-1]


def reduction_parts(group: PointwiseGroup) -> tuple[str, str, str]:
    """``(reduce_expr, identity, accumulator type)`` of the group's trailing reduction for
    ``cupy.ReductionKernel`` (SUM and PROD; AMAX is declined: its identity, -inf, has no
    portable literal in the kernel's C++)."""
    red, d = group.reduction, group.dtype
    if red is None or red.op not in (Op.SUM, Op.PROD) or d is dt.bool:
        raise _Decline("this reduction is not fused here")
    acc = CTYPES[d] if _float(d) else "long long"
    return ("a + b" if red.op is Op.SUM else "a * b"), ("0" if red.op is Op.SUM else "1"), acc


def make_fuse(cp: Any) -> Callable[[PointwiseGroup], Callable | None]:
    """The plugin's ``BackendSpec.fuse`` for CuPy module ``cp``."""
    made: dict[tuple, Any] = {}

    def fuse(group: PointwiseGroup) -> Callable | None:
        if group.into:  # writing in place is not done here: the steps replay unfused
            return None
        described = describe(group)
        if described is None:
            return None
        params, scalars, expr = described
        red = group.reduction
        key = (tuple((n, d) for n, d in params), expr, group.dtype, red and red.op)
        kernel = made.get(key)
        if kernel is None:
            kernel = made[key] = _kernel(cp, params, expr, group, f"mbt_fused_{len(made)}")
        n = len(group.inputs)
        values = tuple(cp.dtype(d.name).type(s) for (_, d), s in zip(params[n:], scalars))
        extra = {} if red is None else {"axis": red.dims, "keepdims": red.keepdim}

        def fused(*handles: Any) -> Any:
            if len(handles) != n:
                raise TypeError(f"cuda fused kernel: expected {n} arrays, got {len(handles)}")
            return kernel(*handles, *values, **extra)

        return fused

    return fuse


def _kernel(cp: Any, params: list, expr: str, group: PointwiseGroup, name: str) -> Any:
    ins = ", ".join(f"{cp.dtype(d.name).name} {n}" for n, d in params)
    out = f"{cp.dtype(group.dtype.name).name} y"
    if group.reduction is None:
        return cp.ElementwiseKernel(ins, out, f"y = {expr}", name)
    reduce_expr, identity, acc = reduction_parts(group)
    return cp.ReductionKernel(ins, out, f"({acc})({expr})", reduce_expr,
                              f"y = ({CTYPES[group.dtype]})a", identity, name, reduce_type=acc)
