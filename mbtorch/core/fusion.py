"""The fusion contract: what the core hands a backend's optional ``BackendSpec.fuse`` hook.

A compiled replay (``mbtorch.compile``) finds chains of pointwise kernels whose intermediate
values nothing else reads and offers each chain to the backend as a ``PointwiseGroup``: the
group's array inputs (shape and dtype; broadcast-compatible, possibly non-contiguous at run
time), its steps in order, and the shape every step has (the inputs broadcast together).
``fuse(group)`` returns one callable ``kernel(*inputs) -> handle`` that computes the last
step's value as a new contiguous handle of ``group.shape`` and ``group.steps[-1].dtype``, or
``None`` to decline (the steps then replay one kernel each). A backend may decline any group
(a dtype it does not fuse, too many inputs); declining is always correct. The kernel may
carry an out form as its ``out`` attribute, ``kernel.out(out, *inputs)`` writing the result
into ``out`` (a contiguous handle of the result's shape and dtype, as
``BackendSpec.out_kernels``), so that a replay keeps the result in a planned buffer.

Each step is one of ``POINTWISE``'s ops with the kernel convention of ``op.PRIMITIVES``
(binary ops' operands share a dtype, the core inserted every ``CAST``): its ``args`` are
``Ref``\\ s to a group input or an earlier step, or Python scalars already converted to the
computation dtype's Python type, as a kernel would receive them. ``CAST`` has
``attrs == (dtype,)``. The fused kernel must give the values the unfused kernels give, up to
rounding that fusion itself changes (a conformance check compares the two on every dtype).

A group may end in a reduction (``group.reduction``: ``SUM``, ``PROD`` or ``AMAX`` of the last
step's value over ``dims``, with ``keepdim``, as those kernels' convention): the kernel then
returns the reduced handle. Where that is offered and declined, the group is offered again
without it.

A group may end in writing in place (``group.into``): the steps then include the in-place
writes of one destination (``dst = op(dst, x)``, ``op`` one of ``op.INPLACE``'s), the
destination is ``inputs[0]`` (``Ref("input", 0)`` is its value before the first write, later
steps read the value a write left as that write's step), ``shape`` is the destination's and
the last step's dtype its dtype; ``kernel(*inputs)`` stores the last step's value into
``inputs[0]`` (any strides) and returns None. Every input is read as it was before the group
(the pass guarantees that no other input read after the first write can share the
destination's memory); an input that shares it at other places (a view of it) must be read
whole before the destination is written. A hook that does not know ``into`` must decline such
groups.
"""

from __future__ import annotations

__all__ = ["POINTWISE", "BINARY", "COMPARE", "UNARY", "PREDICATE", "REDUCTIONS", "Ref", "Step",
           "Reduction", "PointwiseGroup"]

from dataclasses import dataclass
from typing import Any, NamedTuple

from .op import Op

BINARY = frozenset({
    Op.ADD, Op.SUB, Op.MUL, Op.DIV, Op.POW, Op.MAXIMUM, Op.MINIMUM, Op.FLOOR_DIVIDE,
    Op.REMAINDER, Op.ATAN2, Op.BITWISE_AND, Op.BITWISE_OR, Op.BITWISE_XOR})
"""``(a, b) -> a's dtype``."""
COMPARE = frozenset({Op.EQ, Op.NE, Op.LT, Op.LE, Op.GT, Op.GE, Op.LOGICAL_AND, Op.LOGICAL_OR,
                     Op.LOGICAL_XOR})
"""``(a, b) -> bool``."""
UNARY = frozenset({
    Op.ABS, Op.NEG, Op.EXP, Op.LOG, Op.LOG1P, Op.EXPM1, Op.SQRT, Op.SIN, Op.COS, Op.TANH,
    Op.FLOOR, Op.ERF, Op.EXP2, Op.LOG2, Op.LOG10, Op.RSQRT, Op.TAN, Op.ASIN, Op.ACOS, Op.ATAN,
    Op.SINH, Op.COSH, Op.SIGMOID, Op.RELU, Op.CEIL, Op.ROUND, Op.TRUNC, Op.RECIPROCAL,
    Op.SQUARE, Op.BITWISE_NOT})
