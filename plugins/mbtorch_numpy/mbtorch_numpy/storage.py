"""Host memory: handles are NumPy arrays; ``from_numpy`` shares, as ``torch.from_numpy``."""

from __future__ import annotations

import ctypes
import os
import sys

import numpy as np

from mbtorch.core import dtypes as dt
from mbtorch.core.host import NUMPY_DTYPES as NATIVE

DTYPES = dt.ALL_DTYPES


def native_dtype(d: dt.dtype) -> np.dtype:
    return NATIVE[d]


class NumpyStorage:
    def empty(self, shape, dtype, device_index):
        return np.empty(shape, NATIVE[dtype])

    def from_numpy(self, array, device_index):
        return array

    def to_numpy(self, handle):
        return handle

    def strides(self, handle):
        size = handle.itemsize
        return tuple(s // size for s in handle.strides)

    def shape(self, handle):
        return handle.shape

    def to_device(self, handle, device_index):
        return handle.copy()


# glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
KEEP_MALLOC_ENV = "MBTORCH_CPU_KEEP_MALLOC"
"""Set to 1 to leave the C allocator's settings as they are (see ``reuse_freed_memory``)."""


def reuse_freed_memory(keep_bytes: int = 256 << 20, mmap_above: int = 64 << 20) -> bool:
    """Let glibc's malloc keep freed blocks below ``mmap_above`` bytes for reuse, and keep up to
    ``keep_bytes`` of free heap before returning memory to the system.

    A training step allocates and frees tens of megabytes of temporaries (activations,
    columns, gradients) every step. By default glibc serves blocks of a few megabytes with
    ``mmap`` and unmaps them on ``free``, so every step faults each page in again and the
    kernel zeroes it: about a fifth of a CNN step's time on this backend. PyTorch's users
    reach for jemalloc or tcmalloc for the same reason. Returns whether the settings were
    applied (glibc only; ``MBTORCH_CPU_KEEP_MALLOC=1`` opts out)."""
    if os.environ.get(KEEP_MALLOC_ENV, "") not in ("", "0") or not sys.platform.startswith(
            "linux"):
        return False
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
        libc.gnu_get_libc_version  # noqa: B018 - musl and others have no glibc tunables
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, mmap_above)) and \
        bool(mallopt(_M_TRIM_THRESHOLD, keep_bytes))
