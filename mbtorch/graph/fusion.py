"""The fusion pass of a replay plan: chains of pointwise kernels whose intermediate values
nothing else reads become one kernel made by the backend's optional ``fuse`` hook (the
contract: ``mbtorch.core.fusion``).

Groups grow backwards from a pointwise kernel (the root) through the producers of its inputs:
a producer joins when it is pointwise, has the root's shape (inputs of other shapes reach the
fused kernel broadcast), produces a value read only inside the group and never returned, and
no in-place write lies between it and the root (the group runs at the root's place, so what
its members read must not change in between). A reduction that is the only reader of the
root's value is offered with the group (the group then runs at the reduction's place); a
backend without the hook, or one that declines a group, replays it unfused. Runs of in-place
writes into one tensor are offered first, with the chains computing what they write
(``fusion_writes``).
"""

from __future__ import annotations

__all__ = ["fuse_pointwise", "MAX_INPUTS", "MAX_STEPS"]

import bisect
from typing import Any

from ..core.fusion import POINTWISE, REDUCTIONS, PointwiseGroup, Reduction, Ref, Step
from ..core.plugins import get_backend
from .fusion_writes import write_groups
from .ir import OP, WRITE, Node, Value

MAX_INPUTS = 16  # arrays one fused kernel may read (kernel argument lists are finite)
MAX_STEPS = 48
_CACHE: dict[tuple, Any] = {}  # (backend, group) -> fused kernel or None (declined)
_CACHE_MAX = 1024


def _candidate(node: Node) -> bool:
    return (node.kind == OP and node.op in POINTWISE and not node.multi
            and len(node.outputs) == 1)


class _Body:
    """Positions, readers and write barriers of a plan body."""

    def __init__(self, body: list[Node], results: list[Value]) -> None:
        self.pos = {id(n): i for i, n in enumerate(body)}
        self.readers: dict[int, set[int]] = {}
        for i, n in enumerate(body):
            for a in n.inputs:
                if isinstance(a, Value):
                    self.readers.setdefault(id(a), set()).add(i)
        self.results = {id(v) for v in results}
        self.writes = [i for i, n in enumerate(body) if n.kind == WRITE]

    def write_between(self, lo: int, hi: int) -> bool:
        k = bisect.bisect_right(self.writes, lo)
        return k < len(self.writes) and self.writes[k] < hi


def _grow(root: Node, b: _Body, taken: set[int]) -> list[Node]:
    """The members of the group rooted at ``root``, in body order."""
    out = root.outputs[0]
    members = {b.pos[id(root)]: root}
    changed = True
    while changed and len(members) < MAX_STEPS:
        changed = False
        for m in list(members.values()):
            for a in m.inputs:
                p = a.producer if isinstance(a, Value) else None
                if p is None or id(p) not in b.pos or b.pos[id(p)] in members:
                    continue
                i = b.pos[id(p)]
                if (i in taken or not _candidate(p) or id(a) in b.results
                        or a.shape != out.shape or a.device != out.device
                        or not b.readers.get(id(a), set()) <= members.keys()
                        or b.write_between(i, b.pos[id(root)])):
                    continue
                members[i] = p
                changed = True
    return [members[i] for i in sorted(members)]


def _reduction_of(root: Node, b: _Body, body: list[Node]) -> Node | None:
    """The reduction (``REDUCTIONS``) that is the only reader of ``root``'s value, where the
    group may run at its place (no in-place write in between)."""
    out = root.outputs[0]
    readers = b.readers.get(id(out), set())
    if len(readers) != 1 or id(out) in b.results:
        return None
    (j,) = readers
    node = body[j]
    if (node.kind != OP or node.op not in REDUCTIONS or node.multi or len(node.inputs) != 1
            or len(node.attrs) != 2 or b.write_between(b.pos[id(root)], j)):
        return None
    return node


