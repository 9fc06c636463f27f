"""``ExportedProgram``: a captured op-level graph with the state it reads (parameters,
buffers, lifted constants), runnable on any device through ``module()``. Each call checks
its inputs against the placeholders' shapes (dynamic dims: their symbol's range, and one
size per symbol) and dtypes, raising torch's ``AssertionError`` (here also a
``RuntimeError``) naming the input and the dim."""

from __future__ import annotations

__all__ = ["ExportedProgram", "ExportGraphSignature", "InputSpec", "OutputSpec",
           "InputGuardError"]

from dataclasses import dataclass
from typing import Any

from ..core.tensor import Tensor
from ..graph.interpret import interpret
from ..graph.ir import Graph, SymExpr, substitute

_KINDS = {"input": "USER_INPUT", "parameter": "PARAMETER", "buffer": "BUFFER",
          "constant": "CONSTANT_TENSOR"}


@dataclass(frozen=True)
class InputSpec:
    kind: str  # USER_INPUT, PARAMETER, BUFFER, CONSTANT_TENSOR (torch.export's names)
    name: str  # the graph value
    target: str | None  # the state-dict key (or constant name); None for user inputs


@dataclass(frozen=True)
class OutputSpec:
    kind: str  # USER_OUTPUT
    name: str


class InputGuardError(RuntimeError, AssertionError):
    """An input does not fit the exported program (torch raises ``AssertionError``: "Guard
    failed: ..."); a ``RuntimeError`` as well, as mbtorch's other shape errors."""


class ExportGraphSignature:
    """What each placeholder and output of the graph is (``torch.export``'s signature)."""

    def __init__(self, graph: Graph) -> None:
        self.input_specs = [
            InputSpec(_KINDS[n.role], n.outputs[0].name,
                      None if n.role == "input" else n.target)
            for n in graph.placeholders()]
        self.output_specs = [OutputSpec("USER_OUTPUT", getattr(v, "name", repr(v)))
                             for v in graph.outputs]

    @property
    def user_inputs(self) -> list[str]:
        return [s.name for s in self.input_specs if s.kind == "USER_INPUT"]

    @property
    def parameters(self) -> list[str]:
        return [s.target for s in self.input_specs if s.kind == "PARAMETER"]

    @property
    def buffers(self) -> list[str]:
        return [s.target for s in self.input_specs if s.kind == "BUFFER"]

    def __str__(self) -> str:
        lines = ["# inputs"]
        lines += [f"{s.name}: {s.kind}" + (f" target={s.target!r}" if s.target else "")
                  for s in self.input_specs]
        lines += ["", "# outputs"] + [f"{s.name}: {s.kind}" for s in self.output_specs]
        return "\n".join(lines)


