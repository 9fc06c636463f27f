"""``mbtorch.compiler.explain(fn, *args, **kwargs)``: run ``fn`` once (eagerly, with its side
effects) while recording its op-level graph, and report what compile would capture: the
graph, the ops in it, and the reason it would break, if any."""

from __future__ import annotations

__all__ = ["explain", "ExplainOutput"]

from dataclasses import dataclass, field
from typing import Any, Callable

from ..core.tensor import Tensor
from ..graph.capture import Tracer
from ..graph.ir import Graph
from ._guards import flatten


@dataclass
class ExplainOutput:
    """``torch._dynamo.explain``'s report: graphs, breaks and their reasons, op counts."""

    graphs: list[Graph] = field(default_factory=list)
    graph_count: int = 0
    graph_break_count: int = 0
    break_reasons: list[str] = field(default_factory=list)
    op_count: int = 0
    ops_per_graph: list[list[str]] = field(default_factory=list)
    result: Any = None

    def __str__(self) -> str:
        lines = [f"Graph Count: {self.graph_count}",
                 f"Graph Break Count: {self.graph_break_count}",
                 f"Op Count: {self.op_count}"]
        if self.break_reasons:
            lines.append("Break Reasons:")
            lines += [f"  {i + 1}. {r}" for i, r in enumerate(self.break_reasons)]
        for i, ops in enumerate(self.ops_per_graph):
            lines.append(f"Ops per Graph ({i + 1}): {', '.join(ops)}")
        return "\n".join(lines)


def explain(fn: Callable, *args: Any, **kwargs: Any) -> ExplainOutput:
    """Run ``fn(*args, **kwargs)`` once, recording its graph (see the module docstring)."""
    if not callable(fn):
        raise TypeError(f"explain(): fn must be callable, got {type(fn).__name__}")
    tracer = Tracer(on_host_read="break")
    leaves: list = []
    flatten((args, kwargs), leaves)
    with tracer:
        for i, t in enumerate(x for x in leaves if isinstance(x, Tensor)):
            if not tracer.knows(t):
                tracer.placeholder(t, "input", f"arg{i}")
        result = fn(*args, **kwargs)
    outs: list = []
    flatten(result, outs)
    tracer.set_outputs([t for t in outs if isinstance(t, Tensor) and tracer.knows(t)])
    ops = [n.op.name.lower() if n.op is not None else n.kind
           for n in tracer.graph.op_nodes()]
    broken = [tracer.broken] if tracer.broken else []
    return ExplainOutput([tracer.graph], 1, len(broken), broken, len(ops), [ops], result)
