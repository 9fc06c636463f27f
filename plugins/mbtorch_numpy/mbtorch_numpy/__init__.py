"""mbtorch's ``cpu`` device on NumPy. Found by mbtorch through the ``mbtorch.backends``
entry point; nothing here is imported until the ``cpu`` device is first used."""

__all__ = []

__version__ = "0.1.0"
