"""Reductions along any set of axes (SUM, PROD, AMAX, AMIN).

The input is seen as (kept dims) x (reduced dims), each group collapsed on its own. Two
kernel shapes, one template:

- *rows*: one work item per output and chunk of at most ``PER_ITEM`` reduced elements,
  walking them in order (the reduced coordinates advance with a carry, no division per
  element); partials are stored chunk-major, so adjacent items read and write adjacent
  outputs, and are reduced again the same way;
- *groups*: each work group reduces one chunk of one output (each item a strided partial,
  then a tree in local memory), writing a partial; the partials are reduced again the same
  way.

Which one (``_rows_fit``): short reductions always take *rows*; on a CPU device every
reduction does, because a work group's barriers and local-memory tree cost more there than
the sums themselves (PoCL 3.1: the bias gradient of a (128, 256) batch, a sum over dim 0,
took 0.62 ms as groups and 0.11 ms as rows; the column sums of a 2048^2 matrix 22 ms and
4.8 ms); on other devices *rows* takes many outputs whose reduced elements are not
contiguous, *groups* the rest. No item combines more than ``PER_ITEM`` elements serially,
which keeps float32 sums close to pairwise accuracy. A reduction's launches are planned once
per (kind, layout, dims) and kept per device (``CLDevice.reductions``).

Accumulators: float32 for float16/float32, double for float64, int64 for integers and bool
(stored back wrapped, as PyTorch's integer sums wrap).
"""

from __future__ import annotations

import numpy as np

from mbtorch.core import dtypes as dt

from . import codegen as cg
from .storage import CLArray, CLDevice, contiguous_strides

__all__ = ["PER_ITEM", "ROWS_MAX_R", "PLAN_CACHE", "acc_dtype", "reduce", "reduction_kernel"]

PER_ITEM = 64
ROWS_MAX_R = 32
PLAN_CACHE = 1024  # reduction plans kept per device; beyond it the cache starts over

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
    key = (kind, x.shape, x.strides, x.dtype, dims, keepdim)
    plan = x.dev.reductions.get(key)
    if plan is None or x.offset + plan.extent > cg.INT_MAX >= plan.extent:
        plan = _plan(kind, x, dims, keepdim)
        if len(x.dev.reductions) >= PLAN_CACHE:
            x.dev.reductions.clear()
        x.dev.reductions[key] = plan
    buf, off = x.buf, x.offset
    for kernel, size, local, n, dtype, args in plan.stages:
        out = x.dev.allocate(max(n, 1) * dtype.itemsize)
        if size:
            kernel(x.dev.queue, (size,), (local,), out, buf, off, *args)
        buf, off = out, 0
    return CLArray(buf, plan.shape, plan.strides, 0, x.dtype, x.dev)


class _Plan:
    """The launches of one reduction (per kind, layout, dims): each stage is ``(kernel,
    global size, local size, output elements, output dtype, scalar arguments after the
    offset)``, reading the previous stage's output (the first stage reads ``x``). Planning
    costs ~50 us of Python per call; a training step repeats the same reductions."""

    __slots__ = ("stages", "shape", "strides", "extent")

    def __init__(self, shape: tuple, extent: int) -> None:
        self.stages: list[tuple] = []
        self.shape = shape
        self.strides = contiguous_strides(shape)
        self.extent = extent  # x's last element + 1, less its offset


def _plan(kind: str, x: CLArray, dims: tuple, keepdim: bool) -> _Plan:
    out_shape = tuple(1 if i in dims else s for i, s in enumerate(x.shape)) if keepdim else \
        tuple(s for i, s in enumerate(x.shape) if i not in dims)
    plan = _Plan(out_shape, x.span()[1] - x.offset)
    ks, kst, rs, rst = _split(x, dims)
    _stages(plan, kind, x.dev, x.dtype, x.span()[1], ks, kst, rs, rst, x.dtype)
    return plan


