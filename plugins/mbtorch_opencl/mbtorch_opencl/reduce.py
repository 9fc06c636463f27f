"""Reductions along any set of axes (SUM, PROD, AMAX, AMIN).

The input is seen as (kept dims) x (reduced dims), each group collapsed on its own. Two
kernel shapes, one template:

- *rows*: one work item per output, looping over the reduced elements (many outputs, short
  reductions);
- *groups*: each work group reduces one chunk of one output (each item a strided partial,
  then a tree in local memory), writing a partial; the partials are reduced again the same
  way. No item sums more than ``PER_ITEM`` elements serially, which keeps float32 sums close
  to pairwise accuracy.

Accumulators: float32 for float16/float32, double for float64, int64 for integers and bool
(stored back wrapped, as PyTorch's integer sums wrap).
"""

from __future__ import annotations

import numpy as np

from mbtorch.core import dtypes as dt

from . import codegen as cg
from .storage import CLArray, alloc, contiguous_strides

__all__ = ["PER_ITEM", "ROWS_MAX_R", "acc_dtype", "reduce", "reduction_kernel"]

PER_ITEM = 64
ROWS_MAX_R = 32

_IDENTITY = {"sum": "0", "prod": "1", "amax": "-INFINITY", "amin": "INFINITY"}
_INT_IDENTITY = {"sum": "0", "prod": "1", "amax": "LONG_MIN", "amin": "LONG_MAX"}
_COMBINE = {
    "sum": "a + b", "prod": "a * b",
    "amax": "((isnan(a) || a > b) ? a : b)", "amin": "((isnan(a) || a < b) ? a : b)",
}


def acc_dtype(d: dt.dtype) -> dt.dtype:
    if d.category == dt.FLOATING_CATEGORY:
        return dt.float64 if d is dt.float64 else dt.float32
    return dt.int64


def _split(x: CLArray, dims: tuple) -> tuple[tuple, tuple, tuple, tuple]:
    keep = [i for i in range(len(x.shape)) if i not in dims]
    ks, kst = cg.collapse(tuple(x.shape[i] for i in keep), [tuple(x.strides[i] for i in keep)])
    rs, rst = cg.collapse(tuple(x.shape[i] for i in dims), [tuple(x.strides[i] for i in dims)])
    return ks, kst[0], rs, rst[0]


def reduce(kind: str, x: CLArray, dims: tuple, keepdim: bool) -> CLArray:
    out_shape = tuple(1 if i in dims else s for i, s in enumerate(x.shape)) if keepdim else \
        tuple(s for i, s in enumerate(x.shape) if i not in dims)
    ks, kst, rs, rst = _split(x, dims)
    out = _reduce_to(kind, x, x.offset, ks, kst, rs, rst, x.dtype)
    return CLArray(out.buf, out_shape, contiguous_strides(out_shape), 0, x.dtype, x.dev)


