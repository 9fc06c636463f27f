"""MATMUL: a packed, register-blocked GEMM, batched and strided; on CPU devices, NumPy's BLAS
over the mapped buffers.

Two steps, as a BLAS does: each operand is first *packed* by a generated kernel into
zero-padded panels (A into ``RM``-row panels, B into ``vw``-column panels, each panel stored
k-major and contiguous, in the accumulation type), which reads any strides (transposed
views, stride-0 batch broadcast) and converts float16 to float32 once. The compute kernel
then runs with no bounds checks and no index arithmetic in its inner loop: each work item
owns an ``RM x vw`` block of C held in ``RM`` vector registers and streams one A panel and
one B panel (``RM`` broadcasts and one vector load per ``RM`` vector updates).

The vector width ``vw`` and the update (``fma`` or a multiply and an add) are a *variant*:
``ladder`` lists them from the device's preferred vector width down to scalar, and
``probe.select`` proves each in a child process before it is used, because some drivers
crash on some of them (PoCL 3.0 / LLVM 14 on AMD Zen 4 aborts the process at the first launch
of ``fma`` on ``float16`` vectors).

Why not the textbook local-memory tiling: on PoCL's CPU device local memory is ordinary
memory and per-item accumulators that live across barriers are spilled to per-work-group
arrays; measured here such kernels reached 13-21 GFLOP/s at 1024^2, while plain strided
reads of a 1024-wide B thrash L1 (4 KiB row stride). Packed panels fix both.

On a CPU device whose buffers are host memory (PoCL) a float32/float64 product large enough
to pay for mapping runs as ``np.matmul`` on the mapped buffers (``storage.host_blas``; off
with ``MBTORCH_OPENCL_HOST_BLAS=0``): the host BLAS is several times faster than any OpenCL
kernel on that device, and the choice is documented and shown by ``mbtorch info``. Products
below ``BLAS_THREADS_MIN_MNK`` run there on one BLAS thread (``one_blas_thread``): the BLAS
shares the cores with the OpenCL driver's worker threads, and a multithreaded BLAS's idle
workers spin after each call (OpenBLAS: ~0.1 s), taking those cores from the kernels queued
next. Measured on the 2-core machine (PoCL 3.1, OpenBLAS 0.3.31, MLP 784-256-128-10 training
step, interleaved rounds): 7.5 ms compiled and 10.0 ms eager with one BLAS thread against 9.2
and 13.4 ms with two, while two threads save at most 0.3 ms per product of that size.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from mbtorch.core import dtypes as dt
from mbtorch.core.host import NUMPY_DTYPES

from . import codegen as cg
from . import probe
from .storage import CLArray, CLDevice, alloc, download, host_blas, mapped, upload

__all__ = [
    "PROBE", "MUL", "HOST_BLAS_MIN_MNK", "BLAS_THREADS_MIN_MNK", "RM", "WX", "WY", "matmul",
    "ladder", "probe_variant", "one_blas_thread"
]

PROBE = "mbtorch_opencl.gemm:probe_variant"
# the inner update of each variant: one rounding (fma) or two (FP_CONTRACT is off)
MUL = {"fma": "fma(av, bv, acc[i])", "mad": "acc[i] + av * bv"}
# below this m*n*k (summed over the batch) mapping the three buffers, a wait for the queue
# to drain (~60-90 us on PoCL), costs more than the device kernel saves; measured on PoCL
# 3.0/3.1 as a matmul between eager pointwise ops: 160K (128x128x10) device faster, 256K tie,
# 1M host 1.3-1.5x faster, 4M 1.8x, 25M (128x784x256) 4-9x
HOST_BLAS_MIN_MNK = 1 << 19
# from this m*n*k (summed over the batch) up a second BLAS thread saves more than its
# spinning costs the OpenCL kernels (512^3: 4.9 ms on one thread, 2.3 ms on two)
BLAS_THREADS_MIN_MNK = 1 << 26

RM = 8
WX, WY = 4, 4


def _acc(d: dt.dtype) -> str:
    if d.category == dt.FLOATING_CATEGORY:
        return "double" if d is dt.float64 else "float"
    return "long" if d is dt.int64 else "int"


def _pack_source(d: dt.dtype, brank: int, idx_t: str, rb: int) -> str:
    # one item per (k, panel, batch) writes the panel's rb values at k: the grid gives the
    # coordinates, so no item divides (integer division is scalar on CPU devices and cost
    # the old one-item-per-element pack 7 ns an element on PoCL)
    acc = _acc(d)
    bparams = "".join(f", {idx_t} bsh{i}" for i in range(1, brank))
    bparams += "".join(f", {idx_t} x_st{i}" for i in range(brank))
    boff = " + ".join(f"c{i} * x_st{i}" for i in range(brank)) or "0"
    return f"""
