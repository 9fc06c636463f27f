"""PyTorch's legacy tensor API, still common in real programs: the ``Tensor(...)``
constructor, the typed classes ``FloatTensor``, ``LongTensor``, ... (constructors, and
``isinstance`` targets that match a dtype and device type), and ``Tensor.type()``.

``Tensor(data)`` copies ``data`` into a tensor of the default dtype (an ndarray of that dtype
is shared, not copied, as in PyTorch), ``Tensor(2, 3)`` / ``Tensor(Size([2, 3]))`` allocate an
uninitialised tensor of that shape, ``Tensor()`` is empty and ``Tensor(t)`` is an alias of
``t``. A typed class does the same with its own dtype on ``cpu``, and refuses a tensor of
another type. None of this runs on the op path: ``Tensor`` instances made by ops never call
``Tensor.__new__``.
"""

from __future__ import annotations

import warnings
from typing import Any

from . import dtypes as _dt
from .tensor import Size, Tensor

__all__ = [
    "LEGACY_TYPES", "legacy_type", "legacy_new", "type_name", "convert_type", "FloatTensor",
    "DoubleTensor", "HalfTensor", "BFloat16Tensor", "LongTensor", "IntTensor", "ShortTensor",
    "CharTensor", "ByteTensor", "BoolTensor", "set_default_tensor_type",
]

LEGACY_TYPES: dict[str, _dt.dtype] = {
    "FloatTensor": _dt.float32, "DoubleTensor": _dt.float64, "HalfTensor": _dt.float16,
    "BFloat16Tensor": _dt.bfloat16, "LongTensor": _dt.int64, "IntTensor": _dt.int32,
    "ShortTensor": _dt.int16, "CharTensor": _dt.int8, "ByteTensor": _dt.uint8,
    "BoolTensor": _dt.bool,
}
_NAMES = {d: n for n, d in LEGACY_TYPES.items()}
# complex tensors have type strings but no legacy constructor classes, as in PyTorch
_NAMES.update({_dt.complex64: "ComplexFloatTensor", _dt.complex128: "ComplexDoubleTensor"})


class _LegacyTensorType(type):
    """The metaclass of ``FloatTensor`` & co. (PyTorch's ``torch.tensortype``): calling the
    class constructs a plain ``Tensor``; ``isinstance`` matches dtype and device type."""

    dtype: _dt.dtype
    _device_type: str

    def __call__(cls, *args: Any, **kwargs: Any) -> Tensor:
        return legacy_new(Tensor, args, kwargs, cls.dtype, cls._device_type)

    def __instancecheck__(cls, obj: Any) -> bool:
        return (isinstance(obj, Tensor) and obj._dtype is cls.dtype
                and obj._device.type == cls._device_type)

    @property
    def is_cuda(cls) -> bool:
        return cls._device_type == "cuda"

    @property
    def is_sparse(cls) -> bool:
        return False


_TYPES: dict[tuple[str, str], type] = {}


def legacy_type(name: str, device_type: str = "cpu") -> type:
    """The legacy class ``name`` (``'FloatTensor'``) for ``device_type``: ``mbtorch.FloatTensor``
    for ``cpu``, ``legacy_type('FloatTensor', 'cuda')`` is ``torch.cuda.FloatTensor``."""
    key = (name, device_type)
    cls = _TYPES.get(key)
    if cls is None:
        module = "mbtorch" if device_type == "cpu" else f"mbtorch.{device_type}"
        cls = _LegacyTensorType(name, (), {"dtype": LEGACY_TYPES[name], "__module__": module,
                                           "_device_type": device_type,
                                           "__doc__": f"Legacy {name} of {device_type}."})
        _TYPES[key] = cls
    return cls


FloatTensor = legacy_type("FloatTensor")
DoubleTensor = legacy_type("DoubleTensor")
HalfTensor = legacy_type("HalfTensor")
BFloat16Tensor = legacy_type("BFloat16Tensor")
LongTensor = legacy_type("LongTensor")
IntTensor = legacy_type("IntTensor")
ShortTensor = legacy_type("ShortTensor")
CharTensor = legacy_type("CharTensor")
ByteTensor = legacy_type("ByteTensor")
BoolTensor = legacy_type("BoolTensor")


# -- construction ---------------------------------------------------------------------------
def _is_size_item(x: Any) -> bool:
    if isinstance(x, int):  # bools too: PyTorch reads ``Tensor(2, True)`` as sizes (2, 1)
        return True
    return not isinstance(x, (list, tuple)) and hasattr(x, "__index__") and getattr(
        x, "ndim", 0) == 0


def _check_device(device: Any, device_type: str | None) -> Any:
    if device is None or device_type is None:
        return device
    from .device import device as _device

    got = _device(device).type
    if got != device_type:
        raise RuntimeError(f"legacy constructor expects device type: {device_type} but device "
                           f"type: {got} was passed")
    return device


def legacy_new(cls: type, args: tuple, kwargs: dict, dtype: _dt.dtype | None = None,
               device_type: str | None = None) -> Tensor:
    """``Tensor(*args, device=...)`` (``dtype=None``: the default dtype, any device) or a typed
    class's constructor; ``cls`` a subclass of ``Tensor`` gets an instance of itself."""
    unknown = sorted(set(kwargs) - {"device"})
    if unknown:
        raise TypeError(f"new() received an invalid combination of arguments - got unexpected "
                        f"keyword argument(s) {unknown}; the legacy constructor takes only "
                        "data or sizes and 'device' (use mbtorch.tensor(...) for more)")
    device = _check_device(kwargs.get("device"), device_type)
    dtype = _dt.get_default_dtype() if dtype is None else dtype
    out = _construct(args, dtype, device, device_type)
    return out if cls is Tensor else Tensor._make_subclass(cls, out)


