"""Process settings PyTorch exposes at top level, each saying what it controls here.

- ``get/set_num_threads``: the BLAS thread pool behind the ``cpu`` device's matmul and linear
  algebra (NumPy's elementwise kernels are single-threaded), through ``threadpoolctl``.
- ``get/set_num_interop_threads``: mbtorch runs one op at a time (no inter-op pool): the
  getter says 1; the setter validates as PyTorch does and warns that it has no effect.
- ``use_deterministic_algorithms`` and the debug mode: recorded and readable, for backends to
  consult; every ``cpu`` kernel is deterministic, so on ``cpu`` nothing raises. While on,
  ``empty``/``empty_like``/``new_empty`` fill their memory as PyTorch does (NaN, the largest
  integer, True).
- ``set_float32_matmul_precision``: recorded for backends with reduced-precision matmuls; the
  ``cpu`` device always computes float32 matmuls in float32 (PyTorch's "highest").
- ``set_flush_denormal``: mbtorch cannot set the CPU's flush-to-zero mode (NumPy gives no
  control), so enabling it answers False, as PyTorch does on a CPU without support.
- ``set_default_device``: read by every factory through ``ops._common.resolve_device``;
  ``with mbtorch.device("x"):`` sets it for a block.
"""

from __future__ import annotations

import math
import threading
import warnings
from typing import Any

from .device import device as Device

__all__ = [
    "get_num_threads", "set_num_threads", "get_num_interop_threads", "set_num_interop_threads",
    "init_num_threads", "use_deterministic_algorithms", "are_deterministic_algorithms_enabled",
    "is_deterministic_algorithms_warn_only_enabled", "get_deterministic_debug_mode",
    "set_deterministic_debug_mode", "set_float32_matmul_precision",
    "get_float32_matmul_precision", "set_flush_denormal", "set_warn_always",
    "is_warn_always_enabled", "set_default_device", "get_default_device",
]


class _Settings:
    deterministic: bool = False
    deterministic_warn_only: bool = False
    matmul_precision: str = "highest"
    warn_always: bool = False
    interop_threads_set: bool = False


SETTINGS = _Settings()
"""Process-wide, as PyTorch's global context."""


class _DeviceDefault(threading.local):
    device: "Device | None" = None  # None: cpu (the resolver's fast path)
    stack: list


DEFAULT_DEVICE = _DeviceDefault()
"""Thread-local, as PyTorch's default device."""


def _check_bool(value: Any, setter: str) -> bool:
    if not isinstance(value, bool):
        raise RuntimeError(f"{setter} expects a bool, but got {type(value).__name__}")
    return value


