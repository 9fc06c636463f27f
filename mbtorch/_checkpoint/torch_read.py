"""Reading PyTorch's checkpoint formats: the zip format of ``torch.save`` and its legacy
non-zip format (``_use_new_zipfile_serialization=False``).

Both come down to a pickle whose persistent ids name storages, and the storages' raw bytes.
The zip format's records are read by name when a tensor first needs them (the archive's folder
is the first record's, as PyTorch reads it; ``byteorder`` says whether to swap). In the legacy
format the storages follow the pickle: tensors are built on empty storages that are filled
once the pickle is read, as PyTorch does it. PyTorch's
older tar format (before 0.4) is not read.
"""

from __future__ import annotations

import io
import pickletools
import struct
import zipfile
from typing import Any, Callable

from ..core import dtypes as _dt
from ..core._lazy import lazy_import
from ..core.host import NUMPY_DTYPES
from ..core.tensor import Tensor
from .limits import BoundedReader, check_nesting, check_zip_entry, file_size, read_entry
from .storage import CheckpointError, StorageTable
from .torch_write import LEGACY_MAGIC, LEGACY_PROTOCOL_VERSION
from .unpickler import FullUnpickler, WeightsOnlyUnpickler

__all__ = ["read_zip", "read_legacy", "unpickle", "globals_in_zip"]

np = lazy_import("numpy", globals(), "np")


def unpickle(data: Any, table: StorageTable | None, weights_only: bool, where: str) -> Any:
    """One pickle from the binary file ``data``, storages resolved through ``table``; a
    weights-only load refuses containers nested too deep to walk (``where`` names the file)."""
    def refuse(pid: Any) -> Any:
        raise CheckpointError("load(): a storage id outside the checkpoint's main pickle")
    pload = table.persistent_load if table is not None else refuse
    if not weights_only:
        return FullUnpickler(data, pload).load()
    obj = WeightsOnlyUnpickler(data, pload).load()
    check_nesting(obj, where)
    return obj


def _array(raw: Any, dtype: _dt.dtype, numel: int, swap: bool, where: str) -> Any:
    np_dtype = NUMPY_DTYPES[dtype]
    if len(raw) != numel * np_dtype.itemsize:
        raise CheckpointError(f"load(): {where} holds {len(raw)} bytes where {numel} "
                              f"{dtype} elements need {numel * np_dtype.itemsize}")
    arr = np.frombuffer(bytearray(raw), dtype=np_dtype)
    return arr.byteswap() if swap and np_dtype.itemsize > 1 else arr


class _ZipRecords:
    """The storage records of a zip checkpoint by key, read into fresh arrays (the zip's
    CRC checked) or, with ``mmap_path``, mapped copy-on-write as ``torch.load(mmap=True)``."""

    def __init__(self, zf: zipfile.ZipFile, prefix: str, path: str, swap: bool,
                 mmap_path: str | None, archive_size: int) -> None:
        self.zf, self.prefix, self.path, self.swap = zf, prefix, path, swap
        self.mmap_path, self.archive_size = mmap_path, archive_size

    def __call__(self, key: str, dtype: _dt.dtype, numel: int) -> Any:
        name = f"{self.prefix}/data/{key}"
        try:
            info = self.zf.getinfo(name)
        except KeyError:
            raise CheckpointError(f"load(): '{self.path}' lacks the storage record "
                                  f"'{name}'") from None
        np_dtype = NUMPY_DTYPES[dtype]
        if info.file_size != numel * np_dtype.itemsize:
            raise CheckpointError(f"load(): storage record '{name}' of '{self.path}' holds "
                                  f"{info.file_size} bytes where {numel} {dtype} elements need "
                                  f"{numel * np_dtype.itemsize}")
        check_zip_entry(info, self.archive_size, f"'{self.path}'")
        arr = self._mapped(info, np_dtype, numel) if self.mmap_path and numel else \
            self._read(info, np_dtype, numel)
        return arr.byteswap() if self.swap and np_dtype.itemsize > 1 else arr

    def _read(self, info: zipfile.ZipInfo, np_dtype: Any, numel: int) -> Any:
        arr = np.empty(numel, np_dtype)
        view = memoryview(arr.view(np.uint8))
        done = 0
        with self.zf.open(info) as record:
            while done < len(view):
                n = record.readinto(view[done:])
                if not n:
                    raise EOFError(f"storage record '{info.filename}' ends early")
                done += n
            record.read(1)  # at the end: the CRC is checked
        return arr

    def _mapped(self, info: zipfile.ZipInfo, np_dtype: Any, numel: int) -> Any:
        if info.compress_type != zipfile.ZIP_STORED:
            raise CheckpointError(f"load(): mmap=True needs uncompressed records, and "
                                  f"'{info.filename}' of '{self.path}' is compressed")
        fh = self.zf.fp
        fh.seek(info.header_offset + 26)  # the local header's name and extra-field lengths
        name_len, extra_len = struct.unpack("<HH", fh.read(4))
        offset = info.header_offset + 30 + name_len + extra_len
        if offset + numel * np_dtype.itemsize > self.archive_size:  # a lying local header
            raise CheckpointError(f"load(): storage record '{info.filename}' of '{self.path}' "
                                  f"reaches past the end of the file")
        return np.memmap(self.mmap_path, dtype=np_dtype, mode="c", offset=offset,
                         shape=(numel,)).view(np.ndarray)


