"""In-place writes, made functional for ONNX (whose values are immutable).

A write into a value nothing else shares storage with becomes a new ONNX value that later
nodes read instead. A write through a view reaches its root: every view records which of its
root's elements it shows (``positions``: the root's flat indices, computed in NumPy by applying
the same view ops to an index array), so the write is a ``ScatterElements`` into the flattened
root, and every view of that root made so far is re-read from the new root with a ``Gather``.
Views with dynamic shapes, views that repeat an element (``expand``) and writes into inputs,
parameters or buffers are refused with the node named.
"""

from __future__ import annotations

__all__ = ["Aliases", "VIEW_OPS"]

from typing import Any

import numpy as np

from ..core.op import Op
from ..graph.ir import SymExpr, Value
from ._builder import Builder, UnsupportedOperatorError

VIEW_OPS = {Op.VIEW, Op.PERMUTE, Op.EXPAND, Op.SLICE, Op.SELECT, Op.DIAGONAL, Op.UNFOLD,
            Op.AS_STRIDED, Op.VIEW_AS_REAL, Op.VIEW_AS_COMPLEX}
_UPDATES = {Op.COPY_: None, Op.ADD: "Add", Op.SUB: "Sub", Op.MUL: "Mul", Op.DIV: "Div"}


def _static(shape: tuple) -> bool:
    return not any(isinstance(d, SymExpr) for d in shape)


def _apply_view(pos: np.ndarray, op: Op, args: tuple) -> np.ndarray | None:
    """The root positions a view shows, from its parent's (``None``: not computable)."""
    if op is Op.VIEW:
        return pos.reshape(args[0])
    if op is Op.PERMUTE:
        return pos.transpose(args[0])
    if op is Op.EXPAND:
        return np.broadcast_to(pos, args[0])
    if op is Op.SLICE:
        dim, start, stop, step = args
        index = [slice(None)] * pos.ndim
        index[dim] = slice(start, stop, step)
        return pos[tuple(index)]
    if op is Op.SELECT:
        return np.take(pos, args[1], axis=args[0])
    if op is Op.DIAGONAL:
        return np.diagonal(pos, *args)
    if op is Op.UNFOLD:
        dim, size, step = args
        windows = np.lib.stride_tricks.sliding_window_view(pos, size, axis=dim)
        index = [slice(None)] * windows.ndim
        index[dim] = slice(None, None, step)
        return windows[tuple(index)]
    return None


class Aliases:
    """Which values share storage, and the translation of writes (see the module doc)."""

    def __init__(self, roles: dict[Value, str]) -> None:
        self.roles = roles  # placeholder value -> its role (input, parameter, ...)
        self.pos: dict[Value, tuple[Value, np.ndarray | None]] = {}

    def on_view(self, node: Any) -> None:
        """Record the positions of a view op's output in its root."""
        parent, out = node.inputs[0], node.outputs[0]
        if not isinstance(parent, Value):
            return
        root, ppos = self.pos.get(parent, (parent, None))
        if ppos is None and root is parent and _static(parent.shape):
            ppos = np.arange(int(np.prod(parent.shape, dtype=np.int64))).reshape(parent.shape)
        args = tuple(node.inputs[1:]) + tuple(node.attrs)
        pos = None
        if ppos is not None and _static(out.shape) and not any(
                isinstance(a, SymExpr) for a in args):
            pos = _apply_view(ppos, node.op, args)
        self.pos[out] = (root, pos)
        self.pos.setdefault(root, (root, None))

    def write(self, b: Builder, node: Any, where: str) -> None:
        dst, src = node.inputs[0], node.inputs[1]
        if node.op not in _UPDATES:
            raise UnsupportedOperatorError(f"onnx.export(): {where}: in-place {node.op.name} "
                                           "has no ONNX translation")
        root, pos = self.pos.get(dst, (dst, None))
        if root in self.roles:
            raise UnsupportedOperatorError(
                f"onnx.export(): {where} writes in place into the model's "
                f"{self.roles[root]} {root!r}; ONNX graphs cannot change their inputs or "
                "weights: write into a copy (x.clone()) in the exported code")
        new = self._updated(b, node, dst, src)
        if root is dst and not any(r is root and v is not root for v, (r, _) in self.pos.items()):
            b.names[dst] = new  # nothing else shares it: the new value replaces it
            return
        if pos is None and root is not dst:
            raise UnsupportedOperatorError(
                f"onnx.export(): {where} writes through a view whose shape is dynamic or not "
                "a plain slice/reshape/permute of its base; write with index_put/scatter or "
                "build the tensor with torch.cat/where in the exported code")
        self._scatter(b, root, dst, pos, new, where)

    def _updated(self, b: Builder, node: Any, dst: Value, src: Any) -> str:
        src_name = b.name_of(src) if isinstance(src, Value) else b.scalar(src, dst.dtype)
        if node.op is Op.COPY_:
            return b.op1("Expand", [src_name, b.op1("Shape", [b.name_of(dst)])],
                         hint=dst.name)
        return b.op1(_UPDATES[node.op], [b.name_of(dst), src_name], hint=dst.name)

    def _scatter(self, b: Builder, root: Value, dst: Value, pos: Any, new: str,
                 where: str) -> None:
        if not _static(root.shape):
            raise UnsupportedOperatorError(f"onnx.export(): {where} writes through a view of "
                                           "a tensor with a dynamic shape")
        if pos is None:  # the root itself, which has views
            pos = np.arange(int(np.prod(root.shape, dtype=np.int64))).reshape(root.shape)
        flat_pos = pos.reshape(-1)
        if len(np.unique(flat_pos)) != flat_pos.size:
            raise UnsupportedOperatorError(f"onnx.export(): {where} writes through a view that "
                                           "shows one element several times (expand)")
        flat = b.op1("Reshape", [b.name_of(root), b.ints([-1])])
        updates = b.op1("Reshape", [new, b.ints([-1])])
        flat = b.op1("ScatterElements", [flat, b.const(flat_pos.astype(np.int64)), updates],
                     axis=0)
        b.names[root] = b.op1("Reshape", [flat, b.ints(root.shape)], hint=root.name)
        for v, (r, vpos) in self.pos.items():  # every view made so far re-reads the root
            if r is root and v is not root and vpos is not None:
                gathered = b.op1("Gather", [flat, b.const(vpos.reshape(-1).astype(np.int64))])
                b.names[v] = b.op1("Reshape", [gathered, b.ints(v.shape)], hint=v.name)
            elif r is root and v is not root:
                b.names[v] = None  # unreadable now: a later read is refused (name_of)