class ExportedProgram:
    """The graph (``ep.graph``, printable), its ``graph_signature``, ``state_dict``
    (parameters and buffers by their module names), ``constants`` and ``range_constraints``
    (symbol name -> ``ValueRange``, one per dynamic dim; ``dim_names``: symbol -> the Dim's
    name); ``module()`` runs it."""

    def __init__(self, graph: Graph, state_dict: dict[str, Tensor],
                 constants: dict[str, Tensor], range_constraints: dict | None = None,
                 dim_names: dict[str, str] | None = None) -> None:
        self.graph = graph
        self.graph_signature = ExportGraphSignature(graph)
        self.state_dict = state_dict
        self.constants = constants
        self.range_constraints = dict(range_constraints or {})
        self.dim_names = dict(dim_names or {})

    def __str__(self) -> str:
        text = f"ExportedProgram:\n{self.graph}\n\nGraph signature:\n{self.graph_signature}"
        return text + f"\nRange constraints: {self.range_constraints}"

    def module(self) -> Any:
        """An ``nn.Module`` that runs the graph (its parameters and buffers are copies of
        ``state_dict`` registered under the same names, so ``.to(device)`` moves them)."""
        from ._module import ExportedModule

        return ExportedModule(self)

    def run_decompositions(self, decomp_table: Any = None) -> ExportedProgram:
        """The same program with every composite op lowered to the primitive set."""
        if decomp_table is not None:
            raise NotImplementedError("run_decompositions(): a custom decomposition table is "
                                      "not supported; every composite lowers to primitives")
        from ._decompose import decompose

        return decompose(self)

    def feeds(self, user_inputs: list, state: dict[str, Tensor]) -> dict:
        """The interpreter's feed: user inputs in order, ``state`` and constants by target."""
        users = iter(user_inputs)
        return {n.outputs[0]: next(users) if n.role == "input" else self._stored(n, state)
                for n in self.graph.placeholders()}

    def feeds_for(self, node: Any, sizes: dict | None = None) -> Tensor:
        """A tensor standing for placeholder ``node`` when the program is re-traced: its
        state or constant, or (a user input) a zero tensor of the traced shape (dynamic dims
        at ``sizes``) and dtype."""
        if node.role != "input":
            return self._stored(node, self.state_dict)
        from ..core.ops.creation import zeros

        v = node.outputs[0]
        return zeros(substitute(v.shape, sizes or {}), dtype=v.dtype, device=v.device)

    def _stored(self, node: Any, state: dict[str, Tensor]) -> Tensor:
        return self.constants[node.target] if node.role == "constant" else state[node.target]

    def __call__(self, *args: Any) -> Any:
        return self.module()(*args)

    def run(self, user_inputs: list, state: dict[str, Tensor],
            observe: dict | None = None) -> list:
        """The outputs for ``user_inputs``, on their device (state and constants must be
        there too: ``module().to(device)`` moves them); ``observe`` as ``interpret``'s."""
        device = user_inputs[0].device if user_inputs else None
        sizes = self.bind_sizes(user_inputs)
        feeds = self.feeds(user_inputs, state)
        for v, t in feeds.items():
            if device is not None and t.device != device:
                feeds[v] = t.to(device)  # lifted constants live with the program
        return interpret(self.graph, feeds, device, sizes or None, observe)

    def bind_sizes(self, user_inputs: list) -> dict[str, int]:
        """Each symbol's size in ``user_inputs``, checked: static dims equal, dynamic ones in
        range and one size per symbol; ``InputGuardError`` names the input and the dim."""
        sizes: dict[str, int] = {}
        for i, (n, t) in enumerate(zip(self.graph.placeholders("input"), user_inputs)):
            v = n.outputs[0]
            if not isinstance(t, Tensor) or t.dim() != len(v.shape) or t.dtype is not v.dtype:
                got = (f"{t.dtype.name}{list(t.shape)}" if isinstance(t, Tensor)
                       else type(t).__name__)
                raise InputGuardError(f"Expected input at *args[{i}] to be a "
                                      f"{v.type_str()} tensor, but got {got}")
            for d, (want, size) in enumerate(zip(v.shape, t.shape)):
                self._guard(f"*args[{i}].shape[{d}]", want, size, sizes)
        return sizes

    def _guard(self, place: str, want: Any, size: int, sizes: dict) -> None:
        if not isinstance(want, SymExpr):
            if size != want:
                raise InputGuardError(f"Expected input at {place} to be equal to {want}, "
                                      f"but got {size}")
            return
        (name,) = want.free_symbols  # an input's dynamic dim is one symbol
        dim = f"Dim {self.dim_names.get(name, name)!r} ({name})"
        if name in sizes and sizes[name] != size:
            raise InputGuardError(f"Expected input at {place} to be equal to {sizes[name]} "
                                  f"(the size of {dim} in an earlier input), but got {size}")
        vr = self.range_constraints[name]
        if not vr.lower <= size <= vr.upper:
            raise InputGuardError(f"Expected input at {place} to be in [{vr.lower}, "
                                  f"{vr.upper}] ({dim}), but got {size}")
        sizes[name] = size
