"""The gamma family as compositions of the elementwise primitives: ``lgamma`` (``gammaln``),
``digamma`` (``psi``), ``polygamma``, ``mvlgamma`` (``multigammaln``) and Hurwitz ``zeta``.

Each is computed in float64 where the backend has it (float32 and the half types round once at
the end) and in float32 otherwise; autograd differentiates the composition, so a gradient is
the derivative of the same series. Method: shift the argument up with the recurrence until the
asymptotic (Stirling / Euler–Maclaurin) series converges to double precision, reflect
non-positive arguments with ``sin(pi x)`` reduced exactly (``sinpi``), and give PyTorch's values
at the poles. Accuracy against PyTorch: see tests/test_special.py (1e-5 relative in float32,
about 1e-13 in float64; absolute near the roots of lgamma and digamma).
"""

from __future__ import annotations

import math
from typing import Any, Callable

from .. import dtypes as _dt
from ..meta import result_type
from ..tensor import Tensor, method_table
from ._common import cast
from ._elementwise import check_tensor
from .copying import write_result
from .ternary import where

__all__ = ["lgamma", "digamma", "polygamma", "mvlgamma", "igamma", "igammac"]

TENSOR_METHODS: dict = {}
"""The ``Tensor`` methods this module provides, by name (installed by ``mbtorch.core.ops``)."""
tensor_method = method_table(TENSOR_METHODS)

_SHIFT = 10  # recurrence steps: the asymptotic series run at z >= 10
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
_LOG_PI = math.log(math.pi)


# B_2, B_4, ..., B_26: the Bernoulli numbers the asymptotic series below use
_B2K = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510, 43867 / 798,
        -174611 / 330, 854513 / 138, -236364091 / 2730, 8553103 / 6)
# Stirling: log Gamma(z) ~ (z - 1/2) log z - z + log(2 pi)/2 + sum B_2k / (2k (2k-1) z^(2k-1))
_STIRLING = tuple(_B2K[k - 1] / (2 * k * (2 * k - 1)) for k in range(1, 9))
# digamma: psi(z) ~ log z - 1/(2z) - sum B_2k / (2k z^2k)
_PSI = tuple(_B2K[k - 1] / (2 * k) for k in range(1, 9))
# Euler–Maclaurin tail of the Hurwitz zeta: B_2j / (2j)!
_EM = tuple(_B2K[j - 1] / math.factorial(2 * j) for j in range(1, 14))


# -- helpers shared by the special-function modules -------------------------------------------
def float_dtype(operands: tuple, name: str) -> _dt.dtype:
    """The result dtype of a float-valued special function (integers give the default)."""
    dtype = result_type(operands, name)
    return dtype if dtype.category == _dt.FLOATING_CATEGORY else _dt.get_default_dtype()


def wide(x: Tensor) -> Tensor:
    """``x`` in float64 where its backend has it, else float32: the computation dtype."""
    return cast(x, _dt.float64 if _dt.float64 in x._be.dtypes else _dt.float32, "special")


def unary_special(name: str, fn: Callable, input: Any) -> Tensor:
    """``fn`` on ``input`` computed wide and rounded once to the result dtype."""
    check_tensor(input, name)
    return cast(fn(wide(input)), float_dtype((input,), name), name)


def horner(coeffs: tuple, t: Tensor) -> Tensor:
    """``sum coeffs[k] * t**k`` (lowest order first, two or more), by Horner's rule."""
    acc = t * coeffs[-1] + coeffs[-2]  # not 0 * t: t may be inf
    for c in reversed(coeffs[:-2]):
        acc = acc * t + c
    return acc


def sinpi(x: Tensor) -> Tensor:
    """``sin(pi x)`` with the argument reduced exactly (``x - round(x)``), so it is exactly 0
    at the integers and accurate for large ``x``."""
    n = x.round()
    r = x - n
    sign = 1.0 - 2.0 * (n.abs() - 2.0 * (n.abs() * 0.5).floor())  # (-1)**n
    return (r * math.pi).sin() * sign


