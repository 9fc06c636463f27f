"""PyTorch's global names in checkpoints and the mbtorch objects they stand for.

Writing, an mbtorch object that PyTorch has too is written under PyTorch's name
(``mbtorch.float32`` as ``torch.float32``, a tensor as a call of
``torch._utils._rebuild_tensor_v2``), so real ``torch.load`` reads the file; torch is never
imported for it. Reading, the same names resolve to mbtorch objects. The weights-only
allow-list is PyTorch's (``torch/_weights_only_unpickler.py``): rebuild functions,
``OrderedDict``/``Counter``, dtypes, ``Size``, ``device``, ``Parameter``, storage types and
a few builtins, plus what the user adds with ``add_safe_globals``; the modules ``sys``, ``os``,
``posix`` and ``nt`` stay refused whatever the user adds.

Quantized tensors are written as PyTorch writes them: ``torch._utils._rebuild_qtensor(storage,
offset, size, stride, (qscheme, scale, zero_point[, axis]), requires_grad, hooks)`` on a
``torch.QInt8Storage`` (``QUInt8Storage``, ``QInt32Storage``) of the integer values, the
qscheme a ``torch.per_tensor_affine`` / ``torch.per_channel_affine`` global.
"""

from __future__ import annotations

import functools
from _codecs import encode
from collections import Counter, OrderedDict
from typing import Any, Callable, Iterable

from ..core import dtypes as _dt
from ..core import quantized as _q
from ..core.device import device
from ..core.tensor import Size, Tensor

__all__ = [
    "TorchName", "StorageType", "STORAGE_NAMES", "STORAGE_GLOBALS", "REBUILD_TENSOR_V2",
    "REBUILD_TENSOR_V3", "UNTYPED_STORAGE", "UNTYPED_DTYPES",
    "REBUILD_PARAMETER", "REBUILD_FROM_TYPE_V2", "REBUILD_QTENSOR", "QSTORAGE_NAMES",
    "TORCH_SIZE", "TORCH_DEVICE", "BLOCKED_MODULES",
    "UNSUPPORTED", "torch_name_of", "allowed_globals", "add_safe_globals", "get_safe_globals",
    "clear_safe_globals", "remove_safe_globals", "user_globals",
]


class TorchName:
    """A PyTorch global, written into a pickle by its name (``GLOBAL torch Size``)."""

    __slots__ = ("module", "name")

    def __init__(self, module: str, name: str) -> None:
        self.module, self.name = module, name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # pickle requires a reduce function to be callable; this one only names torch's
        raise TypeError(f"{self!r} is a PyTorch name written into checkpoints, not a function")

    def __repr__(self) -> str:
        return f"{self.module}.{self.name}"


class StorageType:
    """``torch.FloatStorage`` and friends as read from a checkpoint: only the element type of
    the storage matters to mbtorch (``dtype``: that of its values; ``quantized``: qint8,
    quint8 or qint32 for PyTorch's quantized storages, whose values are int8, uint8, int32)."""

    __slots__ = ("name", "dtype", "quantized")

    def __init__(self, name: str, dtype: _dt.dtype, quantized: _dt.dtype | None = None) -> None:
        self.name, self.dtype, self.quantized = name, dtype, quantized

    def __repr__(self) -> str:
        return f"torch.{self.name}"


STORAGE_NAMES = {
    _dt.bool: "BoolStorage", _dt.uint8: "ByteStorage", _dt.int8: "CharStorage",
    _dt.int16: "ShortStorage", _dt.int32: "IntStorage", _dt.int64: "LongStorage",
    _dt.float16: "HalfStorage", _dt.bfloat16: "BFloat16Storage", _dt.float32: "FloatStorage",
    _dt.float64: "DoubleStorage", _dt.complex64: "ComplexFloatStorage",
    _dt.complex128: "ComplexDoubleStorage",
}
"""The legacy typed-storage class PyTorch names in a storage's persistent id, by dtype."""
QSTORAGE_NAMES = {_dt.qint8: "QInt8Storage", _dt.quint8: "QUInt8Storage",
                  _dt.qint32: "QInt32Storage"}
"""The same for quantized tensors' storages (their values: int8, uint8, int32)."""
STORAGE_GLOBALS = {d: TorchName("torch", n) for d, n in {**STORAGE_NAMES,
                                                           **QSTORAGE_NAMES}.items()}
REBUILD_TENSOR_V2 = TorchName("torch._utils", "_rebuild_tensor_v2")
REBUILD_TENSOR_V3 = TorchName("torch._utils", "_rebuild_tensor_v3")
UNTYPED_STORAGE = TorchName("torch.storage", "UntypedStorage")
UNTYPED_DTYPES = _dt.LIMITED_UINTS
"""Dtypes without a legacy typed-storage class: PyTorch saves their tensors on an
``UntypedStorage`` (its element count in bytes) with ``_rebuild_tensor_v3``, which names the
dtype."""
REBUILD_PARAMETER = TorchName("torch._utils", "_rebuild_parameter")
REBUILD_FROM_TYPE_V2 = TorchName("torch._tensor", "_rebuild_from_type_v2")
REBUILD_QTENSOR = TorchName("torch._utils", "_rebuild_qtensor")
TORCH_SIZE = TorchName("torch", "Size")
TORCH_DEVICE = TorchName("torch", "device")
_CHECKPOINT_DTYPES = _dt.ALL_DTYPES + (_dt.complex64, _dt.complex128) + UNTYPED_DTYPES
_DTYPE_GLOBALS = {d: TorchName("torch", d.name)
                  for d in _CHECKPOINT_DTYPES + _dt.QUANTIZED_DTYPES}
