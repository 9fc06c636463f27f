"""The ``PHILOX`` primitive for NumPy, in cache-sized chunks.

``mbtorch.core.plugin_api.philox_words`` defines the stream with whole-array expressions: right
for CuPy (one launch per expression), but on the host each of its ~100 expressions walks
arrays as long as the request, so a large draw (a 4096x25088 Linear's initialization: 100M
words) streams gigabytes through memory and allocates a temporary per expression. This kernel
computes the same words block range by block range, each chunk's state in preallocated
buffers small enough for the CPU cache, every step written in place (``out=``), and each
chunk's four lanes stored straight into the int64 result. The tests check it against
``philox_words`` word for word (offsets inside a block, chunk boundaries, large seeds).
"""

from __future__ import annotations

__all__ = ["philox_words_chunked", "CHUNK_BLOCKS"]

from typing import Any

from mbtorch.core.plugin_api import PHILOX_M, PHILOX_ROUNDS, PHILOX_W

CHUNK_BLOCKS = 1 << 13
"""Philox blocks (four words each) per chunk: eight uint64 buffers of this length, 512 KiB in
all, stay in a core's L2 cache."""

_MASK32 = 0xFFFFFFFF


def philox_words_chunked(np: Any, seed: int, offset: int, n: int) -> Any:
    """Words ``offset .. offset+n-1`` of the stream for ``seed`` as int64 in [0, 2**32): the
    same values as ``plugin_api.philox_words(np, seed, offset, n)``."""
    u64 = np.uint64
    first, last = offset // 4, (offset + n + 3) // 4
    blocks = last - first
    out = np.empty((blocks, 4), dtype=np.int64)
    size = max(1, min(CHUNK_BLOCKS, blocks))
    c0, c1, c2, c3, p0, p1, t0, t1 = (np.empty(size, dtype=u64) for _ in range(8))
    m0, m1, mask, s32 = u64(PHILOX_M[0]), u64(PHILOX_M[1]), u64(_MASK32), u64(32)
    keys = []
    k0, k1 = seed & _MASK32, (seed >> 32) & _MASK32
    for _ in range(PHILOX_ROUNDS):
        keys.append((u64(k0), u64(k1)))
        k0 = (k0 + PHILOX_W[0]) & _MASK32
        k1 = (k1 + PHILOX_W[1]) & _MASK32
    for start in range(0, blocks, size):
        m = min(size, blocks - start)
        a0, a1, a2, a3 = c0[:m], c1[:m], c2[:m], c3[:m]
        q0, q1, r0, r1 = p0[:m], p1[:m], t0[:m], t1[:m]
        # the counter (block mod 2**32, block >> 32, 0, 0)
        a0[...] = np.arange(first + start, first + start + m, dtype=u64)
        np.right_shift(a0, s32, out=a1)
        np.bitwise_and(a0, mask, out=a0)
        a2.fill(0)
        a3.fill(0)
        for key0, key1 in keys:
            np.multiply(a0, m0, out=q0)
            np.multiply(a2, m1, out=q1)
            # new c0 = hi(p1) ^ c1 ^ k0 and new c2 = hi(p0) ^ c3 ^ k1, then the low halves
            np.right_shift(q1, s32, out=r0)
            np.bitwise_xor(r0, a1, out=r0)
            np.bitwise_xor(r0, key0, out=a0)
            np.right_shift(q0, s32, out=r1)
            np.bitwise_xor(r1, a3, out=r1)
            np.bitwise_xor(r1, key1, out=a2)
            np.bitwise_and(q1, mask, out=a1)
            np.bitwise_and(q0, mask, out=a3)
        rows = out[start:start + m]
        rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3] = a0, a1, a2, a3
    skip = offset - first * 4
    flat = out.reshape(-1)
    return flat if skip == 0 and flat.size == n else flat[skip:skip + n]
