"""Register a variant of an installed backend under a new device type: the suite uses it to
probe undeclared dtypes, and its own tests use it to build deliberately broken backends.

    derive_backend("cpu", "broken_exp", kernels={Op.EXP: lambda x: np.exp(x) * 1.0001})
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable, Mapping

from mbtorch.core import plugins
from mbtorch.core.hookspecs import hookimpl
from mbtorch.core.op import Op

__all__ = ["derive_backend", "forget_backend"]


class _Derived:
    """A hooks object whose ``mbtorch_backend`` returns a fixed spec."""

    def __init__(self, spec: Any):
        self.DEVICE_TYPE = spec.device_type
        self.spec = spec

    @hookimpl
    def mbtorch_backend(self, api_version: int) -> Any:
        return self.spec


def derive_backend(base: str, device_type: str, *, kernels: Mapping[Op, Callable] | None = None,
                   **changes: Any) -> str:
    """Register ``base``'s spec with ``kernels`` overriding its kernel table and other
    ``BackendSpec`` fields changed (``dtypes=``, ``expectations=``); returns the device type.
    Raises ``RuntimeError`` with the registry's reason if the derived spec is refused."""
    spec = plugins.get_backend(base).spec
    table = {**spec.kernels, **(kernels or {})}
    derived = replace(spec, device_type=device_type, kernels=table, **changes)
    status = plugins.register_plugin(_Derived(derived), name=f"derived-{device_type}")
    if status.state != "available":
        raise RuntimeError(f"derived backend {device_type!r} is {status.state}: {status.reason}")
    return device_type


def forget_backend(device_type: str) -> None:
    plugins.unregister(device_type)
