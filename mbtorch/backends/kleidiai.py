"""``mbtorch.backends.kleidiai``: Arm's KleidiAI micro-kernels; mbtorch has none."""

from __future__ import annotations

__all__ = ["is_available"]


def is_available() -> bool:
    """False: no mbtorch kernel is built on KleidiAI."""
    return False
