"""Capture: a tracing mode of the dispatcher. While a ``Tracer`` is active on this thread,
every op that reaches ``dispatch.run`` from outside another op (depth 0: not a part of a
decomposition) and every in-place write through ``dispatch.write`` becomes a node, with the
meta rule's shape and dtype; device transfers become ``to`` nodes. Ops run as usual while
traced (tracing is eager execution with real values), so the traced call's own results are
right whatever the tracer's caller does with the graph.

Reading a traced value on the host (``item()``, ``bool(t)``, ``tolist()``, ``numpy()``...)
cannot be recorded: the tracer either raises (``on_host_read="raise"``: export) naming the
call and the user's source line, or notes the first such read as the reason the graph is
incomplete and lets the call finish eagerly (``"break"``: compile).
"""

from __future__ import annotations

__all__ = ["Tracer", "GraphBreak", "current", "host_read", "untraced", "user_frame"]

import os
import sys
import weakref
from typing import Any

from ..core import dispatch
from ..core.op import Op
from ..core.state import STATE
from ..core.tensor import Tensor
from .ir import OP, PLACEHOLDER, ROLES, TRANSFER, WRITE, Graph, Node, Value

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class GraphBreak(RuntimeError):
    """Traced code did something a graph cannot hold (a host read of a traced value, an
    output whose shape depends on the data); the message names it and the source line."""


def user_frame() -> str:
    """``file:line`` of the innermost frame outside mbtorch (where the user's code is)."""
    f = sys._getframe(1)
    while f is not None:
        path = os.path.abspath(f.f_code.co_filename)
        if not path.startswith(_PACKAGE_DIR + os.sep):
            return f"{f.f_code.co_filename}:{f.f_lineno}"
        f = f.f_back
    return "<unknown>"


def current() -> Tracer | None:
    return getattr(STATE, "tracer", None)


def host_read(what: str, t: Tensor) -> None:
    """Called by the host-read methods of ``Tensor`` while some thread traces."""
    tracer = current()
    if tracer is not None and tracer.depth == 0 and tracer.knows(t):
        tracer.break_graph(f"{what} reads a traced tensor's value on the host")


class untraced:  # noqa: N801 - a context manager, named as the action
    """Ops and host reads inside are not recorded (validation of the traced values whose
    failure the kernels also report at replay: index bounds)."""

    __slots__ = ("tracer",)

    def __enter__(self) -> None:
        self.tracer = current()
        if self.tracer is not None:
            self.tracer.depth += 1

    def __exit__(self, *exc: Any) -> None:
        if self.tracer is not None:
            self.tracer.depth -= 1


