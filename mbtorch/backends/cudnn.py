"""``mbtorch.backends.cudnn``: PyTorch's cuDNN switches, answered from the plugins.

``is_available()`` is whether the ``cuda`` backend is available (the device programs gate
cuDNN paths on). The flags (``enabled``, ``benchmark``, ``deterministic``, ``allow_tf32``,
``benchmark_limit``) read and set as in PyTorch and are kept for programs that set them; no
mbtorch kernel reads them: the cuda plugin computes through CuPy, not cuDNN, so its results
are those of ``enabled=False``/``allow_tf32=False`` whatever is set. ``version()`` is None
unless the cuda plugin reports a cuDNN version in its info (``"cudnn"``).
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Any, Iterator

from ..core import dtypes as _dt
from ..core import plugins as _plugins
from ._flags import FlagModule, bool_flag, plugin_available

__all__ = ["is_available", "version", "is_acceptable", "set_flags", "flags"]

_FLAGS: dict[str, Any] = {"enabled": True, "benchmark": False, "deterministic": False,
                          "allow_tf32": True, "benchmark_limit": 10}
_TENSOR_DTYPES = (_dt.float16, _dt.float32, _dt.float64)


def is_available() -> bool:
    """Whether the cuda backend (the device cuDNN paths run on) is available."""
    return plugin_available("cuda")


def version() -> int | None:
    """The cuDNN version the cuda plugin reports (``info['cudnn']``), else None."""
    if not is_available():
        return None
    reported = str(_plugins.get_backend("cuda").spec.info.get("cudnn", ""))
    return int(reported) if reported.isdigit() else None


def is_acceptable(tensor: Any) -> bool:
    """PyTorch's test whether a tensor could take a cuDNN path: enabled, a cuda tensor of
    a floating dtype cuDNN takes, cuda available."""
    return (_FLAGS["enabled"] and tensor.device.type == "cuda"
            and tensor.dtype in _TENSOR_DTYPES and is_available())


def set_flags(_enabled: bool | None = None, _benchmark: bool | None = None,
              _benchmark_limit: int | None = None, _deterministic: bool | None = None,
              _allow_tf32: bool | None = None) -> tuple:
    """Set the given flags (None leaves one as is); returns the previous values in order."""
    names = ("enabled", "benchmark", "benchmark_limit", "deterministic", "allow_tf32")
    module = sys.modules[__name__]
    orig = tuple(_FLAGS[n] for n in names)
    for name, value in zip(names, (_enabled, _benchmark, _benchmark_limit, _deterministic,
                                   _allow_tf32)):
        if value is not None:
            setattr(module, name, value)
    return orig


@contextmanager
def flags(enabled: bool = False, benchmark: bool = False, benchmark_limit: int = 10,
          deterministic: bool = False, allow_tf32: bool = True) -> Iterator[None]:
    """Set the flags inside a ``with`` block and restore them after it."""
    orig = set_flags(enabled, benchmark, benchmark_limit, deterministic, allow_tf32)
    try:
        yield
    finally:
        set_flags(*orig)


def _get_limit(_module: Any) -> int | None:
    return _FLAGS["benchmark_limit"] if is_available() else None


def _set_limit(_module: Any, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise RuntimeError(f"set_cudnn_benchmark_limit expects a non-negative int, but got "
                           f"{value!r}")
    _FLAGS["benchmark_limit"] = value


class _CudnnModule(FlagModule):
    enabled = bool_flag(_FLAGS, "enabled", "set_enabled_cudnn")
    benchmark = bool_flag(_FLAGS, "benchmark", "set_benchmark_cudnn")
    deterministic = bool_flag(_FLAGS, "deterministic", "set_deterministic_cudnn")
    allow_tf32 = bool_flag(_FLAGS, "allow_tf32", "set_allow_tf32_cudnn")
    benchmark_limit = property(_get_limit, _set_limit)


sys.modules[__name__].__class__ = _CudnnModule
