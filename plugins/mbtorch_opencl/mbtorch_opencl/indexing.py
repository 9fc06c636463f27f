"""GATHER, SCATTER and NONZERO.

Index bounds are checked on the device: an out-of-range index sets an error word (flag and
the offending value) that the host reads back after the launch and turns into
``plugin_api.index_error``, so a bad index never reads or writes stray memory. Negative
indices in ``[-size, 0)`` count from the end, as in the cpu backend.

SCATTER runs one work item per *line* along ``dim`` (all other coordinates fixed): two
positions of ``index`` that differ outside ``dim`` write different output lines, so the
lines never race, and each item applies its line in order, which makes ``reduce='none'``
"last write wins" and ``'add'`` deterministic without atomics.
"""

from __future__ import annotations

import numpy as np

from mbtorch.core import dtypes as dt
from mbtorch.core.plugin_api import index_error

from . import codegen as cg
from .storage import CLArray, alloc, contiguous_strides

__all__ = ["NZ_BLOCK", "gather", "scatter", "nonzero"]

NZ_BLOCK = 256


def _params(idx_t: str, rank: int, names: tuple) -> str:
    out = [f"{idx_t} sh{d}" for d in range(rank)]
    for n in names:
        out += [f"{idx_t} {n}_st{d}" for d in range(rank)]
    return ", ".join(out)


def _around(shape: tuple, dim: int, strides: list[tuple]) -> tuple[tuple, list[tuple], int]:
    """``shape`` with the dims before ``dim`` and those after it each merged where every
    operand's strides allow (``dim`` itself kept): one division fewer per merged dim in the
    kernels' index arithmetic, which is most of their time on a CPU device. Returns the
    shape, the operands' strides and where ``dim`` went."""
    pre, pre_st = cg.collapse(shape[:dim], [st[:dim] for st in strides])
    post, post_st = cg.collapse(shape[dim + 1:], [st[dim + 1:] for st in strides])
    merged = [p + (st[dim],) + q for p, q, st in zip(pre_st, post_st, strides)]
    return pre + (shape[dim],) + post, merged, len(pre)


def _check(op: str, dev, size: int, dim: int) -> None:
    flag, value = dev.read_error()
    if flag:
        raise index_error(op, "index", value, size, dim)


_GATHER = """
__kernel void gather(__global {ot}* out, __global const {xt}* x, {it} x_off,
                     __global const long* ix, {it} ix_off, {it} n, {it} size,
                     __global long* err, {params})
{{
    {it} gid = get_global_id(0);
    if (gid >= n) return;
    {unravel}
    long v = ix[ix_off + {ixoff}];
    if (v < -size || v >= size) {{ err[0] = 1; err[1] = v; return; }}
    if (v < 0) v += size;
    {it} c{dim} = ({it})v;
    {store}
}}
"""


def gather(x: CLArray, dim: int, index: CLArray) -> CLArray:
    dev = x.dev
    out = alloc(dev, index.shape, x.dtype)
    if out.size == 0:
        return out
    size = x.shape[dim]
    # out is contiguous and written in row-major order, which merging dims keeps
    shape, (x_st, ix_st), k = _around(index.shape, dim, [x.strides, index.strides])
    rank = len(shape)
    idx_t = cg.index_type(x, index, out)
    it = np.int32 if idx_t == "int" else np.int64

    def source() -> str:
        ixoff = " + ".join(f"c{d} * ix_st{d}" for d in range(rank))
        xoff = "x_off + " + " + ".join(f"c{d} * x_st{d}" for d in range(rank))
        return _GATHER.format(
            ot=cg.sctype(x.dtype), xt=cg.sctype(x.dtype), it=idx_t,
            params=_params(idx_t, rank, ("x", "ix")), dim=f"{k}_",
            unravel=cg.unravel(rank, idx_t, shape="sh"), ixoff=ixoff,
            store=_copy_elem(x.dtype, "out", "gid", "x", xoff.replace(f"c{k} ", f"c{k}_ ")))

    kernel = cg.get_kernel(dev, ("gather", x.dtype, rank, k, idx_t), "gather", source,
                           [None, None, it, None, it, it, it, None] + [it] * (3 * rank))
    cg.launch(dev, kernel, out.size, out.buf, x.buf, x.offset, index.buf, index.offset,
              out.size, size, dev.error_buffer(), *shape, *x_st, *ix_st)
    _check("gather", dev, size, dim)
    return out


def _copy_elem(d: dt.dtype, dst: str, di: str, src: str, si: str) -> str:
    if d in cg.HALF_TYPES:  # move the bits: no float round trip
        return f"((__global ushort*){dst})[{di}] = ((__global const ushort*){src})[{si}];"
    return f"{dst}[{di}] = {src}[{si}];"


_SCATTER = """
__kernel void scatter(__global {xt}* out, __global const long* ix, {it} ix_off,
                      __global const {xt}* src, {it} src_off, {it} lines, {it} size,
                      {it} len, {it} out_st, __global long* err, {params})
{{
    {it} gid = get_global_id(0);
    if (gid >= lines) return;
    {unravel}
    {it} ib = ix_off + {ixoff}, sb = src_off + {srcoff}, ob = {outoff};
    for ({it} t = 0; t < len; ++t) {{
        long v = ix[ib + t * ix_st{dim}];
        if (v < -size || v >= size) {{ err[0] = 1; err[1] = v; return; }}
        if (v < 0) v += size;
        {it} o = ob + ({it})v * out_st;
        {body}
    }}
}}
"""


