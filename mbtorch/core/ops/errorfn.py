"""The error-function family and small special functions, composed from the primitives:
``erfc``, ``erfcx``, ``ndtr``, ``log_ndtr``, ``ndtri``, ``sinc``, ``entr``, ``xlog1py``,
``spherical_bessel_j0``.

``erfc`` is ``1 - erf`` below 2 (relative error ~1e-14 there) and ``exp(-x**2) * erfcx`` above,
with ``erfcx`` from its continued fraction (60 levels: double precision for x >= 2), so the
tail keeps its relative accuracy down to the underflow. Computed in float64 where the backend
has it, as ``gamma.py``; ``ndtri`` refines a closed-form guess by Newton steps on ``log_ndtr``
and attaches the exact derivative ``1 / phi(x)`` to the converged value.
"""

from __future__ import annotations

import math
from typing import Any

from ..tensor import Tensor, method_table
from ._common import cast
from .gamma import float_dtype, inplace, sinpi, unary_special, wide
from .ternary import where

__all__ = ["erfc", "sinc"]

TENSOR_METHODS: dict = {}
"""The ``Tensor`` methods this module provides, by name (installed by ``mbtorch.core.ops``)."""
tensor_method = method_table(TENSOR_METHODS)

_CF_FROM = 2.0
_CF_DEPTH = 60
_INV_SQRT_PI = 1.0 / math.sqrt(math.pi)
_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


def _erfcx_cf(x: Tensor) -> Tensor:
    """``exp(x**2) erfc(x)`` for ``x >= 2`` (``x`` is clamped there): the continued fraction
    ``1/sqrt(pi) / (x + (1/2) / (x + 1 / (x + (3/2) / (x + ...))))``, evaluated bottom-up."""
    x = x.clamp_min(_CF_FROM)
    k = (0.5 * _CF_DEPTH) / x
    for j in range(_CF_DEPTH - 1, 0, -1):
        k = (0.5 * j) / (x + k)
    return _INV_SQRT_PI / (x + k)


def _erfc(x: Tensor) -> Tensor:
    tail = (-(x * x)).exp() * _erfcx_cf(x)
    return where(x < _CF_FROM, 1.0 - x.erf(), tail)


def _erfcx(x: Tensor) -> Tensor:
    xb = where(x < _CF_FROM, x, 0.0)  # not evaluated (nor differentiated) out of its branch
    body = (xb * xb).exp() * (1.0 - xb.erf())  # inf below about -26.6, as it should be
    return where(x < _CF_FROM, body, _erfcx_cf(x))


@tensor_method
def erfc(input: Tensor) -> Tensor:
    """The complementary error function ``1 - erf(x)``, accurate in the tail."""
    return unary_special("erfc", _erfc, input)


inplace(erfc, "erfc_")


def erfcx(input: Tensor) -> Tensor:
    """The scaled complementary error function ``exp(x**2) * erfc(x)``."""
    return unary_special("erfcx", _erfcx, input)


def _ndtr(x: Tensor) -> Tensor:
    return 0.5 * _erfc(-x * _INV_SQRT2)


def ndtr(input: Tensor) -> Tensor:
    """The standard normal CDF ``(1 + erf(x / sqrt(2))) / 2``."""
    return unary_special("ndtr", _ndtr, input)


def _log_ndtr(x: Tensor) -> Tensor:
    t = -x * _INV_SQRT2
    lower_tail = (0.5 * _erfcx_cf(t)).log() - t * t  # x <= -2 sqrt(2): no underflow
    # each branch sees only its own arguments, so no unused branch makes a nan gradient
    middle = (0.5 * _erfc(where(t < _CF_FROM, t, 0.0))).log()
    upper = (-0.5 * _erfc(where(x > 0, -t, 1.0))).log1p()  # log(1 - ndtr(-x)): tiny tail kept
    out = where(t >= _CF_FROM, lower_tail, middle)
    return where(x.isnan(), x, where(x > 0, upper, out))


def log_ndtr(input: Tensor) -> Tensor:
    """``log(ndtr(x))``, accurate in both tails."""
    return unary_special("log_ndtr", _log_ndtr, input)


