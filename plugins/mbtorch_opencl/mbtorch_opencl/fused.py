"""The ``fuse`` hook: one elementwise kernel for a chain of pointwise kernels
(``mbtorch.core.fusion.PointwiseGroup``), built from the same C expressions the unfused kernels
use (``pointwise.py``), nested: each step's operands are its inputs' or earlier steps'
expressions, each step's value is converted to its dtype's compute type exactly where the
unfused kernel would have stored it (so narrow integers wrap as they do unfused), and Python
scalars become kernel arguments. The result runs on the ``elementwise`` engine, so it takes
any strides and broadcasting, and vector loads where every step allows them.

Declined (the steps replay unfused): float16/bfloat16 anywhere (unfused, every step rounds to
the storage type; fused, intermediates would stay float32), steps whose kernel reports errors
(integer division by zero, negative integer powers), and expressions past ``MAX_EXPR``
characters (an operand read by several steps is repeated in the text).
"""

from __future__ import annotations

import re
from typing import Any, Callable

from mbtorch.core import dtypes as dt
from mbtorch.core.fusion import BINARY, COMPARE, PREDICATE, UNARY, PointwiseGroup, Ref
from mbtorch.core.op import Op

from . import codegen as cg
from . import pointwise as pw
from .elementwise import Pointwise

__all__ = ["fuse", "MAX_EXPR"]

MAX_EXPR = 4000
_OPERAND = re.compile(r"\bx(\d+)\b")
_NARROW = frozenset({dt.bool, dt.uint8, dt.int8, dt.int16})


class _Decline(Exception):
    """This group is not fused here (the reason is the message)."""


def _operand_dtype(step: Any, group: PointwiseGroup) -> dt.dtype:
    """The dtype a step's kernel computes in: its array operands' (WHERE: its values')."""
    args = step.args[1:] if step.op is Op.WHERE else step.args
    for a in args:
        if isinstance(a, Ref):
            if a.kind == "input":
                return group.inputs[a.index][1]
            return group.steps[a.index].dtype
    return step.dtype  # WHERE with scalar values: the result's dtype


def _rule(op: Op, d: dt.dtype, to: dt.dtype) -> tuple[str, str]:
    """``(expr over x0, x1, ..., preamble)`` of one step computing in ``d``."""
    if op in pw.BINARY and op in BINARY:
        expr, pre, errors = pw.BINARY[op](d)
        if errors:
            raise _Decline(f"{op.name.lower()} on {d.name} reports errors")
        return expr, pre
    if op in COMPARE:
        return pw.COMPARE[op], ""
    if op in UNARY and op in pw.UNARY:
        return pw.UNARY[op](d), ""
    if op in PREDICATE:
        return pw.PREDICATE[op](d), ""
    if op is Op.WHERE:
        return "x0 ? x1 : x2", ""
    if op is Op.CAST:
        if to is dt.bool:
            return "(x0 != 0)", ""
        if to.category == dt.INTEGRAL_CATEGORY and d.category == dt.FLOATING_CATEGORY:
            return f"({cg.ctype(to)})(long)(x0)", ""  # wraps as the unfused store does
        return f"({cg.ctype(to)})(x0)", ""
    raise _Decline(f"no expression for {op.name.lower()}")


class _Builder:
    def __init__(self, group: PointwiseGroup) -> None:
        self.group = group
        self.dtypes = [d for _, d in group.inputs]
        self.scalars: list[Any] = []
        self.preambles: list[str] = []
        self.exprs: list[str] = []
        self.vector = True

    def operand(self, a: Any, d: dt.dtype) -> str:
        if isinstance(a, Ref):
            return f"x{a.index}" if a.kind == "input" else f"({self.exprs[a.index]})"
        self.scalars.append(a)
        self.dtypes.append(d)
        return f"x{len(self.dtypes) - 1}"

    def step(self, st: Any) -> None:
        d = _operand_dtype(st, self.group)
        expr, pre = _rule(st.op, d, st.dtype)
        ops = [self.operand(a, dt.bool if st.op is Op.WHERE and k == 0 else d)
               for k, a in enumerate(st.args)]
        expr = _OPERAND.sub(lambda m: ops[int(m.group(1))], expr.replace("CT", cg.ctype(d)))
        if st.dtype in _NARROW:  # stored (and wrapped) there when unfused
            expr = f"({cg.ctype(st.dtype)})({expr})"
        if pre and pre not in self.preambles:
            self.preambles.append(pre.replace("CT", cg.ctype(d)))
        self.vector &= (d is st.dtype and (st.op in pw.VECTOR or (
            st.op in pw.VECTOR_FLOAT and d.category == dt.FLOATING_CATEGORY)))
        self.exprs.append(expr)
        if len(expr) > MAX_EXPR:
            raise _Decline(f"expression longer than {MAX_EXPR} characters")


def _build(group: PointwiseGroup) -> Callable:
    if any(d in cg.HALF_TYPES for d in [d for _, d in group.inputs] +
           [s.dtype for s in group.steps]):
        raise _Decline("float16/bfloat16 round at every unfused step")
    b = _Builder(group)
    for st in group.steps:
        b.step(st)
    n = len(group.inputs)
    out = group.dtype
    vector = b.vector and out not in _NARROW and all(d is out for d in b.dtypes)
    kernel = Pointwise("FUSED", b.exprs[-1], b.dtypes, out, "\n".join(b.preambles),
                       vector=vector)
    scalars = tuple(b.scalars)
    shape = group.shape

    def fused(*handles: Any) -> Any:
        if len(handles) != n:
            raise TypeError(f"opencl fused kernel: expected {n} arrays, got {len(handles)}")
        res = kernel(*handles, *scalars)
        if res.shape != shape:
            raise RuntimeError(f"opencl fused kernel: inputs broadcast to {res.shape}, the "
                               f"group's shape is {shape}")
        return res

    fused.source = b.exprs[-1]  # type: ignore[attr-defined]  (for tests and explain)
    return fused


def fuse(group: PointwiseGroup) -> Callable | None:
    """The plugin's ``BackendSpec.fuse``: one kernel for ``group``, or None to decline."""
    try:
        return _build(group)
    except _Decline:
        return None