class Tracer:
    """Records one graph. Use as a context manager on the thread whose ops it records."""

    records_ops = True  # registry ops at depth 0 (``kernel_capture.KernelTracer``: kernels)
    backward_ran = False  # set by the autograd engine when a backward pass runs in the trace

    def __init__(self, on_host_read: str = "raise") -> None:
        if on_host_read not in ("raise", "break"):
            raise ValueError(f"Tracer(): on_host_read must be 'raise' or 'break', got "
                             f"{on_host_read!r}")
        self.graph = Graph()
        self.on_host_read = on_host_read
        self.depth = 0
        self.broken: str | None = None
        # id -> (weak reference, value): an entry leaves with its tensor (so an id reused by a
        # later tensor never finds a stale value) and the tracer keeps nothing alive that eager
        # execution would free; placeholders are held (``_held``): the graph reads them
        self._values: dict[int, tuple[weakref.ref, Value]] = {}
        self._held: list[Tensor] = []
        self._pending: dict[int, tuple[Tensor, list]] = {}  # aliases of outputs not yet bound
        self._prev: Tracer | None = None

    # -- lifetime -------------------------------------------------------------------------
    def __enter__(self) -> Tracer:
        self._prev = current()
        STATE.tracer = self
        dispatch.TRACING += 1
        return self

    def __exit__(self, *exc: Any) -> None:
        STATE.tracer = self._prev
        dispatch.TRACING -= 1

    # -- values ---------------------------------------------------------------------------
    def knows(self, t: Tensor) -> bool:
        entry = self._values.get(id(t))
        return entry is not None and entry[0]() is t

    def value_of(self, t: Tensor) -> Value:
        entry = self._values.get(id(t))
        if entry is not None and entry[0]() is t:
            return entry[1]
        return self.placeholder(t, "constant", f"c{len(self.graph.placeholders('constant'))}")

    def held(self, t: Tensor) -> int:
        """How many references to ``t`` the tracer holds (refcount-based checks in the
        autograd engine discount them, so a traced call takes the same paths as eager)."""
        n = sum(1 for h in self._held if h is t)
        pending = self._pending.get(id(t))
        if pending is not None and pending[0] is t:
            n += 1
        return n

    def alias(self, new: Tensor, old: Tensor) -> None:
        """``new`` shares ``old``'s handle and meaning (made outside any op)."""
        entry = self._values.get(id(old))
        if entry is not None and entry[0]() is old:
            self._remember(new, entry[1])
        else:  # ``old`` is the output of the op being captured: bound when it returns
            self._pending.setdefault(id(old), (old, []))[1].append(new)

    def tensor_of(self, v: Value) -> Tensor:
        """The tensor standing for ``v``: a placeholder's own tensor, else a live one."""
        for t in self._held:
            if self.value_of(t) is v:
                return t
        for ref, value in self._values.values():
            if value is v and ref() is not None:
                return ref()
        raise KeyError(v)

    def placeholder(self, t: Tensor, role: str, target: str) -> Value:
        """Declare ``t`` as coming from outside the graph (``role`` in ``ir.ROLES``)."""
        if role not in ROLES:
            raise ValueError(f"placeholder(): role must be one of {ROLES}, got {role!r}")
        hint = "".join(c if c.isalnum() else "_" for c in target) or role
        v = self.graph.new_value(hint, t._shape, _graph_dtype(t._dtype), t._device)
        node = Node(PLACEHOLDER, outputs=[v], role=role, target=target)
        v.producer = node
        self.graph.nodes.append(node)
        self._held.append(t)
        self._remember(t, v)
        return v

    def _remember(self, t: Tensor, v: Value) -> None:
        key, values = id(t), self._values
        values[key] = (weakref.ref(t, lambda _, key=key: values.pop(key, None)), v)

    def _bind(self, t: Tensor, node: Node, hint: str) -> Value:
        v = self.graph.new_value(hint, t._shape, _graph_dtype(t._dtype), t._device)
        v.producer = node
        node.outputs.append(v)
        self._remember(t, v)
        pending = self._pending.pop(id(t), None)
        if pending is not None and pending[0] is t:
            for alias in pending[1]:
                self._remember(alias, v)
        return v

    def _arg(self, x: Any) -> Any:
        return self.value_of(x) if isinstance(x, Tensor) else x

    # -- recording (called by the dispatcher) ---------------------------------------------
    def capture(self, op: Op, inputs: tuple, attrs: tuple, meta: Any, device: Any,
                be: Any) -> Any:
        """Run ``op`` as the dispatcher would and record it as one node."""
        args = tuple(self._arg(x) for x in inputs)
        self.depth += 1
        try:
            out = dispatch.run(op, inputs, attrs, meta, device, be)
        finally:
            self.depth -= 1
        metas = meta if type(meta) is list else [meta]
        if any(m[0] is None for m in metas):
            self.break_graph(f"{op.name.lower()}() has an output whose shape depends on the "
                             "data")
        node = Node(OP, op, args, tuple(attrs), multi=type(meta) is list, source=user_frame())
        self.graph.nodes.append(node)
        hint = op.name.lower()
        for t in (out if type(out) is tuple else (out,)):
            self._bind(t, node, hint)
        return out

    def capture_write(self, op: Op, dst: Tensor, src: Any, fresh: bool = False) -> None:
        """Record an in-place write into ``dst`` (before it runs); a decomposition filling
        its new output (``fresh``) is part of its op."""
        if fresh:
            return
        node = Node(WRITE, op, (self.value_of(dst), self._arg(src)), source=user_frame())
        self.graph.nodes.append(node)

    def capture_view(self, root: Tensor, geometry: tuple, out: Tensor) -> None:
        """A view made outside any op (``detach``, ``alias``): ``AS_STRIDED`` of its root."""
        node = Node(OP, Op.AS_STRIDED, (self.value_of(root),), geometry)
        self.graph.nodes.append(node)
        self._bind(out, node, "as_strided")

    def capture_transfer(self, x: Tensor, out: Tensor) -> None:
        node = Node(TRANSFER, None, (self.value_of(x),), (out._device,))
        self.graph.nodes.append(node)
        self._bind(out, node, "to")

    # kernel-level events (``KernelTracer``); an op-level graph has them inside its ops
    def on_kernel(self, op: Op, kernel: Any, inputs: tuple, attrs: tuple, out: Any) -> None:
        pass

    def on_alloc(self, out: Tensor, index: int) -> None:
        pass

    def on_host_data(self, out: Tensor, host: Any, index: int) -> None:
        pass

    def on_random(self, generator: Any) -> None:
        pass

    def on_fallback(self, op: Op) -> None:
        pass

    def note_object(self, obj: Any) -> None:
        """A module called or an optimizer stepped while tracing (compile's guards)."""

    def note_grad(self, t: Tensor) -> None:
        """``t.grad`` is about to be set or accumulated into (compile's guards)."""

    def break_graph(self, why: str) -> None:
        message = f"{why} (at {user_frame()})"
        if self.on_host_read == "raise":
            raise GraphBreak(message)
        if self.broken is None:
            self.broken = message

    # -- the end --------------------------------------------------------------------------
    def set_outputs(self, outputs: list, spec: Any = None) -> None:
        self.graph.outputs = [self.value_of(t) if isinstance(t, Tensor) else t
                              for t in outputs]
        self.graph.output_spec = spec


def _graph_dtype(d: Any) -> Any:
    """A graph value's dtype: a quantized tensor is its integers there (its scale and zero
    point are the inputs of the quantize and dequantize nodes around it)."""
    return d._storage if d._q is not None else d
