"""Bessel functions composed from the primitives: the modified ``i0``, ``i0e``, ``i1``,
``i1e``, ``modified_bessel_k0``/``k1`` (and their ``scaled_`` forms), ``bessel_j0``,
``bessel_j1``, ``bessel_y0``, ``bessel_y1``, and the Airy function ``airy_ai``.

Each uses its power series near 0 (summed by Horner's rule in ``x**2 / 4``; the coefficients
are exact factorial ratios) and the Hankel asymptotic expansion beyond (``|x| >= 20`` for
``I``, ``>= 12`` for ``J``), computed in float64 where the backend has it. Accuracy: ~1e-15
relative for ``I`` in float64; ``J`` is ~7e-13 absolute in float64 around the switch (the
alternating series cancels there), far below float32's rounding; ``Y`` adds the log term to
the same series and uses the same Hankel expansion. ``K`` is the log series up to 2, the
trapezoid rule on ``exp(x) K_nu(x) = int_0^inf exp(-x (cosh t - 1)) cosh(nu t) dt`` (exponentially
accurate for this integrand) up to 20, and the asymptotic series beyond: ~1e-15 relative.
``airy_ai`` is its Maclaurin series on (-7, 5.5) and the asymptotic expansions outside:
~1e-12 absolute, ~1e-8 relative in the decaying tail.
"""

from __future__ import annotations

import math
from typing import Callable

from ..tensor import Tensor, method_table
from .gamma import horner, inplace, unary_special
from .ternary import where

__all__ = ["i0"]

TENSOR_METHODS: dict = {}
"""The ``Tensor`` methods this module provides, by name (installed by ``mbtorch.core.ops``)."""
tensor_method = method_table(TENSOR_METHODS)

_I_SWITCH, _I_SERIES, _I_ASYM = 20.0, 50, 20
_J_SWITCH, _J_SERIES, _J_ASYM = 12.0, 50, 12


def _series_coeffs(nu: int, n: int, sign: float) -> tuple:
    """``sign**k / (k! (k + nu)!)``, k < n: the power series of ``I_nu``/``J_nu`` in
    ``x**2 / 4`` (times ``(x/2)**nu``)."""
    return tuple(sign ** k / (math.factorial(k) * math.factorial(k + nu)) for k in range(n))


def _hankel_coeffs(nu: int, n: int) -> list[float]:
    """``a_k(nu) = prod_{j<=k} (4 nu**2 - (2j - 1)**2) / (8 j)``, k < n."""
    out, a = [1.0], 1.0
    for k in range(1, n):
        a *= (4 * nu * nu - (2 * k - 1) ** 2) / (8 * k)
        out.append(a)
    return out


_I_COEFFS = {nu: _series_coeffs(nu, _I_SERIES, 1.0) for nu in (0, 1)}
_J_COEFFS = {nu: _series_coeffs(nu, _J_SERIES, -1.0) for nu in (0, 1)}
# I_nu(x) e**-x sqrt(2 pi x) ~ sum (-1)**k a_k / x**k
_I_ASYM_COEFFS = {nu: tuple((-1) ** k * a for k, a in enumerate(_hankel_coeffs(nu, _I_ASYM)))
                  for nu in (0, 1)}
# J_nu(x) ~ sqrt(2 / (pi x)) (P cos w - Q sin w), w = x - (nu/2 + 1/4) pi, P and Q in 1/x**2
_HANKEL = {nu: _hankel_coeffs(nu, 2 * _J_ASYM) for nu in (0, 1)}
_J_P = {nu: tuple((-1) ** k * _HANKEL[nu][2 * k] for k in range(_J_ASYM)) for nu in (0, 1)}
_J_Q = {nu: tuple((-1) ** k * _HANKEL[nu][2 * k + 1] for k in range(_J_ASYM)) for nu in (0, 1)}


