"""``autocast``: a region where the ops on PyTorch's autocast lists run in lower precision.

>>> with mbtorch.autocast("cpu"):          # bfloat16 by default on cpu
...     y = model(x)                       # linear/conv/matmul outputs are bfloat16
...     loss = F.cross_entropy(y, t)       # losses run in float32

The state is per thread and per device type; regions nest, and ``enabled=False`` turns
autocast off inside an enabled region. The op lists and the hot-path rule are in
``mbtorch.core.autocast``.
"""

from __future__ import annotations

import functools
import warnings
from typing import Any, Callable

from ..core import dtypes as _dt
from ..core.autocast import AUTOCAST, clear_cache, set_state, state_for
from ..core.device import device as _device

__all__ = ["autocast", "custom_fwd", "custom_bwd", "is_autocast_available",
           "is_autocast_enabled", "set_autocast_enabled",
           "get_autocast_dtype", "set_autocast_dtype", "is_autocast_cache_enabled",
           "set_autocast_cache_enabled", "clear_autocast_cache", "autocast_increment_nesting",
           "autocast_decrement_nesting", "is_autocast_cpu_enabled", "set_autocast_cpu_enabled",
           "get_autocast_cpu_dtype", "set_autocast_cpu_dtype", "get_autocast_gpu_dtype",
           "set_autocast_gpu_dtype"]

_SUPPORTED = (_dt.bfloat16, _dt.float16)


def _check_device_type(device_type: Any, fn: str) -> str:
    if not isinstance(device_type, str):
        raise ValueError(f"{fn}(): expected `device_type` of type `str`, got: "
                         f"`{type(device_type)}`")
    if ":" in device_type:
        raise ValueError(f"{fn}(): device_type must be a device type such as 'cpu' or 'cuda', "
                         f"without an index; got '{device_type}'")
    return _device(device_type).type  # raises PyTorch's error for a malformed device string


def is_autocast_available(device_type: str) -> bool:
    """Whether autocast can be used for ``device_type`` (its backend is installed and usable)."""
    from ..core.plugins import get_backend

    try:
        get_backend(_check_device_type(device_type, "is_autocast_available"))
    except RuntimeError:
        return False
    return True


def _backend_has(device_type: str, dtype: _dt.dtype) -> bool:
    from ..core.plugins import get_backend

    return dtype in get_backend(device_type).dtypes


def is_autocast_enabled(device_type: str | None = None) -> bool:
    """Whether autocast is on for ``device_type`` on this thread (``None`` means ``"cuda"``,
    as in PyTorch)."""
    if device_type is None:
        device_type = "cuda"
    return state_for(_check_device_type(device_type, "is_autocast_enabled"))[0]


def set_autocast_enabled(device_type: str, enabled: bool) -> None:
    device_type = _check_device_type(device_type, "set_autocast_enabled")
    set_state(device_type, bool(enabled), state_for(device_type)[1])


def get_autocast_dtype(device_type: str) -> _dt.dtype:
    """The dtype autocast uses for ``device_type`` (bfloat16 on cpu, float16 elsewhere)."""
    return state_for(_check_device_type(device_type, "get_autocast_dtype"))[1]


def set_autocast_dtype(device_type: str, dtype: _dt.dtype) -> None:
    device_type = _check_device_type(device_type, "set_autocast_dtype")
    set_state(device_type, state_for(device_type)[0], _dt.as_dtype(dtype, "set_autocast_dtype"))


def is_autocast_cache_enabled() -> bool:
    return AUTOCAST.cache_enabled


def set_autocast_cache_enabled(enabled: bool) -> None:
    AUTOCAST.cache_enabled = bool(enabled)


def clear_autocast_cache() -> None:
    clear_cache()


def autocast_increment_nesting() -> int:
    """Enter one more autocast level on this thread; returns the new depth."""
    AUTOCAST.nesting += 1
    return AUTOCAST.nesting


def autocast_decrement_nesting() -> int:
    """Leave one autocast level on this thread; returns the new depth (the cache of cast
    weights is cleared by whoever leaves the last level)."""
    AUTOCAST.nesting -= 1
    return AUTOCAST.nesting


# PyTorch's older per-device spellings, still found in real code (deprecated there too)
def _deprecated(old: str, new: str) -> None:
    warnings.warn(f"mbtorch.{old}() is deprecated. Please use mbtorch.{new} instead.",
                  DeprecationWarning, stacklevel=3)


def is_autocast_cpu_enabled() -> bool:
    _deprecated("is_autocast_cpu_enabled", "is_autocast_enabled('cpu')")
    return is_autocast_enabled("cpu")


def set_autocast_cpu_enabled(enabled: bool) -> None:
    _deprecated("set_autocast_cpu_enabled", "set_autocast_enabled('cpu', enabled)")
    set_autocast_enabled("cpu", enabled)


def get_autocast_cpu_dtype() -> _dt.dtype:
    _deprecated("get_autocast_cpu_dtype", "get_autocast_dtype('cpu')")
    return get_autocast_dtype("cpu")


def set_autocast_cpu_dtype(dtype: _dt.dtype) -> None:
    _deprecated("set_autocast_cpu_dtype", "set_autocast_dtype('cpu', dtype)")
    set_autocast_dtype("cpu", dtype)


def get_autocast_gpu_dtype() -> _dt.dtype:
    _deprecated("get_autocast_gpu_dtype", "get_autocast_dtype('cuda')")
    return get_autocast_dtype("cuda")


