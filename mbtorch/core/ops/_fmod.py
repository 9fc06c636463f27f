"""Exact floating ``fmod`` and ``remainder`` written with primitives, as PyTorch computes them:
``fmod(a, b)`` is exact (the true ``a - trunc(a/b)*b`` is always representable), and
``remainder`` adds ``b`` where the signs of ``fmod`` and ``b`` differ (one rounding at most).

``a - floor(a/b)*b`` in plain arithmetic rounds twice and is far off when ``a/b`` is large; here
each step ``x - q*t`` is evaluated exactly: ``q*t`` is split into ``p + e`` (Dekker's product),
``x - p`` is exact (Sterbenz), and the exact result is representable. Quotients of ``digits``
bits or more are first reduced modulo ``b * 2**m`` (a few passes, data dependent). As PyTorch's
vectorised CPU kernel, a quotient that overflows gives NaN.
"""

from __future__ import annotations

import math

from .. import dtypes as _dt
from ..tensor import Tensor
from . import binary as _b
from . import unary as _u
from ._common import cast

__all__ = ["fmod", "remainder"]


class _Format:
    """The binary format's parameters: significand digits, exponent range, Veltkamp's c."""

    def __init__(self, dtype: _dt.dtype):
        from ..host import finfo

        info = finfo(dtype)
        self.digits = round(-math.log2(info.eps)) + 1
        self.emin = round(math.log2(info.tiny))
        self.emax = math.floor(math.log2(info.max))
        self.c = float(2 ** ((self.digits + 1) // 2) + 1)


def fmod(a: Tensor, b: Tensor) -> Tensor:
    """``torch.fmod`` for floating tensors of one dtype (broadcast together)."""
    return _signed_fmod(a, b)[0]


def remainder(a: Tensor, b: Tensor) -> Tensor:
    """``torch.remainder`` for floating tensors of one dtype (broadcast together)."""
    mod, x = _signed_fmod(a, b)
    fix = _b.logical_and(_b.ne(x, 0), _b.ne(_b.lt(b, 0), _b.lt(mod, 0)))
    # an infinite divisor leaves fmod = a, so the fix gives b exactly as PyTorch
    return _u.where(fix, _b.add(mod, b), mod)


def _signed_fmod(a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    dtype = a._dtype
    if dtype.itemsize < 4:  # half formats have no room for the scaling below: float32
        mod, x = _signed_fmod(cast(a, _dt.float32), cast(b, _dt.float32))
        return cast(mod, dtype), cast(x, dtype)
    finite_a, finite_b = _u.isfinite(a), _u.isfinite(b)
    ok = _b.logical_and(_b.logical_and(finite_a, finite_b), _b.ne(b, 0))
    ok = _b.logical_and(ok, _u.isfinite(_b.div(a, _u.where(ok, b, 1.0))))
    x = _exact_fmod(_u.where(ok, _u.abs(a), 0.0), _u.where(ok, _u.abs(b), 1.0), _Format(dtype))
    mod = _u.where(ok, _u.where(_u.signbit(a), _u.neg(x), x), a)
    # NaN for a NaN operand, b == 0, an infinite a, or an overflowing quotient
    special = _b.logical_and(_u.isinf(b), finite_a)
    mod = _u.where(_b.logical_or(ok, special), mod, math.nan)
    return mod, _u.where(ok, x, _u.abs(a))


def _exact_fmod(x: Tensor, y: Tensor, f: _Format) -> Tensor:
    """``fmod(x, y)`` for ``x >= 0``, ``y > 0``, finite quotients; exact."""
    from .reductions import any as any_

    limit = 2.0 ** (f.digits - 1)
    while True:
        need = _b.ge(_b.div(x, y), limit)
        if not any_(need).item():
            return _reduce(x, y, f)
        # t = y * 2**m with x / t just under 2**(digits - 1): one pass takes digits - 4 bits
        # off the quotient, and x mod t mod y is x mod y
        ratio = _b.sub(_u.log2(_u.where(need, x, 1.0)), _u.log2(_u.where(need, y, 1.0)))
        m = _u.where(need, _u.clamp(_u.floor(_b.sub(ratio, f.digits - 3)), min=0.0), 0.0)
        x = _u.where(need, _reduce(x, _scale(y, m), f), x)


def _scale(y: Tensor, m: Tensor) -> Tensor:
    # y * 2**m in three exact steps: 2**m alone may overflow (m up to emax - emin)
    m1 = _u.floor(_b.div(m, 3.0))
    m2 = _u.floor(_b.div(_b.sub(m, m1), 2.0))
    m3 = _b.sub(_b.sub(m, m1), m2)
    for part in (m1, m2, m3):
        y = _b.mul(y, _b.pow(2.0, part))
    return y


def _reduce(x: Tensor, t: Tensor, f: _Format) -> Tensor:
    """``fmod(x, t)`` for ``0 <= x < t * 2**digits``, exactly."""
    # scale huge x and t down (c * t and the partial products must not overflow) and tiny t
    # up (the partial products must not underflow); powers of two, so exact both ways
    half = (f.digits + 1) // 2
    big, small = 2.0 ** (f.emax - half - 1), 2.0 ** (f.emin + 2 * f.digits)
    from .creation import ones_like

    s = _u.where(_b.ge(_b.maximum(x, t), big), 2.0 ** -(half + 2),
                 _u.where(_b.lt(t, small), 2.0 ** (3 * f.digits), ones_like(t)))
    xs, ts = _b.mul(x, s), _b.mul(t, s)
    q = _u.floor(_b.div(xs, ts))
    p, e = _two_product(q, ts, f.c)
    d = _b.sub(_b.sub(xs, p), e)  # exact: x - p by Sterbenz, and the result is representable
    d = _u.where(_b.lt(d, 0), _b.add(d, ts), d)  # the rounded quotient overshot by one
    return _u.where(_b.lt(x, t), x, _b.div(d, s))  # x < t: x itself (x * s may underflow)


def _two_product(x: Tensor, y: Tensor, c: float) -> tuple[Tensor, Tensor]:
    """``x * y`` as ``p + e`` exactly (Dekker's product with Veltkamp's splitting)."""

    def split(v):
        t = _b.mul(v, c)
        hi = _b.sub(t, _b.sub(t, v))
        return hi, _b.sub(v, hi)

    p = _b.mul(x, y)
    (xh, xl), (yh, yl) = split(x), split(y)
    e = _b.add(_b.add(_b.add(_b.sub(_b.mul(xh, yh), p), _b.mul(xh, yl)), _b.mul(xl, yh)),
               _b.mul(xl, yl))
    return p, e
