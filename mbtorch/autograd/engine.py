"""The backward engine: topological order, then the chain rule.

1. Order the graph reachable from the roots so that every node comes after all the nodes
   that send it a gradient (iterative depth-first search: deep graphs need no recursion).
   Walking that order *is* dependency counting done up front: when a node's turn comes, every
   consumer has already added its contribution to the node's gradient buffer.
2. Walk the order: run the node's hooks, apply its rule, add the results into the buffers of
   the nodes its edges point to; a leaf accumulates its total into ``.grad``. Without
   ``retain_graph`` each node frees its saved tensors once it has run.

Leaves are graph targets themselves (``edge = (tensor, 0)``), so hooks on a leaf run once, on
its summed gradient, as in PyTorch. A leaf's post-accumulate-grad hooks run right after its
``.grad`` is updated, and callbacks queued during a pass (``queue_callback``) run once the pass
has finished: data-parallel training starts a gradient reduction from the first and waits for
all of them in the second.
"""

from __future__ import annotations

import threading
import weakref
from sys import getrefcount
from typing import Any, Sequence

from ..core import dispatch
from ..core.dispatch import wrap
from ..core.ops.binary import add
from ..core.ops.copying import clone
from ..core.ops.creation import zeros
from ..core.state import STATE
from ..core.tensor import Tensor
from . import anomaly
from .graph import Node
from .record import edge_of

__all__ = ["toposort", "queue_callback", "run_backward", "accumulate_grad"]


def _children(n: Any) -> list:
    if isinstance(n, Tensor):
        return []
    return [e[0] for e in n.next if e is not None]


def toposort(roots: Sequence[Any]) -> list:
    """Nodes (and leaves) reachable from ``roots``, consumers before producers."""
    post, seen = [], set()
    for root in roots:
        if id(root) in seen:
            continue
        seen.add(id(root))
        stack = [(root, iter(_children(root)))]
        while stack:
            node, children = stack[-1]
            for child in children:
                if id(child) not in seen:
                    seen.add(id(child))
                    stack.append((child, iter(_children(child))))
                    break
            else:
                stack.pop()
                post.append(node)
    post.reverse()
    return post


def _needed(order: list, targets: set) -> set:
    """Ids of the nodes on some path to a target (only those run for ``autograd.grad``)."""
    need = set()
    for n in reversed(order):  # producers first
        if id(n) in targets or any(id(c) in need for c in _children(n)):
            need.add(id(n))
    return need


# One list of final callbacks per backward pass in progress (a hook may run a nested pass).
_CALLBACKS: list[list] = []


def queue_callback(fn: Any) -> None:
    """Run ``fn()`` when the backward pass in progress has finished (PyTorch's
    ``Variable._execution_engine.queue_callback``); call it from a hook."""
    if not _CALLBACKS:
        raise RuntimeError("Final callbacks can only be installed during backward pass.")
    _CALLBACKS[-1].append(fn)


def run_backward(roots: list, grads: list, retain_graph: bool, create_graph: bool,
                 inputs: Sequence[Tensor] | None = None, accumulate: bool = True) -> list:
    """Backpropagate ``grads`` from root edges. With ``inputs`` given and ``accumulate``
    false, return their gradients instead of touching ``.grad`` (``autograd.grad``)."""
    if STATE.tracer is not None:  # mbtorch.compile: outputs of a traced training step
        STATE.tracer.backward_ran = True
    prev = STATE.grad_enabled
    STATE.grad_enabled = create_graph
    callbacks: list = []
    _CALLBACKS.append(callbacks)
    try:
        out = _run(roots, grads, retain_graph, create_graph, inputs, accumulate)
    finally:
        _CALLBACKS.pop()
        STATE.grad_enabled = prev
    # a callback may queue another one (run in this pass too), as in PyTorch
    _CALLBACKS.append(callbacks)
    try:
        while callbacks:
            callbacks.pop(0)()
    finally:
        _CALLBACKS.pop()
    return out


def _run(roots, grads, retain_graph, create_graph, inputs, accumulate) -> list:
    buffers: dict[int, list] = {}
    for (target, nr), g in zip(roots, grads):
        _deliver(buffers, target, nr, g)
    order = toposort([target for target, _ in roots])
    input_edges = [edge_of(t) for t in inputs] if inputs is not None else None
    need, want = None, {}
    if input_edges is not None:
        want = {(id(e[0]), e[1]): t for e, t in zip(input_edges, inputs) if e is not None}
        need = _needed(order, {key[0] for key in want})
    captured: dict[tuple, Tensor] = {}
    for n in order:
        if need is not None and id(n) not in need:
            continue
        buf = buffers.pop(id(n), None)
        if buf is None:
            continue
        if isinstance(n, Tensor):
            g = _leaf_hooks(n, buf[0])
            buf = None  # the engine's own references end here (see accumulate_grad)
            if accumulate:
                accumulate_grad(n, g, create_graph)
                for hook in list(n._post_acc_hooks or ()):
                    hook(n)
            else:
                captured[(id(n), 0)] = g
            continue
        buf = _pre_hooks(n, buf, create_graph)
        for nr, g in enumerate(buf):
            t = want.get((id(n), nr))
            if t is not None and g is not None:
                if accumulate:
                    accumulate_grad(t, g, create_graph)
                else:
                    captured[(id(n), nr)] = g
        if need is not None and not any(id(c) in need for c in _children(n)):
            continue
        outs = _apply(n, buf, create_graph)
        if not retain_graph and hasattr(n, "release"):
            n.release()
        for edge, g in zip(n.next, outs):
            if edge is not None and g is not None:
                if need is None or id(edge[0]) in need:
                    _deliver(buffers, edge[0], edge[1], g)
        outs = buf = g = None  # delivered: the buffers hold the gradients now
    if input_edges is None:
        return []
    return [None if e is None else captured.get((id(e[0]), e[1])) for e in input_edges]