_QSCHEME_GLOBALS = {s: TorchName("torch", s.name) for s in _q.qscheme}

BLOCKED_MODULES = ("sys", "os", "posix", "nt")

_NO_COMPLEX = "mbtorch stores no complex32 (ComplexHalf) tensors"
_NO_QUANT = "mbtorch has no 4-bit or 2-bit quantized tensors"
_NO_KIND = "mbtorch has only dense strided tensors"
UNSUPPORTED: dict[str, str] = {
    **{f"torch.{n}": _NO_COMPLEX for n in ("ComplexHalfStorage",)},
    **{f"torch.{n}": _NO_QUANT for n in ("quint4x2", "quint2x4", "QUInt4x2Storage",
                                          "QUInt2x4Storage")},
    **{f"torch.{n}": "mbtorch has no such dtype" for n in (
        "float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz",
        "float8_e5m2fnuz", "float8_e8m0fnu", "float4_e2m1fn_x2", "bits8", "bits16")},
    **{f"torch._utils.{n}": _NO_KIND for n in (
        "_rebuild_sparse_tensor", "_rebuild_nested_tensor",
        "_rebuild_meta_tensor_no_storage", "_rebuild_wrapper_subclass",
        "_rebuild_device_tensor_from_numpy", "_rebuild_device_tensor_from_cpu_tensor")},
    "torch.serialization._get_layout": _NO_KIND,
}
"""Names PyTorch's allow-list has but mbtorch cannot represent, with the reason."""


@functools.cache
def _class_globals() -> dict[type, TorchName]:
    from ..nn.parameter import Parameter

    return {Tensor: TorchName("torch", "Tensor"), Size: TORCH_SIZE, device: TORCH_DEVICE,
            Parameter: TorchName("torch.nn.parameter", "Parameter")}


def torch_name_of(obj: Any) -> TorchName | None:
    """The PyTorch global ``obj`` is written as, or None for pickle's own naming."""
    if type(obj) is TorchName:
        return obj
    if type(obj) is _dt.dtype:
        return _DTYPE_GLOBALS[obj._public]
    if type(obj) is _q.qscheme:
        return _QSCHEME_GLOBALS[obj]
    if isinstance(obj, type):
        return _class_globals().get(obj)
    return None


@functools.cache
def allowed_globals() -> dict[str, Any]:
    """PyTorch's weights-only allow-list, each name mapped to its mbtorch object."""
    from ..nn.parameter import Parameter
    from . import storage

    untyped = StorageType("UntypedStorage", _dt.uint8)
    rc: dict[str, Any] = {
        "collections.OrderedDict": OrderedDict, "collections.Counter": Counter,
        "torch.nn.parameter.Parameter": Parameter, "torch.Size": Size, "torch.Tensor": Tensor,
        "torch.device": device, "_codecs.encode": encode, "builtins.bytearray": bytearray,
        "builtins.set": set, "builtins.complex": complex,
        "torch.UntypedStorage": untyped, "torch.storage.UntypedStorage": untyped,
        "torch._tensor._rebuild_from_type_v2": storage.rebuild_from_type_v2,
    }
    rc.update({f"torch.{d.name}": d for d in _CHECKPOINT_DTYPES + _dt.QUANTIZED_DTYPES})
    rc.update({f"torch.{n}": StorageType(n, d) for d, n in STORAGE_NAMES.items()})
    rc.update({f"torch.{n}": StorageType(n, d._storage, d) for d, n in QSTORAGE_NAMES.items()})
    rc.update({f"torch.{s.name}": s for s in _q.qscheme})
    rc.update({f"torch._utils.{n}": f for n, f in storage.REBUILD_FUNCTIONS.items()})
    return rc


# -- the user's additions (torch.serialization.add_safe_globals & co.) --------------------------
_user: set = set()


def _check_entry(entry: Any) -> None:
    if isinstance(entry, tuple):
        if len(entry) != 2:
            raise ValueError(f"add_safe_globals(): expected a tuple of length 2 (global, str of "
                             f"its full path), but got a tuple of length {len(entry)}")
        if type(entry[1]) is not str:
            raise TypeError(f"add_safe_globals(): expected the second item of the tuple to be "
                            f"the str of the global's full path, but got "
                            f"{type(entry[1]).__name__}")
    elif not callable(entry):
        raise TypeError(f"add_safe_globals(): expected classes or functions (or (global, "
                        f"'full.path') tuples), got {type(entry).__name__}")


def add_safe_globals(safe_globals: Iterable[Callable | tuple[Callable, str]]) -> None:
    """Allow these classes or functions in weights-only loads (``torch``'s function)."""
    if isinstance(safe_globals, (str, bytes)) or not hasattr(safe_globals, "__iter__"):
        raise TypeError(f"add_safe_globals(): safe_globals must be a list, got "
                        f"{type(safe_globals).__name__}")
    entries = list(safe_globals)
    for entry in entries:
        _check_entry(entry)
    _user.update(entries)


def remove_safe_globals(safe_globals: Iterable[Callable | tuple[Callable, str]]) -> None:
    _user.difference_update(safe_globals)


def get_safe_globals() -> list[Callable | tuple[Callable, str]]:
    """What ``add_safe_globals`` allowed so far."""
    return list(_user)


def clear_safe_globals() -> None:
    """Forget every ``add_safe_globals`` addition."""
    _user.clear()


def user_globals() -> dict[str, Any]:
    """The user's additions by full name (``module.qualname``, or the name given with it)."""
    rc = {}
    for entry in _user:
        if isinstance(entry, tuple):
            rc[entry[1]] = entry[0]
        else:
            rc[f"{entry.__module__}.{entry.__qualname__}"] = entry
    return rc
