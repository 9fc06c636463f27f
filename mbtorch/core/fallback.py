"""Opt-in CPU fallback: the dispatcher's last resort, only when the user asks for it.

A backend kernel may raise ``NotImplementedError`` for a case its device cannot run (a dtype
its hardware lacks, say). By default that error reaches the user. With the fallback on
(``mbtorch.backends.set_cpu_fallback(True)`` or ``MBTORCH_CPU_FALLBACK=1``), the op is run on
``cpu`` instead — inputs copied over, outputs copied back, gradients flowing through the
copies — and a warning is issued once per op so the slow path is never silent.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

__all__ = ["set_cpu_fallback", "is_cpu_fallback_enabled", "applies", "run_on_cpu"]

_enabled = os.environ.get("MBTORCH_CPU_FALLBACK", "") not in ("", "0")
_warned: set = set()


def set_cpu_fallback(enabled: bool) -> None:
    """Turn the CPU fallback for kernels that raise ``NotImplementedError`` on or off."""
    global _enabled
    _enabled = bool(enabled)


def is_cpu_fallback_enabled() -> bool:
    return _enabled


def applies(be: Any) -> bool:
    # a quantized tensor's refusals (mbtorch.core.quantized) are answers, not gaps
    return _enabled and be.device_type != "cpu" and getattr(be, "falls_back", True)


def run_on_cpu(op: Any, inputs: tuple, attrs: tuple, meta: Any, device: Any, be: Any,
               reason: BaseException) -> Any:
    from .dispatch import run
    from .ops._common import resolve_device
    from .ops.copying import transfer
    from .settings import SETTINGS
    from .tensor import Tensor

    if op not in _warned or SETTINGS.warn_always:  # mbtorch.set_warn_always(True): every time
        _warned.add(op)
        warnings.warn(f"{op.name.lower()}(): not implemented on device type "
                      f"'{be.device_type}' ({reason}); running it on cpu and copying the "
                      "result back (this warning is shown once per op)", RuntimeWarning,
                      stacklevel=4)
    cpu, cpu_be = resolve_device("cpu")
    moved = tuple(transfer(x, cpu, cpu_be) if isinstance(x, Tensor) else x for x in inputs)
    out = run(op, moved, attrs, meta, cpu, cpu_be)
    if isinstance(out, tuple):
        return tuple(transfer(o, device, be) for o in out)
    return transfer(out, device, be)