__kernel void pack(__global {acc}* P, __global const {cg.sctype(d)}* X, {idx_t} x_off,
                   {idx_t} R, {idx_t} K, {idx_t} s_r, {idx_t} s_k, {idx_t} per_batch{bparams})
{{
    {idx_t} k = get_global_id(0);
    if (k >= K) return;
    {idx_t} panel = get_global_id(1), batch = get_global_id(2);
    {cg.unravel(brank, idx_t, "batch", "c", "bsh")}
    {idx_t} base = x_off + {boff} + k * s_k;
    __global {acc}* dst = P + batch * per_batch + (panel * K + k) * {rb};
    for (int r = 0; r < {rb}; ++r) {{
        {idx_t} row = panel * {rb} + r;
        {acc} v = 0;
        if (row < R) v = ({acc}){cg.load(d, "X", "base + row * s_r")};
        dst[r] = v;
    }}
}}
"""


def _source(d: dt.dtype, idx_t: str, vw: int, mul: str) -> str:
    acc = _acc(d)
    vt = f"{acc}{vw}" if vw > 1 else acc
    mad = MUL[mul]
    bload = f"vload{vw}(k, b)" if vw > 1 else "b[k]"
    spill = f"vstore{vw}(acc[i], 0, tmp);" if vw > 1 else "tmp[0] = acc[i];"
    st = cg.store(d, "O", "o + i * N + col0 + j", "tmp[j]", None)
    return f"""
