"""Planned buffers for a replay (``replay.Plan``): which kernel results may be written into
buffers the plan keeps from one replay to the next (``BackendSpec.out_kernels``), and which
buffer each one gets, reusing a buffer once every value that may read it is dead.

A result is planned when its kernel has an out variant (``fresh`` says which nodes: their
results never alias their arguments), and it does not escape the replay. A value may alias a
planned buffer when a kernel that is not ``fresh`` (a view, ``AS_STRIDED``, a fused kernel
without an out form, any kernel without an out variant) made it from a value that may: such a
value keeps the buffer alive, and when it escapes (an output, a ``.grad``, the root of a
returned view) the buffer is not planned at all. A buffer freed at one step serves only later
steps, so an out kernel never writes over one of its own arguments.
"""

from __future__ import annotations

__all__ = ["BufferPlan", "plan_buffers"]

from dataclasses import dataclass, field
from typing import Any, Callable

from .ir import ALLOC, OP, Value


@dataclass
class BufferPlan:
    """``slot[id(value)]``: the buffer index of each planned value; ``buffers``: per buffer
    ``(shape, dtype, device)``, in the order they are made."""

    slot: dict[int, int] = field(default_factory=dict)
    buffers: list[tuple] = field(default_factory=list)


def plan_buffers(body: list, results: list[Value], fresh: Callable[[Any], bool],
                 planned: Callable[[Any], bool]) -> BufferPlan:
    """The buffer plan of ``body`` (the replay's steps in order) returning ``results``.

    ``fresh(node)``: the node's one result is a new handle, never a view of an argument.
    ``planned(node)``: that result should get a planned buffer (an out kernel is there and the
    traced result was contiguous); new buffers (``ALLOC``) are planned always."""
    origins: dict[int, frozenset] = {}  # id(value) -> ids of the planned values it may alias
    wanted: dict[int, Any] = {}  # id(planned value) -> the value
    for node in body:
        if node.kind == ALLOC or (node.kind == OP and fresh(node)):
            v = node.outputs[0]
            if node.kind == ALLOC or planned(node):
                wanted[id(v)] = v
                origins[id(v)] = frozenset((id(v),))
            continue
        if node.kind != OP:
            continue
        alias = frozenset().union(*(origins.get(id(a), ()) for a in node.inputs
                                    if isinstance(a, Value)))
        if alias:
            for v in node.outputs:
                origins[id(v)] = alias
    for v in results:  # what escapes is allocated fresh each replay
        for key in origins.get(id(v), ()):
            wanted.pop(key, None)
    return _assign(body, origins, wanted)


def _assign(body: list, origins: dict[int, frozenset], wanted: dict[int, Any]) -> BufferPlan:
    """Greedy assignment over the steps: a planned value takes a free buffer of its shape,
    dtype and device, or a new one; its buffer is free again after the last step that reads
    any value aliasing it."""
    end: dict[int, int] = {}
    for pos, node in enumerate(body):
        for a in (*node.inputs, *node.outputs):
            if isinstance(a, Value):
                for key in origins.get(id(a), ()):
                    if key in wanted:
                        end[key] = pos
    plan = BufferPlan()
    free: dict[tuple, list[int]] = {}
    busy: list[tuple[int, tuple, int]] = []  # (last step, key, buffer index)
    for pos, node in enumerate(body):
        if busy:
            still = []
            for last, key, index in busy:
                if last < pos:
                    free.setdefault(key, []).append(index)
                else:
                    still.append((last, key, index))
            busy = still
        for v in node.outputs:
            if id(v) not in wanted:
                continue
            key = (v.shape, v.dtype, v.device)
            pool = free.get(key)
            if pool:
                index = pool.pop()
            else:
                index = len(plan.buffers)
                plan.buffers.append(key)
            plan.slot[id(v)] = index
            busy.append((end.get(id(v), pos), key, index))
    return plan