def _construct(args: tuple, dtype: _dt.dtype, device: Any, device_type: str | None) -> Tensor:
    from .ops import creation

    if len(args) == 1 and isinstance(args[0], Tensor):
        return _alias(args[0], dtype, device, device_type)
    # as PyTorch, the legacy constructors ignore set_default_device: cpu unless told
    device = device or device_type or "cpu"
    if len(args) == 1 and isinstance(args[0], Size):
        args = tuple(args[0])
    elif len(args) == 1 and isinstance(args[0], bool):
        raise TypeError("new(): data must be a sequence (got bool)")
    if all(_is_size_item(a) for a in args):  # also ``Tensor()``: shape (0,)
        shape = tuple(a.__index__() for a in args) if args else (0,)
        return creation.empty(shape, dtype=dtype, device=device)
    if len(args) != 1:
        bad = next(a for a in args if not _is_size_item(a))
        raise TypeError(f"new(): argument 'size' must be a sequence of ints, but got "
                        f"{type(bad).__name__}")
    return _from_data(args[0], dtype, device)


def _alias(t: Tensor, dtype: _dt.dtype, device: Any, device_type: str | None) -> Tensor:
    from .ops.views import alias_view

    if device is not None:
        raise RuntimeError("Legacy tensor constructor of the form torch.Tensor(tensor, "
                           "device=device) is not supported.  Use torch.tensor(...) or "
                           "torch.as_tensor(...) instead.")
    if device_type is not None and (t._dtype is not dtype or t._device.type != device_type):
        raise TypeError(f"expected {type_name(dtype, device_type)} (got {type_name_of(t)})")
    return alias_view(t)


def _from_data(data: Any, dtype: _dt.dtype, device: Any) -> Tensor:
    from .host import np
    from .ops import creation

    if isinstance(data, (str, bytes)):
        raise TypeError(f"new(): invalid data type '{type(data).__name__}'")
    if isinstance(data, np.ndarray):  # shared when dtype and device allow, as in PyTorch
        return creation.as_tensor(data, dtype=dtype, device=device)
    if isinstance(data, range):
        data = list(data)
    elif not isinstance(data, (list, tuple)):
        raise TypeError(f"new(): data must be a sequence (got {type(data).__name__})")
    return creation.tensor(data, dtype=dtype, device=device)


# -- Tensor.type() ----------------------------------------------------------------------------
def type_name(dtype: _dt.dtype, device_type: str) -> str:
    """PyTorch's type string: ``'torch.FloatTensor'``, ``'torch.cuda.LongTensor'``."""
    middle = "" if device_type == "cpu" else f"{device_type}."
    return f"torch.{middle}{_NAMES[dtype]}"


def type_name_of(t: Tensor) -> str:
    return type_name(t._dtype, t._device.type)


def _parse_type_string(s: str) -> tuple[_dt.dtype, str]:
    parts = s.split(".")
    if parts[0] in ("torch", "mbtorch") and len(parts) in (2, 3):
        if parts[-1] == "Tensor" and len(parts) == 2:
            return _dt.get_default_dtype(), "cpu"
        if parts[-1] in LEGACY_TYPES:
            return LEGACY_TYPES[parts[-1]], (parts[1] if len(parts) == 3 else "cpu")
    raise ValueError(f"invalid type: {s!r}")


def convert_type(t: Tensor, dtype: Any = None, non_blocking: bool = False,
                 **kwargs: Any) -> Any:
    """``Tensor.type()``: the type string, or ``t`` converted to a legacy class, type string
    or dtype (``t`` itself when it already is of that type)."""
    if kwargs:
        raise TypeError(f"type() got unexpected keyword argument(s) {sorted(kwargs)}")
    if dtype is None:
        return type_name_of(t)
    if isinstance(dtype, _dt.dtype):
        return t.to(dtype=dtype)
    if isinstance(dtype, str):
        target, device_type = _parse_type_string(dtype)
    elif isinstance(dtype, _LegacyTensorType):
        target, device_type = dtype.dtype, dtype._device_type
    elif dtype is Tensor:
        target, device_type = _dt.get_default_dtype(), "cpu"
    else:
        raise TypeError("type(): dtype must be a type, str, or dtype object, not "
                        f"{type(dtype).__name__}")
    if t._device.type != device_type:
        t = t.to(device=device_type)
    return t.to(dtype=target)


def set_default_tensor_type(t: Any) -> None:
    """Deprecated in PyTorch 2.1 (as here): ``set_default_tensor_type(mbtorch.DoubleTensor)``
    or ``('torch.DoubleTensor')`` sets the default dtype. Only floating ``cpu`` types: mbtorch
    has no default device, so a device type (``'torch.cuda.FloatTensor'``) is refused."""
    warnings.warn("torch.set_default_tensor_type() is deprecated as of PyTorch 2.1, please use "
                  "torch.set_default_dtype() and torch.set_default_device() as alternatives.",
                  UserWarning, stacklevel=2)
    if isinstance(t, str):
        dtype, device_type = _parse_type_string(t)
    elif isinstance(t, _LegacyTensorType):
        dtype, device_type = t.dtype, t._device_type
    else:
        raise TypeError("set_default_tensor_type(): invalid type object: only floating-point "
                        "types are supported as the default type")
    if dtype.category != _dt.FLOATING_CATEGORY:
        raise TypeError("set_default_tensor_type(): only floating-point types are supported as "
                        "the default type")
    if device_type != "cpu":
        raise TypeError(f"set_default_tensor_type(): type {type_name(dtype, device_type)} sets "
                        "a default device, which mbtorch does not have; call "
                        "set_default_dtype() and pass device= to the factories")
    _dt.set_default_dtype(dtype)
