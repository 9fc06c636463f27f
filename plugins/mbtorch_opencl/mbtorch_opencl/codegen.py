"""Kernel generation shared by every kernel family: C types per dtype, loads and stores (float16
is storage only: ``vload_half``/``vstore_half_rte`` with float32 compute; bfloat16 is stored as
the upper half of a float32, rounded to nearest even on store), strided index
arithmetic, dimension collapsing, and the per-device program cache.

Programs are cached in process per key (op, dtypes, rank, layout, index width); shapes,
strides and offsets are kernel arguments, so a new shape never compiles a new program. Program
binaries are kept on disk per device and driver, keyed by a hash of the source and options
(``<MBTORCH_OPENCL_CACHE>/binaries/<device fingerprint>/``), so a second process does not
rebuild them; PoCL also caches its per-launch compilations (``POCL_CACHE_DIR``). Launches use
the device's fixed local size with the global size padded to a multiple of it, because PoCL
compiles a new work-group size as a new kernel.
"""

from __future__ import annotations

import hashlib
import os
import threading
from typing import Any, Callable, Sequence

import numpy as np
import pyopencl as cl

from mbtorch.core import dtypes as dt
from mbtorch.core.tensor import collapse_dims as collapse  # re-exported: the kernels' name

from . import probe
from .storage import CLArray, CLDevice

__all__ = [
    "STORAGE_CTYPE", "COMPUTE_CTYPE", "HALF_TYPES", "NP_SCALAR", "INT_MAX", "BUILD_OPTIONS",
    "ctype", "sctype", "load", "to_storage", "store", "header", "get_kernel", "launch",
    "index_type", "collapse", "broadcast_strides", "broadcast_shape", "unravel", "offset_expr"
]

STORAGE_CTYPE = {
    dt.bool: "uchar", dt.uint8: "uchar", dt.int8: "char", dt.int16: "short", dt.int32: "int",
    dt.int64: "long", dt.float16: "half", dt.bfloat16: "ushort", dt.float32: "float",
    dt.float64: "double",
}
COMPUTE_CTYPE = {**STORAGE_CTYPE, dt.float16: "float", dt.bfloat16: "float"}
HALF_TYPES = (dt.float16, dt.bfloat16)
_BF16 = """
inline float bf16_load(ushort h) { return as_float(((uint)h) << 16); }
inline ushort bf16_round(float f) {
    uint u = as_uint(f);
    if (isnan(f)) return (ushort)((u >> 16) | 0x40);
    u += 0x7FFF + ((u >> 16) & 1);
    return (ushort)(u >> 16);
}
"""
NP_SCALAR = {
    "uchar": np.uint8, "char": np.int8, "short": np.int16, "int": np.int32, "long": np.int64,
    "float": np.float32, "double": np.float64,
}
INT_MAX = 2**31 - 1
BUILD_OPTIONS = ["-cl-fp32-correctly-rounded-divide-sqrt"]


def ctype(d: dt.dtype) -> str:
    return COMPUTE_CTYPE[d]


def sctype(d: dt.dtype) -> str:
    return STORAGE_CTYPE[d]


def load(d: dt.dtype, ptr: str, idx: str) -> str:
    if d is dt.float16:
        return f"vload_half({idx}, {ptr})"
    if d is dt.bfloat16:
        return f"bf16_load({ptr}[{idx}])"
    return f"{ptr}[{idx}]"


def to_storage(d: dt.dtype, val: str, src: dt.dtype | None = None) -> str:
    """``val`` converted to ``d``'s storage value (not for float16, see ``store``)."""
    if d is dt.bool:
        return f"(uchar)(({val}) != 0)"
    if d is dt.bfloat16:
        return f"bf16_round((float)({val}))"
    if d.category == dt.INTEGRAL_CATEGORY and d is not dt.int64 and src is not None and \
            src.category == dt.FLOATING_CATEGORY:
        # float -> narrow int goes through int64 and wraps, as PyTorch's CPU does
        return f"({sctype(d)})(long)({val})"
    return f"({sctype(d)})({val})"


def store(d: dt.dtype, ptr: str, idx: str, val: str, src: dt.dtype | None = None) -> str:
    if d is dt.float16:  # vstore_half takes float or double: convert integers explicitly
        return f"vstore_half_rte(({'double' if src is dt.float64 else 'float'})({val}), " \
            f"{idx}, {ptr});"
    return f"{ptr}[{idx}] = {to_storage(d, val, src)};"


def header(dev: CLDevice) -> str:
    # no FMA contraction: ``a - b * c`` rounds twice, as on the cpu backend (GEMM asks for
    # fma() explicitly)
    ext = "#pragma OPENCL EXTENSION cl_khr_fp64 : enable\n" if dev.fp64 else ""
    return ext + "#pragma OPENCL FP_CONTRACT OFF\n" + _BF16


