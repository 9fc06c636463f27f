"""Autocast's thread-local state and the casts its op hooks apply (``mbtorch.amp`` is the
public side: ``autocast``, ``is_autocast_enabled``...).

Only the ops on PyTorch's autocast lists read this state, each with one attribute test
(``if AUTOCAST.on:``) before its own argument checks; the dispatcher never does, so the
per-op path of every other op (``a + b``) is unchanged. The lists, as PyTorch's CPU policy:

- *lower precision* (``lower``): matmul, mm, bmm, addmm, baddbmm, tensordot, einsum, linear,
  conv1d/2d/3d, conv_transpose1d/2d/3d: floating inputs other than float64 are cast to the
  region's dtype;
- *float32* (``to_float32``): the losses: floating inputs are cast to float32.

Casts of leaf tensors that require grad (the weights) are cached for the outermost region when
``cache_enabled``, as PyTorch does, so a weight used by several ops is cast once.
"""

from __future__ import annotations

import threading
from typing import Any

from . import dtypes as _dt
from .tensor import Tensor

__all__ = ["AUTOCAST", "lower", "to_float32", "state_for", "set_state", "clear_cache"]


class _AutocastState(threading.local):
    def __init__(self) -> None:  # runs once in each thread that uses it
        self.on = False
        """True while any device type has autocast enabled (the hooks' only test)."""
        self.enabled: dict = {}
        """device type -> autocast dtype, for the device types with autocast enabled."""
        self.dtypes: dict = {}
        """device type -> the dtype set for it (kept while disabled, as PyTorch's)."""
        self.cache_enabled = True
        self.nesting = 0
        self.cache: dict = {}


AUTOCAST = _AutocastState()

_DEFAULT_DTYPES = {"cpu": _dt.bfloat16}
_CASTABLE = (_dt.float32, _dt.float16, _dt.bfloat16)


def state_for(device_type: str) -> tuple[bool, _dt.dtype]:
    """``(enabled, dtype)`` of ``device_type`` on this thread (float16 by default off cpu)."""
    dtype = AUTOCAST.dtypes.get(device_type) or _DEFAULT_DTYPES.get(device_type, _dt.float16)
    return device_type in AUTOCAST.enabled, dtype


def set_state(device_type: str, enabled: bool, dtype: _dt.dtype) -> None:
    """Enable or disable autocast for ``device_type`` with ``dtype``, on this thread."""
    on = {k: v for k, v in AUTOCAST.enabled.items() if k != device_type}
    if enabled:
        on[device_type] = dtype
    AUTOCAST.enabled = on
    AUTOCAST.dtypes = {**AUTOCAST.dtypes, device_type: dtype}
    AUTOCAST.on = bool(on)


def clear_cache() -> None:
    AUTOCAST.cache = {}


def _cast(x: Any, dtype: _dt.dtype) -> Any:
    if not isinstance(x, Tensor) or x._dtype is dtype or x._dtype not in _CASTABLE:
        return x
    from .ops._common import cast

    if not (AUTOCAST.cache_enabled and x.requires_grad and x.grad_fn is None):
        return cast(x, dtype, "autocast")
    # keyed by identity and version; the entry holds x so its id is not reused meanwhile
    key = (id(x), x._version, dtype)
    hit = AUTOCAST.cache.get(key)
    if hit is None:
        hit = AUTOCAST.cache[key] = (x, cast(x, dtype, "autocast"))
    return hit[1]


def _device_type(args: tuple) -> str | None:
    for a in args:
        if isinstance(a, Tensor):
            return a._device.type
    return None


def lower(*args: Any) -> tuple:
    """``args`` with their floating tensors (float64 excepted) in the region's low-precision
    dtype, when autocast is enabled for the tensors' device type; other values unchanged."""
    dtype = AUTOCAST.enabled.get(_device_type(args))
    if dtype is None:
        return args
    return tuple(_cast(a, dtype) for a in args)


def to_float32(*args: Any) -> tuple:
    """``args`` with their float16/bfloat16 tensors in float32, when autocast is enabled for
    the tensors' device type (an op on PyTorch's float32 list)."""
    if _device_type(args) not in AUTOCAST.enabled:
        return args
    return tuple(_cast(a, _dt.float32) for a in args)