def _i_scaled(x: Tensor, nu: int) -> Tensor:
    """``I_nu(x) * exp(-|x|)``."""
    ax = x.abs()
    small = where(ax < _I_SWITCH, ax, 0.0)
    series = horner(_I_COEFFS[nu], small * small * 0.25) * (-small).exp()
    if nu == 1:
        series = series * small * 0.5
    big = where(ax < _I_SWITCH, _I_SWITCH, ax)
    asym = horner(_I_ASYM_COEFFS[nu], 1.0 / big) / (2.0 * math.pi * big).sqrt()
    out = where(ax < _I_SWITCH, series, asym)
    out = where(ax == math.inf, 0.0, out)
    return out * x.sign() if nu == 1 else out


def _i_plain(x: Tensor, nu: int) -> Tensor:
    return _i_scaled(x, nu) * x.abs().exp()  # inf once I_nu overflows, as PyTorch's


def _j(x: Tensor, nu: int) -> Tensor:
    ax = x.abs()
    small = where(ax < _J_SWITCH, ax, 0.0)
    series = horner(_J_COEFFS[nu], small * small * 0.25)
    if nu == 1:
        series = series * small * 0.5
    big = where(ax < _J_SWITCH, _J_SWITCH, ax)
    inv2 = 1.0 / (big * big)
    p, q = horner(_J_P[nu], inv2), horner(_J_Q[nu], inv2) / big
    w = big - (0.5 * nu + 0.25) * math.pi
    asym = (2.0 / (math.pi * big)).sqrt() * (p * w.cos() - q * w.sin())
    out = where(ax < _J_SWITCH, series, asym)
    out = where(ax == math.inf, math.nan, out)  # PyTorch's value, not the limit 0
    return out * x.sign() if nu == 1 else out


# -- second kind: Y (series with the log term, then Hankel) and K (series, quadrature,
# asymptotic) ---------------------------------------------------------------------------------
_EULER_GAMMA = 0.5772156649015329
_K_SERIES_TO, _K_QUAD_TO = 2.0, 20.0
_K_NODES = tuple(0.1 * j for j in range(39))  # trapezoid on [0, 3.8]: exp(-2 (cosh t - 1))
# decays below 1e-18 by the end, and the step 0.1 is exact to ~1e-15 for 2 <= x <= 20


def _harmonic(k: int) -> float:
    return sum(1.0 / j for j in range(1, k + 1))


def _log_series_coeffs(nu: int, n: int, sign: float) -> tuple:
    """The sums beside the log term: ``H_k`` (nu = 0, from k = 0 with H_0 = 0) or
    ``H_k + H_(k+1) - 2 gamma`` (nu = 1), over ``k! (k + nu)!``, alternating when sign < 0."""
    if nu == 0:
        return tuple(sign ** k * _harmonic(k) / math.factorial(k) ** 2 for k in range(n))
    return tuple(sign ** k * (_harmonic(k) + _harmonic(k + 1) - 2 * _EULER_GAMMA)
                 / (math.factorial(k) * math.factorial(k + 1)) for k in range(n))


_Y_LOG = {nu: _log_series_coeffs(nu, _J_SERIES, -1.0) for nu in (0, 1)}
_K_LOG = {nu: _log_series_coeffs(nu, 24, 1.0) for nu in (0, 1)}
_K_ASYM_COEFFS = {nu: tuple(_hankel_coeffs(nu, _I_ASYM)) for nu in (0, 1)}


