"""Storages read from a checkpoint, and the rebuild functions its pickle calls.

A storage's bytes are read on first use and become one flat mbtorch tensor on the device
``map_location`` chose; every tensor of the checkpoint on that storage is an ``as_strided``
view of it, so tensors that shared storage when saved share it again (as in PyTorch). The
rebuild functions take their arguments from the file, so they check them (types, and that a
view stays inside its storage) before any memory is touched.
"""

from __future__ import annotations

import functools
import inspect
import math
import pickle
from typing import Any, Callable

from ..core import dtypes as _dt
from ..core._lazy import lazy_import
from ..core.device import device
from ..core.host import NUMPY_DTYPES
from ..core.tensor import Tensor
from .names import StorageType

np = lazy_import("numpy", globals(), "np")
_MAX_BYTES = 1 << 63
_MAX_DIMS = 64

__all__ = [
    "CheckpointError", "WeightsOnlyUnpicklingError", "Storage", "StorageTable",
    "REBUILD_FUNCTIONS", "check_arguments", "rebuild_from_type_v2", "restorer", "quantized_from",
]


class CheckpointError(RuntimeError):
    """A file that is not a readable checkpoint (damaged, truncated or of another format)."""


class WeightsOnlyUnpicklingError(pickle.UnpicklingError, CheckpointError):
    """A weights-only load met something outside the allow-list; nothing of it ran."""


class Storage:
    """One storage of a checkpoint: element type, element count and saved location
    (``quantized``: qint8, quint8 or qint32 for a quantized tensor's storage, whose
    ``dtype`` is that of its integers; ``untyped``: saved as an ``UntypedStorage`` of
    ``nbytes`` bytes, which the first tensor built on it gives its element type)."""

    __slots__ = ("key", "dtype", "numel", "location", "quantized", "untyped", "nbytes",
                 "_table", "_root")

    def __init__(self, key: str, dtype: _dt.dtype, numel: int, location: str,
                 table: "StorageTable", quantized: _dt.dtype | None = None,
                 untyped: bool = False) -> None:
        self.key, self.dtype, self.numel, self.location = key, dtype, numel, location
        self.quantized, self._table, self._root = quantized, table, None
        self.untyped, self.nbytes = untyped, numel * dtype.itemsize

    def retype(self, dtype: Any, fn: str) -> None:
        """Read an untyped storage as ``dtype`` elements (``_rebuild_tensor_v3`` names the
        dtype); PyTorch saves no storage viewed as two dtypes, so a second one is refused."""
        if dtype is self.dtype:
            return
        if not self.untyped or self._root is not None or self.dtype is not _dt.uint8:
            raise CheckpointError(f"{fn}(): a {dtype} tensor on a {self.dtype} storage is not "
                                  "supported")
        if type(dtype) is not _dt.dtype or dtype not in _dt.EVERY_DTYPE:
            raise CheckpointError(f"{fn}(): dtype must be a dtype mbtorch holds, got "
                                  f"{dtype!r:.60}")
        if self.nbytes % dtype.itemsize:
            raise CheckpointError(f"{fn}(): storage '{self.key}' holds {self.nbytes} bytes, not "
                                  f"a whole number of {dtype} elements")
        self.dtype, self.numel = dtype, self.nbytes // dtype.itemsize

    def root(self) -> Tensor:
        """The storage as a flat tensor, read and placed on first use."""
        if self._root is None:
            from .. import from_numpy

            fetch = self._table.fetch
            host = from_numpy(fetch(self.key, self.dtype, self.numel) if fetch is not None
                              else np.empty(self.numel, NUMPY_DTYPES[self.dtype]))
            placed = self._table.restore(host, self.location)
            if (not isinstance(placed, Tensor) or placed.dtype is not self.dtype
                    or tuple(placed.shape) != (self.numel,)):
                raise TypeError(f"load(): map_location must return None or the storage it was "
                                f"given (moved to a device), got {type(placed).__name__}")
            self._root = placed
        return self._root

    def fill(self, data: Any) -> None:
        """Write the storage's bytes (a flat NumPy array) after its tensors were built."""
        from .. import from_numpy, no_grad

        with no_grad():
            self.root().copy_(from_numpy(data))


