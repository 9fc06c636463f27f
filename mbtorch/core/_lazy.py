"""``np = lazy_import("numpy", globals(), "np")``: a module imported at its first use.

The core needs NumPy only once there is data (host interchange, printing, data loading,
gradcheck), and ``import mbtorch`` should not pay NumPy's import for it. The stand-in imports
the module at the first attribute access and puts it in the importing module's globals in its
own place, so from then on ``np.x`` is an ordinary module attribute: no cost per call on any
path, and no per-call ``import`` statements. Nothing is put in ``sys.modules`` before the real
import, so the user's own ``import numpy`` is untouched.

A module using it must not touch ``np`` at import time (module-level constants, default
arguments) — that would import NumPy there, which is correct, only not lazy.
"""

from __future__ import annotations

import importlib
import types
from typing import Any

__all__ = ["lazy_import"]


class _LazyModule(types.ModuleType):
    def __init__(self, name: str, namespace: dict[str, Any], alias: str):
        super().__init__(name)
        self._lazy_where = (namespace, alias)

    def __getattr__(self, attr: str) -> Any:
        if attr == "_lazy_where":  # not set yet (copy, pickle): no import for that
            raise AttributeError(attr)
        module = importlib.import_module(self.__name__)
        namespace, alias = self._lazy_where
        if namespace.get(alias) is self:
            namespace[alias] = module
        return getattr(module, attr)


def lazy_import(name: str, namespace: dict[str, Any], alias: str) -> Any:
    """A stand-in for module ``name`` that the caller binds to ``alias`` in ``namespace`` (its
    ``globals()``); the first attribute access imports the module and rebinds ``alias``."""
    return _LazyModule(name, namespace, alias)
