"""``mbtorch.cpu``: the CPU device's namespace, as ``torch.cpu`` (the NumPy backend runs it,
one device, always there)."""

from __future__ import annotations

from . import amp

__all__ = ["amp", "is_available", "device_count", "current_device", "synchronize"]


def is_available() -> bool:
    """Always True: the CPU device is part of every install."""
    return True


def device_count() -> int:
    return 1


def current_device() -> str:
    return "cpu"


def synchronize(device: object = None) -> None:
    """Nothing to wait for: CPU kernels finish before they return."""