def _reduce_to(kind, x, off, ks, kst, rs, rst, out_dtype) -> CLArray:
    dev = x.dev
    n_out = int(np.prod(ks, dtype=np.int64))
    r = int(np.prod(rs, dtype=np.int64))
    if r <= ROWS_MAX_R or n_out == 0:
        out = alloc(dev, (n_out,), out_dtype)
        _launch(kind, "rows", x, off, out, ks, kst, rs, rst, n_out, r, 1, r)
        return out
    ls = dev.local_size
    chunks = -(-r // (ls * PER_ITEM))
    chunk = -(-r // chunks)
    final = chunks == 1
    out = alloc(dev, (n_out * chunks,), out_dtype if final else acc_dtype(x.dtype))
    _launch(kind, "groups", x, off, out, ks, kst, rs, rst, n_out, r, chunks, chunk)
    if final:
        return out
    # partials are (n_out, chunks), contiguous: reduce their last axis
    return _reduce_to(kind, out, 0, (n_out,), (chunks,), (chunks,), (1,), out_dtype)


def _launch(kind, shape_kind, x, off, out, ks, kst, rs, rst, n_out, r, chunks, chunk):
    dev = x.dev
    kr, rr = len(ks), len(rs)
    idx_t = cg.index_type(x, out)
    key = ("reduce", kind, shape_kind, x.dtype, out.dtype, kr, rr, idx_t)
    it = np.int32 if idx_t == "int" else np.int64
    n_scalar = 5 + max(kr - 1, 0) + kr + max(rr - 1, 0) + rr
    kernel = cg.get_kernel(
        dev, key, "red",
        lambda: _source(kind, shape_kind, x.dtype, out.dtype, kr, rr, idx_t, dev.local_size),
        [None, None] + [it] * n_scalar)
    args = [out.buf, x.buf, off, n_out, r, chunks, chunk, *ks[1:], *kst, *rs[1:], *rst]
    if shape_kind == "rows":
        cg.launch(dev, kernel, n_out, *args)
    else:
        cg.launch(dev, kernel, n_out * chunks * dev.local_size, *args)


def _source(kind, shape_kind, in_dt, out_dt, kr, rr, idx_t, ls) -> str:
    acc = cg.ctype(acc_dtype(in_dt))
    floating = in_dt.category == dt.FLOATING_CATEGORY
    ident = (_IDENTITY if floating else _INT_IDENTITY)[kind]
    comb = _COMBINE[kind] if floating else _COMBINE[kind].replace("isnan(a) || ", "")
    params = [f"__global {cg.sctype(out_dt)}* out", f"__global const {cg.sctype(in_dt)}* x",
              f"{idx_t} x_off", f"{idx_t} n_out", f"{idx_t} R", f"{idx_t} C", f"{idx_t} CH"]
    params += [f"{idx_t} ksh{d}" for d in range(1, kr)] + [f"{idx_t} kst{d}" for d in range(kr)]
    params += [f"{idx_t} rsh{d}" for d in range(1, rr)] + [f"{idx_t} rst{d}" for d in range(rr)]
    base = " + ".join(["x_off"] + [f"k{d} * kst{d}" for d in range(kr)])
    roff = " + ".join([f"r{d} * rst{d}" for d in range(rr)]) or "0"
    load = cg.load(in_dt, "x", f"base + ({roff})")
    step = f"""
        {cg.unravel(rr, idx_t, "j", "r", "rsh")}
        acc = combine(acc, ({acc})({load}));"""
    if shape_kind == "rows":
        body = f"""
    {idx_t} o = get_global_id(0);
    if (o >= n_out) return;
    {cg.unravel(kr, idx_t, "o", "k", "ksh")}
    {idx_t} base = {base};
    {acc} acc = {ident};
    for ({idx_t} j = 0; j < R; ++j) {{{step}
    }}
    {cg.store(out_dt, "out", "o", "acc", acc_dtype(in_dt))}"""
        attr = ""
    else:
        body = f"""
    __local {acc} part[{ls}];
    {idx_t} g = get_group_id(0);
    int lid = get_local_id(0);
    {idx_t} o = g / C;
    {idx_t} c = g - o * C;
    {cg.unravel(kr, idx_t, "o", "k", "ksh")}
    {idx_t} base = {base};
    {acc} acc = {ident};
    {idx_t} end = min(R, (c + 1) * CH);
    for ({idx_t} j = c * CH + lid; j < end; j += {ls}) {{{step}
    }}
    part[lid] = acc;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = {ls // 2}; s > 0; s >>= 1) {{
        if (lid < s) part[lid] = combine(part[lid], part[lid + s]);
        barrier(CLK_LOCAL_MEM_FENCE);
    }}
    if (lid == 0) {{ {cg.store(out_dt, "out", "g", "part[0]", acc_dtype(in_dt))} }}"""
        attr = f"__attribute__((reqd_work_group_size({ls}, 1, 1)))"
    return (f"inline {acc} combine({acc} a, {acc} b) {{ return {comb}; }}\n"
            f"__kernel {attr} void red({', '.join(params)})\n{{{body}\n}}\n")


def reduction_kernel(kind: str):
    def kernel(x, dims, keepdim):
        return reduce(kind, x, tuple(dims), keepdim)

    kernel.__name__ = kind
    return kernel
