"""Helpers for backend authors, so that backends share code instead of copying it.

- ``index_error`` / ``zero_division_error``: the exceptions kernels raise, worded the same on
  every backend.
- ``philox_words``: the counter-based random stream of the ``PHILOX`` primitive, written
  against any NumPy-like array module (NumPy, CuPy); other backends port it and the
  conformance suite checks they produce the same words.
- ``xp_kernels``: the whole primitive kernel table for a NumPy-compatible array module, so the
  NumPy and CuPy backends share one implementation.
- ``xp_composites``: native kernels for composites through such a module's own routines.
- ``xp_inplace_kernels``: in-place variants (``op.INPLACE``) through ufuncs' ``out=``.
"""

from __future__ import annotations

__all__ = [
    "PHILOX_M", "PHILOX_W", "PHILOX_ROUNDS", "index_error", "zero_division_error", "philox_words",
    "xp_kernels", "xp_composites", "xp_inplace_kernels"
]

from typing import Any, Callable

from . import dtypes as _dt
from .op import Op

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


def xp_kernels(xp: Any, native_dtype: Callable[[_dt.dtype], Any],
               erf: Callable[[Any], Any]) -> dict[Op, Callable]:
    """The primitive kernel table for a NumPy-compatible array module ``xp``.

    ``native_dtype`` maps mbtorch dtypes to ``xp`` dtypes; ``erf`` is the module's error
    function (``scipy.special.erf``, ``cupyx.scipy.special.erf``).
    """
    from . import _xp_kernels

    return _xp_kernels.build(xp, native_dtype, erf)


def xp_composites(xp: Any, native_dtype: Callable[[_dt.dtype], Any]) -> dict[Op, Callable]:
    """Native kernels for composites (``SUB``, ``ARGMAX``, ``VAR``, ``CUMSUM``, ``SOFTMAX``...)
    through ``xp``'s own routines, for NumPy-compatible modules; a backend adds what it has
    better (fused kernels) on top."""
    from . import _xp_composites

    return _xp_composites.build(xp, native_dtype)


def xp_inplace_kernels(xp: Any, native_dtype: Callable[[_dt.dtype], Any]) -> dict[Op, Callable]:
    """In-place kernels (``op.INPLACE``) for a NumPy-compatible module whose ufuncs take
    ``out=`` and handle operands that overlap it (NumPy's do)."""
    from ._xp_kernels import weak_scalar

    low = (native_dtype(_dt.float16), native_dtype(_dt.bfloat16))

    def inplace(f: Callable) -> Callable:
        def kernel(out, a, b):
            if type(b) is float:
                b = weak_scalar(xp, b, out, low)  # as the out-of-place kernel takes it
            f(a, b, out=out)

        kernel.__name__ = getattr(f, "__name__", "ufunc") + "_"
        return kernel

    return {Op.ADD: inplace(xp.add), Op.SUB: inplace(xp.subtract),
            Op.MUL: inplace(xp.multiply), Op.DIV: inplace(xp.true_divide)}
