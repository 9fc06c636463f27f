"""``mbtorch.backends.opencl``: whether the OpenCL plugin (``mbtorch-opencl``) is installed
and usable, in the style of ``torch.backends.mps``; ``status()`` says why when it is not."""

from __future__ import annotations

from ._flags import plugin_available, plugin_installed

__all__ = ["is_available", "is_built"]


def is_available() -> bool:
    """Whether ``device='opencl'`` can be used (the plugin found an OpenCL device)."""
    return plugin_available("opencl")


def is_built() -> bool:
    """Whether the OpenCL plugin is installed (usable or not)."""
    return plugin_installed("opencl")