def _y(x: Tensor, nu: int) -> Tensor:
    small = where((x > 0) & (x < _J_SWITCH), x, 1.0)
    t = small * small * 0.25
    log_half = (small * 0.5).log()
    if nu == 0:  # (2/pi) [(log(x/2) + gamma) J0 - sum (-t)^k H_k / k!^2]
        series = (2.0 / math.pi) * ((log_half + _EULER_GAMMA) * _j(small, 0)
                                    - horner(_Y_LOG[0], t))
    else:
        series = ((2.0 / math.pi) * _j(small, 1) * log_half - (2.0 / math.pi) / small
                  - small / (2.0 * math.pi) * horner(_Y_LOG[1], t))
    big = where(x < _J_SWITCH, _J_SWITCH, x)
    inv2 = 1.0 / (big * big)
    p, q = horner(_J_P[nu], inv2), horner(_J_Q[nu], inv2) / big
    w = big - (0.5 * nu + 0.25) * math.pi
    asym = (2.0 / (math.pi * big)).sqrt() * (p * w.sin() + q * w.cos())
    out = where(x < _J_SWITCH, series, asym)
    out = where(x == 0, -math.inf, out)
    return where((x < 0) | x.isinf(), math.nan, out)  # PyTorch's nan at inf, as for J


def _k_scaled(x: Tensor, nu: int) -> Tensor:
    """``exp(x) K_nu(x)``."""
    small = where((x > 0) & (x <= _K_SERIES_TO), x, 1.0)
    t = small * small * 0.25
    log_half = (small * 0.5).log()
    i_small = _i_scaled(small, nu) * small.exp()
    if nu == 0:
        series = horner(_K_LOG[0], t) - (log_half + _EULER_GAMMA) * i_small
    else:
        series = 1.0 / small + i_small * log_half - small * 0.25 * horner(_K_LOG[1], t)
    series = series * small.exp()
    mid = where((x > _K_SERIES_TO) & (x < _K_QUAD_TO), x, _K_QUAD_TO)
    quad = 0.05 * (-mid * 0.0).exp()  # the t = 0 node, weight h / 2 (its integrand is 1)
    for node in _K_NODES[1:]:
        c = math.cosh(node)
        quad = quad + 0.1 * (-(c - 1.0) * mid).exp() * (c if nu else 1.0)
    big = where(x >= _K_QUAD_TO, x, _K_QUAD_TO)
    asym = horner(_K_ASYM_COEFFS[nu], 1.0 / big) * (math.pi / (2.0 * big)).sqrt()
    out = where(x <= _K_SERIES_TO, series, where(x < _K_QUAD_TO, quad, asym))
    out = where(x == 0, math.inf, where(x == math.inf, 0.0, out))
    return where((x < 0) | x.isnan(), math.nan, out)


# -- Airy Ai: Maclaurin series in the middle, the asymptotic expansions outside ---------------
_AI_POS, _AI_NEG, _AI_SERIES, _AI_ASYM = 5.5, -7.0, 60, 12
_AI0 = 1.0 / (3.0 ** (2.0 / 3.0) * math.gamma(2.0 / 3.0))  # Ai(0)
_AIP0 = 1.0 / (3.0 ** (1.0 / 3.0) * math.gamma(1.0 / 3.0))  # -Ai'(0)


def _airy_series() -> tuple[tuple, tuple]:
    """``f = sum a_k t^k`` and ``g / x = sum b_k t^k`` in ``t = x**3``: Ai = Ai(0) f + Ai'(0) g."""
    a, b = [1.0], [1.0]
    for k in range(1, _AI_SERIES):
        a.append(a[-1] / ((3 * k - 1) * (3 * k)))
        b.append(b[-1] / ((3 * k) * (3 * k + 1)))
    return tuple(a), tuple(b)


def _airy_u(n: int) -> list[float]:
    """The coefficients of the Airy asymptotic series: ``u_k = (6k-5)(6k-3)(6k-1) u_(k-1) /
    ((2k-1) 216 k)``."""
    u = [1.0]
    for k in range(1, n):
        u.append(u[-1] * (6 * k - 5) * (6 * k - 3) * (6 * k - 1) / ((2 * k - 1) * 216 * k))
    return u


_AI_F, _AI_G = _airy_series()
_AI_U = _airy_u(2 * _AI_ASYM)
_AI_DECAY = tuple((-1) ** k * _AI_U[k] for k in range(_AI_ASYM))
_AI_P = tuple((-1) ** k * _AI_U[2 * k] for k in range(_AI_ASYM))
_AI_Q = tuple((-1) ** k * _AI_U[2 * k + 1] for k in range(_AI_ASYM))


