"""Kernel-level capture, for ``mbtorch.compile``: instead of the registry ops a call made
(``capture.Tracer``), record the backend kernels that actually ran — every kernel call at any
depth (decompositions included), every in-place write, every view, every new buffer and every
upload of host data — with the callable itself. That list, in order, *is* the call on this
backend: ``replay.Plan`` turns it into straight-line code with no meta rules, no dispatch and
no autograd bookkeeping.

Tensors the traced code reaches outside its arguments (parameters, buffers, optimizer state,
globals) become ``captured`` placeholders: a replay reads their current storage. Random bits
(``PHILOX``) remember their offset relative to their generator's at the start, so a replay
draws the numbers eager execution would have drawn.
"""

from __future__ import annotations

__all__ = ["KernelTracer"]

from typing import Any

from ..core.op import Op
from ..core.tensor import Tensor
from .capture import Tracer
from .ir import ALLOC, CONST, OP, PLACEHOLDER, TRANSFER, WRITE, Node, Value

_COPY, _PHILOX = Op.COPY_, Op.PHILOX


class KernelTracer(Tracer):
    """Records the kernels a call runs (use as ``Tracer``: a context manager)."""

    records_ops = False

    def __init__(self) -> None:
        super().__init__(on_host_read="break")
        self.generators: dict[Any, int] = {}  # generator -> its offset when first drawn from
        self.random: dict[int, tuple] = {}  # id(PHILOX node) -> (generator, relative offset)
        self.written: list[Tensor] = []  # captured tensors written in place (versions bumped)
        self.grads_before: dict[int, tuple] = {}  # id -> (tensor, its .grad before the call)
        self.backward_ran = False
        # modules and optimizers the call used, with their state when first reached
        self.objects: dict[int, tuple[Any, tuple]] = {}

    def note_object(self, obj: Any) -> None:
        if id(obj) not in self.objects:
            from ..compiler._guards import read_state

            self.objects[id(obj)] = (obj, read_state(obj))

    def note_grad(self, t: Tensor) -> None:
        self.grads_before.setdefault(id(t), (t, t._grad))

    def value_of(self, t: Tensor) -> Value:
        entry = self._values.get(id(t))
        if entry is not None and entry[0]() is t:
            return entry[1]
        n = len(self.graph.placeholders("captured"))
        return self.placeholder(t, "captured", f"captured{n}")

    # -- the dispatcher's hooks -------------------------------------------------------------
    def on_kernel(self, op: Op, kernel: Any, inputs: tuple, attrs: tuple, out: Any) -> None:
        args = tuple(self._arg(x) for x in inputs)
        node = Node(OP, op, args, tuple(attrs), multi=type(out) is tuple, kernel=kernel)
        self.graph.nodes.append(node)
        if op is _PHILOX:
            gen = self._pending_random
            if gen is None:
                self.break_graph("random bits drawn without a generator")
            else:
                self.random[id(node)] = (gen, (attrs[1] - self.generators[gen]) % 2**64)
                self._pending_random = None
        for t in (out if type(out) is tuple else (out,)):
            self._bind(t, node, op.name.lower())

    def capture_write(self, op: Op, dst: Tensor, src: Any, fresh: bool = False) -> None:
        kernel = dst._be.kernels[_COPY] if op is _COPY else dst._be.inplace[op]
        node = Node(WRITE, op, (self.value_of(dst), self._arg(src)), kernel=kernel)
        self.graph.nodes.append(node)
        owner = dst if dst._root is None else dst._root
        if not fresh and self.value_of(owner).producer.kind == PLACEHOLDER:
            self.written.append(owner)

    def capture_view(self, root: Tensor, geometry: tuple, out: Tensor) -> None:
        node = Node(OP, Op.AS_STRIDED, (self.value_of(root),), geometry,
                    kernel=root._be.kernels[Op.AS_STRIDED])
        self.graph.nodes.append(node)
        self._bind(out, node, "as_strided")

    def capture_transfer(self, x: Tensor, out: Tensor) -> None:
        self.break_graph(f"a copy from {x._device} to {out._device}")
        node = Node(TRANSFER, None, (self.value_of(x),), (out._device,))
        self.graph.nodes.append(node)
        self._bind(out, node, "to")

    def on_alloc(self, out: Tensor, index: int) -> None:
        node = Node(ALLOC, None, (), (out._shape, out._dtype, index), kernel=out._be.storage.empty)
        self.graph.nodes.append(node)
        self._bind(out, node, "empty")

    def on_host_data(self, out: Tensor, host: Any, index: int) -> None:
        node = Node(CONST, None, (), (host, index), kernel=out._be.storage.from_numpy)
        self.graph.nodes.append(node)
        self._bind(out, node, "const")

    def on_random(self, generator: Any) -> None:
        """``words()`` is about to draw from ``generator`` (the PHILOX kernel follows)."""
        self.generators.setdefault(generator, generator._offset)
        self._pending_random = generator

    def on_fallback(self, op: Op) -> None:
        self.break_graph(f"{op.name.lower()}() ran on the CPU fallback")

    _pending_random: Any = None
