"""What a compiled call's replay depends on besides its arguments: the modules and optimizers
the traced call used (registered by ``nn.Module.__call__`` and ``Optimizer.step`` while
tracing) and the plain Python values the function reads from its globals and closure. A
replay runs only while every guard reads as it did when the call was traced."""

from __future__ import annotations

__all__ = ["flatten", "unflatten", "arg_key", "read_state", "python_values", "Guards"]

import types
from typing import Any

from ..core.dtypes import get_default_dtype
from ..core.state import STATE
from ..core.tensor import Tensor

_SCALARS = (bool, int, float, str, type(None))


def flatten(obj: Any, leaves: list) -> Any:
    """The structure of nested tuples/lists/dicts, with leaves appended to ``leaves``."""
    if type(obj) in (tuple, list):
        return (type(obj), tuple(flatten(x, leaves) for x in obj))
    if type(obj) is dict:
        return (dict, tuple((k, flatten(v, leaves)) for k, v in obj.items()))
    leaves.append(obj)
    return None


def unflatten(spec: Any, leaves: Any) -> Any:
    if spec is None:
        return next(leaves)
    kind, items = spec
    if kind is dict:
        return {k: unflatten(s, leaves) for k, s in items}
    return kind(unflatten(s, leaves) for s in items)


def arg_key(spec: Any, leaves: list) -> tuple:
    """The cache key of one call: argument structure, tensor metadata, Python values (as
    torch.compile specialises on them), grad mode and the default dtype."""
    parts = []
    for x in leaves:
        if isinstance(x, Tensor):  # a view's geometry too: the replay indexes its root
            parts.append((x._shape, x._dtype, x._device, x._requires_grad, x._root is None,
                          x._stride, x._offset))
        elif type(x) in _SCALARS:
            parts.append((type(x), x))
        else:
            parts.append((type(x), id(x)))
    return (spec, tuple(parts), STATE.grad_enabled, get_default_dtype())


def _module_state(m: Any) -> tuple:
    """Training flags, parameter and buffer identities (and ``requires_grad``) of ``m`` and
    its submodules, read straight from their dicts (this runs before every replay)."""
    out, stack = [], [m]
    while stack:
        mod = stack.pop()
        d = mod.__dict__
        out.append((id(mod), d["training"],
                    tuple((k, id(v), v is not None and v._requires_grad)
                          for k, v in d["_parameters"].items()),
                    tuple((k, id(v)) for k, v in d["_buffers"].items())))
        stack.extend(d["_modules"].values())
    return tuple(out)


def _optimizer_state(o: Any) -> tuple:
    groups = tuple((tuple(id(p) for p in g["params"]),
                    tuple((k, v) for k, v in g.items() if k != "params" and _plain(v)))
                   for g in o.param_groups)
    state = tuple((id(p), tuple((k, id(v) if isinstance(v, Tensor) else v)
                                for k, v in st.items()))
                  for p, st in o.state.items())
    return groups + state


def _plain(v: Any) -> bool:
    return type(v) in _SCALARS or (type(v) is tuple and all(type(x) in _SCALARS for x in v))


def python_values(fn: Any) -> tuple:
    """The plain values ``fn`` reads from its module's globals and its closure."""
    fn = fn.__func__ if isinstance(fn, types.MethodType) else fn
    code = getattr(fn, "__code__", None)
    if code is None:
        return ()
    g = getattr(fn, "__globals__", {})
    out = [(n, g[n]) for n in code.co_names if n in g and _plain(g[n])]
    for name, cell in zip(code.co_freevars, getattr(fn, "__closure__", None) or ()):
        try:
            value = cell.cell_contents
        except ValueError:  # an empty cell
            continue
        if _plain(value):
            out.append((name, value))
    return tuple(out)


def read_state(obj: Any) -> tuple:
    """What a replay depends on in a module or optimizer the traced call used."""
    from ..nn.modules.module import Module

    return _module_state(obj) if isinstance(obj, Module) else _optimizer_state(obj)


class Guards:
    """Snapshots of the objects a traced call used, each taken when the call first reached it
    (a module's call, an optimizer's step), and of the function's plain Python values when
    the call began; ``holds()`` is true while every one reads the same before a call."""

    def __init__(self, fn: Any, objects: list[tuple[Any, tuple]], values: tuple,
                 grads: list[tuple]) -> None:
        self.fn = fn
        # a module inside another guarded one is already covered by its parent's snapshot
        inside = {id(sub) for obj, _ in objects if hasattr(obj, "modules")
                  for sub in obj.modules() if sub is not obj}
        self.objects = [(o, snap) for o, snap in objects if id(o) not in inside]
        self.values = values
        self.grads = grads  # (tensor, its .grad before the traced call, identity matters)

    def holds(self) -> bool:
        for t, g, same in self.grads:
            now = t._grad
            if (now is not g) if same else ((now is None) != (g is None)):
                return False
        for obj, snap in self.objects:
            if read_state(obj) != snap:
                return False
        return python_values(self.fn) == self.values

    def why_not(self) -> str:
        for t, g, same in self.grads:
            now = t._grad
            if (now is not g) if same else ((now is None) != (g is None)):
                return "a .grad the call reads (present, absent or replaced)"
        for obj, snap in self.objects:
            if read_state(obj) != snap:
                return (f"the state of {type(obj).__name__} (training mode, parameters, "
                        "buffers, hyperparameters or optimizer state)")
        if python_values(self.fn) != self.values:
            return "a Python value the function reads from its globals or closure"
        return "none"
