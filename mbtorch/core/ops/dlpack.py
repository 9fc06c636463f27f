"""DLPack interchange: ``mbtorch.from_dlpack(obj)`` and ``Tensor.__dlpack__`` /
``Tensor.__dlpack_device__``, zero-copy in both directions.

The core knows no memory layout, so each backend says how: its spec's ``dlpack_device_type``
(the DLPack device code, ``kDLCPU = 1``, ``kDLCUDA = 2``, ...) and ``from_dlpack`` (a function
turning a producer object into one of its handles; NumPy's ``np.from_dlpack`` for cpu).
Exporting asks the tensor's handle for its own ``__dlpack__``, so a backend whose arrays speak
DLPack (NumPy, CuPy) needs nothing more. The handle returned by a backend's ``from_dlpack``
must have a NumPy-compatible ``.dtype``.
"""

from __future__ import annotations

import warnings
from typing import Any

from .. import plugins
from .._lazy import lazy_import
from ..device import device as Device
from ..host import dtype_from_numpy
from ..tensor import Tensor, method_table
from ._common import check_dtype_supported, resolve_device, wrap

__all__ = ["from_dlpack", "to_dlpack"]

TENSOR_METHODS: dict = {}
"""The ``Tensor`` methods this module provides, by name (installed by ``mbtorch.core.ops``)."""
tensor_method = method_table(TENSOR_METHODS)

np = lazy_import("numpy", globals(), "np")

DEVICE_NAMES = {1: "kDLCPU", 2: "kDLCUDA", 3: "kDLCUDAHost", 4: "kDLOpenCL", 7: "kDLVulkan",
                8: "kDLMetal", 10: "kDLROCM", 13: "kDLCUDAManaged", 14: "kDLOneAPI"}


def _backend_for(code: int) -> Any:
    """The backend whose spec accepts DLPack device type ``code``, loading plugins if needed."""
    for attempt in range(2):
        for be in plugins.loaded_backends().values():
            if be.spec.dlpack_device_type == code and be.spec.from_dlpack is not None:
                return be
        if attempt == 0:
            plugins.status(load=True)
    name = DEVICE_NAMES.get(code, "unknown")
    raise RuntimeError(f"from_dlpack(): no installed backend accepts DLPack device type "
                       f"{code} ({name})")


class _Capsule:
    """A bare DLPack capsule (``torch.to_dlpack``'s result) presented as a producer: its
    device is read from the ``DLTensor`` it points to, and ``__dlpack__`` hands it over once.
    """

    def __init__(self, capsule: Any):
        import ctypes

        api = ctypes.pythonapi
        api.PyCapsule_GetName.restype = ctypes.c_char_p
        api.PyCapsule_GetName.argtypes = [ctypes.py_object]
        name = api.PyCapsule_GetName(capsule)
        if name not in (b"dltensor", b"dltensor_versioned"):
            raise BufferError(f"from_dlpack(): the capsule is {name!r}, not an unconsumed "
                              "DLPack tensor (a capsule can be consumed only once)")
        api.PyCapsule_GetPointer.restype = ctypes.c_void_p
        api.PyCapsule_GetPointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
        base = api.PyCapsule_GetPointer(capsule, name)
        # DLManagedTensorVersioned puts version (8), manager_ctx, deleter, flags (8 each)
        # before its DLTensor; in a DLTensor the device follows the data pointer
        start = base + (32 if name == b"dltensor_versioned" else 0)
        device = (ctypes.c_int32 * 2).from_address(start + 8)
        self._device = (int(device[0]), int(device[1]))
        self._capsule = capsule

    def __dlpack_device__(self) -> tuple[int, int]:
        return self._device

    def __dlpack__(self, **kwargs: Any) -> Any:
        return self._capsule


