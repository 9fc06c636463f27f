"""``Flatten`` and ``Unflatten`` (defined with the linear layers; importable from here as in
PyTorch)."""

from .linear import Flatten, Unflatten

__all__ = ["Flatten", "Unflatten"]
