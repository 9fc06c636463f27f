"""Small top-level functions PyTorch programs ask of tensors, dtypes and devices
(``is_same_size``, ``typename``, ``result_type``, ``get_device_module``...), the anomaly
switch ``set_anomaly_enabled``, and the constants ``e``, ``pi``, ``inf``, ``nan``, ``newaxis``.
"""

from __future__ import annotations

import importlib
import math
import types
from typing import Any

from .autograd import anomaly as _anomaly
from .core import dtypes as _dt
from .core.device import device as _device
from .core.meta import result_type as _result_type
from .core.tensor import Tensor

__all__ = [
    "e", "pi", "inf", "nan", "newaxis", "can_cast", "result_type", "is_same_size", "is_signed",
    "is_storage", "is_distributed", "is_inference", "typename", "get_device_module",
    "set_anomaly_enabled", "is_anomaly_enabled", "is_anomaly_check_nan_enabled",
]

e = math.e
pi = math.pi
inf = math.inf
nan = math.nan
newaxis = None

is_anomaly_enabled = _anomaly.is_anomaly_enabled
is_anomaly_check_nan_enabled = _anomaly.is_anomaly_check_nan_enabled


def set_anomaly_enabled(enabled: bool, check_nan: bool = True) -> None:
    """Turn anomaly detection (``mbtorch.autograd.detect_anomaly``) on or off for the process."""
    _anomaly.STATE.enabled, _anomaly.STATE.check_nan = bool(enabled), bool(check_nan)


def _tensor_arg(x: Any, op: str, arg: str = "input") -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument '{arg}' must be Tensor, not {type(x).__name__}")
    return x


def _dtype_arg(x: Any, op: str, arg: str) -> _dt.dtype:
    if not isinstance(x, _dt.dtype):
        raise TypeError(f"{op}(): argument '{arg}' must be torch.dtype, not {type(x).__name__}")
    return x


def can_cast(from_: _dt.dtype, to: _dt.dtype) -> bool:
    """Whether PyTorch's casting rules let an op write a ``from_`` result into ``to``: never to
    a lower kind (complex > floating > integral > bool)."""
    return _dt.can_cast(_dtype_arg(from_, "can_cast", "from_"), _dtype_arg(to, "can_cast", "to"))


def result_type(tensor1: Any, tensor2: Any) -> _dt.dtype:
    """The dtype an arithmetic op on the two operands (tensors or Python numbers) returns."""
    return _result_type((tensor1, tensor2), "result_type")


def is_same_size(input: Tensor, other: Tensor) -> bool:
    return _tensor_arg(input, "is_same_size")._shape == _tensor_arg(
        other, "is_same_size", "other")._shape


def is_signed(input: Tensor) -> bool:
    return _tensor_arg(input, "is_signed").is_signed()


def is_storage(obj: Any) -> bool:
    """Whether ``obj`` is a storage object (``Tensor.untyped_storage()``, ``storage()``)."""
    from .core.ops.storages import TypedStorage, UntypedStorage

    return isinstance(obj, (UntypedStorage, TypedStorage))


def is_distributed(input: Tensor) -> bool:
    """False, as PyTorch for every dense tensor (it names a long-removed tensor type)."""
    _tensor_arg(input, "is_distributed")
    return False


def is_inference(input: Tensor) -> bool:
    """``input.is_inference()``: False, mbtorch has no separate inference tensors
    (``inference_mode`` only turns grad mode off)."""
    return _tensor_arg(input, "is_inference").is_inference()


def typename(obj: Any) -> str:
    """``'torch.FloatTensor'`` for a tensor (its ``type()``), else the object's qualified
    name, as ``torch.typename``."""
    if isinstance(obj, Tensor):
        return obj.type()
    module = getattr(obj, "__module__", "") or ""
    if hasattr(obj, "__qualname__"):
        qualname = obj.__qualname__
    elif hasattr(obj, "__name__"):
        qualname = obj.__name__
    else:
        module = obj.__class__.__module__ or ""
        qualname = obj.__class__.__qualname__
    return qualname if module in ("", "builtins") else f"{module}.{qualname}"


def get_device_module(device: "_device | str | None" = None) -> types.ModuleType:
    """The module of a device type (``mbtorch.cpu``, ``mbtorch.cuda``); by default the default
    device's."""
    if device is None:
        from .core.settings import get_default_device

        device = get_default_device()
    name = _device(device).type if isinstance(device, (str, _device)) else None
    if name is None:
        raise RuntimeError(f"Invalid value of device '{device}', expect torch.device, str, or "
                           "None")
    try:
        module = importlib.import_module(f"mbtorch.{name}")
    except ImportError:
        module = None
    if not isinstance(module, types.ModuleType) or not hasattr(module, "is_available"):
        raise RuntimeError(f"Device '{name}' does not have a corresponding module registered "
                           f"as 'mbtorch.{name}'.")
    return module