def _airy_ai(x: Tensor) -> Tensor:
    mid = where((x > _AI_NEG) & (x < _AI_POS), x, 0.0)
    t = mid * mid * mid
    series = _AI0 * horner(_AI_F, t) - _AIP0 * mid * horner(_AI_G, t)
    pos = where(x >= _AI_POS, x, _AI_POS)
    zeta = pos * pos.sqrt() * (2.0 / 3.0)
    decay = ((-zeta).exp() * horner(_AI_DECAY, 1.0 / zeta)
             / (2.0 * math.sqrt(math.pi) * pos.sqrt().sqrt()))
    z = where(x <= _AI_NEG, -x, -_AI_NEG)
    zn = z * z.sqrt() * (2.0 / 3.0)
    inv2 = 1.0 / (zn * zn)
    w = zn + 0.25 * math.pi
    wave = ((w.sin() * horner(_AI_P, inv2) - w.cos() * horner(_AI_Q, inv2) / zn)
            / (math.sqrt(math.pi) * z.sqrt().sqrt()))
    out = where(x >= _AI_POS, decay, where(x <= _AI_NEG, wave, series))
    return where(~x.isfinite(), math.nan, out)  # PyTorch's value at both infinities


def _public(name: str, fn: Callable) -> Callable:
    def f(input: Tensor) -> Tensor:
        return unary_special(name, fn, input)

    f.__name__ = name
    return f


i0 = _public("i0", lambda x: _i_plain(x, 0))
i0.__doc__ = "The modified Bessel function of the first kind of order 0."
tensor_method(i0)
inplace(i0, "i0_")
i0e = _public("i0e", lambda x: _i_scaled(x, 0))
i0e.__doc__ = "``i0(x) * exp(-|x|)``, which does not overflow."
i1 = _public("i1", lambda x: _i_plain(x, 1))
i1.__doc__ = "The modified Bessel function of the first kind of order 1."
i1e = _public("i1e", lambda x: _i_scaled(x, 1))
i1e.__doc__ = "``i1(x) * exp(-|x|)``, which does not overflow."
bessel_j0 = _public("bessel_j0", lambda x: _j(x, 0))
bessel_j0.__doc__ = "The Bessel function of the first kind of order 0."
bessel_j1 = _public("bessel_j1", lambda x: _j(x, 1))
bessel_j1.__doc__ = "The Bessel function of the first kind of order 1."
bessel_y0 = _public("bessel_y0", lambda x: _y(x, 0))
bessel_y0.__doc__ = "The Bessel function of the second kind of order 0."
bessel_y1 = _public("bessel_y1", lambda x: _y(x, 1))
bessel_y1.__doc__ = "The Bessel function of the second kind of order 1."
modified_bessel_k0 = _public("modified_bessel_k0", lambda x: _k_scaled(x, 0) * (-x).exp())
modified_bessel_k0.__doc__ = "The modified Bessel function of the second kind of order 0."
modified_bessel_k1 = _public("modified_bessel_k1", lambda x: _k_scaled(x, 1) * (-x).exp())
modified_bessel_k1.__doc__ = "The modified Bessel function of the second kind of order 1."
scaled_modified_bessel_k0 = _public("scaled_modified_bessel_k0", lambda x: _k_scaled(x, 0))
scaled_modified_bessel_k0.__doc__ = "``exp(x) * modified_bessel_k0(x)``, which does not underflow."
scaled_modified_bessel_k1 = _public("scaled_modified_bessel_k1", lambda x: _k_scaled(x, 1))
scaled_modified_bessel_k1.__doc__ = "``exp(x) * modified_bessel_k1(x)``, which does not underflow."
airy_ai = _public("airy_ai", _airy_ai)
airy_ai.__doc__ = "The Airy function ``Ai(x)``."
