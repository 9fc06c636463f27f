"""``mbtorch.cuda.amp``: the deprecated spelling of ``mbtorch.amp`` with
``device_type='cuda'`` (``autocast`` defaults to float16), as ``torch.cuda.amp``. Without a
usable CUDA device both disable themselves with a warning, as PyTorch's do.

``import mbtorch`` registers this module as ``mbtorch.cuda.amp``; its names are built on first
use so that costs nothing."""

from __future__ import annotations

from typing import Any

__all__ = ["autocast", "custom_bwd", "custom_fwd", "GradScaler"]  # noqa: F822 - built lazily


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module 'mbtorch.cuda.amp' has no attribute {name!r}")
    from ..core import dtypes as _dt
    from ._legacy import legacy_autocast, legacy_custom, legacy_grad_scaler

    made = {"autocast": legacy_autocast("cuda", _dt.float16),
            "GradScaler": legacy_grad_scaler("cuda")}
    made["custom_fwd"], made["custom_bwd"] = legacy_custom("cuda")
    globals().update(made)
    return made[name]


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