class StorageTable:
    """The storages of one checkpoint by key; ``persistent_load`` resolves the pickle's
    persistent ids ``('storage', storage_type, key, location, numel[, view])`` here.

    ``fetch(key, dtype, numel)`` returns the storage's bytes as a flat NumPy array (None: the
    storages start empty and are filled later); ``restore(host_tensor, location)`` places one
    (``map_location``). ``limit``: ``(bytes, file)`` when the storages' bytes must together fit
    in that many bytes of the file, checked as each storage is declared, before any is made."""

    def __init__(self, fetch: Callable[[str, _dt.dtype, int], Any] | None,
                 restore: Callable[[Tensor, str], Tensor],
                 limit: tuple[int, str] | None = None) -> None:
        self.fetch, self.restore, self.limit = fetch, restore, limit
        self._storages: dict[str, Storage] = {}
        self._declared = 0

    def persistent_load(self, pid: Any) -> Storage:
        if type(pid) is not tuple or len(pid) not in (5, 6) or _ascii(pid[0]) != "storage":
            raise WeightsOnlyUnpicklingError(f"Only persistent_load of storage is allowed, but "
                                             f"got {pid!r:.80}")
        stype, key, location, numel = pid[1:5]
        location = _ascii(location)
        if (type(stype) is not StorageType or type(key) is not str or type(location) is not str
                or type(numel) is not int or numel < 0):
            raise WeightsOnlyUnpicklingError(f"load(): malformed storage id {pid!r:.120}")
        if len(pid) == 6 and pid[5] is not None:
            raise CheckpointError("load(): storage views of PyTorch's pre-1.0 legacy format are "
                                  "not supported")
        found = self._storages.get(key)
        untyped = stype.name == "UntypedStorage"
        if found is None:
            self._check_limit(key, stype.dtype, numel)
            found = self._storages[key] = Storage(key, stype.dtype, numel, location, self,
                                                  stype.quantized, untyped)
        elif untyped and found.untyped:  # named again, maybe already given its element type
            if found.nbytes != numel:
                raise CheckpointError(f"load(): untyped storage '{key}' is declared with "
                                      f"{found.nbytes} and with {numel} bytes")
        elif (found.dtype is not stype.dtype or found.quantized is not stype.quantized
              or found.numel != numel):
            raise CheckpointError(f"load(): storage '{key}' is used as {found.dtype} x "
                                  f"{found.numel} and as {stype.dtype} x {numel}")
        return found

    def _check_limit(self, key: str, dtype: _dt.dtype, numel: int) -> None:
        if self.limit is None:
            return
        self._declared += numel * dtype.itemsize
        if self._declared > self.limit[0]:
            raise CheckpointError(f"load(): storage '{key}' of {self.limit[1]} declares {numel} "
                                  f"{dtype} elements, more than the {self.limit[0]} bytes left "
                                  "in the file can hold")

    def get(self, key: str) -> Storage:
        if key not in self._storages:
            raise CheckpointError(f"load(): the checkpoint's data names storage '{key}', which "
                                  "none of its tensors uses")
        return self._storages[key]


def _ascii(value: Any) -> Any:
    return value.decode("ascii") if isinstance(value, bytes) else value


def _ints(value: Any, fn: str, arg: str) -> tuple[int, ...]:
    if not isinstance(value, (tuple, list)) or any(type(v) is not int or v < 0 for v in value):
        raise CheckpointError(f"{fn}(): {arg} must be a tuple of non-negative ints, got "
                              f"{value!r:.80}")
    return tuple(value)


def _check_extent(size: tuple, stride: tuple, offset: int, itemsize: int, fn: str) -> None:
    """As PyTorch: at most 64 dims, and sizes, strides and the byte count fit in an int64
    (checked before any product of the file's numbers can grow large)."""
    if len(size) > _MAX_DIMS:
        raise CheckpointError(f"{fn}(): a tensor of {len(size)} dims; at most {_MAX_DIMS} are "
                              "supported")
    if max((offset, *size, *stride)) >= _MAX_BYTES or math.prod(size) * itemsize >= _MAX_BYTES:
        raise CheckpointError(f"{fn}(): a tensor of size {size}, stride {stride} at offset "
                              f"{offset} overflows 64-bit sizes")


def _view(storage: Any, offset: Any, size: Any, stride: Any, fn: str) -> Tensor:
    from .. import as_strided

    if type(storage) is not Storage:
        raise CheckpointError(f"{fn}(): expected a storage, got {type(storage).__name__}")
    (offset,) = _ints((offset,), fn, "storage_offset")
    size, stride = _ints(size, fn, "size"), _ints(stride, fn, "stride")
    if len(size) != len(stride):
        raise CheckpointError(f"{fn}(): size {size} and stride {stride} differ in length")
    _check_extent(size, stride, offset, storage.dtype.itemsize, fn)
    last = offset + sum((n - 1) * s for n, s in zip(size, stride)) if all(size) else offset - 1
    if last >= storage.numel:
        raise CheckpointError(f"{fn}(): a tensor of size {size}, stride {stride} at offset "
                              f"{offset} reaches past its storage of {storage.numel} elements")
    return as_strided(storage.root(), size, stride, offset)


def _rebuild_tensor(storage: Any, storage_offset: Any, size: Any, stride: Any) -> Tensor:
    return _view(storage, storage_offset, size, stride, "_rebuild_tensor")


