"""What the ``mbtorch.backends.*`` modules share: their answers from the plugin registry and
PyTorch's flag behaviour (module attributes that are read and set like variables, checked)."""

from __future__ import annotations

import types
from typing import Any

from ..core import plugins as _plugins

__all__ = ["plugin_installed", "plugin_available", "FlagModule", "bool_flag"]


def plugin_installed(device_type: str) -> bool:
    """Whether a plugin for ``device_type`` is installed or registered (usable or not): the
    counterpart of PyTorch being *built* with that backend. Imports no plugin."""
    return any(s.device_type == device_type for s in _plugins.status(load=False))


def plugin_available(device_type: str) -> bool:
    """Whether ``device=device_type`` can be used now (loads the plugin on first call)."""
    try:
        _plugins.get_backend(device_type)
    except RuntimeError:
        return False
    return True


class FlagModule(types.ModuleType):
    """A module whose class holds ``bool_flag`` properties: ``module.flag = True`` goes
    through the property, which checks the value (as PyTorch's ``ContextProp``)."""


def bool_flag(store: dict, name: str, setter_name: str) -> property:
    """A property reading and writing ``store[name]``; anything but a bool is refused with
    PyTorch's error (``RuntimeError: set_benchmark_cudnn expects a bool, but got int``)."""

    def get(_module: Any) -> bool:
        return store[name]

    def set_(_module: Any, value: Any) -> None:
        if not isinstance(value, bool):
            raise RuntimeError(f"{setter_name} expects a bool, but got {type(value).__name__}")
        store[name] = value

    return property(get, set_, doc=f"``{name}`` flag (a bool).")
