"""Writing PyTorch's checkpoint formats: the zip format of ``torch.save`` (and, on request,
its legacy non-zip format).

The object is pickled (protocol 2 by default, as ``torch.save``) with PyTorch's names: a
tensor is a call of ``torch._utils._rebuild_tensor_v2(storage, offset, size, stride,
requires_grad, OrderedDict())`` (a ``Parameter`` wraps that in ``_rebuild_parameter``), and a
storage is the persistent id ``('storage', torch.FloatStorage, key, location, numel)``. A
storage is the memory of a tensor's *root* (the tensor its views were made from), so views
that shared storage share it in the file and again after loading. The zip holds
``archive/data.pkl``, ``archive/data/<key>`` (the storages' raw little-endian bytes, each
aligned to 64 bytes in the file as PyTorch aligns them), ``archive/byteorder``,
``archive/version`` and ``archive/.data/serialization_id``, in PyTorch's order.

A quantized tensor is written as ``Tensor.__reduce_ex__`` writes it: a call of
``torch._utils._rebuild_qtensor(storage, offset, size, stride, qparams, requires_grad,
OrderedDict())`` on a ``QInt8Storage`` (``QUInt8Storage``, ``QInt32Storage``) of its integers,
``qparams`` being ``(torch.per_tensor_affine, scale, zero_point)`` or
``(torch.per_channel_affine, scales (float64), zero_points (int64), axis)``.
"""

from __future__ import annotations

import io
import pickle
import secrets
import struct
import sys
import zipfile
from collections import OrderedDict
from typing import Any

from ..core import dtypes as _dt
from ..core import quantized as _q
from ..core.device import device
from ..core.tensor import Size, Tensor
from .names import (
    REBUILD_FROM_TYPE_V2,
    REBUILD_PARAMETER,
    REBUILD_QTENSOR,
    REBUILD_TENSOR_V2,
    REBUILD_TENSOR_V3,
    STORAGE_GLOBALS,
    TORCH_DEVICE,
    TORCH_SIZE,
    UNTYPED_DTYPES,
    UNTYPED_STORAGE,
    TorchName,
    torch_name_of,
)

__all__ = ["CheckpointPickler", "write_zip", "write_legacy", "LEGACY_MAGIC",
           "LEGACY_PROTOCOL_VERSION", "ALIGNMENT"]

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL_VERSION = 1001
ALIGNMENT = 64
_PADDING_ID = 0x4246  # the zip extra-field id PyTorch pads records with ("FB")


class _SavedStorage:
    """A storage being written: the root tensor whose memory it is, and its element count."""

    __slots__ = ("key", "root", "numel", "dtype", "location")

    def __init__(self, key: str, root: Tensor, numel: int) -> None:
        self.key, self.root, self.numel = key, root, numel
        self.dtype, self.location = root.dtype, str(root.device)
        if root.is_quantized:  # the storage holds its integers (named by the quantized dtype)
            self.root = _q.int_view(root)

    def host_bytes(self) -> Any:
        """The storage's memory as flat little-endian bytes (a NumPy uint8 array)."""
        from .. import as_strided

        flat = as_strided(self.root.detach(), (self.numel,), (1,), 0).numpy(force=True)
        if sys.byteorder == "big" and flat.dtype.itemsize > 1:
            flat = flat.byteswap()
        return flat.copy().view("uint8") if not flat.flags.c_contiguous else flat.view("uint8")


def _span(root: Tensor) -> int | None:
    """Elements from a root's first to its last element (None for negative strides)."""
    strides = root.stride()
    if any(s < 0 for s in strides):
        return None
    if any(n == 0 for n in root.shape):
        return 0
    return 1 + sum((n - 1) * s for n, s in zip(root.shape, strides))


class _Rebuild:
    """Pickles as a call of one of PyTorch's rebuild functions."""

    __slots__ = ("func", "args")

    def __init__(self, func: TorchName, args: tuple) -> None:
        self.func, self.args = func, args

    def __reduce__(self) -> tuple:
        return self.func, self.args


