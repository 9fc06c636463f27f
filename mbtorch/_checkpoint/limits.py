"""Checks that keep a hostile file from costing more than it holds.

Every size a file declares (a zip record's length, a pickle string's length, a storage's
element count) is checked against the bytes actually there before anything of that size is
allocated, and a loaded structure may not nest deeper than Python's own recursive functions
(``repr``, ``copy.deepcopy``, ``==``) can walk. Each refusal is a ``CheckpointError`` naming
the file and what is wrong.
"""

from __future__ import annotations

import zipfile
from typing import Any

from .storage import CheckpointError

__all__ = ["MAX_NESTING", "DEFLATE_MAX_RATIO", "file_size", "check_zip_entry", "read_entry",
           "BoundedReader", "check_nesting"]

MAX_NESTING = 500
"""The deepest nesting of containers ``load`` accepts: half of Python's default recursion
limit, so ``repr`` or ``deepcopy`` of what was loaded still works."""

DEFLATE_MAX_RATIO = 1032
"""Deflate's largest possible expansion (RFC 1951: 258 bytes from each 2 bits), so a record's
declared size beyond this many times its compressed size cannot be honest."""


def file_size(fh: Any) -> int:
    """The size of the seekable binary file ``fh`` (its position is kept)."""
    here = fh.tell()
    end = fh.seek(0, 2)
    fh.seek(here)
    return end


def check_zip_entry(info: zipfile.ZipInfo, archive_size: int, where: str) -> None:
    """Refuse a zip record whose declared sizes do not fit the archive (``where`` names the
    file for the message) before any of it is read."""
    if info.flag_bits & 0x1:  # zipfile would ask for a password (a RuntimeError)
        raise CheckpointError(f"load(): record '{info.filename}' of {where} is encrypted")
    end = info.header_offset + 30 + len(info.filename) + info.compress_size
    if info.header_offset < 0 or end > archive_size:
        raise CheckpointError(f"load(): record '{info.filename}' of {where} claims "
                              f"{info.compress_size} bytes at offset {info.header_offset}, "
                              f"past the end of the {archive_size}-byte file")
    if info.compress_type == zipfile.ZIP_STORED:
        limit = info.compress_size
    else:
        limit = info.compress_size * DEFLATE_MAX_RATIO + 1024
    if info.file_size > limit:
        raise CheckpointError(f"load(): record '{info.filename}' of {where} claims "
                              f"{info.file_size} bytes, more than its {info.compress_size} "
                              f"stored bytes can hold")


def read_entry(zf: zipfile.ZipFile, name: str, archive_size: int, where: str) -> bytes:
    """The bytes of record ``name``, its sizes checked first."""
    info = zf.getinfo(name)
    check_zip_entry(info, archive_size, where)
    return zf.read(info)


class BoundedReader:
    """A seekable binary file whose ``read(n)`` never asks for more than is left, so a length
    field claiming gigabytes does not make Python allocate them before finding the data
    short."""

    def __init__(self, fh: Any) -> None:
        self._fh = fh
        self._end = file_size(fh)

    def read(self, n: int = -1) -> bytes:
        left = max(self._end - self._fh.tell(), 0)
        return self._fh.read(left if n is None or n < 0 else min(n, left))

    def readline(self) -> bytes:
        return self._fh.readline()

    def tell(self) -> int:
        return self._fh.tell()

    def left(self) -> int:
        """The bytes between the position and the end of the file."""
        return max(self._end - self._fh.tell(), 0)


_CONTAINERS = (list, tuple, dict, set, frozenset)


def _children(obj: Any) -> Any:
    if isinstance(obj, dict):
        return [*obj.keys(), *obj.values()]
    return obj


def check_nesting(obj: Any, where: str, limit: int = MAX_NESTING) -> None:
    """Refuse ``obj`` if its containers nest deeper than ``limit``.

    Iterative (a deep structure cannot overflow this walk) and linear in the number of
    distinct containers: shared ones (a pickle's memo references) are measured once, so a
    "billion laughs" structure of repeated references costs what the file holds."""
    depth: dict[int, int] = {}
    stack: list[tuple[Any, bool]] = [(obj, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            kids = [depth.get(id(c), 0) for c in _children(node) if isinstance(c, _CONTAINERS)]
            depth[key] = 1 + max(kids, default=0)
            if depth[key] > limit:
                raise CheckpointError(f"load(): {where} nests containers more than {limit} "
                                      "deep, which mbtorch.load refuses (Python's recursive "
                                      "functions could not walk it)")
            continue
        if key in depth or not isinstance(node, _CONTAINERS):
            continue
        depth[key] = 0  # on the path: a cycle back to it counts as depth 0
        stack.append((node, True))
        stack.extend((c, False) for c in _children(node) if isinstance(c, _CONTAINERS))