def _deliver(buffers: dict, target: Any, nr: int, g: Tensor) -> None:
    slot = buffers.get(id(target))
    if slot is None:
        slot = buffers[id(target)] = [None] * (1 if isinstance(target, Tensor) else target.n_out)
    slot[nr] = g if slot[nr] is None else add(slot[nr], g)


def _leaf_hooks(leaf: Tensor, g: Tensor) -> Tensor:
    for hook in list(leaf._hooks or ()):
        new = hook(g)
        if new is not None:
            g = new
    return g


# backward passes on several threads may reach one leaf (shared parameters): as PyTorch's
# AccumulateGrad, each accumulation holds a lock, so none is lost between the test for None
# and the write, or inside an in-place add that releases the GIL
_ACCUMULATE = threading.Lock()


def accumulate_grad(t: Tensor, g: Tensor, create_graph: bool) -> None:
    """``t.grad += g``; a fresh ``.grad`` never aliases a tensor anyone else can reach."""
    if STATE.tracer is not None:  # mbtorch.compile guards on the .grad a call found
        STATE.tracer.note_grad(t)
    with _ACCUMULATE:
        if t._grad is None:
            owned = None if create_graph else _owned(g, t)
            # grad mode is off unless create_graph: no history then
            t._grad = owned if owned is not None else clone(g)
        elif create_graph:
            t._grad = add(t._grad, g)
        else:
            t._grad.add_(g)


# references to a gradient held only by the engine when it reaches ``_owned``: ``_run``'s
# local, ``accumulate_grad``'s and ``_owned``'s parameters and ``getrefcount``'s argument
_ENGINE_REFS = 4


def _owned(g: Tensor, t: Tensor) -> Tensor | None:
    """``g`` as ``t``'s new ``.grad`` without a copy, or None where a copy is needed.

    As PyTorch's ``AccumulateGrad``: a gradient that nothing but the engine references (a
    kernel's fresh output, never seen by a hook or the user) is taken as it is. So is a view
    covering the whole of such a root in row-major order (the weight gradient of ``x @ w.t()``
    comes out as the transpose of a transposed product): its handle becomes the new root. Each
    ``.grad`` would otherwise be one full copy per parameter and step.
    """
    tracer = STATE.tracer  # a graph being traced holds one more reference to what it saw
    if (type(g) is not Tensor or g._shape != t._shape or g._dtype is not t._dtype
            or g._device is not t._device or g._requires_grad or g._hooks
            or getrefcount(g) != _ENGINE_REFS + (tracer.held(g) if tracer else 0)):
        return None
    root = g._root
    if root is None:
        return g
    # the view and its local name, ``root`` here and getrefcount's argument
    if (getrefcount(root) != 3 + (tracer.held(root) if tracer else 0) or g._offset
            or type(root) is not Tensor or root.numel() != g.numel() or not g.is_contiguous()):
        return None
    out = wrap(g._data, g._shape, g._dtype, g._device, g._be)
    if dispatch.TRACING:
        dispatch.note_alias(out, g)
    return out


def _pre_hooks(n: Node, buf: list, create_graph: bool) -> list:
    hooks = n.pre_hooks
    if not hooks:
        return buf
    retains = []
    for kind, fn in list(hooks):
        if kind == "node":
            new = fn(tuple(buf))
            if new is not None:
                buf = list(new)
        elif isinstance(fn, weakref.ref):
            retains.append((kind, fn))
        elif buf[kind] is not None:
            new = fn(buf[kind])
            if new is not None:
                buf[kind] = new
    for nr, ref in retains:  # retain_grad sees the gradient after the other hooks
        t = ref()
        if t is not None and buf[nr] is not None:
            g = buf[nr] if create_graph else buf[nr].detach()
            t._grad = clone(g) if t._grad is None else add(t._grad, g)
    return buf


def _apply(n: Node, buf: list, create_graph: bool) -> list:
    if n.n_out > 1:
        buf = [g if g is not None or not (m[1].is_floating_point or m[1].is_complex)
               else zeros(m[0], dtype=m[1], device=m[2]) for g, m in zip(buf, n.out_meta)]
    if anomaly.STATE.enabled:
        outs = anomaly.checked_apply(n, buf, create_graph)
    else:
        outs = n.apply(buf, create_graph)
    if n.post_hooks:
        for hook in n.post_hooks:
            new = hook(tuple(outs), tuple(buf))
            if new is not None:
                outs = list(new)
    return outs