def read_zip(fh: Any, path: str, weights_only: bool, restore: Callable[[Tensor, str], Tensor],
             mmap_path: str | None = None) -> Any:
    """Load a ``torch.save`` zip checkpoint from the seekable binary file ``fh`` (its storages
    memory-mapped from the file ``mmap_path`` when given)."""
    zf = zipfile.ZipFile(fh)
    size, where = file_size(fh), f"'{path}'"
    names = zf.namelist()
    prefix = names[0].split("/", 1)[0] if names and "/" in names[0] else ""
    if f"{prefix}/constants.pkl" in names:
        raise CheckpointError(f"load(): '{path}' is a TorchScript archive (torch.jit.save), "
                              "which mbtorch cannot load; save the state_dict instead")
    if f"{prefix}/data.pkl" not in names:
        raise CheckpointError(f"load(): '{path}' is a zip archive but not a PyTorch checkpoint "
                              "(it has no data.pkl record)")
    swap = False
    if f"{prefix}/byteorder" in names:
        order = read_entry(zf, f"{prefix}/byteorder", size, where).decode("ascii", "replace")
        if order not in ("little", "big"):
            raise CheckpointError(f"load(): '{path}' has an unknown byte order {order!r}")
        swap = order == "big"
    table = StorageTable(_ZipRecords(zf, prefix, path, swap, mmap_path, size), restore)
    data = read_entry(zf, f"{prefix}/data.pkl", size, where)
    return unpickle(io.BytesIO(data), table, weights_only, where)


def read_legacy(fh: Any, path: str, weights_only: bool,
                restore: Callable[[Tensor, str], Tensor]) -> Any:
    """Load a checkpoint of PyTorch's legacy format from the binary file ``fh``: the object's
    tensors are built on empty storages, which the data after the pickle then fills (as
    PyTorch does it). Every length the file declares is checked against what is left of
    the file before it is read or allocated."""
    fh, where = BoundedReader(fh), f"'{path}'"
    if unpickle(fh, None, weights_only, where) != LEGACY_MAGIC:
        raise CheckpointError(f"load(): '{path}' has an invalid magic number; corrupt file?")
    version = unpickle(fh, None, weights_only, where)
    if version != LEGACY_PROTOCOL_VERSION:
        raise CheckpointError(f"load(): '{path}' has the unknown protocol version {version!r}")
    sys_info = unpickle(fh, None, weights_only, where)
    swap = isinstance(sys_info, dict) and sys_info.get("little_endian") is False
    # the storages' bytes follow the pickle, so together they fit in what is left of the file
    table = StorageTable(None, restore, limit=(fh.left(), where))
    result = unpickle(fh, table, weights_only, where)
    keys = unpickle(fh, None, weights_only, where)
    if not isinstance(keys, list) or any(type(k) is not str for k in keys):
        raise CheckpointError(f"load(): '{path}' has a malformed storage key list")
    for key in keys:
        storage = table.get(key)
        head = fh.read(8)
        if len(head) != 8:
            raise EOFError(f"storage '{key}' is missing")
        (numel,) = struct.unpack("<q", head)
        if numel != storage.numel:
            raise CheckpointError(f"load(): '{path}' stores {numel} elements for storage "
                                  f"'{key}', which its tensors declared with {storage.numel}")
        data = fh.read(numel * storage.dtype.itemsize)
        if len(data) != numel * storage.dtype.itemsize:
            raise EOFError(f"storage '{key}' ends after {len(data)} of its "
                           f"{numel * storage.dtype.itemsize} bytes")
        storage.fill(_array(data, storage.dtype, numel, swap, f"storage '{key}'"))
    return result


def globals_in_zip(fh: Any, path: str) -> list[str]:
    """The global names the pickle of a zip checkpoint refers to, in order, found by walking
    its opcodes (nothing is loaded or run)."""
    try:
        zf = zipfile.ZipFile(fh)
    except zipfile.BadZipFile:
        raise CheckpointError(f"get_unsafe_globals_in_checkpoint(): '{path}' is not a zip "
                              "checkpoint (the legacy and safetensors formats are not "
                              "supported)") from None
    pkl = [n for n in zf.namelist() if n.endswith("/data.pkl")]
    if not pkl:
        raise CheckpointError(f"get_unsafe_globals_in_checkpoint(): '{path}' has no data.pkl")
    found: list[str] = []
    for op, arg, _ in pickletools.genops(zf.read(pkl[0])):
        if op.name == "STACK_GLOBAL":
            raise CheckpointError("get_unsafe_globals_in_checkpoint(): pickles of protocol 4 "
                                  "and later are not supported")
        if op.name == "GLOBAL" and str(arg).replace(" ", ".") not in found:
            found.append(str(arg).replace(" ", "."))
    return found
