"""``mbtorch.compiler`` (``torch.compiler``'s names) and ``mbtorch.compile``.

``mbtorch.compile(fn_or_module)`` traces a call once per signature and replays it after as
straight-line kernel calls (see ``_frontend``); ``reset()`` forgets every trace;
``explain(fn, *args)`` runs ``fn`` once and reports what compile would capture and why it
would not.
"""

from __future__ import annotations

__all__ = ["compile", "reset", "explain", "is_compiling", "disable"]

import functools
from typing import Any, Callable

from ..core.state import STATE
from ._explain import explain
from ._frontend import RECOMPILE_LIMIT, CompiledFunction, reset

_MODES = (None, "default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")


def compile(model: Callable | None = None, *, fullgraph: bool = False,  # noqa: A001
            dynamic: bool | None = None, backend: Any = None, mode: str | None = None,
            options: dict | None = None, name: str | None = None, disable: bool = False,
            recompile_limit: int | None = None, **unsupported: Any) -> Any:
    """``torch.compile``: ``fn`` or an ``nn.Module`` whose calls are traced once per
    signature and replayed after. ``dynamic=True`` is refused (shapes are specialised: a new
    shape traces again); ``backend`` other than the default and ``options`` are refused."""
    if unsupported:
        raise TypeError(f"compile(): unexpected keyword argument(s) {sorted(unsupported)}")
    if mode not in _MODES:
        raise RuntimeError(f"compile(): unrecognized mode={mode!r}, should be one of: "
                           f"{', '.join(m for m in _MODES if m)}")
    if dynamic:
        raise NotImplementedError("compile(): dynamic=True is not supported: each new shape "
                                  "is traced again (dynamic=None or False)")
    if backend not in (None, "inductor", "eager", "mbtorch"):
        raise ValueError(f"compile(): backend={backend!r}: mbtorch has one compiler backend "
                         "(its replay)")
    if options:
        raise ValueError(f"compile(): options are not supported, got {sorted(options)}")
    if model is None:
        return functools.partial(compile, fullgraph=fullgraph, dynamic=dynamic,
                                 backend=backend, mode=mode, name=name, disable=disable,
                                 recompile_limit=recompile_limit)
    if not callable(model):
        raise RuntimeError(f"compile(): model must be callable, got {type(model).__name__}")
    if disable:
        return model
    limit = RECOMPILE_LIMIT if recompile_limit is None else int(recompile_limit)
    from ..nn.modules.module import Module

    if isinstance(model, Module):
        from ._module import OptimizedModule

        return OptimizedModule(model, CompiledFunction(model, fullgraph, limit))
    return CompiledFunction(model, fullgraph, limit)


def is_compiling() -> bool:
    """True while a call is being traced (``torch.compiler.is_compiling``)."""
    return STATE.tracer is not None


def disable(fn: Callable | None = None, recursive: bool = True, *, reason: str | None = None):
    """``torch.compiler.disable``: ``fn`` runs eagerly even inside a compiled call — here
    that means the call that reaches it is not captured (it runs eagerly, saying why)."""
    if fn is None:
        return functools.partial(disable, recursive=recursive, reason=reason)

    @functools.wraps(fn)
    def eager(*args: Any, **kwargs: Any) -> Any:
        tracer = STATE.tracer
        if tracer is not None:
            tracer.break_graph(f"{getattr(fn, '__qualname__', fn)} is marked "
                               f"compiler.disable{f' ({reason})' if reason else ''}")
        return fn(*args, **kwargs)

    return eager