def _describe(members: list[Node],
              reduce: Node | None = None) -> tuple[PointwiseGroup, list[Value]] | None:
    """The contract's description of ``members`` (ending in ``reduce`` when given) and the
    values the kernel reads."""
    index = {id(m.outputs[0]): k for k, m in enumerate(members)}
    inputs: list[Value] = []
    seen: dict[int, int] = {}
    steps = []
    for m in members:
        args = []
        for a in m.inputs:
            if not isinstance(a, Value):
                args.append(a)
            elif id(a) in index:
                args.append(Ref("step", index[id(a)]))
            else:
                if id(a) not in seen:
                    seen[id(a)] = len(inputs)
                    inputs.append(a)
                args.append(Ref("input", seen[id(a)]))
        steps.append(Step(m.op, tuple(args), m.outputs[0].dtype, tuple(m.attrs)))
    if len(inputs) > MAX_INPUTS or not inputs:
        return None
    shape = members[-1].outputs[0].shape
    reduction = None if reduce is None else Reduction(reduce.op, tuple(reduce.attrs[0]),
                                                      bool(reduce.attrs[1]))
    group = PointwiseGroup(tuple((v.shape, v.dtype) for v in inputs), tuple(steps), shape,
                           reduction)
    return group, inputs


def _kernel(device: Any, group: PointwiseGroup) -> Any:
    be = get_backend(device.type)
    if be.fuse is None:
        return None
    key = (id(be), group)
    try:
        hit = _CACHE.get(key, _CACHE)
    except TypeError:  # an unhashable scalar: ask each time
        return be.fuse(group)
    if hit is not _CACHE:
        return hit
    if len(_CACHE) >= _CACHE_MAX:
        _CACHE.clear()
    kernel = _CACHE[key] = be.fuse(group)
    return kernel


def _offer(members: list[Node], reduce: Node | None) -> tuple | None:
    """``(group, inputs, kernel, node it replaces)`` for ``members`` with the trailing
    ``reduce`` if the backend takes it, else without; None when it fuses neither."""
    for red in ((reduce, None) if reduce is not None else (None,)):
        if len(members) < (1 if red is not None else 2):
            continue
        described = _describe(members, red)
        if described is None:
            return None
        group, inputs = described
        kernel = _kernel(members[-1].outputs[0].device, group)
        if kernel is not None:
            return group, inputs, kernel, red if red is not None else members[-1]
    return None


def fuse_pointwise(body: list[Node], results: list[Value]) -> tuple[list[Node], list]:
    """``body`` with fusable chains replaced by one node each (``op`` None, ``kernel`` the
    fused kernel, the output of the chain's last step or of its trailing reduction; a ``WRITE``
    node without outputs for a run of writes), and the ``PointwiseGroup`` of each fused chain,
    in body order."""
    b = _Body(body, results)
    taken: set[int] = set()
    replace: dict[int, Node | None] = {}
    groups = []
    for group, inputs, kernel, order in write_groups(body, b, taken, _grow, _kernel,
                                                     MAX_INPUTS, MAX_STEPS):
        for i in order:
            replace[i] = None
        replace[order[-1]] = Node(WRITE, None, tuple(inputs), kernel=kernel)
        groups.append((order[-1], group))
    for i in range(len(body) - 1, -1, -1):
        root = body[i]
        if i in taken or not _candidate(root):
            continue
        members = _grow(root, b, taken)
        found = _offer(members, _reduction_of(root, b, body))
        if found is None:
            continue
        group, inputs, kernel, last = found
        for m in members:
            taken.add(b.pos[id(m)])
            replace[b.pos[id(m)]] = None
        replace[b.pos[id(last)]] = Node(OP, None, tuple(inputs), (), list(last.outputs),
                                        kernel=kernel)
        groups.append((b.pos[id(last)], group))
    if not replace:
        return body, []
    out = [replace[i] if i in replace else n for i, n in enumerate(body)]
    return [n for n in out if n is not None], [g for _, g in sorted(groups, key=lambda x: x[0])]
