"""Device memory: handles are ``CLArray`` objects (an OpenCL buffer plus shape, strides and
offset in elements, and the dtype), so views share a buffer and a write through a view reaches
its base. Devices are enumerated once, their contexts and queues created on first use.

Device order (``opencl:N``): when ``PYOPENCL_CTX`` is set, the devices of the context that
PyOpenCL's ``create_some_context`` picks for it, in its order. Otherwise every device of every
platform: GPUs first, then accelerators, then CPUs and the rest; within one kind in platform
order (as the ICD loader lists them), then in the platform's device order.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Any, Iterator

import numpy as np
import pyopencl as cl

from mbtorch.core import dtypes as dt
from mbtorch.core.host import FROM_NUMPY, NUMPY_DTYPES
from mbtorch.core.tensor import contiguous_strides

__all__ = [
    "BASE_DTYPES", "CLDevice", "enumerate_devices", "DEVICES", "CLArray", "contiguous_strides",
    "check_dtype", "alloc", "upload", "download", "host_blas", "mapped", "OpenCLStorage",
    "OpenCLRuntime"
]

BASE_DTYPES = (dt.bool, dt.uint8, dt.int8, dt.int16, dt.int32, dt.int64, dt.float16,
               dt.bfloat16, dt.float32)
_KIND_ORDER = {cl.device_type.GPU: 0, cl.device_type.ACCELERATOR: 1}


class CLDevice:
    """One OpenCL device with its (lazily created) context, in-order queue and features."""

    def __init__(self, index: int, device: Any, context: Any = None):
        self.index = index
        self.device = device
        self._context = context
        self._queue = None
        self._pool = None
        self.platform = device.platform
        self.fp64 = "cl_khr_fp64" in device.extensions or bool(
            getattr(device, "double_fp_config", 0))
        self.int64_atomics = "cl_khr_int64_base_atomics" in device.extensions
        self.dtypes = frozenset(BASE_DTYPES + ((dt.float64,) if self.fp64 else ()))
        self.local_size = min(128, device.max_work_group_size)
        self.cpu = bool(device.type & cl.device_type.CPU)
        # buffers live in host memory: mapping them is free (PoCL's CPU device)
        self.host_memory = self.cpu and bool(
            getattr(device, "host_unified_memory", False))
        self.kernels: dict = {}  # (key) -> cl.Kernel, per device: programs belong to a context
        self.variants: dict = {}  # kernel family -> the variant its probe proved (probe.py)
        self.reductions: dict = {}  # (kind, layout, dims) -> launch plan (reduce.py)
        self._err = None
        self.peak = 0  # the most bytes the pool has had in use at once (max_memory_allocated)

    @property
    def context(self) -> Any:
        if self._context is None:
            self._context = cl.Context([self.device])
        return self._context

    @property
    def queue(self) -> Any:
        if self._queue is None:
            self._queue = cl.CommandQueue(self.context)
        return self._queue

    def allocate(self, nbytes: int) -> Any:
        """A buffer from the device's pool. Reusing freed buffers matters: a fresh large
        buffer costs page faults on first touch (measured: 3x the time of ``a * b + c`` on
        4M float32 through PoCL). Safe with one in-order queue: a buffer freed by Python is
        reused only by commands queued after every command that used it."""
        if self._pool is None:
            from pyopencl import tools

            self._pool = tools.MemoryPool(tools.ImmediateAllocator(self.queue))
        buf = self._pool.allocate(nbytes)
        if self._pool.active_bytes > self.peak:
            self.peak = self._pool.active_bytes
        return buf

    def error_buffer(self) -> Any:
        """A zeroed 2-word buffer kernels set on failure: (flag, offending value). Every
        launch that passes it is followed by ``read_error``, which zeroes it again after a
        failure, so it is filled once here rather than before every launch (a fill is one
        more command through the driver's scheduler, ~10-20 us on PoCL)."""
        if self._err is None:
            self._err = cl.Buffer(self.context, cl.mem_flags.READ_WRITE, 16)
            cl.enqueue_fill_buffer(self.queue, self._err, np.int64(0), 0, 16)
        return self._err

    def read_error(self) -> tuple[int, int]:
        """The error word (waits for the queue); zeroed again when a kernel set it."""
        out = np.empty(2, np.int64)
        cl.enqueue_copy(self.queue, out, self._err)
        if out[0] or out[1]:
            cl.enqueue_fill_buffer(self.queue, self._err, np.int64(0), 0, 16)
        return int(out[0]), int(out[1])

    def describe(self) -> str:
        d = self.device
        return (f"{d.name.strip()} ({cl.device_type.to_string(d.type)}; {d.version.strip()}; "
                f"platform {self.platform.name.strip()} {self.platform.version.strip()})")


def enumerate_devices() -> list[CLDevice]:
    """All usable devices in the documented order (see the module docstring)."""
    if os.environ.get("PYOPENCL_CTX") is not None:
        ctx = cl.create_some_context(interactive=False)
        return [CLDevice(i, d, ctx if len(ctx.devices) == 1 else None)
                for i, d in enumerate(ctx.devices)]
    found = []
    for p_i, platform in enumerate(cl.get_platforms()):
        try:
            devices = platform.get_devices()
        except cl.Error:  # a platform with no devices raises CL_DEVICE_NOT_FOUND
            continue
        for d_i, d in enumerate(devices):
            found.append((_KIND_ORDER.get(d.type, 2), p_i, d_i, d))
    found.sort(key=lambda t: t[:3])
    return [CLDevice(i, t[3]) for i, t in enumerate(found)]


DEVICES: list[CLDevice] = []


class CLArray:
    """A backend handle: a view (shape, strides, offset, all in elements) of a buffer."""

    __slots__ = ("buf", "shape", "strides", "offset", "dtype", "dev")

    def __init__(self, buf: Any, shape: tuple, strides: tuple, offset: int, dtype: dt.dtype,
                 dev: CLDevice):
        self.buf = buf
        self.shape = shape
        self.strides = strides
        self.offset = offset
        self.dtype = dtype
        self.dev = dev

    @property
    def size(self) -> int:
        n = 1
        for s in self.shape:
            n *= s
        return n

    def is_contiguous(self) -> bool:
        return self.strides == contiguous_strides(self.shape) or self.size <= 1

    def span(self) -> tuple[int, int]:
        """(first, last + 1) element indices this view touches in its buffer."""
        if self.size == 0:
            return self.offset, self.offset
        hi = self.offset + sum((s - 1) * st for s, st in zip(self.shape, self.strides))
        return self.offset, hi + 1

    def __repr__(self) -> str:
        return (f"CLArray(shape={self.shape}, strides={self.strides}, offset={self.offset}, "
                f"dtype={self.dtype.name}, device={self.dev.index})")


def check_dtype(dev: CLDevice, dtype: dt.dtype) -> None:
    if dtype not in dev.dtypes:
        raise TypeError(f"dtype {dtype} is not supported on opencl:{dev.index} "
                        f"({dev.device.name.strip()}): the device lacks "
                        f"{'cl_khr_fp64' if dtype is dt.float64 else dtype.name}")


def alloc(dev: CLDevice, shape: tuple, dtype: dt.dtype) -> CLArray:
    """A new contiguous array (contents undefined)."""
    check_dtype(dev, dtype)
    n = 1
    for s in shape:
        n *= s
    # OpenCL refuses zero-sized buffers; an empty tensor still owns a one-element one
    buf = dev.allocate(max(n, 1) * dtype.itemsize)
    return CLArray(buf, tuple(shape), contiguous_strides(shape), 0, dtype, dev)


def upload(dev: CLDevice, array: np.ndarray) -> CLArray:
    """A new device array holding a copy of host ``array``."""
    dtype = FROM_NUMPY[np.dtype(array.dtype)]
    out = alloc(dev, tuple(array.shape), dtype)
    host = np.ascontiguousarray(array)
    if host.size:
        cl.enqueue_copy(dev.queue, out.buf, host)
    return out


def download(h: CLArray) -> np.ndarray:
    """A new host array holding a copy of ``h`` (waits for the queue)."""
    lo, hi = h.span()
    npd = NUMPY_DTYPES[h.dtype]
    flat = np.empty(max(hi - lo, 0), npd)
    if flat.size:
        cl.enqueue_copy(h.dev.queue, flat, h.buf, src_offset=lo * h.dtype.itemsize)
    if h.is_contiguous():
        return flat[:h.size].reshape(h.shape)
    view = np.lib.stride_tricks.as_strided(
        flat, h.shape, tuple(st * flat.itemsize for st in h.strides))
    return np.array(view)


def host_blas(dev: CLDevice, dtype: dt.dtype) -> bool:
    """Whether MATMUL on ``dev`` runs as NumPy's BLAS on mapped buffers: on CPU devices whose
    buffers are host memory (PoCL), for float32/float64, unless ``MBTORCH_OPENCL_HOST_BLAS=0``.
    Measured on PoCL (python -m bench --only matmul): several times the GEMM kernel's speed."""
    return dtype in (dt.float32, dt.float64) and dev.host_memory and \
        os.environ.get("MBTORCH_OPENCL_HOST_BLAS", "1") != "0"


@contextmanager
def mapped(*views: tuple[CLArray, bool]) -> Iterator[list[np.ndarray]]:
    """Each ``(handle, write)`` as a NumPy view of its mapped buffer (zero-copy where buffers
    are host memory), all unmapped on exit. The maps are enqueued together and waited for
    once: each blocking map is a round trip through the driver's scheduler (~20-50 us on
    PoCL), and on an in-order queue the last map's event covers every earlier command."""
    arrays, last = [], None
    try:
        for h, write in views:
            lo, hi = h.span()
            item = h.dtype.itemsize
            flat, last = cl.enqueue_map_buffer(
                h.dev.queue, h.buf, cl.map_flags.WRITE if write else cl.map_flags.READ,
                lo * item, (hi - lo,), NUMPY_DTYPES[h.dtype], is_blocking=False)
            arrays.append((flat, h))
        if last is not None:
            last.wait()
        yield [np.ndarray(h.shape, flat.dtype, flat, 0,
                          tuple(st * h.dtype.itemsize for st in h.strides))
               for flat, h in arrays]
    finally:
        for flat, h in arrays:
            flat.base.release(h.dev.queue)


class OpenCLStorage:
    """The ``Storage`` protocol over ``CLArray`` handles."""

    def empty(self, shape, dtype, device_index):
        return alloc(DEVICES[device_index], tuple(shape), dtype)

    def from_numpy(self, array, device_index):
        return upload(DEVICES[device_index], array)

    def to_numpy(self, handle):
        return download(handle)

    def strides(self, handle):
        return handle.strides

    def shape(self, handle):
        return handle.shape

    def to_device(self, handle, device_index):
        return self.from_numpy(self.to_numpy(handle), device_index)


class OpenCLRuntime:
    """``BackendSpec.runtime``: memory use as ``mbtorch.accelerator`` reports it, counted by
    each device's buffer pool (bytes of the buffers tensors hold, rounded up to the pool's
    size classes; freed buffers the pool keeps for reuse are not counted)."""

    def device_name(self, index: int) -> str:
        return DEVICES[index].device.name.strip()

    def memory_allocated(self, index: int) -> int:
        pool = DEVICES[index]._pool
        return int(pool.active_bytes) if pool is not None else 0

    def max_memory_allocated(self, index: int) -> int:
        return max(DEVICES[index].peak, self.memory_allocated(index))

    def reset_peak_memory_stats(self, index: int) -> None:
        DEVICES[index].peak = self.memory_allocated(index)

    def empty_cache(self) -> None:
        """Give the buffers the pools keep for reuse back to the driver."""
        for dev in DEVICES:
            if dev._pool is not None:
                dev._pool.free_held()