def inplace(fn: Callable, name: str) -> Callable:
    def f(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        return write_result(self, fn(self, *args, **kwargs), name)

    f.__name__ = name
    TENSOR_METHODS[name] = f
    return f


# -- lgamma --------------------------------------------------------------------------------
def _shifted(x: Tensor) -> tuple[Tensor, Tensor]:
    """``(z, small)``: ``z = x + _SHIFT`` where ``x < _SHIFT`` (``small``), else ``x``."""
    small = x < _SHIFT
    return where(small, x + _SHIFT, x), small


def _lgamma_positive(x: Tensor) -> Tensor:
    z, small = _shifted(x)
    prod = x
    for k in range(1, _SHIFT):
        prod = prod * (x + k)  # below 20**10: no overflow; log of one product, not ten logs
    shift = where(small, prod, 1.0).log()
    inv = 1.0 / z
    series = horner(_STIRLING, inv * inv) * inv
    return (z - 0.5) * z.log() - z + _HALF_LOG_2PI + series - shift


def _lgamma(x: Tensor) -> Tensor:
    positive = x > 0
    xp = where(positive, x, 1.0)
    xn = where(positive, 0.5, x)
    # reflection: log|Gamma(x)| = log(pi / |sin(pi x)|) - log Gamma(1 - x)
    reflected = _LOG_PI - sinpi(xn).abs().log() - _lgamma_positive(1.0 - xn)
    out = where(positive, _lgamma_positive(xp), reflected)
    pole = (x <= 0) & (x == x.floor())
    # the roots exactly 0, keeping the series' gradient there (digamma(1), digamma(2))
    out = where((x == 1) | (x == 2), out - out.detach(), out)
    return where(pole | x.isinf(), math.inf, out)


@tensor_method
def lgamma(input: Tensor) -> Tensor:
    """``log|Gamma(x)|``; ``inf`` at the non-positive integers and at ``+-inf``."""
    return unary_special("lgamma", _lgamma, input)


inplace(lgamma, "lgamma_")


# -- digamma ---------------------------------------------------------------------------------
def _digamma_positive(x: Tensor) -> Tensor:
    z, small = _shifted(x)
    shift = 1.0 / x
    for k in range(1, _SHIFT):
        shift = shift + 1.0 / (x + k)
    inv2 = 1.0 / (z * z)
    series = horner(_PSI, inv2) * inv2
    return z.log() - 0.5 / z - series - where(small, shift, 0.0)


def _digamma(x: Tensor) -> Tensor:
    positive = x > 0
    xp = where(positive, x, 1.0)
    xn = where(positive, 0.5, x)
    # reflection: psi(x) = psi(1 - x) - pi cos(pi x) / sin(pi x)
    cospi = sinpi(xn + 0.5)
    reflected = _digamma_positive(1.0 - xn) - math.pi * cospi / sinpi(xn)
    out = where(positive, _digamma_positive(xp), reflected)
    # PyTorch's values: 0 gives -inf and -0.0 gives inf (the pole's side), the negative
    # integers and -inf give nan, inf gives inf
    zero = x == 0
    out = where(zero, where(x.signbit(), math.inf, -math.inf), out)
    out = where((x < 0) & (x == x.floor()), math.nan, out)
    return where(x == math.inf, math.inf, out)


@tensor_method
def digamma(input: Tensor) -> Tensor:
    """``d/dx log Gamma(x)``; ``-inf`` at ``0``, ``inf`` at ``-0.0``, nan at negative integers."""
    return unary_special("digamma", _digamma, input)


inplace(digamma, "digamma_")


# -- Hurwitz zeta and polygamma ----------------------------------------------------------------
def zeta_wide(s: Tensor, q: Tensor, extra: int) -> Tensor:
    """Hurwitz ``zeta(s, q) = sum_k (q + k)**-s`` by Euler–Maclaurin: ``_SHIFT + extra`` terms,
    the integral and the Bernoulli tail at ``w = q + n >= 10``; PyTorch's values where ``s <= 1``
    or ``q <= 0``."""
    n = _SHIFT + extra
    total = q.pow(-s)
    for k in range(1, n):
        total = total + (q + k).pow(-s)
    w = q + n
    wp = w.pow(-s)
    total = total + w * wp / (s - 1.0) + 0.5 * wp
    rising = s
    term = wp / w  # w**(-s - 1)
    inv2 = 1.0 / (w * w)
    for j, c in enumerate(_EM):
        total = total + c * rising * term
        rising = rising * (s + 2 * j + 1) * (s + 2 * j + 2)
        term = term * inv2
    q_pole = (q <= 0) & (q == q.floor())
    total = where(q_pole, math.inf, total)
    total = where((q < 0) & (s != s.floor()), math.nan, total)  # (q + k)**-s is not real
    total = where(s == 1, math.inf, total)
    total = where(q.isinf(), math.nan, total)  # PyTorch's value at both infinities
    return where(s < 1, math.nan, total)


def extra_terms(q: Tensor) -> int:
    """Recurrence terms beyond ``_SHIFT`` needed so ``q + n >= 10`` for every (negative) ``q``:
    one host read, only when some ``q`` is negative."""
    if q.numel() == 0 or not bool((q < 0).any()):
        return 0
    low = float(where(q.isfinite(), q, 0.0).min())
    return int(math.ceil(-low))


def _scalar(value: Any, like: Tensor) -> Tensor:
    from .creation import full

    return full((), float(value), dtype=like._dtype, device=like._device)


def zeta(input: Any, other: Any) -> Tensor:
    """The Hurwitz zeta function ``sum_k (other + k)**-input`` (Riemann's at ``other = 1``);
    either argument may be a Python number."""
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        raise TypeError("zeta(): expected at least one Tensor argument")
    for x, arg in ((input, "input"), (other, "other")):
        if not isinstance(x, Tensor) and type(x) not in (bool, int, float):
            raise TypeError(f"zeta(): argument '{arg}' must be Tensor or a Python number, not "
                            f"{type(x).__name__}")
    dtype = float_dtype((input, other), "zeta")
    ref = input if isinstance(input, Tensor) else other
    s = wide(input) if isinstance(input, Tensor) else _scalar(input, wide(ref))
    q = wide(other) if isinstance(other, Tensor) else _scalar(other, wide(ref))
    if s._device is not q._device:
        raise RuntimeError(f"zeta(): expected both tensors on one device, got {s._device} and "
                           f"{q._device}")
    return cast(zeta_wide(s, q, extra_terms(q)), dtype, "zeta")


@tensor_method
def polygamma(n: int, input: Tensor) -> Tensor:
    """The ``n``-th derivative of ``digamma``: ``(-1)**(n+1) n! zeta(n + 1, x)`` for ``n >= 1``."""
    if isinstance(input, int) and isinstance(n, Tensor):  # the method's order: x.polygamma(n)
        n, input = input, n
    if not isinstance(n, int) or isinstance(n, bool):
        raise TypeError(f"polygamma(): argument 'n' must be int, not {type(n).__name__}")
    if n < 0:
        raise RuntimeError("polygamma(n, x) does not support negative n.")
    if n == 0:
        return digamma(input)
    sign = -1.0 if n % 2 == 0 else 1.0
    scale = sign * math.factorial(n)

    def f(x: Tensor) -> Tensor:
        out = zeta_wide(_scalar(n + 1, x), x, extra_terms(x)) * scale
        return where(x == math.inf, 0.0, out)  # PyTorch's limit here (zeta gives nan)

    return unary_special("polygamma", f, input)


def _polygamma_(self: Tensor, n: int) -> Tensor:
    return write_result(self, polygamma(n, self), "polygamma_")


TENSOR_METHODS["polygamma_"] = _polygamma_


# -- mvlgamma --------------------------------------------------------------------------------
@tensor_method
def mvlgamma(input: Tensor, p: int) -> Tensor:
    """The multivariate log-gamma of dimension ``p``:
    ``p (p - 1) / 4 log(pi) + sum_i lgamma(x - i / 2)``, ``i < p``."""
    check_tensor(input, "mvlgamma")
    if not isinstance(p, int) or isinstance(p, bool) or p < 1:
        raise RuntimeError(f"mvlgamma(): p has to be greater than or equal to 1, got {p!r}")

    def f(x: Tensor) -> Tensor:
        out = _lgamma(x)
        for i in range(1, p):
            out = out + _lgamma(x - 0.5 * i)
        return out + p * (p - 1) / 4 * _LOG_PI

    return unary_special("mvlgamma", f, input)


inplace(mvlgamma, "mvlgamma_")


# -- regularized incomplete gamma ----------------------------------------------------------------
def _igamma_terms(a: Tensor) -> int:
    """Series / continued-fraction depth: 200 reach double precision for a <= 300, and the
    depth needed grows like sqrt(a) near x = a (one host read of the largest a)."""
    finite = where(a.isfinite(), a, 0.0)
    top = float(finite.max()) if finite.numel() else 0.0
    return max(200, int(math.ceil(8.0 * math.sqrt(max(top, 0.0)))))


def _igamma_pair(a: Tensor, x: Tensor) -> tuple[Tensor, Tensor]:
    """``(P, Q)``: the power series of ``P`` where ``x < a + 1``, the continued fraction of
    ``Q`` elsewhere, and each as ``1 -`` the other (no cancellation: the one computed is the
    smaller there); PyTorch's values at the edges."""
    n = _igamma_terms(a)
    valid = (a > 0) & (x > 0) & a.isfinite() & x.isfinite()
    low = x < a + 1.0
    sa = where(valid, a, 1.0)
    xs = where(valid & low, x, 1.0)  # each branch sees arguments it converges for
    xc = where(valid & ~low, x, sa + 1.0)
    s = xs * 0.0 + 1.0
    for k in range(n, 0, -1):  # 1 + x/(a+1) (1 + x/(a+2) (1 + ...))
        s = 1.0 + s * xs / (sa + k)
    p_low = (sa * xs.log() - xs - _lgamma(sa + 1.0)).exp() * s
    t = xc * 0.0
    for k in range(n, 0, -1):  # 1 / (x + 1 - a - 1 (1 - a) / (x + 3 - a - 2 (2 - a) / ...))
        t = k * (k - sa) / (xc + (2 * k + 1) - sa - t)
    q_high = (sa * xc.log() - xc - _lgamma(sa)).exp() / (xc + 1.0 - sa - t)
    p = where(low, p_low, 1.0 - q_high)
    q = where(low, 1.0 - p_low, q_high)
    # edges: x = 0 gives P = 0; a = 0 (x > 0) or x = inf gives P = 1; a = inf gives P = 0
    one = ((a == 0) & (x > 0)) | ((x == math.inf) & a.isfinite() & (a >= 0))
    zero = ((x == 0) & (a > 0)) | ((a == math.inf) & x.isfinite() & (x >= 0))
    p = where(one, 1.0, where(zero, 0.0, p))
    q = where(one, 0.0, where(zero, 1.0, q))
    bad = ~(valid | one | zero)
    return where(bad, math.nan, p), where(bad, math.nan, q)


def _igamma_public(name: str, input: Any, other: Any, upper: bool) -> Tensor:
    check_tensor(input, name, "input")
    check_tensor(other, name, "other")
    dtype = float_dtype((input, other), name)
    p, q = _igamma_pair(wide(input), wide(other))
    return cast(q if upper else p, dtype, name)


@tensor_method
def igamma(input: Tensor, other: Tensor) -> Tensor:
    """The regularized lower incomplete gamma ``P(a, x) = gamma(a, x) / Gamma(a)`` with
    ``a = input``, ``x = other``."""
    return _igamma_public("igamma", input, other, False)


@tensor_method
def igammac(input: Tensor, other: Tensor) -> Tensor:
    """The regularized upper incomplete gamma ``Q(a, x) = 1 - P(a, x)``."""
    return _igamma_public("igammac", input, other, True)


inplace(igamma, "igamma_")
inplace(igammac, "igammac_")