"""``(x) -> x's dtype``."""
PREDICATE = frozenset({Op.ISNAN, Op.ISINF, Op.ISFINITE, Op.LOGICAL_NOT})
"""``(x) -> bool``."""
POINTWISE = BINARY | COMPARE | UNARY | PREDICATE | {Op.WHERE, Op.CAST}
"""The ops a group may contain (``WHERE(cond, a, b)``, ``CAST(x)`` with ``attrs=(dtype,)``)."""
REDUCTIONS = frozenset({Op.SUM, Op.PROD, Op.AMAX})
"""The reductions a group may end in."""


class Ref(NamedTuple):
    """A step argument that is an array: ``kind`` ``"input"`` (the group's ``inputs[index]``)
    or ``"step"`` (the value of ``steps[index]``, an earlier step)."""

    kind: str
    index: int


@dataclass(frozen=True)
class Step:
    """One pointwise kernel of the group: ``op(*args, *attrs)`` with result dtype ``dtype``."""

    op: Op
    args: tuple
    dtype: Any
    attrs: tuple = ()


@dataclass(frozen=True)
class Reduction:
    """``op(value, dims, keepdim)`` of the group's last step (``dims`` sorted, never empty)."""

    op: Op
    dims: tuple
    keepdim: bool


@dataclass(frozen=True)
class PointwiseGroup:
    """A chain of pointwise kernels offered for fusion (see the module docstring)."""

    inputs: tuple  # ((shape, dtype), ...) of the arrays the fused kernel receives, in order
    steps: tuple  # Step, in execution order; the last one is the group's result
    shape: tuple  # every step's shape (the inputs broadcast together)
    reduction: Reduction | None = None  # a trailing reduction of the last step's value
    into: bool = False  # the result is written in place into inputs[0] (module docstring)

    @property
    def dtype(self) -> Any:
        """The result's dtype (a reduction keeps its input's)."""
        return self.steps[-1].dtype

    @property
    def out_shape(self) -> tuple:
        """The result's shape: ``shape``, reduced where the group ends in a reduction."""
        r = self.reduction
        if r is None:
            return self.shape
        if r.keepdim:
            return tuple(1 if i in r.dims else s for i, s in enumerate(self.shape))
        return tuple(s for i, s in enumerate(self.shape) if i not in r.dims)

    def compute_dtype(self, step: Step) -> Any:
        """The dtype ``step``'s kernel computes in: its array operands' (``WHERE``: its
        values'; ``CAST``: its input's), which Python scalars among them are converted to."""
        args = step.args[1:] if step.op is Op.WHERE else step.args
        for a in args:
            if isinstance(a, Ref):
                return self.inputs[a.index][1] if a.kind == "input" else \
                    self.steps[a.index].dtype
        return step.dtype  # WHERE of two scalars: the result's dtype

    def without_reduction(self) -> PointwiseGroup:
        return PointwiseGroup(self.inputs, self.steps, self.shape)

    def format(self) -> str:
        """The group as text, one step per line (for ``explain`` and error messages)."""
        lines = [f"inputs: {', '.join(f'{d.name}{list(s)}' for s, d in self.inputs)}"]
        for i, st in enumerate(self.steps):
            args = ", ".join(_arg(a) for a in (*st.args, *st.attrs))
            lines.append(f"t{i}: {st.dtype.name} = {st.op.name.lower()}({args})")
        if self.into:
            lines.append(f"in0[...] = t{len(self.steps) - 1}")
        r = self.reduction
        if r is not None:
            lines.append(f"out: {self.dtype.name} = {r.op.name.lower()}(t{len(self.steps) - 1}, "
                         f"dims={r.dims}, keepdim={r.keepdim})")
        return "\n".join(lines)


def _arg(a: Any) -> str:
    if isinstance(a, Ref):
        return f"in{a.index}" if a.kind == "input" else f"t{a.index}"
    return getattr(a, "name", None) or repr(a)
