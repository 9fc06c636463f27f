"""mbtorch's ``cuda`` device on CuPy. Found by mbtorch through the ``mbtorch.backends`` entry
point; nothing here imports CuPy until the ``cuda`` device is first used or listed."""

__all__ = []

__version__ = "0.1.0"
