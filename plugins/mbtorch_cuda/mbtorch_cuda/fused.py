"""Fused CUDA kernels: one launch where the decomposition would take several.

- ``PHILOX``: Philox4x32-10 as a CuPy ``ElementwiseKernel``, one thread per block of four
  words, exactly the stream of ``plugin_api.philox_words`` (its constants come from there).
- ``SOFTMAX`` / ``LOG_SOFTMAX``: a ``RawKernel``, one CUDA block per row: a NaN-propagating max,
  the sum of ``exp(x - max)`` (shared-memory tree reductions), then the outputs, in one pass
  over global memory per step instead of the decomposition's five kernels and temporaries.
- ``SIGMOID`` / ``RELU``: ``ElementwiseKernel``\\ s (the decompositions launch three and two).

The CUDA sources are module-level strings so that tests can compile them with a host C++
compiler (``tests/plugins/test_cuda.py``) on machines without a GPU. float16 and bfloat16 are
widened to float32, computed, and rounded once, as PyTorch's kernels accumulate.
"""

from __future__ import annotations

from string import Template
from typing import Any, Callable

import numpy as np

from mbtorch.core import dtypes as dt
from mbtorch.core.host import NUMPY_DTYPES
from mbtorch.core.op import Op
from mbtorch.core.plugin_api import PHILOX_M, PHILOX_ROUNDS, PHILOX_W

__all__ = [
    "PHILOX_IN", "PHILOX_OUT", "PHILOX_BODY", "philox_span", "philox_key", "SOFTMAX_BLOCK",
    "SOFTMAX_SOURCE", "SOFTMAX_TYPES", "softmax_source", "softmax_threads", "SIGMOID_BODY",
    "RELU_BODY", "build"
]

# -- Philox4x32-10 ---------------------------------------------------------------------------
PHILOX_IN = "uint32 k0, uint32 k1, uint64 first"
PHILOX_OUT = "raw int64 out"
PHILOX_BODY = f"""
unsigned long long b = first + (unsigned long long)i;
unsigned int c0 = (unsigned int)b, c1 = (unsigned int)(b >> 32), c2 = 0u, c3 = 0u;
unsigned int key0 = k0, key1 = k1;
for (int r = 0; r < {PHILOX_ROUNDS}; ++r) {{
    unsigned int hi0 = __umulhi({PHILOX_M[0]:#x}u, c0), lo0 = {PHILOX_M[0]:#x}u * c0;
    unsigned int hi1 = __umulhi({PHILOX_M[1]:#x}u, c2), lo1 = {PHILOX_M[1]:#x}u * c2;
    c0 = hi1 ^ c1 ^ key0;
    c1 = lo1;
    c2 = hi0 ^ c3 ^ key1;
    c3 = lo0;
    key0 += {PHILOX_W[0]:#x}u;
    key1 += {PHILOX_W[1]:#x}u;
}}
out[4 * i] = c0;
out[4 * i + 1] = c1;
out[4 * i + 2] = c2;
out[4 * i + 3] = c3;
"""
"""The loop body: ``i`` is the Philox block (counter ``first + i``), which writes words
``4 i .. 4 i + 3`` of ``out``."""



def philox_span(offset: int, n: int) -> tuple[int, int, int]:
    """``(first block, number of blocks, start)``: words ``offset .. offset+n-1`` are
    ``out[start:start+n]`` of the blocks ``first ..`` (four words each)."""
    first, last = offset // 4, (offset + n + 3) // 4
    return first, last - first, offset - 4 * first


def philox_key(seed: int) -> tuple[np.uint32, np.uint32]:
    """The Philox key ``(seed mod 2**32, seed >> 32 mod 2**32)``."""
    return np.uint32(seed & 0xFFFFFFFF), np.uint32((seed >> 32) & 0xFFFFFFFF)


# -- softmax / log_softmax over the last axis of a contiguous (rows, n) array ----------------
SOFTMAX_BLOCK = 256
"""Threads per block at most (a power of two: the tree reductions halve it)."""

