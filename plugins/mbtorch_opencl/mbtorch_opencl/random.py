"""IOTA and PHILOX: the core's counter-based stream (``plugin_api.philox_words``) on device,
one work item per Philox block of four words."""

from __future__ import annotations

import numpy as np

from mbtorch.core import dtypes as dt
from mbtorch.core.plugin_api import PHILOX_M, PHILOX_ROUNDS, PHILOX_W

from . import codegen as cg
from .storage import DEVICES, alloc

__all__ = ["philox", "iota"]

_PHILOX = f"""
__kernel void philox(__global long* out, ulong first, long start, long n, long blocks,
                     uint k0, uint k1)
{{
    long gid = get_global_id(0);
    if (gid >= blocks) return;
    ulong block = first + (ulong)gid;
    uint c0 = (uint)block, c1 = (uint)(block >> 32), c2 = 0, c3 = 0;
    for (int r = 0; r < {PHILOX_ROUNDS}; ++r) {{
        uint lo0 = c0 * {PHILOX_M[0]}u, hi0 = mul_hi(c0, {PHILOX_M[0]}u);
        uint lo1 = c2 * {PHILOX_M[1]}u, hi1 = mul_hi(c2, {PHILOX_M[1]}u);
        c0 = hi1 ^ c1 ^ k0; c1 = lo1; c2 = hi0 ^ c3 ^ k1; c3 = lo0;
        k0 += {PHILOX_W[0]}u; k1 += {PHILOX_W[1]}u;
    }}
    uint w[4] = {{c0, c1, c2, c3}};
    long base = gid * 4 - start;
    for (int j = 0; j < 4; ++j) {{
        long o = base + j;
        if (o >= 0 && o < n) out[o] = (long)w[j];
    }}
}}
"""
_IOTA = """
__kernel void iota(__global long* out, long n)
{
    long gid = get_global_id(0);
    if (gid < n) out[gid] = gid;
}
"""
_I64 = np.int64


def philox(seed, offset, n, device_index):
    """Words ``offset .. offset+n-1`` of the stream for ``seed`` (int64 in [0, 2**32))."""
    dev = DEVICES[device_index]
    out = alloc(dev, (n,), dt.int64)
    first, last = offset // 4, (offset + n + 3) // 4
    k = cg.get_kernel(dev, "philox", "philox", lambda: _PHILOX,
                      [None, np.uint64, _I64, _I64, _I64, np.uint32, np.uint32])
    cg.launch(dev, k, last - first, out.buf, first, offset - first * 4, n, last - first,
              seed & 0xFFFFFFFF, (seed >> 32) & 0xFFFFFFFF)
    return out


def iota(n, device_index):
    dev = DEVICES[device_index]
    out = alloc(dev, (n,), dt.int64)
    k = cg.get_kernel(dev, "iota", "iota", lambda: _IOTA, [None, _I64])
    cg.launch(dev, k, n, out.buf, n)
    return out
