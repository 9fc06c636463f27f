"""``mbtorch.amp``: automatic mixed precision, as ``torch.amp``: ``autocast`` regions,
``GradScaler`` loss scaling, and ``custom_fwd``/``custom_bwd`` for custom Functions.

Its modules load on first use (``import mbtorch`` registers ``mbtorch.cuda.amp``, which lives
here, so this package must stay cheap to import)."""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["autocast", "custom_bwd", "custom_fwd", "GradScaler", "is_autocast_available"]

_WHERE = {"autocast": "autocast_mode", "custom_bwd": "autocast_mode",
          "custom_fwd": "autocast_mode", "is_autocast_available": "autocast_mode",
          "GradScaler": "grad_scaler"}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'mbtorch.amp' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