def _check_positive_int(value: Any, setter: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise RuntimeError(f"{setter} expects an int, but got {type(value).__name__}")
    if value <= 0:
        raise RuntimeError(f"{setter} expects a positive integer")
    return value


# -- threads ---------------------------------------------------------------------------------
def _blas_controller() -> Any:
    import numpy  # noqa: F401 - the BLAS is loaded with NumPy; threadpoolctl finds it there

    try:
        from threadpoolctl import ThreadpoolController
    except ImportError as exc:
        raise RuntimeError("get_num_threads()/set_num_threads(): controlling the cpu "
                           "device's BLAS threads needs the threadpoolctl package "
                           "(pip install threadpoolctl)") from exc
    blas = ThreadpoolController().select(user_api="blas")
    if not blas.lib_controllers:
        raise RuntimeError("get_num_threads()/set_num_threads(): no BLAS library with a "
                           "thread pool is loaded in this process")
    return blas


def get_num_threads() -> int:
    """The threads the ``cpu`` device's BLAS (matmul, linear algebra) uses."""
    return max(c.num_threads for c in _blas_controller().lib_controllers)


def set_num_threads(num: int) -> None:
    """Set the ``cpu`` device's BLAS threads for the whole process."""
    num = _check_positive_int(num, "set_num_threads")
    _blas_controller().limit(limits=num)


def init_num_threads() -> None:
    """PyTorch initialises a new thread's OpenMP pool here; mbtorch's BLAS pool is
    process-wide and set by ``set_num_threads``, so a thread has nothing to initialise."""


def get_num_interop_threads() -> int:
    """1: mbtorch runs one op at a time and has no inter-op thread pool."""
    return 1


def set_num_interop_threads(num: int) -> None:
    """Validated as PyTorch does (a positive int, set at most once); it has no effect."""
    num = _check_positive_int(num, "set_num_interop_threads")
    if SETTINGS.interop_threads_set:
        raise RuntimeError("Error: cannot set number of interop threads after parallel work "
                           "has started or set_num_interop_threads called")
    SETTINGS.interop_threads_set = True
    if num != 1:
        warnings.warn(f"set_num_interop_threads({num}): mbtorch runs one op at a time and has "
                      "no inter-op thread pool, so this has no effect", UserWarning, stacklevel=2)


# -- determinism, precision, warnings ---------------------------------------------------------
def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    if not isinstance(mode, bool):
        raise TypeError(f"use_deterministic_algorithms(): argument 'mode' must be bool, not "
                        f"{type(mode).__name__}")
    if not isinstance(warn_only, bool):
        raise TypeError(f"use_deterministic_algorithms(): argument 'warn_only' must be bool, "
                        f"not {type(warn_only).__name__}")
    SETTINGS.deterministic, SETTINGS.deterministic_warn_only = mode, warn_only


def are_deterministic_algorithms_enabled() -> bool:
    return SETTINGS.deterministic


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    return SETTINGS.deterministic_warn_only


_DEBUG_MODES = {"default": 0, "warn": 1, "error": 2}


def set_deterministic_debug_mode(debug_mode: "str | int") -> None:
    """``"default"``/0 off, ``"warn"``/1 on with warnings, ``"error"``/2 on with errors."""
    if isinstance(debug_mode, str):
        if debug_mode not in _DEBUG_MODES:
            raise RuntimeError("invalid value of debug_mode, expected one of `default`, `warn`, "
                               f"`error`, but got {debug_mode}")
        debug_mode = _DEBUG_MODES[debug_mode]
    elif isinstance(debug_mode, int) and not isinstance(debug_mode, bool):
        if debug_mode not in (0, 1, 2):
            raise RuntimeError(f"invalid value of debug_mode, expected 0, 1, or 2, but got "
                               f"{debug_mode}")
    else:
        raise TypeError(f"debug_mode must be str or int, but got {type(debug_mode).__name__}")
    use_deterministic_algorithms(debug_mode != 0, warn_only=debug_mode == 1)


def get_deterministic_debug_mode() -> int:
    if not SETTINGS.deterministic:
        return 0
    return 1 if SETTINGS.deterministic_warn_only else 2


_PRECISIONS = ("highest", "high", "medium")


def set_float32_matmul_precision(precision: str) -> None:
    """As PyTorch, an unknown value warns and changes nothing."""
    if precision not in _PRECISIONS:
        warnings.warn(f"{precision} is not one of 'highest', 'high', or 'medium'; the current "
                      "set_float32_matmul_precision call has no effect.", UserWarning,
                      stacklevel=2)
        return
    SETTINGS.matmul_precision = precision


def get_float32_matmul_precision() -> str:
    return SETTINGS.matmul_precision


def set_flush_denormal(mode: bool) -> bool:
    """False for ``True`` (flush-to-zero cannot be set from mbtorch); True for ``False``, the
    state the CPU is already in."""
    return not _check_bool(mode, "set_flush_denormal")


def set_warn_always(b: bool) -> None:
    """Warnings PyTorch gives once (mbtorch's cpu-fallback warning) are given every time."""
    SETTINGS.warn_always = _check_bool(b, "setWarnOnlyOnce")


def is_warn_always_enabled() -> bool:
    return SETTINGS.warn_always


def uninitialized_fill(dtype: Any) -> Any:
    """What ``empty`` and its kin fill new memory with while deterministic algorithms are on
    (PyTorch's ``fill_uninitialized_memory``: NaN, the largest integer, True), else None."""
    if not SETTINGS.deterministic:
        return None
    from . import dtypes as _dt

    if dtype.category == _dt.BOOL_CATEGORY:
        return True
    if dtype.category == _dt.INTEGRAL_CATEGORY:
        bits = dtype.itemsize * 8
        return 2 ** (bits - 1) - 1 if dtype.is_signed else 2 ** bits - 1
    return complex(math.nan, math.nan) if dtype.category == _dt.COMPLEX_CATEGORY else math.nan


# -- default device ---------------------------------------------------------------------------
def set_default_device(device: "str | Device | int | None") -> None:
    """The device factories (``zeros``, ``tensor``, ``rand``...) use without ``device=``;
    ``None`` restores cpu."""
    DEFAULT_DEVICE.device = None if device is None else _as_device(device)


def _as_device(device: Any) -> Device:
    if isinstance(device, int) and not isinstance(device, bool):
        raise TypeError("set_default_device(): a bare integer is ambiguous here; use 'cuda:N' "
                        "or mbtorch.device('cuda', N)")
    d = Device(device)
    return None if d.type == "cpu" and d.index is None else d


def get_default_device() -> Device:
    """The default device, with the index a tensor made there would report."""
    d = DEFAULT_DEVICE.device
    if d is None:
        return Device("cpu")
    from .ops._common import resolve_device

    return resolve_device(d, "get_default_device")[0]


def push_default_device(device: Device) -> None:
    """``with mbtorch.device(x):`` (``device.__enter__``)."""
    stack = DEFAULT_DEVICE.__dict__.setdefault("stack", [])
    stack.append(DEFAULT_DEVICE.device)
    DEFAULT_DEVICE.device = _as_device(device)


def pop_default_device() -> None:
    DEFAULT_DEVICE.device = DEFAULT_DEVICE.__dict__["stack"].pop()