def _rebuild_tensor_v2(storage: Any, storage_offset: Any, size: Any, stride: Any,
                       requires_grad: Any = False, backward_hooks: Any = None,
                       metadata: Any = None) -> Tensor:
    if type(storage) is Storage and storage.quantized is not None:
        raise CheckpointError(f"_rebuild_tensor_v2(): a plain tensor on a {storage.quantized} "
                              "storage (quantized tensors are rebuilt by _rebuild_qtensor)")
    t = _view(storage, storage_offset, size, stride, "_rebuild_tensor_v2")
    if requires_grad:
        t.requires_grad_(True)
    return t


def _rebuild_tensor_v3(storage: Any, storage_offset: Any, size: Any, stride: Any,
                       requires_grad: Any, backward_hooks: Any, dtype: Any,
                       metadata: Any = None) -> Tensor:
    if type(storage) is Storage:
        storage.retype(dtype, "_rebuild_tensor_v3")
    return _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad)


def _set_state(t: Tensor, state: Any) -> None:
    """A tensor's Python attributes from the file; never one the class defines."""
    if isinstance(state, tuple) and len(state) == 2:
        state, slots = state
        if slots:
            raise CheckpointError("load(): tensor slot state is not supported")
    if not state:
        return
    if not isinstance(state, dict):
        raise CheckpointError(f"load(): tensor state must be a dict, got {type(state).__name__}")
    for k, v in state.items():
        if type(k) is not str or hasattr(type(t), k):
            raise CheckpointError(f"load(): a checkpoint may not set the tensor attribute {k!r}")
        setattr(t, k, v)


def _rebuild_parameter(data: Any, requires_grad: Any, backward_hooks: Any) -> Tensor:
    from ..nn.parameter import Parameter

    if not isinstance(data, Tensor):
        raise CheckpointError(f"_rebuild_parameter(): data must be a tensor, got "
                              f"{type(data).__name__}")
    return Parameter(data, bool(requires_grad))


def _rebuild_parameter_with_state(data: Any, requires_grad: Any, backward_hooks: Any,
                                  state: Any) -> Tensor:
    p = _rebuild_parameter(data, requires_grad, backward_hooks)
    _set_state(p, state)
    return p


def _rebuild_qtensor(storage: Any, storage_offset: Any, size: Any, stride: Any,
                     quantizer_params: Any, requires_grad: Any, backward_hooks: Any) -> Tensor:
    """A quantized tensor (PyTorch's ``torch._utils._rebuild_qtensor``): its integers viewed
    from the storage, made a quantized tensor with the saved scale(s) and zero point(s)."""
    fn = "_rebuild_qtensor"
    if type(storage) is not Storage or storage.quantized is None:
        raise CheckpointError(f"{fn}(): expected a quantized storage (QInt8Storage, "
                              f"QUInt8Storage, QInt32Storage), got {_describe(storage)}")
    if requires_grad:
        raise CheckpointError(f"{fn}(): a quantized tensor cannot require grad")
    if storage._table.fetch is None:  # the values (and per-channel scales) come after the pickle
        raise CheckpointError(f"{fn}(): quantized tensors in PyTorch's legacy (non-zip) format "
                              "are not supported; re-save the checkpoint in the zip format")
    values = _view(storage, storage_offset, size, stride, fn)
    return quantized_from(values, quantizer_params, fn)


def _describe(storage: Any) -> str:
    return f"a {storage.dtype} storage" if type(storage) is Storage else type(storage).__name__


def quantized_from(values: Tensor, params: Any, fn: str) -> Tensor:
    """``values`` (int8, uint8, int32) as a quantized tensor with PyTorch's ``params``:
    ``(per_tensor_affine, scale, zero_point)`` or ``(per_channel_affine, scales,
    zero_points, axis)`` (tensors or lists), checked before use."""
    from .. import _make_per_channel_quantized_tensor, _make_per_tensor_quantized_tensor
    from .. import tensor as new_tensor
    from ..core import quantized as _q

    scheme = params[0] if isinstance(params, tuple) and params else None
    if scheme is _q.per_tensor_affine and len(params) == 3:
        _, scale, zero_point = params
        if type(scale) not in (float, int) or type(zero_point) is not int:
            raise CheckpointError(f"{fn}(): per-tensor scale and zero point must be numbers, "
                                  f"got {params!r:.120}")
        return _make_per_tensor_quantized_tensor(values, float(scale), zero_point)
    if scheme is _q.per_channel_affine and len(params) == 4:
        _, scales, zero_points, axis = params
        if type(axis) is not int or not 0 <= axis < values.ndim:
            raise CheckpointError(f"{fn}(): per-channel axis {axis!r:.40} is out of range for "
                                  f"a tensor of size {tuple(values.shape)}")
        scales, zero_points = (new_tensor(p) if isinstance(p, list) else p
                               for p in (scales, zero_points))
        n = values.shape[axis]
        if any(not isinstance(p, Tensor) or p.ndim != 1 or p.numel() != n
               for p in (scales, zero_points)):
            raise CheckpointError(f"{fn}(): per-channel scales and zero points must be 1-d "
                                  f"with {n} values (size[axis])")
        if zero_points.dtype.is_floating_point:  # PyTorch writes float_qparams so too
            raise CheckpointError(f"{fn}(): float zero points (per_channel_affine_float_qparams"
                                  ", PyTorch's quantized embeddings) are not supported")
        return _make_per_channel_quantized_tensor(values, scales, zero_points, axis)
    if scheme is _q.per_channel_affine_float_qparams:
        raise CheckpointError(f"{fn}(): per_channel_affine_float_qparams (float zero points, "
                              "quantized embeddings) is not supported by mbtorch")
    raise CheckpointError(f"{fn}(): unsupported quantizer parameters {params!r:.120}")


