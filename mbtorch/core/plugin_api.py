"""The parts of the plugin contract that are code rather than a table (the primitive list
and calling conventions are ``op.PRIMITIVES``):

- ``index_error`` / ``zero_division_error``: the exceptions kernels raise, worded the same on
  every backend.
- ``philox_words``: the definition of the counter-based random stream of the ``PHILOX``
  primitive, written against any NumPy-like array module (NumPy, CuPy); other backends port it
  and the conformance suite checks they produce the same words.

Kernels themselves live with the backends: the NumPy-compatible kernel library shared by the
cpu and cuda backends is ``mbtorch_numpy.xp`` (in the ``mbtorch-numpy`` distribution).
"""

from __future__ import annotations

__all__ = [
    "PHILOX_M", "PHILOX_W", "PHILOX_ROUNDS", "index_error", "zero_division_error", "philox_words",
]

from typing import Any

PHILOX_M = (0xD2511F53, 0xCD9E8D57)
PHILOX_W = (0x9E3779B9, 0xBB67AE85)
PHILOX_ROUNDS = 10
_MASK32 = 0xFFFFFFFF


def index_error(op: str, arg: str, value: int, size: int, dim: int | None = None) -> IndexError:
    where = f" for dimension {dim}" if dim is not None else ""
    return IndexError(f"{op}(): index {value} is out of bounds{where} with size {size} "
                      f"(argument '{arg}')")


def zero_division_error(op: str) -> RuntimeError:
    return RuntimeError(f"ZeroDivisionError: {op}(): integer division by zero")


def philox_words(xp: Any, seed: int, offset: int, n: int) -> Any:
    """Words ``offset .. offset+n-1`` of the stream for ``seed``, as int64 in [0, 2**32).

    Word ``i`` is lane ``i % 4`` of Philox4x32-10 applied to the counter
    ``(i // 4 mod 2**32, i // 4 >> 32, 0, 0)`` with the key ``(seed mod 2**32, seed >> 32)``.
    """
    u64 = xp.uint64
    first, last = offset // 4, (offset + n + 3) // 4
    block = xp.arange(first, last, dtype=u64)
    c0 = block & u64(_MASK32)
    c1 = block >> u64(32)
    c2 = xp.zeros_like(block)
    c3 = xp.zeros_like(block)
    k0, k1 = seed & _MASK32, (seed >> 32) & _MASK32
    m0, m1, mask, s32 = u64(PHILOX_M[0]), u64(PHILOX_M[1]), u64(_MASK32), u64(32)
    for _ in range(PHILOX_ROUNDS):
        p0 = c0 * m0
        p1 = c2 * m1
        c0, c1, c2, c3 = ((p1 >> s32) ^ c1 ^ u64(k0), p1 & mask,
                          (p0 >> s32) ^ c3 ^ u64(k1), p0 & mask)
        k0 = (k0 + PHILOX_W[0]) & _MASK32
        k1 = (k1 + PHILOX_W[1]) & _MASK32
    words = xp.stack([c0, c1, c2, c3], axis=1).reshape(-1)
    start = offset - first * 4
    return words[start:start + n].astype(xp.int64)