def get_kernel(dev: CLDevice, key: Any, name: str, make_source: Callable[[], str],
               scalar_types: Sequence[Any] | None = None) -> Any:
    """The compiled kernel for ``key`` on ``dev``; builds it on first use."""
    k = dev.kernels.get(key)
    if k is None:
        src = header(dev) + make_source()
        k = getattr(_build(dev, src, name), name)
        if scalar_types is not None:
            k.set_scalar_arg_dtypes(list(scalar_types))
        k = dev.kernels.setdefault(key, _Serialized(k))
    return k


class _Serialized:
    """A ``cl.Kernel`` whose launches hold a lock. A launch sets the kernel's arguments, then
    enqueues it, and OpenCL's ``clSetKernelArg`` is not thread-safe on one kernel object: two
    threads launching the cached kernel at once could enqueue each other's arguments (seen:
    wrong results from a model shared by threads). The queue itself is thread-safe."""

    __slots__ = ("kernel", "_lock")

    def __init__(self, kernel: Any) -> None:
        self.kernel, self._lock = kernel, threading.Lock()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return self.kernel(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.kernel, name)


def _build(dev: CLDevice, src: str, name: str) -> Any:
    """The program for ``src`` from the on-disk binary cache, or built from source and stored
    there. Creating a program from its binary costs 3-8 ms on PoCL where a source build costs
    about 0.1 s even when PoCL's own cache has it (and 1-2 s when not)."""
    digest = hashlib.sha256((src + "\0" + " ".join(BUILD_OPTIONS)).encode()).hexdigest()[:32]
    path = probe.cache_dir() / "binaries" / probe.fingerprint(dev) / f"{digest}.bin"
    try:
        binary = path.read_bytes()
        return cl.Program(dev.context, [dev.device], [binary]).build(options=BUILD_OPTIONS)
    except (OSError, cl.Error):  # absent, unreadable or rejected: build from source
        pass
    try:
        prg = cl.Program(dev.context, src).build(options=BUILD_OPTIONS)
    except cl.RuntimeError as exc:  # a bug in a template: show the source with it
        raise RuntimeError(f"opencl: building kernel {name} failed: {exc}\n{src}") from None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(prg.get_info(cl.program_info.BINARIES)[0])
        os.replace(tmp, path)
    except (OSError, cl.Error):  # a cache that cannot be written only costs a build next time
        pass
    return prg


def launch(dev: CLDevice, kernel: Any, n: int, *args: Any, local: int | None = None) -> None:
    """Run ``kernel`` over ``n`` work items (padded to the fixed local size)."""
    if n == 0:
        return
    ls = local or dev.local_size
    kernel(dev.queue, ((n + ls - 1) // ls * ls,), (ls,), *args)


def index_type(*arrays: CLArray | None) -> str:
    """``int`` when every element index fits in 31 bits (faster on most devices)."""
    for a in arrays:
        if a is not None and a.span()[1] > INT_MAX:
            return "long"
    return "int"


def broadcast_strides(a: CLArray, shape: tuple) -> tuple:
    """``a``'s strides seen through broadcasting to ``shape`` (0 where broadcast)."""
    lead = len(shape) - len(a.shape)
    return (0,) * lead + tuple(0 if s == 1 and shape[lead + i] != 1 else st
                               for i, (s, st) in enumerate(zip(a.shape, a.strides)))


def broadcast_shape(shapes: Sequence[tuple]) -> tuple:
    n = max((len(s) for s in shapes), default=0)
    out = [1] * n
    for s in shapes:
        for i, v in enumerate(s, n - len(s)):
            if v != 1:
                out[i] = v
    return tuple(out)


def unravel(rank: int, idx_t: str, var: str = "gid", prefix: str = "c",
            shape: str = "sh") -> str:
    """C code splitting flat index ``var`` into coordinates ``c0..c{rank-1}`` (row-major);
    the shape comes in kernel arguments ``sh1..sh{rank-1}``."""
    if rank == 0:
        return ""
    rem = f"rem_{prefix}"
    lines = [f"{idx_t} {rem} = {var};"]
    for d in range(rank - 1, 0, -1):
        lines.append(f"{idx_t} {prefix}{d} = {rem} % {shape}{d}; {rem} /= {shape}{d};")
    lines.append(f"{idx_t} {prefix}0 = {rem};")
    return "\n    ".join(lines)


def offset_expr(rank: int, name: str, prefix: str = "c") -> str:
    """``name_off + c0 * name_st0 + ...`` (``name_off`` omitted when ``name`` is empty)."""
    terms = [f"{prefix}{d} * {name}_st{d}" for d in range(rank)]
    return " + ".join(([f"{name}_off"] if name else []) + terms) or "0"
