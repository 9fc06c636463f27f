"""``mbtorch.backends.mps``: Apple's Metal device, as ``torch.backends.mps``; answered from
the plugins (no ``mps`` plugin exists yet, so both are False unless a third party adds one)."""

from __future__ import annotations

from ._flags import plugin_available, plugin_installed

__all__ = ["is_available", "is_built"]


def is_available() -> bool:
    """Whether a plugin provides an available ``mps`` device."""
    return plugin_available("mps")


def is_built() -> bool:
    """Whether a plugin for ``mps`` is installed (usable or not)."""
    return plugin_installed("mps")
