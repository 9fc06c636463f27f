"""``mbtorch.backends.mkldnn``: oneDNN (MKL-DNN) — no mbtorch kernel uses it, so
``is_available()`` is False; the flags (``enabled``, ``deterministic``, ``allow_tf32``,
``fp32_precision``) read and set as in PyTorch and change no result here (``allow_tf32``
reads None and setting it warns, as in a PyTorch built without Intel GPU support).
"""

from __future__ import annotations

import sys
import warnings
from contextlib import contextmanager
from typing import Any, Iterator

from ._flags import FlagModule, bool_flag

__all__ = ["is_available", "is_acl_available", "verbose", "set_flags", "flags", "VERBOSE_OFF",
           "VERBOSE_ON", "VERBOSE_ON_CREATION"]

VERBOSE_OFF = 0
VERBOSE_ON = 1
VERBOSE_ON_CREATION = 2

# allow_tf32 reads None, as in a PyTorch without Intel GPU support (the only TF32 oneDNN has)
_FLAGS: dict[str, Any] = {"enabled": True, "deterministic": False, "allow_tf32": None,
                          "fp32_precision": "none"}
_PRECISIONS = ("none", "ieee", "tf32", "bf16")


def is_available() -> bool:
    return False


def is_acl_available() -> bool:
    """False: no Arm Compute Library either."""
    return False


class verbose:  # noqa: N801 - torch's spelling
    """PyTorch's interface; oneDNN is absent, so turning verbose on fails as PyTorch's does
    when it cannot set it."""

    def __init__(self, level: int) -> None:
        self.level = level

    def __enter__(self) -> Any:
        if self.level == VERBOSE_OFF:
            return None
        raise AssertionError("Failed to set MKLDNN into verbose mode. Please consider to "
                             "disable this verbose scope.")

    def __exit__(self, *exc: Any) -> bool:
        return False


def set_flags(_enabled: bool | None = None, _deterministic: bool | None = None,
              _allow_tf32: bool | None = None, _fp32_precision: str | None = "none") -> tuple:
    """Set the given flags (None leaves one as is); returns the previous values in order."""
    names = ("enabled", "deterministic", "allow_tf32", "fp32_precision")
    orig = tuple(_FLAGS[n] for n in names)
    module = sys.modules[__name__]
    for name, value in zip(names, (_enabled, _deterministic, _allow_tf32, _fp32_precision)):
        if value is not None:
            setattr(module, name, value)
    return orig


@contextmanager
def flags(enabled: bool = False, deterministic: bool = False, allow_tf32: bool = True,
          fp32_precision: str = "none") -> Iterator[None]:
    orig = set_flags(enabled, deterministic, allow_tf32, fp32_precision)
    try:
        yield
    finally:
        set_flags(*orig)


def _set_allow_tf32(_module: Any, value: Any) -> None:
    if not isinstance(value, bool):
        raise RuntimeError(f"_set_onednn_allow_tf32 expects a bool, but got "
                           f"{type(value).__name__}")
    warnings.warn("TF32 acceleration on top of oneDNN is available for Intel GPUs; mbtorch has "
                  "no oneDNN, so allow_tf32 stays None", UserWarning, stacklevel=2)


def _set_precision(_module: Any, value: Any) -> None:
    if value not in _PRECISIONS:
        raise RuntimeError(f"Unknown precision: {value}")
    _FLAGS["fp32_precision"] = value


class _MkldnnModule(FlagModule):
    enabled = bool_flag(_FLAGS, "enabled", "set_enabled_mkldnn")
    deterministic = bool_flag(_FLAGS, "deterministic", "set_mkldnn_deterministic")
    allow_tf32 = property(lambda _m: None, _set_allow_tf32)
    fp32_precision = property(lambda _m: _FLAGS["fp32_precision"], _set_precision)


sys.modules[__name__].__class__ = _MkldnnModule