__kernel __attribute__((reqd_work_group_size({WX}, {WY}, 1)))
void gemm(__global {cg.sctype(d)}* O, __global const {acc}* AP, __global const {acc}* BP,
          {idx_t} M, {idx_t} N, {idx_t} K, {idx_t} npm, {idx_t} npn)
{{
    {idx_t} pn = get_global_id(0), pm = get_global_id(1), batch = get_global_id(2);
    if (pn >= npn || pm >= npm) return;
    __global const {acc}* a = AP + (batch * npm + pm) * K * {RM};
    __global const {acc}* b = BP + (batch * npn + pn) * K * {vw};
    {vt} acc[{RM}];
    for (int i = 0; i < {RM}; ++i) acc[i] = 0;
    for ({idx_t} k = 0; k < K; ++k) {{
        {vt} bv = {bload};
        for (int i = 0; i < {RM}; ++i) {{
            {vt} av = ({vt})(a[k * {RM} + i]);
            acc[i] = {mad};
        }}
    }}
    {idx_t} row0 = pm * {RM}, col0 = pn * {vw};
    {idx_t} o = batch * M * N + row0 * N;
    for (int i = 0; i < {RM} && row0 + i < M; ++i) {{
        {acc} tmp[{vw}];
        {spill}
        for (int j = 0; j < {vw} && col0 + j < N; ++j) {{ {st} }}
    }}
}}
"""


def _pack(x: CLArray, rows: int, k: int, s_r: int, s_k: int, rb: int, bshape: tuple,
          bst: tuple, nb: int) -> CLArray:
    dev = x.dev
    acc_dt = {"float": dt.float32, "double": dt.float64, "int": dt.int32,
              "long": dt.int64}[_acc(x.dtype)]
    per_batch = -(-rows // rb) * rb * k
    out = alloc(dev, (nb * per_batch,), acc_dt)
    brank = len(bshape)
    idx_t = "long" if nb * per_batch > cg.INT_MAX else cg.index_type(x)
    it = np.int32 if idx_t == "int" else np.int64
    kernel = cg.get_kernel(dev, ("pack", x.dtype, brank, idx_t, rb), "pack",
                           lambda: _pack_source(x.dtype, brank, idx_t, rb),
                           [None, None] + [it] * (6 + max(brank - 1, 0) + brank))
    ls = dev.local_size
    kernel(dev.queue, (-(-k // ls) * ls, -(-rows // rb), nb), (ls, 1, 1), out.buf, x.buf,
           x.offset, rows, k, s_r, s_k, per_batch, *bshape[1:], *bst)
    return out


def matmul(a: CLArray, b: CLArray) -> CLArray:
    dev = a.dev
    m, k = a.shape[-2:]
    n = b.shape[-1]
    batch = a.shape[:-2]
    out = alloc(dev, batch + (m, n), a.dtype)
    if out.size == 0:
        return out
    if k == 0:
        from .pointwise import copy_

        copy_(out, 0.0 if a.dtype.category == dt.FLOATING_CATEGORY else 0)
        return out
    mnk = out.size // (m * n) * m * n * k
    if host_blas(dev, a.dtype) and mnk >= HOST_BLAS_MIN_MNK:
        with mapped((a, False), (b, False), (out, True)) as (an, bn, on):
            if mnk >= BLAS_THREADS_MIN_MNK:
                np.matmul(an, bn, out=on)
            else:
                with one_blas_thread:
                    np.matmul(an, bn, out=on)
        return out
    variant = probe.select(dev, f"gemm-{_acc(a.dtype)}", ladder(dev, a.dtype), PROBE)
    _device_gemm(a, b, out, variant["vw"], variant["mul"])
    return out


def _device_gemm(a: CLArray, b: CLArray, out: CLArray, vw: int, mul: str) -> None:
    dev = a.dev
    m, k = a.shape[-2:]
    n = b.shape[-1]
    bshape, bst = cg.collapse(a.shape[:-2], [a.strides[:-2], b.strides[:-2]])
    nb = int(np.prod(bshape, dtype=np.int64))
    ap = _pack(a, m, k, a.strides[-2], a.strides[-1], RM, bshape, bst[0], nb)
    bp = _pack(b, n, k, b.strides[-1], b.strides[-2], vw, bshape, bst[1], nb)
    npm, npn = -(-m // RM), -(-n // vw)
    idx_t = "long" if max(ap.size, bp.size, out.size) > cg.INT_MAX else "int"
    it = np.int32 if idx_t == "int" else np.int64
    kernel = cg.get_kernel(dev, ("gemm", a.dtype, idx_t, vw, mul), "gemm",
                           lambda: _source(a.dtype, idx_t, vw, mul), [None] * 3 + [it] * 5)
    kernel(dev.queue, (-(-npn // WX) * WX, -(-npm // WY) * WY, nb), (WX, WY, 1), out.buf,
           ap.buf, bp.buf, m, n, k, npm, npn)


def ladder(dev: CLDevice, d: dt.dtype) -> list[dict]:
    """GEMM variants for ``d``'s accumulation type, fastest first: vector widths from the
    device's preferred width down to scalar, ``fma`` before a separate multiply and add."""
    acc = _acc(d)
    pref = getattr(dev.device, f"preferred_vector_width_{acc}", 4) or 1
    width = 1 << min(max(int(pref), 1).bit_length() - 1, 4)  # a power of two, at most 16
    widths = sorted({w for w in (width, width // 2, 4, 1) if 1 <= w <= width} | {1},
                    reverse=True)
    muls = ("fma", "mad") if d.category == dt.FLOATING_CATEGORY else ("mad",)
    return [{"acc": acc, "vw": w, "mul": mul} for w in widths for mul in muls]


_PROBE_DTYPES = {"float": dt.float32, "double": dt.float64, "int": dt.int32, "long": dt.int64}


def probe_variant(dev: CLDevice, variant: dict) -> None:
    """Run the variant on a small batched, ragged problem and check it against NumPy (in a
    child process, see probe.py)."""
    d = _PROBE_DTYPES[variant["acc"]]
    rng = np.random.default_rng(0)
    # small integers: every variant's sums are exact, so any difference is a wrong kernel
    host = [rng.integers(-4, 5, (2, 19, 13)).astype(NUMPY_DTYPES[d]),
            rng.integers(-4, 5, (2, 13, 37)).astype(NUMPY_DTYPES[d])]
    a, b = (upload(dev, x) for x in host)
    out = alloc(dev, (2, 19, 37), d)
    _device_gemm(a, b, out, variant["vw"], variant["mul"])
    got = download(out)
    want = np.matmul(host[0], host[1])
    if not np.array_equal(got, want):
        bad = int(np.sum(got != want))
        raise RuntimeError(f"gemm variant {variant} computed {bad} of {want.size} "
                           "elements wrongly")


class _OneBlasThread:
    """Context manager: NumPy's BLAS limited to one thread inside, its thread counts restored
    when the last thread leaves (nested and concurrent entries share one limit). Where
    ``threadpoolctl`` is not installed the BLAS keeps its threads (``limited`` says which)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self._saved: list[int] = []
        self._libs: list[Any] | None = None

    @property
    def limited(self) -> bool:
        """Whether entering limits anything (a BLAS with a thread pool was found)."""
        return bool(self._controllers())

    def _controllers(self) -> list[Any]:
        if self._libs is None:
            try:
                from threadpoolctl import ThreadpoolController
            except ImportError:
                self._libs = []
            else:
                self._libs = list(ThreadpoolController().select(user_api="blas")
                                  .lib_controllers)
        return self._libs

    def __enter__(self) -> None:
        with self._lock:
            if self._depth == 0:
                libs = self._controllers()
                self._saved = [c.get_num_threads() for c in libs]
                for c, n in zip(libs, self._saved):
                    if n is not None:
                        c.set_num_threads(1)
            self._depth += 1

    def __exit__(self, *exc: Any) -> None:
        with self._lock:
            self._depth -= 1
            if self._depth == 0:
                for c, n in zip(self._controllers(), self._saved):
                    if n is not None:  # a library that cannot report its count was not set
                        c.set_num_threads(n)


one_blas_thread = _OneBlasThread()
