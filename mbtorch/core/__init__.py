"""The device-agnostic core: dtypes, devices, the op registry and dispatcher, plugins."""

__all__ = []
