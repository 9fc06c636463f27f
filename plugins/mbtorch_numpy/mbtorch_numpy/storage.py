"""Host memory: handles are NumPy arrays; ``from_numpy`` shares, as ``torch.from_numpy``."""

from __future__ import annotations

import ctypes
import os
import sys

import numpy as np

from mbtorch.core import dtypes as dt
from mbtorch.core.host import NUMPY_DTYPES as NATIVE

__all__ = [
    "DTYPES", "native_dtype", "NumpyStorage", "MALLOC_TUNING_ENV", "malloc_tuning",
    "reuse_freed_memory"
]

DTYPES = dt.ALL_DTYPES + (dt.complex64, dt.complex128) + dt.LIMITED_UINTS
"""Every real dtype, the complex dtypes NumPy has (it has no complex32: ``chalf`` tensors are
refused by name, the way a backend refuses any dtype it does not declare) and PyTorch's
limited-support uint16/uint32/uint64."""


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

    def reinterpret(self, handle, dtype):
        """``handle``'s memory seen as ``dtype`` (a complex array as its real value type,
        twice as many elements along the last axis, or back): the storage of
        ``view_as_real``/``view_as_complex``/``.real``/``.imag``. Optional in the storage
        protocol; a backend without it has no complex views."""
        flat = handle.reshape(-1) if handle.flags.c_contiguous else _memory_span(handle)
        target = NATIVE[dtype]
        if target.itemsize > flat.itemsize:  # an odd trailing float has no complex partner
            flat = flat[:flat.size - flat.size % (target.itemsize // flat.itemsize)]
        return flat.view(target)


def _memory_span(handle):
    """A non-contiguous root's whole memory as a flat array starting at its first element
    (its strides are non-negative), so offsets relative to the root keep their meaning."""
    if handle.size == 0:
        return handle.reshape(-1)
    extent = sum((n - 1) * s for n, s in zip(handle.shape, handle.strides))
    return np.lib.stride_tricks.as_strided(handle, (extent // handle.itemsize + 1,),
                                           (handle.itemsize,))


# glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
MALLOC_TUNING_ENV = "MBTORCH_CPU_MALLOC_TUNING"
"""Set to 1 to let the cpu backend tune glibc's allocator when it registers
(``reuse_freed_memory``); unset, the process's allocator settings are left alone."""

_tuned = False


def malloc_tuning() -> str:
    """Apply the allocator tuning if ``MBTORCH_CPU_MALLOC_TUNING=1`` asks for it, and say which
    state the process is in (shown by ``mbtorch info``)."""
    if os.environ.get(MALLOC_TUNING_ENV, "") in ("", "0"):
        return f"system default (set {MALLOC_TUNING_ENV}=1 to keep freed memory for reuse)"
    if _tuned or reuse_freed_memory():
        return f"keeps freed memory for reuse ({MALLOC_TUNING_ENV}=1)"
    return f"system default ({MALLOC_TUNING_ENV}=1 asked, but this C library has no mallopt)"


def reuse_freed_memory(keep_bytes: int = 256 << 20, mmap_above: int = 64 << 20) -> bool:
    """Let glibc's malloc keep freed blocks below ``mmap_above`` bytes for reuse, and keep up to
    ``keep_bytes`` of free heap before returning memory to the system.

    A training step allocates and frees tens of megabytes of temporaries (activations,
    columns, gradients) every step. By default glibc serves blocks of a few megabytes with
    ``mmap`` and unmaps them on ``free``, so every step faults each page in again and the
    kernel zeroes it: about a fifth of a CNN step's time on this backend. PyTorch's users
    reach for jemalloc or tcmalloc for the same reason.

    This changes the allocator of the whole process, so it is never done behind the user's
    back: call it, or set ``MBTORCH_CPU_MALLOC_TUNING=1`` before the cpu device is first used.
    Returns whether the settings were applied (glibc only)."""
    global _tuned
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
        libc.gnu_get_libc_version  # noqa: B018 - musl and others have no glibc tunables
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    _tuned = bool(mallopt(_M_MMAP_THRESHOLD, mmap_above)) and \
        bool(mallopt(_M_TRIM_THRESHOLD, keep_bytes))
    return _tuned
