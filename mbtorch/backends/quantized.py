"""``mbtorch.backends.quantized``: the quantized engine. mbtorch has no quantized kernels, so
its only engine is ``"none"`` (``supported_engines == ["none"]``); choosing one of PyTorch's
engines is refused rather than recorded."""

from __future__ import annotations

import sys
import types
from typing import Any

__all__: list[str] = []  # engine and supported_engines are properties of the module

_TORCH_ENGINES = ("none", "fbgemm", "qnnpack", "onednn", "x86")
_SUPPORTED = ["none"]


def _set_engine(_module: Any, value: Any) -> None:
    if value not in _TORCH_ENGINES:
        raise RuntimeError(f"{value} is not a valid value for quantized engine")
    if value not in _SUPPORTED:
        raise RuntimeError(f"quantized engine {value} is not supported: mbtorch has no "
                           "quantized kernels (supported: ['none'])")


def _refuse(_module: Any, value: Any) -> None:
    raise RuntimeError("Assignment not supported")


class _QuantizedModule(types.ModuleType):
    engine = property(lambda _m: "none", _set_engine)
    supported_engines = property(lambda _m: list(_SUPPORTED), _refuse)


sys.modules[__name__].__class__ = _QuantizedModule
