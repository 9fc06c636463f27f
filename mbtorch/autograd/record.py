"""Recording: the dispatcher calls ``record`` after an op ran with grad mode on and an input
that requires grad; ``copy_`` calls it (before writing) for every in-place write.

In-place semantics follow PyTorch. A write into a tensor *rebases* its history onto a
``CopyBackwards`` node. A write into a view rebases the view's *base* onto ``CopySlices``
(the gradient of the written region goes to the source, the rest to the base's old history),
and every view of that base rebuilds its ``grad_fn`` from the base's new history the next time
it is used (views remember the chain of view ops that made them from their base). Views made
without recording (of a tensor that did not require grad) are replayed by their geometry
(``AS_STRIDED``).
"""

from __future__ import annotations

__all__ = [
    "ViewNode", "edge_of", "current_grad_fn", "record", "record_transfer",
    "refresh_view", "record_copy", "CopySlices"
]

from typing import Any

from ..core import dispatch
from ..core.dtypes import FLOATING_CATEGORY
from ..core.op import Op
from ..core.ops.copying import clone
from ..core.ops.views import reshape
from ..core.tensor import Tensor
from . import anomaly
from ._grad_ops import strided_view, sum_to
from .derivatives import RULES, Rule
from .graph import MultiOpNode, Node, OpNode, SavedOutput

# members read per call: ``Op.X`` is a slow attribute on Python 3.11 (EnumType.__getattr__)
_AS_STRIDED, _VIEW = Op.AS_STRIDED, Op.VIEW

_new = object.__new__
_EMPTY: tuple = ()
_COPY = Op.COPY_
_ANOMALY = anomaly.STATE
_TRANSFER = Rule("ToCopyBackward0", "x | device", (lambda g, device: g.to(device),))


class ViewNode(OpNode):
    """The backward of a view op; its output may need a fresh ``grad_fn`` after its base is
    written in place."""

    __slots__ = ()
    is_view = True


def _node(cls: type, edges: list, rule: Rule | None = None, shapes: Any = None,
          attrs: Any = _EMPTY) -> Node:
    """The one constructor of graph nodes: edges to the inputs' histories and, for an op's
    node, its derivative rule, input shapes and attrs (saved values are added by ``_save``)."""
    node = _new(cls)
    node.next, node.saved = edges, _EMPTY
    if rule is not None:
        node.rule, node.shapes, node.attrs, node.result = rule, shapes, attrs, None
    if _ANOMALY.enabled:
        node.trace = anomaly.forward_trace()
    return node


def edge_of(x: Tensor) -> tuple | None:
    """Where ``x``'s gradient goes: its (current) grad_fn, itself for a leaf, or nowhere."""
    fn = x._grad_fn
    if fn is None:
        return (x, 0) if x._requires_grad else None
    if fn.is_view and x._view_base._grad_fn is not x._view_base_fn:
        fn = refresh_view(x)
    return (fn, x._output_nr)


def current_grad_fn(t: Tensor) -> Node | None:
    """``Tensor.grad_fn``: a view's history is rebuilt if its base was written in place."""
    fn = t._grad_fn
    if fn is not None and fn.is_view:
        base = t._view_base
        if base is not None and base._grad_fn is not t._view_base_fn:
            fn = refresh_view(t)
    return fn


def record(op: Op, inputs: tuple, attrs: tuple, out: Any) -> None:
    """Record ``op`` (run by the dispatcher with grad needed) as one node of the graph."""
    rule = RULES[op]
    if rule is None:
        return  # listed non-differentiable: the output does not require grad
    if op is _COPY:
        return record_copy(inputs[0], inputs[1])
    if type(out) is tuple:
        return _record_multi(rule, inputs, attrs, out)
    if out._dtype.category < FLOATING_CATEGORY:  # floating and complex outputs have grads
        return
    # hot path (one call per recorded op): edges inline, no per-call allocation but the node.
    # Only floating tensors ever require grad (``requires_grad_`` refuses others, and only
    # floating outputs are recorded), so ``_requires_grad`` alone says "wants a gradient".
    edges, shapes, mask, bit = [], [], 0, 1
    for x in inputs:
        if isinstance(x, Tensor):
            shapes.append(x._shape)
            if x._requires_grad:
                fn = x._grad_fn
                if fn is None:
                    edges.append((x, 0))
                elif fn.is_view:
                    edges.append(edge_of(x))
                else:
                    edges.append((fn, x._output_nr))
                mask |= bit
            else:
                edges.append(None)
        else:
            shapes.append(None)
            edges.append(None)
        bit <<= 1
    if not mask:
        return
    node = _node(ViewNode if rule.view else OpNode, edges, rule, shapes, attrs)
    plan = rule.plans.get(mask) or rule.plan(mask)
    if plan[0] or rule.wants_meta:
        _save(node, rule, plan, inputs)
    if plan[1]:
        node.result = SavedOutput(out)
    out._grad_fn = node
    out._requires_grad = True
    if rule.view:
        _remember_view(op, inputs[0], attrs, out)


def _save(node: OpNode, rule: Rule, plan: tuple, inputs: tuple) -> None:
    saved = [None] * len(inputs)
    for i in plan[0]:
        x = inputs[i]
        if isinstance(x, Tensor):
            saved[i] = (x, (x if x._root is None else x._root)._vc)  # with its version
        else:
            saved[i] = x
    node.saved = saved
    if rule.wants_dtypes:
        node.dtypes = [x._dtype if isinstance(x, Tensor) else None for x in inputs]
    if rule.wants_strides:
        node.strides = [x.stride() if isinstance(x, Tensor) else None for x in inputs]