REBUILD_FUNCTIONS: dict[str, Callable] = {f.__name__: f for f in (
    _rebuild_tensor, _rebuild_tensor_v2, _rebuild_tensor_v3, _rebuild_parameter,
    _rebuild_parameter_with_state, _rebuild_qtensor)}
"""PyTorch's rebuild functions (``torch._utils.<name>``) that mbtorch implements."""


@functools.lru_cache(maxsize=None)
def _signature(func: Callable) -> inspect.Signature:
    return inspect.signature(func)


def check_arguments(func: Callable, args: tuple) -> None:
    """Refuse a rebuild call whose argument count from the file does not fit ``func``
    (before calling it, so a ``TypeError`` from inside it still means what it says)."""
    try:
        _signature(func).bind(*args)
    except TypeError as exc:
        raise pickle.UnpicklingError(f"calling {func.__name__} failed: {exc}") from None


def rebuild_from_type_v2(func: Any, new_type: Any, args: Any, state: Any) -> Tensor:
    """``torch._tensor._rebuild_from_type_v2``: a tensor subclass, or a tensor with
    attributes."""
    from ..nn.parameter import Parameter

    if not any(func is f for f in REBUILD_FUNCTIONS.values()) or type(args) is not tuple:
        raise WeightsOnlyUnpicklingError(f"_rebuild_from_type_v2(): {func!r:.80} is not a "
                                         "tensor rebuild function")
    if not (isinstance(new_type, type) and issubclass(new_type, Tensor)):
        raise CheckpointError(f"_rebuild_from_type_v2(): {new_type!r:.80} is not a tensor type")
    check_arguments(func, args)
    ret = func(*args)
    if type(ret) is not new_type:
        ret = Parameter(ret, ret.requires_grad) if new_type is Parameter else \
            Tensor._make_subclass(new_type, ret, ret.requires_grad)
    _set_state(ret, state)
    return ret


def _one_argument(fn: Callable) -> bool:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) == 1 and not any(p.kind is p.VAR_POSITIONAL for p in params)


def _to_saved_location(t: Tensor, loc: str) -> Tensor:
    try:
        return t.to(loc)
    except RuntimeError as exc:
        raise RuntimeError(f"load(): the checkpoint's tensors were saved on '{loc}', which is "
                           f"not available here ({exc}); pass map_location='cpu' (or another "
                           "device) to load them there") from None


def restorer(map_location: Any) -> Callable[[Tensor, str], Tensor]:
    """``map_location`` as ``torch.load`` takes it, as a function (host tensor, saved location
    tag) -> placed tensor: None (the saved device), a device or its string (every storage
    there), a dict from saved tags to devices, or a callable ``(storage, location)`` returning
    the placed storage or None (``lambda storage, loc: storage`` keeps everything on the
    CPU); a callable of one argument (mbtorch's earlier form) maps the saved tag to a device."""
    if map_location is None:
        return _to_saved_location
    if isinstance(map_location, (str, device)):
        target = str(map_location)
        return lambda t, loc: t.to(target)
    if isinstance(map_location, dict):
        table = {str(k): str(v) for k, v in map_location.items()}
        return lambda t, loc: t.to(table.get(loc, loc))
    if callable(map_location):
        if _one_argument(map_location):
            return lambda t, loc: t.to(str(map_location(loc) or loc))

        def call(t: Tensor, loc: str) -> Tensor:
            out = map_location(t, loc)
            return t.to(loc) if out is None else out
        return call
    raise TypeError(f"load(): map_location must be None, a device, a string, a dict or a "
                    f"callable, got {type(map_location).__name__}")