def _stages(plan, kind, dev, in_dt, in_hi, ks, kst, rs, rst, out_dtype) -> None:
    """Append the launches reducing ``(ks, kst) x (rs, rst)`` of an ``in_dt`` array whose
    last element is below ``in_hi`` to ``plan``."""
    n_out = int(np.prod(ks, dtype=np.int64))
    r = int(np.prod(rs, dtype=np.int64))
    ls = dev.local_size
    if r <= ROWS_MAX_R or n_out == 0:
        _stage(plan, kind, "rows", dev, in_dt, in_hi, out_dtype, ks, kst, rs, rst, 1, r)
        return
    if _rows_fit(dev, n_out, rst):
        chunks = -(-r // PER_ITEM)
        mid = out_dtype if chunks == 1 else acc_dtype(in_dt)
        _stage(plan, kind, "rows", dev, in_dt, in_hi, mid, ks, kst, rs, rst, chunks,
               -(-r // chunks))
        if chunks > 1:  # partials are (chunks, n_out), contiguous: reduce their first axis
            _stages(plan, kind, dev, mid, n_out * chunks, (n_out,), (1,), (chunks,),
                    (n_out,), out_dtype)
        return
    chunks = -(-r // (ls * PER_ITEM))
    mid = out_dtype if chunks == 1 else acc_dtype(in_dt)
    _stage(plan, kind, "groups", dev, in_dt, in_hi, mid, ks, kst, rs, rst, chunks,
           -(-r // chunks))
    if chunks > 1:  # partials are (n_out, chunks), contiguous: reduce their last axis
        _stages(plan, kind, dev, mid, n_out * chunks, (n_out,), (chunks,), (chunks,), (1,),
                out_dtype)


def _rows_fit(dev: CLDevice, n_out: int, rst: tuple) -> bool:
    """Whether chunked *rows* suit: on a CPU device always (on PoCL 3.1, in CPU time, rows
    ran the MLP's and CNN's bias gradients 1.5-7x faster than groups, a full 3M-element sum
    1.3x, and lost only on long contiguous rows, 2048^2 summed along dim 1, by ~1.2x); on
    other devices with a work group's worth of outputs whose reduced elements are not
    contiguous, so that adjacent items read adjacent elements (a GPU reads a contiguous row
    faster as a work group)."""
    return dev.cpu or (n_out >= dev.local_size and rst[-1] != 1)


def _stage(plan, kind, shape_kind, dev, in_dt, in_hi, out_dt, ks, kst, rs, rst, chunks,
           chunk) -> None:
    n_out = int(np.prod(ks, dtype=np.int64))
    r = int(np.prod(rs, dtype=np.int64))
    kr, rr = len(ks), len(rs)
    n = n_out * chunks
    idx_t = "long" if max(in_hi, n) > cg.INT_MAX else "int"
    key = ("reduce", kind, shape_kind, in_dt, out_dt, kr, rr, idx_t)
    it = np.int32 if idx_t == "int" else np.int64
    n_scalar = 5 + max(kr - 1, 0) + kr + max(rr - 1, 0) + rr
    kernel = cg.get_kernel(
        dev, key, "red",
        lambda: _source(kind, shape_kind, in_dt, out_dt, kr, rr, idx_t, dev.local_size),
        [None, None] + [it] * n_scalar)
    args = (n_out, r, chunks, chunk, *ks[1:], *kst, *rs[1:], *rst)
    local = dev.local_size
    items = n if shape_kind == "rows" else n * local
    plan.stages.append((kernel, -(-items // local) * local, local, n, out_dt, args))


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
    {idx_t} g = get_global_id(0);
    if (g >= n_out * C) return;
    {idx_t} c = g / n_out;
    {idx_t} o = g - c * n_out;
    {cg.unravel(kr, idx_t, "o", "k", "ksh")}
    {idx_t} base = {base};
    {acc} acc = {ident};
    {idx_t} end = min(R, (c + 1) * CH);
    {idx_t} j0 = c * CH;
    {cg.unravel(rr, idx_t, "j0", "r", "rsh")}
    for ({idx_t} j = j0; j < end; ++j) {{
        acc = combine(acc, ({acc})({load}));
        {_advance(rr)}
    }}
    {cg.store(out_dt, "out", "g", "acc", acc_dtype(in_dt))}"""
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


def _advance(rr: int) -> str:
    """C code stepping the reduced coordinates ``r0..`` to the next element in row-major
    order: a carry chain instead of a division per element (rsh0 needs no bound: the loop
    ends first)."""
    if rr == 0:
        return ""
    code = "++r0;"
    for d in range(1, rr):
        code = f"if (++r{d} == rsh{d}) {{ r{d} = 0; {code} }}"
    return code


def reduction_kernel(kind: str):
    def kernel(x, dims, keepdim):
        return reduce(kind, x, tuple(dims), keepdim)

    kernel.__name__ = kind
    return kernel
