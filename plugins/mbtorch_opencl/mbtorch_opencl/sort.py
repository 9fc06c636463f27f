"""SORT: a bitonic sorting network over (key, original index) pairs, all lines at once.

The comparison orders by key (NaN above +inf; reversed for descending) and then by original
index, a strict total order, so the unstable network gives the stable result. Each line is
padded to a power of two with entries marked by an index >= n, which sort last in either
direction. One launch per network stage, over every line.
"""

from __future__ import annotations

import numpy as np

from mbtorch.core import dtypes as dt

from . import codegen as cg
from .storage import CLArray, alloc, contiguous_strides

__all__ = ["sort"]

_SORT = """
inline int before({kt} ka, long ia, {kt} kb, long ib, long n)
{{
    if (ia >= n || ib >= n) return ia < ib;
    int na = {isnan_a}, nb = {isnan_b};
    if (na != nb) return {nan_first} ? na : nb;
    if (!na && ka != kb) return {desc} ? ka > kb : ka < kb;
    return ia < ib;
}}

__kernel void init(__global {kt}* key, __global long* idx, __global const {kt}* x,
                   long lines, long n, long P)
{{
    long gid = get_global_id(0);
    if (gid >= lines * P) return;
    long line = gid / P, i = gid - line * P;
    key[gid] = i < n ? x[line * n + i] : 0;
    idx[gid] = i;
}}

__kernel void stage(__global {kt}* key, __global long* idx, long lines, long n, long P,
                    long k, long j)
{{
    long gid = get_global_id(0);
    if (gid >= lines * P) return;
    long line = gid / P, i = gid - line * P, l = i ^ j;
    if (l <= i) return;
    long a = line * P + i, b = line * P + l;
    {kt} ka = key[a], kb = key[b];
    long ia = idx[a], ib = idx[b];
    int up = (i & k) == 0;
    int ordered = before(ka, ia, kb, ib, n);
    if (ordered != up) {{ key[a] = kb; key[b] = ka; idx[a] = ib; idx[b] = ia; }}
}}

__kernel void finish(__global {kt}* vals, __global long* inds, __global const {kt}* key,
                     __global const long* idx, long lines, long n, long P)
{{
    long gid = get_global_id(0);
    if (gid >= lines * n) return;
    long line = gid / n, i = gid - line * n;
    vals[gid] = key[line * P + i];
    inds[gid] = idx[line * P + i];
}}
"""


def _moved(x: CLArray, dim: int) -> CLArray:
    """A view of ``x`` with ``dim`` moved last."""
    order = [d for d in range(len(x.shape)) if d != dim] + [dim]
    return CLArray(x.buf, tuple(x.shape[d] for d in order), tuple(x.strides[d] for d in order),
                   x.offset, x.dtype, x.dev)


def _moved_back(y: CLArray, dim: int) -> CLArray:
    rank = len(y.shape)
    order = list(range(rank - 1))
    order.insert(dim, rank - 1)
    return CLArray(y.buf, tuple(y.shape[d] for d in order), tuple(y.strides[d] for d in order),
                   y.offset, y.dtype, y.dev)


def sort(x: CLArray, dim: int, descending: bool):
    from .pointwise import cast, cast_copy

    dev = x.dev
    if not x.shape:
        return cast_copy(x), _zeros_i64(dev, ())
    key_dt = dt.float32 if x.dtype in cg.HALF_TYPES else x.dtype
    xs = cast(_moved(x, dim), key_dt)  # contiguous (lines, n) in the key type
    n = x.shape[dim]
    lines = x.size // n if n else 0
    if x.size == 0:
        return cast_copy(x), _zeros_i64(dev, x.shape)
    p = 1 << max(n - 1, 0).bit_length()
    kt = cg.sctype(key_dt)
    fl = key_dt.category == dt.FLOATING_CATEGORY
    prg = _program(dev, key_dt, descending, kt, fl)
    key = alloc(dev, (lines * p,), key_dt)
    idx = alloc(dev, (lines * p,), dt.int64)
    total = lines * p
    cg.launch(dev, prg[0], total, key.buf, idx.buf, xs.buf, lines, n, p)
    k = 2
    while k <= p:
        j = k // 2
        while j >= 1:
            cg.launch(dev, prg[1], total, key.buf, idx.buf, lines, n, p, k, j)
            j //= 2
        k *= 2
    moved_shape = xs.shape
    vals = alloc(dev, moved_shape, key_dt)
    inds = alloc(dev, moved_shape, dt.int64)
    cg.launch(dev, prg[2], lines * n, vals.buf, inds.buf, key.buf, idx.buf, lines, n, p)
    # cast() writes a new contiguous array in x's layout, converting back from the key type
    return cast(_moved_back(vals, dim), x.dtype, force=True), cast_copy(_moved_back(inds, dim))


def _zeros_i64(dev, shape: tuple) -> CLArray:
    from .pointwise import copy_

    out = alloc(dev, shape, dt.int64)
    copy_(out, 0)
    return CLArray(out.buf, shape, contiguous_strides(shape), 0, dt.int64, dev)


def _program(dev, key_dt: dt.dtype, descending: bool, kt: str, fl: bool):
    i64 = np.int64
    src = _SORT.format(kt=kt, desc=int(descending), nan_first=int(descending),
                       isnan_a="isnan(ka)" if fl else "0", isnan_b="isnan(kb)" if fl else "0")
    key = ("sort", key_dt, descending)
    return (cg.get_kernel(dev, key + ("init",), "init", lambda: src, [None] * 3 + [i64] * 3),
            cg.get_kernel(dev, key + ("stage",), "stage", lambda: src, [None] * 2 + [i64] * 5),
            cg.get_kernel(dev, key + ("finish",), "finish", lambda: src,
                          [None] * 4 + [i64] * 3))