def set_autocast_gpu_dtype(dtype: _dt.dtype) -> None:
    _deprecated("set_autocast_gpu_dtype", "set_autocast_dtype('cuda', dtype)")
    set_autocast_dtype("cuda", dtype)


class autocast:  # noqa: N801 - torch's spelling
    """A context manager (and decorator) that enables autocast for ``device_type``.

    ``dtype`` defaults to ``get_autocast_dtype(device_type)``; ``enabled=False`` disables
    autocast in the region; ``cache_enabled`` (default: the current setting, True) caches the
    casts of weights for the outermost region.
    """

    def __init__(self, device_type: str, dtype: _dt.dtype | None = None, enabled: bool = True,
                 cache_enabled: bool | None = None):
        self.device = _check_device_type(device_type, "autocast")
        self.fast_dtype = get_autocast_dtype(self.device) if dtype is None else \
            _dt.as_dtype(dtype, "autocast")
        self._enabled = bool(enabled)
        self._cache_enabled = is_autocast_cache_enabled() if cache_enabled is None else \
            bool(cache_enabled)
        if not self._enabled:
            return
        if self.fast_dtype not in _SUPPORTED:
            names = ", ".join(str(d) for d in _SUPPORTED)
            warnings.warn(f"In {self.device} autocast, but the target dtype is not supported. "
                          f"Disabling autocast.\nAutocast only supports dtypes of {names} "
                          "currently.", stacklevel=2)
            self._enabled = False
            self.fast_dtype = get_autocast_dtype(self.device)
        elif not is_autocast_available(self.device):
            warnings.warn(f"User provided device_type of '{self.device}', but the device is "
                          "not available. Disabling autocast.", stacklevel=2)
            self._enabled = False
        elif not _backend_has(self.device, self.fast_dtype):
            warnings.warn(f"In {self.device} autocast, but the device has no "
                          f"{self.fast_dtype}. Disabling autocast.", stacklevel=2)
            self._enabled = False

    def __enter__(self) -> "autocast":
        self._prev = (*state_for(self.device), AUTOCAST.cache_enabled)
        set_state(self.device, self._enabled, self.fast_dtype)
        AUTOCAST.cache_enabled = self._cache_enabled
        autocast_increment_nesting()
        return self

    def __exit__(self, *exc: Any) -> bool:
        if autocast_decrement_nesting() == 0:
            clear_cache()
        enabled, dtype, cache = self._prev
        set_state(self.device, enabled, dtype)
        AUTOCAST.cache_enabled = cache
        return False

    def __call__(self, func: Callable) -> Callable:
        @functools.wraps(func)
        def decorated(*args: Any, **kwargs: Any) -> Any:
            with autocast(self.device, self.fast_dtype, self._enabled, self._cache_enabled):
                return func(*args, **kwargs)

        return decorated


# -- custom autograd Functions ---------------------------------------------------------------
def _cast_floating(value: Any, device_type: str, dtype: _dt.dtype) -> Any:
    """Floating tensors on ``device_type`` (float64 excepted) in ``dtype``, through lists,
    tuples and dicts; everything else unchanged."""
    from ..core.tensor import Tensor

    if isinstance(value, Tensor):
        if (value.dtype.is_floating_point and value.dtype is not _dt.float64
                and value.device.type == device_type):
            return value.to(dtype)
        return value
    if isinstance(value, (list, tuple)):
        return type(value)(_cast_floating(v, device_type, dtype) for v in value)
    if isinstance(value, dict):
        return {k: _cast_floating(v, device_type, dtype) for k, v in value.items()}
    return value


def custom_fwd(fwd: Callable | None = None, *, device_type: str,
               cast_inputs: _dt.dtype | None = None) -> Callable:
    """Decorate a custom ``Function.forward`` for autocast: with ``cast_inputs``, inside an
    autocast region its floating inputs are cast to that dtype and it runs with autocast off;
    without, it runs under the current state. ``custom_bwd`` replays that state in backward."""
    device_type = _check_device_type(device_type, "custom_fwd")
    if fwd is None:
        return functools.partial(custom_fwd, device_type=device_type, cast_inputs=cast_inputs)

    @functools.wraps(fwd)
    def forward(ctx: Any, *args: Any, **kwargs: Any) -> Any:
        enabled, ctx._autocast_dtype = state_for(device_type)
        if cast_inputs is None:
            ctx._fwd_used_autocast = enabled
            return fwd(ctx, *args, **kwargs)
        ctx._fwd_used_autocast = False
        if not enabled:
            return fwd(ctx, *args, **kwargs)
        with autocast(device_type, enabled=False):
            return fwd(ctx, *_cast_floating(args, device_type, cast_inputs),
                       **_cast_floating(kwargs, device_type, cast_inputs))

    return forward


def custom_bwd(bwd: Callable | None = None, *, device_type: str) -> Callable:
    """Decorate a custom ``Function.backward`` to run with the autocast state its
    ``custom_fwd``-decorated forward ran with."""
    device_type = _check_device_type(device_type, "custom_bwd")
    if bwd is None:
        return functools.partial(custom_bwd, device_type=device_type)

    @functools.wraps(bwd)
    def backward(ctx: Any, *grads: Any) -> Any:
        with autocast(device_type, dtype=ctx._autocast_dtype, enabled=ctx._fwd_used_autocast):
            return bwd(ctx, *grads)

    return backward
