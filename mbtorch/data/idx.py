"""The IDX file format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/).

An IDX file is a 4-byte magic number ``0x00 0x00 <type code> <ndim>``, ``ndim`` big-endian
uint32 dimension sizes, then the values, row-major and big-endian. ``read_idx`` reads one
(gzipped or not) into a NumPy array and rejects anything else with a ``ValueError`` that names
the file and what is wrong; ``write_idx`` writes one (tests build small datasets with it).
"""

from __future__ import annotations

import gzip
import os
import zlib
from typing import Any

import numpy as np

__all__ = ["read_idx", "write_idx"]

# type code -> big-endian NumPy dtype
_TYPES = {
    0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8"),
}
_CODES = {dt.newbyteorder("="): code for code, dt in _TYPES.items()}


def _read_bytes(path: str) -> bytes:
    with open(path, "rb") as f:
        raw = f.read()
    if not raw.startswith(b"\x1f\x8b"):  # the gzip magic; a plain IDX file starts with 0 0
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as e:
        raise ValueError(f"{path}: corrupt gzip file ({e})") from None


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """The array stored in the IDX file ``path`` (``.gz`` or plain), in native byte order."""
    path = os.fspath(path)
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise ValueError(f"{path}: not an IDX file (only {len(raw)} bytes, shorter than the "
                         "4-byte header)")
    zero, code, ndim = raw[:2], raw[2], raw[3]
    if zero != b"\0\0" or code not in _TYPES:
        raise ValueError(f"{path}: not an IDX file (bad magic number 0x{raw[:4].hex()}; "
                         "expected 0x0000 then a type code 08, 09, 0b, 0c, 0d or 0e)")
    if ndim == 0:
        raise ValueError(f"{path}: IDX header declares 0 dimensions")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header: {ndim} dimensions need {header} "
                         f"bytes, the file has {len(raw)}")
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", ndim, 4))
    dtype = _TYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    got = len(raw) - header
    if got != expected:
        dims = "x".join(map(str, shape))
        what = "truncated IDX file" if got < expected else "IDX file has trailing bytes"
        raise ValueError(f"{path}: {what}: the header says {dims} values of "
                         f"{dtype.newbyteorder('=').name} ({expected} bytes of data), the "
                         f"file holds {got}")
    arr = np.frombuffer(raw, dtype, offset=header).reshape(shape)
    return arr.astype(dtype.newbyteorder("="))  # a native-order, writable copy


def write_idx(path: str | os.PathLike, array: Any) -> None:
    """Write ``array`` as an IDX file, gzipped when ``path`` ends in ``.gz``."""
    arr = np.asarray(array)
    code = _CODES.get(arr.dtype)
    if code is None:
        raise ValueError(f"write_idx: IDX has no type for dtype {arr.dtype}")
    body = (bytes([0, 0, code, arr.ndim]) + np.asarray(arr.shape, ">u4").tobytes()
            + arr.astype(_TYPES[code]).tobytes())
    path = os.fspath(path)
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(body)