SOFTMAX_SOURCE = Template("""
extern "C" __global__ void mbt_softmax_${name}(const ${T}* x, ${T}* y, long long n,
                                              int log_out) {
    __shared__ ${T} red[${block}];
    const long long base = (long long)blockIdx.x * n;
    const int tid = threadIdx.x;
    const int nt = blockDim.x;
    ${T} m = x[base];
    for (long long j = tid; j < n; j += nt) {
        ${T} v = x[base + j];
        m = (v > m || v != v) ? v : m;
    }
    red[tid] = m;
    __syncthreads();
    for (int s = nt / 2; s > 0; s >>= 1) {
        if (tid < s) {
            ${T} v = red[tid + s];
            red[tid] = (v > red[tid] || v != v) ? v : red[tid];
        }
        __syncthreads();
    }
    m = red[0];
    __syncthreads();
    ${T} total = 0;
    for (long long j = tid; j < n; j += nt) total += ${exp}(x[base + j] - m);
    red[tid] = total;
    __syncthreads();
    for (int s = nt / 2; s > 0; s >>= 1) {
        if (tid < s) red[tid] += red[tid + s];
        __syncthreads();
    }
    total = red[0];
    if (log_out) {
        const ${T} lse = ${log}(total);
        for (long long j = tid; j < n; j += nt) y[base + j] = (x[base + j] - m) - lse;
    } else {
        for (long long j = tid; j < n; j += nt) y[base + j] = ${exp}(x[base + j] - m) / total;
    }
}
""")
SOFTMAX_TYPES = {"float32": ("float", "expf", "logf"), "float64": ("double", "exp", "log")}


def softmax_source(dtype_name: str) -> str:
    """The CUDA source of the row softmax kernel ``mbt_softmax_<dtype_name>``."""
    t, exp, log = SOFTMAX_TYPES[dtype_name]
    return SOFTMAX_SOURCE.substitute(name=dtype_name, T=t, exp=exp, log=log,
                                     block=SOFTMAX_BLOCK)


def softmax_threads(n: int) -> int:
    """Threads per row: a power of two from one warp up to ``SOFTMAX_BLOCK``."""
    threads = 32
    while threads < n and threads < SOFTMAX_BLOCK:
        threads *= 2
    return threads


# -- elementwise -----------------------------------------------------------------------------
SIGMOID_BODY = {"float32": "y = 1.0f / (expf(-x) + 1.0f)",
                "float64": "y = 1.0 / (exp(-x) + 1.0)"}
"""As the decomposition ``1 / (exp(-x) + 1)``, in the input's precision."""
RELU_BODY = "y = x < (T)0 ? (T)0 : x"
"""As the decomposition ``where(x < 0, 0, x)``: keeps -0.0 and NaN, as PyTorch."""


def build(cp: Any, fallback: dict[Op, Callable]) -> dict[Op, Callable]:
    """The fused kernels for CuPy module ``cp``; ``fallback`` holds the shared xp kernels used
    for dtypes a fused kernel does not cover."""
    philox_kernel = cp.ElementwiseKernel(PHILOX_IN, PHILOX_OUT, PHILOX_BODY, "mbt_philox")
    raw = {name: cp.RawKernel(softmax_source(name), f"mbt_softmax_{name}")
           for name in SOFTMAX_TYPES}
    sigmoid = {name: cp.ElementwiseKernel(f"{name} x", f"{name} y", body, f"mbt_sigmoid_{name}")
               for name, body in SIGMOID_BODY.items()}
    relu_kernel = cp.ElementwiseKernel("T x", "T y", RELU_BODY, "mbt_relu")
    wide = (NUMPY_DTYPES[dt.float16], NUMPY_DTYPES[dt.bfloat16])
    f32 = np.dtype(np.float32)

    def philox(seed, offset, n, device_index):
        first, blocks, start = philox_span(offset, n)
        with cp.cuda.Device(device_index):
            out = cp.empty(4 * blocks, dtype=cp.int64)
            if blocks:
                philox_kernel(*philox_key(seed), np.uint64(first), out, size=blocks)
            return out[start:start + n]

    def rowwise(log_out: int) -> Callable:
        def kernel(x, dim):
            if x.dtype in wide:
                return kernel(x.astype(f32), dim).astype(x.dtype)
            n = x.shape[dim]
            if n == 0 or x.dtype.name not in raw:
                return fallback[Op.LOG_SOFTMAX if log_out else Op.SOFTMAX](x, dim)
            rows = cp.ascontiguousarray(cp.moveaxis(x, dim, -1))
            out = cp.empty_like(rows)
            if rows.size:
                raw[x.dtype.name]((rows.size // n,), (softmax_threads(n),),
                                  (rows, out, np.int64(n), np.int32(log_out)))
            return cp.moveaxis(out, -1, dim)

        return kernel

    def sigmoid_kernel(x):
        if x.dtype in wide:
            return sigmoid_kernel(x.astype(f32)).astype(x.dtype)
        return sigmoid[x.dtype.name](x)

    def relu(x):
        if x.dtype in wide:  # exact either way; CuPy's own where() knows these types
            return cp.where(x < 0, cp.zeros((), x.dtype), x)
        return relu_kernel(x)

    return {Op.PHILOX: philox, Op.SOFTMAX: rowwise(0), Op.LOG_SOFTMAX: rowwise(1),
            Op.SIGMOID: sigmoid_kernel, Op.RELU: relu}

