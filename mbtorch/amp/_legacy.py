"""The deprecated per-device spellings ``torch.cpu.amp`` and ``torch.cuda.amp`` still found
in real programs: ``autocast`` and ``GradScaler`` with the device fixed, warning as PyTorch
does (``FutureWarning``) and otherwise the same as ``mbtorch.amp``'s."""

from __future__ import annotations

import warnings
from typing import Any, Callable

from ..core import dtypes as _dt
from .autocast_mode import autocast as _autocast
from .autocast_mode import custom_bwd as _custom_bwd
from .autocast_mode import custom_fwd as _custom_fwd
from .grad_scaler import GradScaler as _GradScaler

__all__ = ["legacy_autocast", "legacy_custom", "legacy_grad_scaler"]


def legacy_autocast(device_type: str, default_dtype: _dt.dtype) -> type:
    """``torch.<device_type>.amp.autocast``: ``autocast(device_type, ...)`` with a warning."""

    class autocast(_autocast):  # noqa: N801 - torch's spelling
        def __init__(self, enabled: bool = True, dtype: _dt.dtype = default_dtype,
                     cache_enabled: bool = True) -> None:
            warnings.warn(f"`mbtorch.{device_type}.amp.autocast(args...)` is deprecated. Please "
                          f"use `mbtorch.amp.autocast('{device_type}', args...)` instead.",
                          FutureWarning, stacklevel=2)
            super().__init__(device_type, dtype=dtype, enabled=enabled,
                             cache_enabled=cache_enabled)

    autocast.__qualname__ = "autocast"
    autocast.__module__ = f"mbtorch.{device_type}.amp"
    return autocast


def legacy_grad_scaler(device_type: str) -> type:
    """``torch.<device_type>.amp.GradScaler``: ``GradScaler(device_type, ...)`` with a
    warning."""

    class GradScaler(_GradScaler):
        def __init__(self, init_scale: float = 2.0**16, growth_factor: float = 2.0,
                     backoff_factor: float = 0.5, growth_interval: int = 2000,
                     enabled: bool = True) -> None:
            warnings.warn(f"`mbtorch.{device_type}.amp.GradScaler(args...)` is deprecated. "
                          f"Please use `mbtorch.amp.GradScaler('{device_type}', args...)` "
                          "instead.", FutureWarning, stacklevel=2)
            super().__init__(device_type, init_scale, growth_factor, backoff_factor,
                             growth_interval, enabled)

    GradScaler.__qualname__ = "GradScaler"
    GradScaler.__module__ = f"mbtorch.{device_type}.amp"
    return GradScaler


def legacy_custom(device_type: str) -> tuple[Callable, Callable]:
    """``torch.<device_type>.amp.custom_fwd``/``custom_bwd``: the ``mbtorch.amp`` decorators
    with ``device_type`` fixed, warning that the spelling is deprecated."""

    def custom_fwd(fwd: Callable | None = None, *, cast_inputs: Any = None) -> Callable:
        warnings.warn(f"`mbtorch.{device_type}.amp.custom_fwd(args...)` is deprecated. Please "
                      f"use `mbtorch.amp.custom_fwd(args..., device_type='{device_type}')` "
                      "instead.", FutureWarning, stacklevel=2)
        return _custom_fwd(fwd, device_type=device_type, cast_inputs=cast_inputs)

    def custom_bwd(bwd: Callable | None = None) -> Callable:
        warnings.warn(f"`mbtorch.{device_type}.amp.custom_bwd(args...)` is deprecated. Please "
                      f"use `mbtorch.amp.custom_bwd(args..., device_type='{device_type}')` "
                      "instead.", FutureWarning, stacklevel=2)
        return _custom_bwd(bwd, device_type=device_type)

    return custom_fwd, custom_bwd