def _remember_view(op: Op, x: Tensor, attrs: tuple, out: Tensor) -> None:
    base = x._view_base
    if base is None:
        out._view_base, out._view_chain = x, ((op, attrs, out._shape),)
    else:
        out._view_base, out._view_chain = base, x._view_chain + ((op, attrs, out._shape),)
    out._view_base_fn = out._view_base._grad_fn


def _record_multi(rule: Rule, inputs: tuple, attrs: tuple, outs: tuple) -> None:
    edges, shapes, mask = [], [], 0
    for i, x in enumerate(inputs):
        is_t = isinstance(x, Tensor)
        shapes.append(x._shape if is_t else None)
        want = is_t and x._requires_grad and x._dtype.category >= FLOATING_CATEGORY
        edges.append(edge_of(x) if want else None)
        mask |= want << i
    if not mask:
        return
    node = _node(MultiOpNode, edges, rule, shapes, attrs)
    node.n_out = len(outs)
    node.out_meta = [(o._shape, o._dtype, o._device) for o in outs]
    plan = rule.plans.get(mask) or rule.plan(mask)
    _save(node, rule, plan, inputs)
    if plan[1]:
        node.result = tuple(SavedOutput(o) for o in outs)
    for nr, o in enumerate(outs):
        if o._dtype.category >= FLOATING_CATEGORY:
            o._grad_fn, o._requires_grad = node, True
            if nr:
                o._output_nr = nr


def record_transfer(x: Tensor, out: Tensor) -> None:
    """``out`` is ``x`` copied to another device; its gradient is copied back."""
    node = _node(OpNode, [edge_of(x)], _TRANSFER, [x._shape], (x._device,))
    out._grad_fn, out._requires_grad = node, True


def refresh_view(t: Tensor) -> Node:
    """Rebuild view ``t``'s grad_fn on its base's current history (replaying its chain)."""
    base = t._view_base
    fn = base._grad_fn
    if fn is not None:
        edge = (fn, base._output_nr)
    else:
        edge = (base, 0) if base._requires_grad else None
    shape, node = base._shape, None
    for op, attrs, out_shape in t._view_chain:
        node = _node(ViewNode, [edge], RULES[op], [shape], attrs)
        edge, shape = (node, 0), out_shape
    t._grad_fn, t._view_base_fn = node, fn
    return node


# -- in-place writes ------------------------------------------------------------------------
def record_copy(dst: Tensor, src: Any) -> None:
    """``dst.copy_(src)`` is about to run: rebase the history of ``dst`` (or of its base)."""
    src_edge = None
    if isinstance(src, Tensor) and src._requires_grad:
        src_edge = edge_of(src)
        _snapshot_overwritten(src._grad_fn, dst)
    base, chain = _write_target(dst)
    base_edge = edge_of(base) if base._requires_grad else None
    if base_edge is None and src_edge is None:
        return
    src_shape = src._shape if isinstance(src, Tensor) else None
    if chain is None:
        node = _node(OpNode, [base_edge, src_edge], RULES[_COPY], [dst._shape, src_shape])
    else:
        node = _node(CopySlices, [base_edge, src_edge])
        node.chain, node.src_shape, node.saved = chain, src_shape, None
    base._grad_fn, base._requires_grad = node, True
    if base._output_nr:
        base._output_nr = 0
    if chain is not None:
        if dst._view_base is not base:  # a view made without recording: replay its geometry
            dst._view_base, dst._view_chain, dst._requires_grad = base, chain, True
        refresh_view(dst)


def _write_target(dst: Tensor) -> tuple:
    """The tensor whose history a write into ``dst`` rebases, and the view chain to ``dst``."""
    if dst._root is None:
        return dst, None
    if dst._view_base is not None:
        return dst._view_base, dst._view_chain
    root = dst._root
    if root._requires_grad:
        return dst, None  # a detached alias: autograd does not see through it
    if not root.is_contiguous():
        raise NotImplementedError("copy_(): autograd cannot record an in-place write through a "
                                  "view of a non-contiguous storage; clone() the base first")
    geometry = (dst._shape, dst.stride(), dst._offset)
    return root, ((_AS_STRIDED, geometry, dst._shape),)


def _snapshot_overwritten(fn: Any, dst: Tensor) -> None:
    # ``x.mul_(w)`` computes x * w (saving x), then writes it into x: keep the original x,
    # as PyTorch's in-place formulas do, instead of failing the version check later
    saved = getattr(fn, "saved", None)
    if not saved:
        return
    owner = dst._root if dst._root is not None else dst
    for i, s in enumerate(saved):
        if type(s) is tuple and s[1] == owner._vc and (
                s[0] is owner or s[0]._root is owner):
            keep = clone(s[0])
            saved[i] = (keep, keep._vc)


class CopySlices(Node):
    """A write of ``src`` into a view of a base: the base's new history."""

    __slots__ = ("chain", "src_shape")

    def apply(self, grads: list, create_graph: bool) -> list:
        g = grads[0]
        to_base = to_src = None
        if self.next[0] is not None:
            to_base = clone(g)
            _replay(to_base, self.chain).zero_()
        if self.next[1] is not None:
            to_src = sum_to(_replay(g, self.chain), self.src_shape)
        return [to_base, to_src]


def _replay(t: Tensor, chain: tuple) -> Tensor:
    """Apply a view chain to ``t`` (the gradient of the base), recording as any view."""
    for op, attrs, shape in chain:
        if op is _AS_STRIDED:
            t = strided_view(t, *attrs)
        elif op is _VIEW:
            t = reshape(t, shape)
        else:
            t = dispatch.run(op, (t,), attrs, (shape, t._dtype), t._device, t._be)
    return t
