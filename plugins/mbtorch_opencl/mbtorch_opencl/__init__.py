"""mbtorch's ``opencl`` device through PyOpenCL. Found by mbtorch through the
``mbtorch.backends`` entry point; nothing here is imported until the device is first used."""

__all__ = []

__version__ = "0.1.0"
