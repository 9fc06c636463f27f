"""Padding layers: zero, constant, reflection, replication and circular, in 1, 2 and 3
dims; ``padding`` is an int (every side) or PyTorch's (left, right, top, bottom, front, back)
tuple."""

from __future__ import annotations

from typing import Any

from ...core.tensor import Tensor
from .. import functional as F
from .module import Module

__all__ = [
    "CircularPad1d", "CircularPad2d", "CircularPad3d", "ConstantPad1d", "ConstantPad2d",
    "ConstantPad3d", "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d", "ReplicationPad1d",
    "ReplicationPad2d", "ReplicationPad3d", "ZeroPad1d", "ZeroPad2d", "ZeroPad3d"
]


def _padding(padding: Any, n: int, name: str) -> tuple[int, ...]:
    if isinstance(padding, int):
        return (padding,) * (2 * n)
    padding = tuple(padding)
    if len(padding) != 2 * n:
        raise ValueError(f"{name}: padding must be an int or a tuple of {2 * n} ints, got "
                         f"{padding}")
    return padding


class _PadNd(Module):
    _n = 1
    _mode = "constant"

    def __init__(self, padding: Any) -> None:
        super().__init__()
        self.padding = _padding(padding, self._n, type(self).__name__)

    def forward(self, input: Tensor) -> Tensor:
        return F.pad(input, self.padding, self._mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    def __init__(self, padding: Any, value: float) -> None:
        super().__init__(padding)
        self.value = value

    def forward(self, input: Tensor) -> Tensor:
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class _ZeroPadNd(_ConstantPadNd):
    def __init__(self, padding: Any) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _CircularPadNd(_PadNd):
    _mode = "circular"

    def forward(self, input: Tensor) -> Tensor:
        if input.dim() not in (self._n + 1, self._n + 2):
            raise ValueError(f"expected {self._n + 1}D or {self._n + 2}D input (got "
                             f"{input.dim()}D input)")
        return F.pad(input, self.padding, "circular")


def _make(base: type, name: str, n: int, mode: str | None = None) -> type:
    attrs: dict = {"_n": n, "__module__": __name__, "__qualname__": name}
    if mode is not None:
        attrs["_mode"] = mode
    return type(name, (base,), attrs)


ConstantPad1d = _make(_ConstantPadNd, "ConstantPad1d", 1)
ConstantPad2d = _make(_ConstantPadNd, "ConstantPad2d", 2)
ConstantPad3d = _make(_ConstantPadNd, "ConstantPad3d", 3)
ZeroPad1d = _make(_ZeroPadNd, "ZeroPad1d", 1)
ZeroPad2d = _make(_ZeroPadNd, "ZeroPad2d", 2)
ZeroPad3d = _make(_ZeroPadNd, "ZeroPad3d", 3)
ReflectionPad1d = _make(_PadNd, "ReflectionPad1d", 1, "reflect")
ReflectionPad2d = _make(_PadNd, "ReflectionPad2d", 2, "reflect")
ReflectionPad3d = _make(_PadNd, "ReflectionPad3d", 3, "reflect")
ReplicationPad1d = _make(_PadNd, "ReplicationPad1d", 1, "replicate")
ReplicationPad2d = _make(_PadNd, "ReplicationPad2d", 2, "replicate")
ReplicationPad3d = _make(_PadNd, "ReplicationPad3d", 3, "replicate")
CircularPad1d = _make(_CircularPadNd, "CircularPad1d", 1)
CircularPad2d = _make(_CircularPadNd, "CircularPad2d", 2)
CircularPad3d = _make(_CircularPadNd, "CircularPad3d", 3)
