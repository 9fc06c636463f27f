"""Device memory: handles are CuPy arrays, each allocated on its own GPU.

CuPy launches work on its *current* device, so every allocation here enters the target
device first (``with cupy.cuda.Device(i)``). Copies between devices go through
``MemoryPointer.copy_from_device`` (a peer copy where the GPUs allow it, staged through the
host otherwise, as CUDA decides). The runtime part (``CudaRuntime``) answers
``mbtorch.cuda``: device names, the memory pool's counters and the peak of allocated bytes,
which CuPy does not track, so ``PeakTrackingAllocator`` keeps it.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from mbtorch.core import dtypes as dt
from mbtorch.core.host import NUMPY_DTYPES

__all__ = [
    "supported_dtypes", "native_dtype", "CupyStorage", "PeakTrackingAllocator", "CudaRuntime"
]

# bfloat16 arrays need CuPy >= 14 with ml_dtypes (its "E" loops); see supported_dtypes()
_WITHOUT_BF16 = tuple(d for d in dt.ALL_DTYPES if d is not dt.bfloat16)


def supported_dtypes(cupy: Any) -> tuple[dt.dtype, ...]:
    """Every mbtorch dtype, bfloat16 only where this CuPy has bfloat16 ufunc loops."""
    bf16 = NUMPY_DTYPES[dt.bfloat16].char
    if f"{bf16}->{bf16}" in cupy.exp.types:
        return _WITHOUT_BF16 + (dt.bfloat16,)
    return _WITHOUT_BF16


def native_dtype(d: dt.dtype) -> np.dtype:
    """CuPy uses NumPy's dtype objects (bfloat16: ml_dtypes')."""
    return NUMPY_DTYPES[d]


class CupyStorage:
    """The ``Storage`` protocol of ``mbtorch.core.backend`` over CuPy arrays."""

    def __init__(self, cupy: Any):
        self.cp = cupy

    def empty(self, shape, dtype, device_index):
        with self.cp.cuda.Device(device_index):
            return self.cp.empty(shape, NUMPY_DTYPES[dtype])

    def from_numpy(self, array, device_index):
        with self.cp.cuda.Device(device_index):
            return self.cp.asarray(array)

    def to_numpy(self, handle):
        with handle.device:
            return handle.get()

    def strides(self, handle):
        size = handle.itemsize
        return tuple(s // size for s in handle.strides)

    def shape(self, handle):
        return handle.shape

    def to_device(self, handle, device_index):
        cp = self.cp
        with handle.device:
            src = cp.ascontiguousarray(handle)
        with cp.cuda.Device(device_index):
            out = cp.empty(src.shape, src.dtype)
            if src.nbytes:
                out.data.copy_from_device(src.data, src.nbytes)
        return out


class PeakTrackingAllocator:
    """CuPy's default memory pool, plus the peak of bytes in use per device (what
    ``torch.cuda.max_memory_allocated`` reports). Installed with ``cupy.cuda.set_allocator``;
    the cost is one ``used_bytes()`` call per allocation, not per op."""

    def __init__(self, cupy: Any):
        self.cp = cupy
        self.pool = cupy.get_default_memory_pool()
        self.peak: dict[int, int] = {}
        self._lock = threading.Lock()

    def __call__(self, nbytes: int):
        ptr = self.pool.malloc(nbytes)
        used = self.pool.used_bytes()
        dev = ptr.device_id
        if used > self.peak.get(dev, 0):
            with self._lock:
                self.peak[dev] = max(self.peak.get(dev, 0), used)
        return ptr


class CudaRuntime:
    """``BackendSpec.runtime``: what ``mbtorch.cuda`` asks of this backend."""

    def __init__(self, cupy: Any, allocator: PeakTrackingAllocator):
        self.cp = cupy
        self.allocator = allocator

    def set_device(self, index: int) -> None:
        self.cp.cuda.Device(index).use()

    def device_name(self, index: int) -> str:
        name = self.cp.cuda.runtime.getDeviceProperties(index)["name"]
        return name.decode() if isinstance(name, bytes) else str(name)

    def memory_allocated(self, index: int) -> int:
        with self.cp.cuda.Device(index):
            return int(self.allocator.pool.used_bytes())

    def max_memory_allocated(self, index: int) -> int:
        return max(self.allocator.peak.get(index, 0), self.memory_allocated(index))

    def reset_peak_memory_stats(self, index: int) -> None:
        self.allocator.peak[index] = self.memory_allocated(index)

    def empty_cache(self) -> None:
        self.allocator.pool.free_all_blocks()
        self.cp.get_default_pinned_memory_pool().free_all_blocks()

    def synchronize(self, index: int) -> None:
        with self.cp.cuda.Device(index):
            self.cp.cuda.Device(index).synchronize()