class CheckpointPickler(pickle._Pickler):
    """Python's pickler (its pure-Python form, whose ``save_global`` can be taught PyTorch's
    names) with tensors as storages plus rebuild calls."""

    def __init__(self, file: Any, protocol: int, legacy: bool = False) -> None:
        super().__init__(file, protocol=protocol)
        self.storages: dict[int, _SavedStorage] = {}
        self._legacy = legacy

    def persistent_id(self, obj: Any) -> Any:
        if type(obj) is not _SavedStorage:
            return None
        if obj.dtype in UNTYPED_DTYPES:  # as PyTorch: an untyped storage, counted in bytes
            if self._legacy:
                raise RuntimeError(f"save(): {obj.dtype} tensors need the zip format (PyTorch "
                                   "cannot read them from its legacy format)")
            return ("storage", UNTYPED_STORAGE, obj.key, obj.location,
                    obj.numel * obj.dtype.itemsize)
        pid = ("storage", STORAGE_GLOBALS[obj.dtype], obj.key, obj.location, obj.numel)
        return pid + (None,) if self._legacy else pid

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, Tensor):
            return self._reduce_tensor(obj)
        kind = type(obj)
        if kind is TorchName:
            return obj.name  # written by save_global below
        if kind is _dt.dtype or kind is _q.qscheme:
            return obj.name
        if kind is device:
            return TORCH_DEVICE, (obj.type,) if obj.index is None else (obj.type, obj.index)
        if kind is Size:
            return TORCH_SIZE, (tuple(obj),)
        return NotImplemented

    def save_global(self, obj: Any, name: str | None = None) -> None:
        target = torch_name_of(obj)
        if target is None:
            super().save_global(obj, name)
            return
        self.write(pickle.GLOBAL + f"{target.module}\n{target.name}\n".encode("ascii"))
        self.memoize(obj)

    def _storage_of(self, t: Tensor) -> tuple[_SavedStorage, int, tuple[int, ...]]:
        """The storage ``t`` lives in, with ``t``'s offset and strides in it."""
        root = t if t._root is None else t._root
        saved = self.storages.get(id(root))
        if saved is None:
            span = _span(root)
            if span is None:  # negative strides: no offset addresses it; t gets its own copy
                own = t.detach().contiguous()
                own = own.clone() if own._root is not None else own
                saved = self.storages[id(t)] = _SavedStorage(str(len(self.storages)), own,
                                                             own.numel())
                return saved, 0, tuple(own.stride())
            saved = self.storages[id(root)] = _SavedStorage(str(len(self.storages)), root, span)
        return saved, t.storage_offset(), tuple(t.stride())

    def _reduce_tensor(self, t: Tensor) -> tuple:
        from ..nn.parameter import Parameter

        saved, offset, stride = self._storage_of(t)
        geometry = (saved, offset, tuple(t.shape), stride)
        if t.is_quantized:
            if type(t) is not Tensor:
                raise RuntimeError(f"save(): a quantized {type(t).__name__} cannot be saved "
                                   "(PyTorch saves quantized tensors only as plain tensors)")
            return REBUILD_QTENSOR, geometry + (_qparams(t), False, OrderedDict())
        # dtypes without a typed storage name theirs in _rebuild_tensor_v3's arguments
        rebuild, dtype = (REBUILD_TENSOR_V3, (t.dtype,)) if t.dtype in UNTYPED_DTYPES else \
            (REBUILD_TENSOR_V2, ())
        if type(t) is Parameter:
            data = _Rebuild(rebuild, geometry + (False, OrderedDict()) + dtype)
            return REBUILD_PARAMETER, (data, bool(t.requires_grad), OrderedDict())
        args = geometry + (bool(t.requires_grad), OrderedDict()) + dtype
        if type(t) is Tensor:
            return rebuild, args
        return REBUILD_FROM_TYPE_V2, (rebuild, type(t), args, {})


def _qparams(t: Tensor) -> tuple:
    """What PyTorch writes of a quantized tensor's quantization (its ``__reduce_ex__``)."""
    scheme = t.qscheme()
    if scheme is _q.per_tensor_affine:
        return _q.per_tensor_affine, t.q_scale(), t.q_zero_point()
    if scheme in (_q.per_channel_affine, _q.per_channel_affine_float_qparams):
        return (_q.per_channel_affine, t.q_per_channel_scales(), t.q_per_channel_zero_points(),
                t.q_per_channel_axis())
    raise RuntimeError(f"save(): Serialization is not supported for tensors of type {scheme}")


def _pickle(obj: Any, protocol: int, legacy: bool = False) -> tuple[bytes, list[_SavedStorage]]:
    buf = io.BytesIO()
    pickler = CheckpointPickler(buf, protocol, legacy)
    pickler.dump(obj)
    return buf.getvalue(), list(pickler.storages.values())


def _record(zf: zipfile.ZipFile, name: str, data: Any) -> None:
    """One stored (uncompressed) record, its data aligned to 64 bytes in the file."""
    info = zipfile.ZipInfo(f"archive/{name}")
    info.compress_type = zipfile.ZIP_STORED
    size = len(data) if isinstance(data, bytes) else data.nbytes
    info.file_size = size
    zip64 = size * 1.05 > zipfile.ZIP64_LIMIT
    header = 30 + len(info.filename.encode("utf-8")) + 4 + (20 if zip64 else 0)
    pad = -(zf.fp.tell() + header) % ALIGNMENT
    info.extra = struct.pack("<HH", _PADDING_ID, pad) + b"Z" * pad
    with zf.open(info, "w", force_zip64=zip64) as out:
        out.write(data if isinstance(data, bytes) else memoryview(data))


def write_zip(obj: Any, fh: Any, protocol: int = 2, byteorder: bool = True) -> None:
    """``obj`` in ``torch.save``'s zip format, to the seekable binary file ``fh``
    (``byteorder=False``: without the ``byteorder`` record, as
    ``torch.save(_disable_byteorder_record=True)``)."""
    data, storages = _pickle(obj, protocol)
    with zipfile.ZipFile(fh, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        _record(zf, "data.pkl", data)
        _record(zf, ".format_version", b"1")
        _record(zf, ".storage_alignment", str(ALIGNMENT).encode())
        if byteorder:
            _record(zf, "byteorder", b"little")
        for saved in storages:
            _record(zf, f"data/{saved.key}", saved.host_bytes())
        _record(zf, "version", b"3\n")
        _record(zf, ".data/serialization_id", f"{secrets.randbits(128):040d}".encode())


def write_legacy(obj: Any, fh: Any, protocol: int = 2) -> None:
    """``obj`` in PyTorch's legacy format (``_use_new_zipfile_serialization=False``): pickles
    of the magic number, the protocol version and system information, the object, the
    storage keys, then each storage as its element count (int64) and its bytes."""
    data, storages = _pickle(obj, protocol, legacy=True)
    sys_info = {"protocol_version": LEGACY_PROTOCOL_VERSION, "little_endian": True,
                "type_sizes": {"short": 2, "int": 4, "long": 4}}
    for head in (LEGACY_MAGIC, LEGACY_PROTOCOL_VERSION, sys_info):
        pickle.dump(head, fh, protocol=protocol)
    fh.write(data)
    by_key = sorted(storages, key=lambda s: s.key)
    pickle.dump([s.key for s in by_key], fh, protocol=protocol)
    for saved in by_key:
        fh.write(struct.pack("<q", saved.numel))
        fh.write(memoryview(saved.host_bytes()))
