"""``ExportedProgram.module()``: an ``nn.Module`` around a program's graph."""

from __future__ import annotations

__all__ = ["ExportedModule"]

from typing import Any

from ..core.tensor import Tensor
from ..nn.modules.module import Module
from ..nn.parameter import Parameter


class ExportedModule(Module):
    """Runs an exported graph; its parameters and buffers carry the program's names."""

    def __init__(self, program: Any) -> None:
        super().__init__()
        object.__setattr__(self, "_program", program)
        params = set(program.graph_signature.parameters)
        for name, t in program.state_dict.items():
            owner, leaf = self._owner(name)
            if name in params:
                owner.register_parameter(leaf, Parameter(t.detach().clone()))
            else:
                owner.register_buffer(leaf, t.detach().clone())

    def _owner(self, name: str) -> tuple[Module, str]:
        *path, leaf = name.split(".")
        mod: Module = self
        for part in path:
            if part not in mod._modules:
                mod.add_module(part, Module())
            mod = mod._modules[part]
        return mod, leaf

    def forward(self, *args: Any) -> Any:
        program = self._program
        users = program.graph_signature.user_inputs
        tensors = [a for a in args if isinstance(a, Tensor)]
        if len(tensors) != len(users):
            raise TypeError(f"forward(): the exported program takes {len(users)} tensor "
                            f"input(s), got {len(tensors)}")
        state = dict(self.named_parameters())
        state.update(self.named_buffers())
        outs = program.run(tensors, state)
        if program.graph.output_spec is None:
            return outs[0] if len(outs) == 1 else tuple(outs)
        from ..compiler._guards import unflatten

        return unflatten(program.graph.output_spec, iter(outs))