def from_dlpack(ext_tensor: Any) -> Tensor:
    """A tensor sharing memory with ``ext_tensor``, any object implementing ``__dlpack__``
    and ``__dlpack_device__`` (NumPy arrays, PyTorch tensors, mbtorch tensors...).

    >>> a = np.arange(3.0); t = mbtorch.from_dlpack(a); t[0] = 7.0  # a[0] is now 7.0
    """
    if type(ext_tensor).__name__ == "PyCapsule":
        ext_tensor = _Capsule(ext_tensor)
    if not (hasattr(ext_tensor, "__dlpack__") and hasattr(ext_tensor, "__dlpack_device__")):
        raise TypeError(f"from_dlpack(): expected a DLPack capsule or an object implementing "
                        f"__dlpack__ and __dlpack_device__, got {type(ext_tensor).__name__}")
    code, index = ext_tensor.__dlpack_device__()
    be = _backend_for(int(code))
    try:
        handle = be.spec.from_dlpack(ext_tensor)
    except (BufferError, RuntimeError, TypeError, ValueError) as exc:
        raise BufferError(f"from_dlpack(): the '{be.device_type}' backend cannot import this "
                          f"{type(ext_tensor).__name__}: {exc}") from exc
    dtype = dtype_from_numpy(np.dtype(handle.dtype), "from_dlpack")
    if any(s < 0 for s in be.storage.strides(handle)):
        raise ValueError("from_dlpack(): tensors with negative strides are not supported; "
                         "make a copy of the producer's array first")
    if be.device_type == "cpu":
        d = Device("cpu")
    else:
        d, _ = resolve_device(Device(be.device_type, int(index)), "from_dlpack")
    check_dtype_supported(be, dtype, "from_dlpack")
    flags = getattr(handle, "flags", None)
    if flags is not None and not flags.writeable:
        warnings.warn("from_dlpack(): the producer's memory came read-only (a legacy, "
                      "unversioned DLPack capsule); the tensor shares it, but writing to it "
                      "will raise", UserWarning, stacklevel=2)
    return wrap(handle, tuple(be.storage.shape(handle)), dtype, d, be)


@tensor_method
def __dlpack__(self: Tensor, *, stream: Any = None, max_version: Any = None,
               dl_device: Any = None, copy: Any = None) -> Any:
    """Export as a DLPack capsule sharing this tensor's memory (the consumer calls this)."""
    if self._requires_grad:
        raise BufferError("Can't export tensors that require gradient, use tensor.detach()")
    if self._be.spec.dlpack_device_type is None:
        raise BufferError(f"__dlpack__(): the '{self._device.type}' backend does not support "
                          "DLPack")
    export = getattr(self._data, "__dlpack__", None)
    if export is None:
        raise BufferError(f"__dlpack__(): the '{self._device.type}' backend's arrays do not "
                          "implement __dlpack__")
    kwargs = {k: v for k, v in (("stream", stream), ("max_version", max_version),
                                ("dl_device", dl_device), ("copy", copy)) if v is not None}
    try:
        return export(**kwargs)
    except (BufferError, TypeError) as exc:
        raise BufferError(f"__dlpack__(): cannot export a {self._dtype.name} tensor on "
                          f"'{self._device}': {exc}") from exc


def to_dlpack(tensor: Tensor) -> Any:
    """``torch.to_dlpack``: a DLPack capsule sharing ``tensor``'s memory (the legacy
    spelling of ``tensor.__dlpack__()``; consumers such as ``np.from_dlpack`` take the tensor
    itself)."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"to_dlpack(): argument 'tensor' must be Tensor, not "
                        f"{type(tensor).__name__}")
    # a versioned capsule where the array speaks DLPack 1.0: legacy ones import read-only
    # into NumPy, so a round trip through this function would lose write access
    try:
        return tensor.__dlpack__(max_version=(1, 0))
    except BufferError:
        return tensor.__dlpack__()


@tensor_method
def __dlpack_device__(self: Tensor) -> tuple[int, int]:
    """``(DLPack device type, device index)``, e.g. ``(1, 0)`` on cpu."""
    code = self._be.spec.dlpack_device_type
    if code is None:
        raise BufferError(f"__dlpack_device__(): the '{self._device.type}' backend does not "
                          "support DLPack")
    return (code, self._device.index or 0)
