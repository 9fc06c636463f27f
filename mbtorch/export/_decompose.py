"""``ExportedProgram.run_decompositions()``: interpret the program while a tracer records
only primitives (a composite reached at depth 0 runs its decomposition, whose parts are
recorded in turn), giving the same program in the primitive vocabulary a backend author
implements. A program with dynamic dims is decomposed at sampled sizes and generalized as
``export`` does (``_dynamic``): a decomposition that specializes on a size (``mean`` over a
dynamic dim scales by ``1/n``) raises ``ConstraintViolationError``."""

from __future__ import annotations

__all__ = ["decompose"]

from typing import Any

from ..autograd.grad_mode import no_grad
from ..core.op import OPS, PRIMITIVES, Op
from ..graph.capture import Tracer
from ..graph.interpret import interpret
from ..graph.ir import ALLOC, WRITE, Node


class _PrimitiveTracer(Tracer):
    """Records primitives; composites are replaced by their decompositions."""

    def capture(self, op: Op, inputs: tuple, attrs: tuple, meta: Any, device: Any,
                be: Any) -> Any:
        if op in PRIMITIVES:
            return super().capture(op, inputs, attrs, meta, device, be)
        return OPS[op].decomposition(*inputs, *attrs)

    def capture_write(self, op: Op, dst: Any, src: Any, fresh: bool = False) -> None:
        # a decomposition filling its new output is a primitive write here
        node = Node(WRITE, op, (self.value_of(dst), self._arg(src)))
        self.graph.nodes.append(node)

    def on_alloc(self, out: Any, index: int) -> None:
        node = Node(ALLOC, None, (), (out._shape, out._dtype, out._device))
        self.graph.nodes.append(node)
        self._bind(out, node, "empty")


def decompose(program: Any) -> Any:
    from . import ExportedProgram

    if not program.range_constraints:
        graph, constants = _decompose_at(program, {})
    else:  # each sampled size decomposed, then generalized as export does
        from ._dims import Symbol
        from ._dynamic import generalize

        symbols = [Symbol(name, program.dim_names.get(name, name), vr.lower, vr.upper,
                          _sample(vr)) for name, vr in program.range_constraints.items()]
        graph, constants = generalize(symbols, lambda sizes: _decompose_at(program, sizes))
    return ExportedProgram(graph, program.state_dict, constants, program.range_constraints,
                           program.dim_names)


def _sample(vr: Any) -> int:
    """A size to decompose at: small, inside the range, clear of 0 and 1."""
    return int(min(max(vr.lower, 5), vr.upper))


def _decompose_at(program: Any, sizes: dict) -> tuple:
    from . import lifted_constants

    graph = program.graph
    tracer = _PrimitiveTracer(on_host_read="raise")
    # roots standing for the placeholders, made before tracing: a view's parts are recorded
    # relative to its root, which must be the placeholder itself
    with no_grad():
        feeds = {n.outputs[0]: program.feeds_for(n, sizes).detach().clone()
                 for n in graph.placeholders()}
    with no_grad(), tracer:
        for n in graph.placeholders():
            tracer.placeholder(feeds[n.outputs[0]], n.role, n.target)
        outs = interpret(graph, feeds, sizes=sizes or None)
    tracer.set_outputs(outs, graph.output_spec)
    return tracer.graph, lifted_constants(tracer)
