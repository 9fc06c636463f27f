"""Fusing in-place writes (part of the fusion pass, ``fusion.fuse_pointwise``): a run of
in-place writes into one destination (``dst = op(dst, x)``, the ``op.INPLACE`` ops), with the
pointwise chains computing what they write, becomes one group with ``into`` set (the contract:
``mbtorch.core.fusion``), run at the last write's place. An optimizer's update is such a run:
``buf.mul_(m).add_(g)`` is one kernel instead of two, ``p.add_(buf, alpha=-lr)`` (a multiply
and a write) one instead of two.

What makes the move to the last write's place safe: no write to anything else lies between the
group's first member and its last write, and nothing outside the group reads what may be the
destination's memory in between (the destination and its views; where the destination comes
from outside the call, any input or captured tensor, which may be views of one another); a
member reading the destination after a write reads that write's step, and no other input read
after the first write may share the destination's memory. The backend reads an input that
shares it at other places whole before writing (the contract).
"""

from __future__ import annotations

__all__ = ["write_groups"]

from typing import Any, Callable

from ..core.fusion import POINTWISE, PointwiseGroup, Ref, Step
from ..core.op import INPLACE, Op
from .ir import OP, PLACEHOLDER, WRITE, Node, Value

_AS_STRIDED = Op.AS_STRIDED


def _root(v: Value) -> Value:
    while v.producer is not None and v.producer.kind == OP and v.producer.op is _AS_STRIDED:
        v = v.producer.inputs[0]
    return v


def _new_value(v: Value) -> bool:
    """Whether ``v``'s memory was made in the traced call (never a captured tensor's)."""
    p = _root(v).producer
    return p is not None and p.kind != PLACEHOLDER


def _writes(body: list[Node], last: int) -> list[int]:
    """Positions of the run of in-place writes into ``body[last]``'s destination ending at
    ``last``: earlier writes into it join while nothing else reads or writes in between."""
    dst = body[last].inputs[0]
    run = [last]
    for j in range(last - 1, -1, -1):
        node = body[j]
        if node.kind == WRITE and node.inputs[0] is dst and node.op in INPLACE:
            run.append(j)
        elif node.kind == WRITE or any(isinstance(a, Value) and _may_alias(a, dst)
                                       for a in node.inputs):
            break  # a write elsewhere, or a read of what may be the destination's memory
    return run[::-1]


def _may_alias(a: Value, dst: Value) -> bool:
    """Whether ``a`` may share ``dst``'s memory: a view of the same value, or both from
    outside the call (inputs and captured tensors may be views of one another)."""
    return _root(a) is _root(dst) or not (_new_value(a) or _new_value(dst))


def _chain(src: Any, write: int, dst: Value, b: Any, grow: Callable, taken: set,
           members: dict[int, Node]) -> None:
    """Add the pointwise chain computing ``src`` (read only by the write at ``write``, of the
    destination's shape) to ``members``."""
    p = src.producer if isinstance(src, Value) else None
    if (p is None or id(p) not in b.pos or b.pos[id(p)] in taken or p.kind != OP
            or p.op not in POINTWISE or p.multi or len(p.outputs) != 1
            or id(src) in b.results or src.shape != dst.shape or src.device != dst.device
            or b.readers.get(id(src), set()) != {write}):
        return
    for m in grow(p, b, taken):
        members[b.pos[id(m)]] = m


def _steps(order: list[int], body: list[Node], dst: Value) -> tuple | None:
    """``(inputs, steps)`` of the group: ``dst`` is input 0; reads of it after a write read
    that write's step. None when an input read after the first write may share ``dst``'s
    memory, or a write's operand has another dtype."""
    inputs: list[Value] = [dst]
    seen = {id(dst): 0}
    step_of: dict[int, int] = {}  # id(member's value) -> step index
    current: Ref = Ref("input", 0)
    written = False
    steps = []
    for k, pos in enumerate(order):
        m = body[pos]
        args = []
        for a in m.inputs:
            if not isinstance(a, Value):
                args.append(a)
            elif a is dst:
                args.append(current)
            elif id(a) in step_of:
                args.append(Ref("step", step_of[id(a)]))
            else:
                if written and _may_alias(a, dst):
                    return None
                if id(a) not in seen:
                    seen[id(a)] = len(inputs)
                    inputs.append(a)
                args.append(Ref("input", seen[id(a)]))
        if m.kind == WRITE:
            src = m.inputs[1]
            if isinstance(src, Value) and src.dtype != dst.dtype:
                return None
            steps.append(Step(m.op, tuple(args), dst.dtype))
            current, written = Ref("step", k), True
        else:
            steps.append(Step(m.op, tuple(args), m.outputs[0].dtype, tuple(m.attrs)))
            step_of[id(m.outputs[0])] = k
    return inputs, steps


def write_groups(body: list[Node], b: Any, taken: set, grow: Callable, offer: Callable,
                 max_inputs: int, max_steps: int) -> list[tuple]:
    """``(group, inputs, kernel, positions)`` for each run of writes the backend fuses
    (``positions``: the members', the last write last); marks them in ``taken``."""
    found = []
    for last in range(len(body) - 1, -1, -1):
        node = body[last]
        if last in taken or node.kind != WRITE or node.op not in INPLACE:
            continue
        dst = node.inputs[0]
        run = _writes(body, last)
        members = {j: body[j] for j in run}
        for j in run:
            _chain(body[j].inputs[1], j, dst, b, grow, taken, members)
        order = sorted(members)
        if len(order) < 2 or len(order) > max_steps or any(
                order[0] < w < last and w not in members for w in b.writes):
            continue
        described = _steps(order, body, dst)
        if described is None or len(described[0]) > max_inputs:
            continue
        inputs, steps = described
        group = PointwiseGroup(tuple((v.shape, v.dtype) for v in inputs), tuple(steps),
                               dst.shape, into=True)
        kernel = offer(dst.device, group)
        if kernel is None:
            continue
        taken.update(order)
        found.append((group, inputs, kernel, order))
    return found
