"""mbtorch's plugin template: device ``mini``, NumPy arrays, only the primitive kernels.

mbtorch finds it through the ``mbtorch.backends`` entry point and imports ``hooks`` when the
``mini`` device is first used; nothing here is imported by ``import mbtorch``.
"""

__all__ = []

__version__ = "0.1.0"