def scatter(x: CLArray, dim: int, index: CLArray, src, reduce: str) -> CLArray:
    from .pointwise import cast_copy, copy_

    dev = x.dev
    out = cast_copy(x)
    if index.size == 0:
        return out
    if not isinstance(src, CLArray):
        full = alloc(dev, index.shape, x.dtype)
        copy_(full, src)
        src = full
    shape, (ix_st, src_st, o_st), k = _around(index.shape, dim,
                                              [index.strides, src.strides, out.strides])
    rank = len(shape)
    line_shape = tuple(1 if i == k else s for i, s in enumerate(shape))
    lines = int(np.prod(line_shape))
    idx_t = cg.index_type(out, index, src)
    it = np.int32 if idx_t == "int" else np.int64
    d = x.dtype

    def source() -> str:
        sval = f"src[sb + t * src_st{k}]"
        if reduce == "add":
            cur = cg.load(d, "out", "o")
            val = f"({cur}) + ({cg.load(d, 'src', f'sb + t * src_st{k}')})"
            body = cg.store(d, "out", "o", val)
        else:
            body = _copy_elem(d, "out", "o", "src", sval[4:-1])
        return _SCATTER.format(
            xt=cg.sctype(d), it=idx_t, params=_params(idx_t, rank, ("ix", "src", "o")),
            unravel=cg.unravel(rank, idx_t, shape="sh"), dim=k, body=body,
            ixoff=" + ".join(f"c{i} * ix_st{i}" for i in range(rank)),
            srcoff=" + ".join(f"c{i} * src_st{i}" for i in range(rank)),
            outoff=" + ".join(f"c{i} * o_st{i}" for i in range(rank)))

    kernel = cg.get_kernel(dev, ("scatter", d, rank, k, reduce, idx_t), "scatter", source,
                           [None, None, it, None, it, it, it, it, it, None]
                           + [it] * (4 * rank))
    cg.launch(dev, kernel, lines, out.buf, index.buf, index.offset, src.buf, src.offset, lines,
              x.shape[dim], index.shape[dim], out.strides[dim], dev.error_buffer(),
              *line_shape, *ix_st, *src_st, *o_st)
    _check("scatter", dev, x.shape[dim], dim)
    return out


_NONZERO = """
__kernel void nz(__global const {xt}* x, {it} x_off, {it} n, __global long* counts,
                 __global long* out, {it} pass, {params})
{{
    {it} b = get_global_id(0);
    {it} start = b * {block};
    if (start >= n) return;
    {it} end = min(n, start + {block});
    long k = pass ? counts[b] : 0;
    for ({it} gid = start; gid < end; ++gid) {{
        {unravel}
        if ({test}) {{
            if (pass) {{ {write} }}
            ++k;
        }}
    }}
    if (!pass) counts[b] = k;
}}
"""


def nonzero(x: CLArray) -> CLArray:
    dev = x.dev
    rank = len(x.shape)
    shape = x.shape if rank else (1,)
    strides = x.strides if rank else (1,)
    r = len(shape)
    n = x.size
    if n == 0:
        return alloc(dev, (0, rank), dt.int64)
    blocks = -(-n // NZ_BLOCK)
    idx_t = cg.index_type(x)
    it = np.int32 if idx_t == "int" else np.int64

    def source() -> str:
        xoff = "x_off + " + " + ".join(f"c{d} * x_st{d}" for d in range(r))
        write = " ".join(f"out[k * {rank} + {d}] = c{d};" for d in range(rank))
        return _NONZERO.format(xt=cg.sctype(x.dtype), it=idx_t, block=NZ_BLOCK,
                               params=_params(idx_t, r, ("x",)), write=write,
                               unravel=cg.unravel(r, idx_t, shape="sh"),
                               test=f"({cg.load(x.dtype, 'x', xoff)}) != 0")

    kernel = cg.get_kernel(dev, ("nonzero", x.dtype, r, idx_t), "nz", source,
                           [None, it, it, None, None, it] + [it] * (2 * r))
    counts = alloc(dev, (blocks,), dt.int64)
    args = (x.buf, x.offset, n, counts.buf)
    cg.launch(dev, kernel, blocks, *args, counts.buf, 0, *shape, *strides)
    host = np.empty(blocks, np.int64)
    import pyopencl as cl

    cl.enqueue_copy(dev.queue, host, counts.buf)
    total = int(host.sum())
    starts = np.concatenate([[0], np.cumsum(host)[:-1]]).astype(np.int64)
    out = alloc(dev, (total, rank), dt.int64)
    if total and rank:
        cl.enqueue_copy(dev.queue, counts.buf, starts)
        cg.launch(dev, kernel, blocks, *args, out.buf, 1, *shape, *strides)
    return CLArray(out.buf, (total, rank), contiguous_strides((total, rank)), 0, dt.int64, dev)
