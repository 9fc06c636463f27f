"""``mbtorch.export``: ``torch.export``'s names. ``export(module, args)`` runs the module once
under the dispatcher's tracing mode and returns an ``ExportedProgram``: the op-level graph
(registry ops with their shapes and dtypes), the parameters and buffers it reads and the
constants it made; ``save``/``load`` write and read it as a readable JSON graph plus
safetensors weights in one zip file (never pickle).

Shapes are static: the program runs on inputs of the traced shapes (``dynamic_shapes`` is
refused with the reason). Reading a traced value on the host (``.item()``, ``bool(t)``,
``.tolist()``, ``.numpy()``) raises ``GraphBreak`` naming the call and the source line.
"""

from __future__ import annotations

__all__ = ["export", "save", "load", "ExportedProgram", "ExportGraphSignature", "Dim",
           "GraphBreak"]

from typing import Any, Mapping

from ..autograd.grad_mode import no_grad
from ..core.tensor import Tensor
from ..graph.capture import GraphBreak, Tracer
from ._program import ExportedProgram, ExportGraphSignature
from ._serialize import load, save


class Dim:
    """``torch.export.Dim(name, min=, max=)``: names a dynamic dimension. mbtorch exports
    static shapes, so passing one in ``dynamic_shapes`` is refused (see ``export``)."""

    def __init__(self, name: str, *, min: int | None = None,  # noqa: A002
                 max: int | None = None) -> None:  # noqa: A002
        self.__name__, self.min, self.max = name, min, max

    def __repr__(self) -> str:
        return f"Dim({self.__name__!r}, min={self.min}, max={self.max})"


def export(mod: Any, args: tuple, kwargs: Mapping[str, Any] | None = None, *,
           dynamic_shapes: Any = None, strict: bool = False,
           preserve_module_call_signature: tuple = ()) -> ExportedProgram:
    """Trace ``mod(*args, **kwargs)`` into an ``ExportedProgram`` (see the module doc)."""
    from ..nn.modules.module import Module

    if not isinstance(mod, Module):
        raise TypeError(f"export(): expected an nn.Module, got {type(mod).__name__}")
    if not isinstance(args, tuple):
        raise TypeError(f"export(): args must be a tuple, got {type(args).__name__}")
    if dynamic_shapes is not None and _has_dims(dynamic_shapes):
        raise NotImplementedError("export(): dynamic_shapes: mbtorch exports static shapes "
                                  "(export again for another size)")
    kwargs = dict(kwargs or {})
    tracer = Tracer(on_host_read="raise")
    with no_grad():  # the state before the call; the trace runs it, so buffers are restored
        state = {**{k: p.detach().clone() for k, p in mod.named_parameters()},
                 **{k: b.clone() for k, b in mod.named_buffers()}}
    try:
        with no_grad(), tracer:
            _declare_state(tracer, mod)
            for i, t in enumerate(_tensors((args, kwargs))):
                if not tracer.knows(t):
                    tracer.placeholder(t, "input", f"x{i}" if i else "x")
            result = mod(*args, **kwargs)
    finally:
        with no_grad():
            for name, b in mod.named_buffers():
                b.copy_(state[name])
    from ..compiler._guards import flatten

    leaves: list = []
    spec = flatten(result, leaves)
    for x in leaves:
        if not isinstance(x, Tensor):
            raise GraphBreak(f"export(): the module returned a {type(x).__name__}, not only "
                             "tensors")
    tracer.set_outputs(leaves, spec)
    return ExportedProgram(tracer.graph, state, lifted_constants(tracer))


def _declare_state(tracer: Tracer, mod: Any) -> None:
    for name, p in mod.named_parameters():
        tracer.placeholder(p, "parameter", name)
    for name, b in mod.named_buffers():
        tracer.placeholder(b, "buffer", name)


def lifted_constants(tracer: Tracer) -> dict[str, Tensor]:
    """The tensors the traced code made from Python data, by placeholder name (copies)."""
    return {n.target: tracer.tensor_of(n.outputs[0]).detach().clone()
            for n in tracer.graph.placeholders("constant")}


def _tensors(obj: Any) -> list[Tensor]:
    from ..compiler._guards import flatten

    leaves: list = []
    flatten(obj, leaves)
    return [x for x in leaves if isinstance(x, Tensor)]


def _has_dims(spec: Any) -> bool:
    if isinstance(spec, Dim):
        return True
    if isinstance(spec, dict):
        return any(_has_dims(v) for v in spec.values())
    if isinstance(spec, (list, tuple)):
        return any(_has_dims(v) for v in spec)
    return False
