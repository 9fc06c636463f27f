"""The IDX file format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/).

An IDX file is a 4-byte magic number ``0x00 0x00 <type code> <ndim>``, ``ndim`` big-endian
uint32 dimension sizes, then the values, row-major and big-endian. ``read_idx`` reads one
(gzipped or not) into a NumPy array and rejects anything else with a ``ValueError`` that names
the file and what is wrong; ``write_idx`` writes one (tests build small datasets with it).
"""

from __future__ import annotations

import gzip
import math
import os
import struct
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
_CHUNK = 1 << 22  # bytes read at a time


def _open(path: str) -> Any:
    """The file's decompressed byte stream: gzip when it starts with gzip's magic bytes."""
    f = open(path, "rb")
    if f.read(2) != b"\x1f\x8b":  # a plain IDX file starts with 0 0
        f.seek(0)
        return f
    f.close()
    return gzip.open(path, "rb")  # (owns its file: closing it closes the file)


def _read_exactly(f: Any, n: int) -> bytearray:
    """Up to ``n`` bytes of ``f``, in chunks: the buffer grows with the data actually there,
    never to a size a header only claims (a gzip bomb or a lying header stays small)."""
    buf = bytearray()
    while len(buf) < n:
        chunk = f.read(min(n - len(buf), _CHUNK))
        if not chunk:
            break
        buf += chunk
    return buf


def _header(f: Any, path: str) -> tuple[tuple[int, ...], np.dtype, int]:
    head = _read_exactly(f, 4)
    if len(head) < 4:
        raise ValueError(f"{path}: not an IDX file (only {len(head)} bytes, shorter than the "
                         "4-byte header)")
    zero, code, ndim = bytes(head[:2]), head[2], head[3]
    if zero != b"\0\0" or code not in _TYPES:
        raise ValueError(f"{path}: not an IDX file (bad magic number 0x{head.hex()}; "
                         "expected 0x0000 then a type code 08, 09, 0b, 0c, 0d or 0e)")
    if ndim == 0:
        raise ValueError(f"{path}: IDX header declares 0 dimensions")
    dims = _read_exactly(f, 4 * ndim)
    if len(dims) < 4 * ndim:
        raise ValueError(f"{path}: truncated IDX header: {ndim} dimensions need "
                         f"{4 + 4 * ndim} bytes, the file has {4 + len(dims)}")
    shape = struct.unpack(f">{ndim}I", dims)
    return shape, _TYPES[code], 4 + 4 * ndim


def _size_error(path: str, shape: tuple[int, ...], dtype: np.dtype, expected: int,
                got: int | str) -> ValueError:
    what = "truncated IDX file" if isinstance(got, int) and got < expected \
        else "IDX file has trailing bytes"
    return ValueError(f"{path}: {what}: the header says {'x'.join(map(str, shape))} values "
                      f"of {dtype.newbyteorder('=').name} ({expected} bytes of data), the "
                      f"file holds {got}")


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """The array stored in the IDX file ``path`` (``.gz`` or plain), in native byte order.

    The header's dimensions are checked against the data actually present before the data
    is read (math on Python ints: no overflow), so a header that claims more than the file
    holds is refused without allocating what it claims."""
    path = os.fspath(path)
    try:
        with _open(path) as f:
            shape, dtype, header = _header(f, path)
            expected = math.prod(shape) * dtype.itemsize
            if not isinstance(f, gzip.GzipFile):
                got = os.fstat(f.fileno()).st_size - header
                if got != expected:
                    raise _size_error(path, shape, dtype, expected, got)
            data = _read_exactly(f, expected)
            extra = len(f.read(1)) if len(data) == expected else 0
    except (gzip.BadGzipFile, EOFError, zlib.error) as e:
        raise ValueError(f"{path}: corrupt gzip file ({e})") from None
    if len(data) != expected or extra:
        raise _size_error(path, shape, dtype, expected, f"more than {expected}" if extra
                          else len(data))
    arr = np.frombuffer(data, dtype).reshape(shape)
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