def _ndtri_guess(p: Tensor) -> Tensor:
    """Abramowitz & Stegun 26.2.23 for ``p <= 1/2`` (absolute error below 4.5e-4)."""
    t = (-2.0 * p.clamp(1e-300, 0.5).log()).sqrt()
    num = 2.515517 + t * (0.802853 + t * 0.010328)
    den = 1.0 + t * (1.432788 + t * (0.189269 + t * 0.001308))
    return num / den - t


def _ndtri(p: Tensor) -> Tensor:
    from ...autograd import no_grad

    with no_grad():
        q = p.detach()
        low = where(q > 0.5, 1.0 - q, q)  # exact for q > 1/2 (Sterbenz)
        x = _ndtri_guess(low)
        log_low = low.clamp_min(1e-300).log()
        for _ in range(4):  # Newton on log_ndtr(x) = log(p): quadratic from 4.5e-4
            ratio = (_log_ndtr(x) + 0.5 * x * x + _HALF_LOG_2PI).exp()  # ndtr / phi
            x = x - (_log_ndtr(x) - log_low) * ratio
        x = where(q > 0.5, -x, x)
        x = where(q == 0.5, 0.0, x)
    # one Newton step written with p, so autograd sees dx/dp = 1 / phi(x) at the root
    phi = (-0.5 * x * x - _HALF_LOG_2PI).exp()
    x = x - (_ndtr(x) - p) / phi
    x = where(p == 0, -math.inf, where(p == 1, math.inf, x))
    return where((p < 0) | (p > 1), math.nan, x)


def ndtri(input: Tensor) -> Tensor:
    """The inverse of ``ndtr``: the normal quantile of ``p`` in ``[0, 1]`` (nan outside)."""
    return unary_special("ndtri", _ndtri, input)


# -- sinc, entr, xlog1py, spherical_bessel_j0 ------------------------------------------------
def _sinc(x: Tensor) -> Tensor:
    px = x * math.pi
    return where(x == 0, 1.0, sinpi(x) / where(x == 0, 1.0, px))


@tensor_method
def sinc(input: Tensor) -> Tensor:
    """The normalized sinc ``sin(pi x) / (pi x)``, 1 at 0."""
    return unary_special("sinc", _sinc, input)


inplace(sinc, "sinc_")


def _entr(x: Tensor) -> Tensor:
    pos = x > 0
    val = -x * where(pos, x, 1.0).log()
    out = where(pos, val, where(x == 0, 0.0, -math.inf))
    return where(x.isnan(), x, out)


def entr(input: Tensor) -> Tensor:
    """``-x log(x)`` for ``x > 0``, 0 at 0, ``-inf`` below."""
    return unary_special("entr", _entr, input)


def xlog1py(input: Any, other: Any) -> Tensor:
    """``input * log1p(other)``, 0 where ``input`` is 0 (unless ``other`` is nan)."""
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        raise TypeError("xlog1py(): expected at least one Tensor operand")
    for v, arg in ((input, "input"), (other, "other")):
        if not isinstance(v, Tensor) and type(v) not in (bool, int, float):
            raise TypeError(f"xlog1py(): argument '{arg}' must be Tensor or a Python number, "
                            f"not {type(v).__name__}")
    dtype = float_dtype((input, other), "xlog1py")
    ref = wide(input if isinstance(input, Tensor) else other)
    x, y = (wide(v) if isinstance(v, Tensor) else _full(v, ref) for v in (input, other))
    out = where(x == 0, 0.0, x * y.log1p())
    return cast(where(y.isnan(), math.nan, out), dtype, "xlog1py")


def _full(value: Any, like: Tensor) -> Tensor:
    from .creation import full

    return full((), float(value), dtype=like._dtype, device=like._device)


def _spherical_j0(x: Tensor) -> Tensor:
    small = x.abs() < 1e-4
    safe = where(small, 1.0, x)
    x2 = x * x
    out = where(small, 1.0 - x2 / 6.0 + x2 * x2 / 120.0, safe.sin() / safe)
    return where(x.isinf(), 0.0, out)


def spherical_bessel_j0(input: Tensor) -> Tensor:
    """The spherical Bessel function of the first kind of order 0: ``sin(x) / x``."""
    return unary_special("spherical_bessel_j0", _spherical_j0, input)
