"""Devices: ``mbtorch.device("cuda:1")``, interned so identity comparison is enough.

As in PyTorch, ``device("cuda")`` has no index and means "the current cuda device"; a tensor
always reports a concrete device (``cuda:0``), except on ``cpu`` whose index stays ``None``.
"""

from __future__ import annotations

import re

__all__ = ["device"]

_DEVICE_RE = re.compile(r"^([a-zA-Z_][a-zA-Z0-9_]*)(?::(\d+))?$")
_CACHE: dict[tuple[str, int | None], "device"] = {}


class device:  # noqa: N801 - torch's spelling
    """A device type and optional index: ``device("opencl:0")``, ``device("cuda", 1)``."""

    __slots__ = ("type", "index", "_str")

    def __new__(cls, type_or_str: "str | device", index: int | None = None) -> "device":
        if isinstance(type_or_str, device):
            if index is not None:
                raise ValueError("device(): index given twice")
            return type_or_str
        if isinstance(type_or_str, int) and not isinstance(type_or_str, bool):
            raise TypeError("device(): a bare integer is ambiguous here; use 'cuda:N' or "
                            "device('cuda', N)")
        if not isinstance(type_or_str, str):
            raise TypeError(f"device(): expected a string or device, got "
                            f"{type(type_or_str).__name__}")
        m = _DEVICE_RE.match(type_or_str.strip())
        if m is None:
            raise RuntimeError(f"Invalid device string: '{type_or_str}'")
        dtype_name, idx = m.group(1), m.group(2)
        if idx is not None:
            if index is not None:
                raise ValueError(f"device(): index given twice in '{type_or_str}'")
            index = int(idx)
        if index is not None and (not isinstance(index, int) or index < 0):
            raise RuntimeError(f"Device index must not be negative, got {index}")
        key = (dtype_name, index)
        obj = _CACHE.get(key)
        if obj is None:
            obj = object.__new__(cls)
            obj.type = dtype_name
            obj.index = index
            obj._str = dtype_name if index is None else f"{dtype_name}:{index}"
            _CACHE[key] = obj
        return obj

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __str__(self) -> str:
        return self._str

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            try:
                other = device(other)
            except (RuntimeError, ValueError):
                return False
        return self is other

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __reduce__(self):
        return (device, (self._str,))

    def __enter__(self) -> "device":
        """``with mbtorch.device("x"):`` makes ``x`` the factories' default device inside."""
        from .settings import push_default_device

        push_default_device(self)
        return self

    def __exit__(self, *exc: object) -> None:
        from .settings import pop_default_device

        pop_default_device()


