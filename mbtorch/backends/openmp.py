"""``mbtorch.backends.openmp``: ``is_available()`` is False — mbtorch's own kernels use no
OpenMP (PyTorch: whether it was built with OpenMP). The cpu device's BLAS threads are set
with ``mbtorch.set_num_threads``."""

from __future__ import annotations

__all__ = ["is_available"]


def is_available() -> bool:
    return False
