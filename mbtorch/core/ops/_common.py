"""Helpers shared by the op modules: device resolution, allocation, casting, writing."""

from __future__ import annotations

from collections import namedtuple
from typing import Any

from .. import dispatch as _dispatch
from .. import dtypes as _dt
from ..device import device as Device
from ..dispatch import run, wrap
from ..op import Op
from ..plugins import get_backend
from ..settings import DEFAULT_DEVICE
from ..state import STATE
from ..tensor import Tensor

__all__ = [
    "set_current_device_index", "resolve_device", "device_index", "check_dtype_supported",
    "empty_on", "cast", "to_device", "scalar_for", "grad_enabled", "return_type"
]

# members read per call: ``Op.X`` is a slow attribute on Python 3.11 (EnumType.__getattr__)
_CAST = Op.CAST

_current_index: dict[str, int] = {}
_resolved: dict[Any, tuple[Device, Any]] = {}


def set_current_device_index(device_type: str, index: int) -> None:
    _current_index[device_type] = index
    _resolved.clear()


def resolve_device(dev: Any = None, op: str = "device") -> tuple[Device, Any]:
    """``(concrete device, backend)`` for a user device argument (``None`` means the default
    device: cpu unless ``set_default_device`` or ``with mbtorch.device(...)`` says otherwise)."""
    if dev is None:
        dev = DEFAULT_DEVICE.device  # None again for cpu, the cached fast path
    hit = _resolved.get(dev)
    if hit is not None:
        return hit
    if dev is None:
        d = Device("cpu")
    elif isinstance(dev, (str, Device)):
        d = Device(dev)
    else:
        raise TypeError(f"{op}(): argument 'device' must be str or mbtorch.device, not "
                        f"{type(dev).__name__}")
    be = get_backend(d.type)
    count = be.spec.device_count
    if d.type != "cpu":
        index = d.index if d.index is not None else _current_index.get(d.type, 0)
        if index >= count:
            raise RuntimeError(f"{op}(): device '{d}' does not exist: the {d.type} backend has "
                               f"{count} device(s)")
        d = Device(d.type, index)
    out = (d, be)
    if isinstance(dev, (str, Device)) or dev is None:
        _resolved[dev] = out
    return out


def device_index(d: Device) -> int:
    return d.index or 0


def check_dtype_supported(be: Any, dtype: _dt.dtype, op: str) -> None:
    if dtype not in be.dtypes:
        raise TypeError(f"{op}(): dtype {dtype} is not supported on device type "
                        f"'{be.device_type}' (supported: "
                        f"{', '.join(sorted(d.name for d in be.dtypes))})")


def empty_on(shape: tuple, dtype: _dt.dtype, d: Device, be: Any, op: str = "empty") -> Tensor:
    check_dtype_supported(be, dtype, op)
    out = wrap(be.storage.empty(shape, dtype, device_index(d)), shape, dtype, d, be)
    if _dispatch.TRACING and STATE.tracer is not None and not STATE.tracer.depth:
        STATE.tracer.on_alloc(out, device_index(d))
    return out


def cast(x: Tensor, dtype: _dt.dtype, op: str = "to") -> Tensor:
    """``x`` converted to ``dtype`` (``x`` itself when it already has it)."""
    if x._dtype is dtype:
        return x
    check_dtype_supported(x._be, dtype, op)
    if x._dtype.category == _dt.COMPLEX_CATEGORY and dtype.category != _dt.COMPLEX_CATEGORY:
        import warnings

        warnings.warn("Casting complex values to real discards the imaginary part",
                      UserWarning, stacklevel=3)
    return run(_CAST, (x,), (dtype,), (x._shape, dtype), x._device, x._be)


def to_device(x: Tensor, dev: Any, op: str = "to") -> Tensor:
    d, be = resolve_device(dev, op)
    if d is x._device:
        return x
    from .copying import transfer

    return transfer(x, d, be)


def scalar_for(value: Any, dtype: _dt.dtype) -> Any:
    """A Python scalar as the Python type of ``dtype``, integers wrapped like PyTorch's."""
    cat = dtype.category
    if cat == _dt.FLOATING_CATEGORY:
        return float(value)
    if cat == _dt.COMPLEX_CATEGORY:
        return complex(value)
    if cat == _dt.BOOL_CATEGORY:
        return bool(value)
    v = int(value)
    bits = dtype.itemsize * 8
    if dtype.is_signed:
        half = 1 << (bits - 1)
        if -half <= v < half:
            return v
        return (v + half) % (1 << bits) - half
    return v % (1 << bits)


def grad_enabled() -> bool:
    return STATE.grad_enabled


def return_type(name: str, fields: tuple) -> type:
    """A named tuple printed like ``torch.return_types.<name>`` (unpacks, indexes, has the
    fields as attributes: ``.values``, ``.indices``, ``.Q``...)."""
    cls = namedtuple(name, fields)

    def __repr__(self) -> str:
        body = ",\n".join(f"{f}={v!r}" for f, v in zip(fields, self))
        return f"mbtorch.return_types.{name}(\n{body})"

    cls.__repr__ = __repr__
    cls.__module__ = "mbtorch.return_types"
    return cls
