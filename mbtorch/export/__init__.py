"""``mbtorch.export``: ``torch.export``'s names. ``export(module, args)`` runs the module once
under the dispatcher's tracing mode and returns an ``ExportedProgram``: the op-level graph
(registry ops with their shapes and dtypes), the parameters and buffers it reads and the
constants it made; ``save``/``load`` write and read it as a readable JSON graph plus
safetensors weights in one zip file (never pickle).

``dynamic_shapes`` (``Dim``, ``dims``, ``Dim.AUTO``/``DYNAMIC``/``STATIC``, as in torch) makes
dimensions dynamic: the program's shapes and size attrs become expressions of symbols
(``float32[s0, 10]``, ``view(%x, (s0, 72))``) found by tracing at several sizes
(``_dynamic``); ``ep.range_constraints`` gives each symbol's range and the program checks
its inputs against them. Code that specializes on a dynamic size raises
``ConstraintViolationError`` (a ``RuntimeError``) naming the Dim. Reading a traced value on
the host (``.item()``, ``bool(t)``, ``.tolist()``, ``.numpy()``) raises ``GraphBreak`` naming
the call and the source line.
"""

from __future__ import annotations

__all__ = ["export", "save", "load", "ExportedProgram", "ExportGraphSignature", "Dim", "dims",
           "GraphBreak", "ConstraintViolationError"]

from typing import Any, Mapping

from ..autograd.grad_mode import no_grad
from ..core.tensor import Tensor
from ..graph.capture import GraphBreak, Tracer
from ._dims import ConstraintViolationError, Dim, ValueRange, dims, read_dynamic_shapes
from ._dynamic import generalize, resize_inputs
from ._program import ExportedProgram, ExportGraphSignature
from ._serialize import load, save


def export(mod: Any, args: tuple, kwargs: Mapping[str, Any] | None = None, *,
           dynamic_shapes: Any = None, strict: bool = False,
           preserve_module_call_signature: tuple = ()) -> ExportedProgram:
    """Trace ``mod(*args, **kwargs)`` into an ``ExportedProgram`` (see the module doc)."""
    from ..core.ops._generator import get_rng_state, set_rng_state
    from ..nn.modules.module import Module

    if not isinstance(mod, Module):
        raise TypeError(f"export(): expected an nn.Module, got {type(mod).__name__}")
    if not isinstance(args, tuple):
        raise TypeError(f"export(): args must be a tuple, got {type(args).__name__}")
    kwargs = dict(kwargs or {})
    symbols, per_tensor = ([], {}) if dynamic_shapes is None else \
        read_dynamic_shapes(mod, args, kwargs, dynamic_shapes)
    with no_grad():  # the state before the call; each trace runs it, so buffers are restored
        state = {**{k: p.detach().clone() for k, p in mod.named_parameters()},
                 **{k: b.clone() for k, b in mod.named_buffers()}}
    rng = get_rng_state()
    graph, constants = _trace(mod, args, kwargs, state)
    if symbols:
        after = get_rng_state()

        def trace_at(sizes: dict) -> tuple:
            set_rng_state(rng)  # every trace draws what the example's drew
            return _trace(mod, *resize_inputs(args, kwargs, per_tensor, sizes), state)

        try:
            graph, constants, symbols = _generalize_auto(symbols, trace_at,
                                                         (graph, constants))
        finally:
            set_rng_state(after)
    ranges = {s.name: ValueRange(s.lower, s.upper) for s in symbols}
    return ExportedProgram(graph, state, constants, ranges, {s.name: s.dim for s in symbols})


def _generalize_auto(symbols: list, trace_at: Any, static: tuple) -> tuple:
    """``generalize``, turning ``Dim.AUTO`` symbols the code specializes static (all of
    them: the ``static`` trace)."""
    while symbols:
        try:
            return (*generalize(symbols, trace_at), symbols)
        except ConstraintViolationError as err:
            auto = {s.name for s in symbols if s.auto}
            if not err.symbols or not set(err.symbols) <= auto:
                raise
            symbols = [s for s in symbols if s.name not in err.symbols]
    return (*static, [])


def _trace(mod: Any, args: tuple, kwargs: dict, state: dict) -> tuple:
    """``(graph, lifted constants)`` of one traced call; the module's buffers are restored."""
    from ..compiler._guards import flatten

    tracer = Tracer(on_host_read="raise")
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
    leaves: list = []
    spec = flatten(result, leaves)
    for x in leaves:
        if not isinstance(x, Tensor):
            raise GraphBreak(f"export(): the module returned a {type(x).__name__}, not only "
                             "tensors")
    tracer.set_outputs(leaves, spec)
    return tracer.graph, lifted_constants(tracer)


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

