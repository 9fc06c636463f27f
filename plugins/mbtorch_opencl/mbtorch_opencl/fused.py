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
characters (an operand read by several steps is repeated in the text). A group written in
place (``group.into``: an optimizer's update) runs the same kernel with its destination as
the output.
"""

from __future__ import annotations

import re
from typing import Any, Callable

import numpy as np

from mbtorch.core import dtypes as dt
from mbtorch.core.fusion import BINARY, COMPARE, PREDICATE, UNARY, PointwiseGroup, Ref
from mbtorch.core.op import Op

from . import codegen as cg
from . import pointwise as pw
from .elementwise import Pointwise
from .storage import alloc

__all__ = ["fuse", "MAX_EXPR"]

MAX_EXPR = 4000
_OPERAND = re.compile(r"\bx(\d+)\b")
_NARROW = frozenset({dt.bool, dt.uint8, dt.int8, dt.int16})


class _Decline(Exception):
    """This group is not fused here (the reason is the message)."""


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
        d = self.group.compute_dtype(st)
        expr, pre = _rule(st.op, d, st.dtype)
        ops = [self.operand(a, dt.bool if st.op is Op.WHERE and k == 0 else d)
               for k, a in enumerate(st.args)]
        expr = _OPERAND.sub(lambda m: ops[int(m.group(1))], expr.replace("CT", cg.ctype(d)))
        if st.dtype in _NARROW:  # stored (and wrapped) there when unfused
            expr = f"({cg.ctype(st.dtype)})({expr})"
        if pre and pre not in self.preambles:
            self.preambles.append(pre.replace("CT", cg.ctype(d)))
        self.vector &= d is st.dtype and pw.vector_ok(st.op, d)
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
    if group.reduction is not None:
        return _reducing(group, b)
    n = len(group.inputs)
    out = group.dtype
    vector = b.vector and out not in _NARROW and all(d is out for d in b.dtypes)
    kernel = Pointwise("FUSED", b.exprs[-1], b.dtypes, out, "\n".join(b.preambles),
                       vector=vector)
    scalars = tuple(b.scalars)
    shape = group.shape
    if group.into:
        return _into(kernel, n, scalars, b.exprs[-1])

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


def _into(kernel: Pointwise, n: int, scalars: tuple, source: str) -> Callable:
    """The kernel of a group written in place into its first input (``group.into``): one
    pass, or, where another input shares the destination's memory at other places, the value
    computed whole first and then copied in (as the unfused writes would have read it)."""

    def fused(*handles: Any) -> None:
        if len(handles) != n:
            raise TypeError(f"opencl fused kernel: expected {n} arrays, got {len(handles)}")
        dst = handles[0]
        if any(pw.overlaps_differently(h, dst) for h in handles[1:]):
            pw.copy_(dst, kernel(*handles, *scalars))
        else:
            kernel(*handles, *scalars, out=dst)

    fused.source = source  # type: ignore[attr-defined]
    return fused


def fuse(group: PointwiseGroup) -> Callable | None:
    """The plugin's ``BackendSpec.fuse``: one kernel for ``group``, or None to decline."""
    try:
        return _build(group)
    except _Decline:
        return None


# -- a chain ending in a reduction: one work item per output, looping over the reduced
# elements in row-major order and evaluating the chain on each (no temporary); offered only
# where that loop is short and there are outputs enough to spread over the device
MAX_REDUCED = 4096
MIN_OUTPUTS = 32
_IDENTITY = {Op.SUM: ("0", "0"), Op.PROD: ("1", "1"), Op.AMAX: ("-INFINITY", "LONG_MIN")}
_COMBINE = {Op.SUM: "{a} + {b}", Op.PROD: "{a} * {b}"}
CHUNK = 64  # elements summed serially before a partial joins the total, as reduce.py's rows


def _reducing(group: PointwiseGroup, b: _Builder) -> Callable:
    red = group.reduction
    d = group.dtype
    fl = d.category == dt.FLOATING_CATEGORY
    n_red = _prod(group.shape[i] for i in red.dims)
    n_out = _prod(s for i, s in enumerate(group.shape) if i not in red.dims)
    if n_red > MAX_REDUCED or n_out < MIN_OUTPUTS:
        raise _Decline("a reduction this long, or this few outputs, is left to reduce.py")
    acc = cg.ctype(d) if fl else "long"
    combine = _COMBINE.get(red.op) or (
        "((isnan({a}) || {a} > {b}) ? {a} : {b})" if fl else "({a} > {b} ? {a} : {b})")
    source = _reduce_source(group, b, acc, combine)
    key = ("fused_reduce", source)
    n = len(group.inputs)
    scalars = tuple(b.scalars)
    rank = len(group.shape)
    kept = [i for i in range(rank) if i not in red.dims]
    types = _reduce_arg_types(b, n, rank)
    shape_args = [group.shape[i] for i in kept] + [group.shape[i] for i in red.dims]

    def fused(*handles: Any) -> Any:
        if len(handles) != n:
            raise TypeError(f"opencl fused kernel: expected {n} arrays, got {len(handles)}")
        dev = handles[0].dev
        kernel = cg.get_kernel(dev, key, "fr", lambda: source, types)
        out = alloc(dev, group.out_shape, d)
        args: list[Any] = [out.buf]
        for h in handles:
            args += (h.buf, h.offset, *cg.broadcast_strides(h, group.shape))
        cg.launch(dev, kernel, n_out, *args, *scalars, n_out, n_red, *shape_args)
        return out

    fused.source = source  # type: ignore[attr-defined]
    return fused


def _prod(xs: Any) -> int:
    p = 1
    for x in xs:
        p *= x
    return p


def _reduce_arg_types(b: _Builder, n: int, rank: int) -> list:
    types: list[Any] = [None]
    for _ in range(n):
        types += [None, np.int64] + [np.int64] * rank
    types += [cg.NP_SCALAR[cg.ctype(d)] for d in b.dtypes[n:]]
    return types + [np.int64, np.int64] + [np.int64] * rank


def _reduce_source(group: PointwiseGroup, b: _Builder, acc: str, combine: str) -> str:
    red, d = group.reduction, group.dtype
    rank, n = len(group.shape), len(group.inputs)
    kept = [i for i in range(rank) if i not in red.dims]
    params = [f"__global {cg.sctype(d)}* out"]
    for i, dd in enumerate(b.dtypes[:n]):
        params += [f"__global const {cg.sctype(dd)}* p{i}", f"long p{i}_off"]
        params += [f"long p{i}_st{k}" for k in range(rank)]
    params += [f"{cg.ctype(dd)} x{n + k}" for k, dd in enumerate(b.dtypes[n:])]
    params += ["long n_out", "long n_red"] + [f"long sh{k}" for k in kept + list(red.dims)]
    body = ["long gid = get_global_id(0);", "if (gid >= n_out) return;", "long rem = gid;"]
    body += [f"long b{i} = p{i}_off;" for i in range(n)]
    for k in reversed(kept):
        body.append(f"{{ long c = rem % sh{k}; rem /= sh{k};"
                    + "".join(f" b{i} += c * p{i}_st{k};" for i in range(n)) + " }")
    ident = _IDENTITY[red.op][0 if d.category == dt.FLOATING_CATEGORY else 1]
    body += [f"{acc} acc = {ident};", f"for (long j0 = 0; j0 < n_red; j0 += {CHUNK}) {{",
             f"  {acc} part = {ident};", f"  long j1 = min(j0 + {CHUNK}, n_red);",
             "  for (long j = j0; j < j1; j++) {", "    long q = j;"]
    body += [f"    long o{i} = b{i};" for i in range(n)]
    for k in reversed(red.dims):
        body.append(f"    {{ long c = q % sh{k}; q /= sh{k};"
                    + "".join(f" o{i} += c * p{i}_st{k};" for i in range(n)) + " }")
    body += [f"    {cg.ctype(dd)} x{i} = {cg.load(dd, f'p{i}', f'o{i}')};"
             for i, dd in enumerate(b.dtypes[:n])]
    body += [f"    {acc} v = ({acc})({b.exprs[-1]});",
             f"    part = {combine.format(a='part', b='v')};", "  }",
             f"  acc = {combine.format(a='acc', b='part')};", "}",
             cg.store(d, "out", "gid", "acc", None)]
    pre = "\n".join(b.preambles)
    return (f"{pre}\n__kernel void fr({', '.join(params)})\n{{\n    "
            + "\n    ".join(body) + "\n}\n")
