"""Samplers that need rejection loops (Gamma, Poisson, Binomial) and the implicit
reparameterisation gradient of Gamma samples, built on mbtorch's generator and ops.

A rejection sampler redraws only where earlier proposals were rejected in effect: every pass
draws for the whole tensor and keeps the first accepted proposal per element, until every
element has one (acceptance is above 0.9 per pass for these methods, so a handful of passes).
"""

from __future__ import annotations

import mbtorch

from ..autograd.function import Function
from ..core.tensor import Tensor

__all__ = ["binomial", "poisson", "standard_gamma", "standard_gamma_grad"]


def _rand(like: Tensor) -> Tensor:
    return mbtorch.rand(tuple(like.shape), dtype=like.dtype, device=like.device)


def _marsaglia_tsang(alpha: Tensor) -> Tensor:
    # Marsaglia & Tsang (2000) for alpha >= 1
    d = alpha - 1.0 / 3.0
    c = 1.0 / mbtorch.sqrt(9.0 * d)
    out = mbtorch.zeros_like(alpha)
    done = mbtorch.zeros_like(alpha, dtype=mbtorch.bool)
    while not bool(done.all()):
        x = mbtorch.randn(tuple(alpha.shape), dtype=alpha.dtype, device=alpha.device)
        v = (1.0 + c * x) ** 3
        safe_v = mbtorch.where(v > 0, v, mbtorch.ones_like(v))
        log_u = mbtorch.log(_rand(alpha))
        accept = (v > 0) & (log_u < 0.5 * x * x + d - d * safe_v + d * mbtorch.log(safe_v))
        new = accept & ~done
        out = mbtorch.where(new, d * safe_v, out)
        done = done | accept
    return out


def standard_gamma(alpha: Tensor) -> Tensor:
    """Gamma(alpha, 1) samples of ``alpha``'s shape (no gradient), at least ``finfo.tiny``."""
    with mbtorch.no_grad():
        boosted = alpha < 1
        x = _marsaglia_tsang(mbtorch.where(boosted, alpha + 1.0, alpha))
        # alpha < 1: Gamma(alpha) = Gamma(alpha + 1) * U ** (1 / alpha), in log space
        u = _rand(alpha).clamp(min=mbtorch.finfo(alpha.dtype).tiny)
        small = mbtorch.exp(mbtorch.log(x) + mbtorch.log(u) / alpha)
        return mbtorch.where(boosted, small, x).clamp(min=mbtorch.finfo(alpha.dtype).tiny)


def _grad_small_x(alpha: Tensor, x: Tensor) -> Tensor:
    # Taylor series of the CDF for x < 0.8: -dCDF/dalpha / pdf
    numer = mbtorch.ones_like(x)
    denom = alpha
    series1, series2 = numer / denom, numer / (denom * denom)
    for i in range(1, 6):
        numer = numer * (-x / i)
        denom = denom + 1
        series1 = series1 + numer / denom
        series2 = series2 + numer / (denom * denom)
    pow_x_alpha = mbtorch.pow(x, alpha)
    gamma_pdf = mbtorch.pow(x, alpha - 1) * mbtorch.exp(-x)
    gamma_cdf = pow_x_alpha * series1
    cdf_alpha = (mbtorch.log(x) - mbtorch.digamma(alpha)) * gamma_cdf - pow_x_alpha * series2
    result = -cdf_alpha / gamma_pdf
    return mbtorch.where(mbtorch.isnan(result), mbtorch.zeros_like(result), result)


def _grad_large_alpha(alpha: Tensor, x: Tensor) -> Tensor:
    # Rice saddle-point expansion for alpha > 8
    near = (0.9 * alpha <= x) & (x <= 1.1 * alpha)
    numer_1 = 1 + 24 * alpha * (1 + 12 * alpha)
    numer_2 = (1440 * alpha * alpha + 6 * x * (53 - 120 * x) - 65 * x * x / alpha
               + alpha * (107 + 3600 * x))
    central = numer_1 * numer_2 / (1244160 * alpha * alpha * alpha * alpha)
    gap = mbtorch.where(near, mbtorch.full_like(x, 0.5) * alpha, alpha - x)  # finite when near
    xs = mbtorch.where(near, 0.5 * alpha, x)
    denom = mbtorch.sqrt(8 * alpha)
    term2 = denom / gap
    term3 = mbtorch.pow(xs - alpha - alpha * mbtorch.log(xs / alpha), -1.5)
    term23 = mbtorch.where(xs < alpha, term2 - term3, term2 + term3)
    term1 = (mbtorch.log(xs / alpha) * term23
             - mbtorch.sqrt(2 / alpha) * (alpha + xs) / (gap * gap))
    stirling = 1 + 1 / (12 * alpha) * (1 + 1 / (24 * alpha))
    return mbtorch.where(near, central, -stirling * xs * term1 / denom)


_COEF_UV = (
    (0.16009398, -0.094634809, 0.025146376, -0.0030648343,
     1, 0.32668115, 0.10406089, 0.0014179084),
    (0.53487893, 0.1298071, 0.065735949, -0.0015649758,
     0.16639465, 0.020070113, -0.0035938915, -0.00058392623),
    (0.040121004, -0.0065914022, -0.0026286047, -0.0013441777,
     0.017050642, -0.0021309326, 0.00085092367, -1.5247877e-07),
)


def _grad_rational(alpha: Tensor, x: Tensor) -> Tensor:
    # bivariate rational approximation in (log(x / alpha), log(alpha)) for the middle region
    u, v = mbtorch.log(x / alpha), mbtorch.log(alpha)
    c = [_COEF_UV[0][i] + u * (_COEF_UV[1][i] + u * _COEF_UV[2][i]) for i in range(8)]
    p = c[0] + v * (c[1] + v * (c[2] + v * c[3]))
    q = c[4] + v * (c[5] + v * (c[6] + v * c[7]))
    return mbtorch.exp(p / q)


def standard_gamma_grad(alpha: Tensor, x: Tensor) -> Tensor:
    """``dx/dalpha`` of a Gamma(alpha, 1) sample ``x`` holding its CDF fixed (implicit
    reparameterisation, Figurnov et al. 2018), by the same piecewise approximation as
    PyTorch's ``_standard_gamma_grad``."""
    small_x = x < 0.8
    big_alpha = alpha > 8.0
    a_big = mbtorch.where(big_alpha, alpha, mbtorch.full_like(alpha, 9.0))
    x_small = mbtorch.where(small_x, x, mbtorch.full_like(x, 0.5))
    x_rest = mbtorch.where(small_x, mbtorch.ones_like(x), x)
    rest = mbtorch.where(big_alpha, _grad_large_alpha(a_big, mbtorch.where(big_alpha, x_rest,
                                                                           a_big * 0.5)),
                         _grad_rational(alpha, x_rest))
    return mbtorch.where(small_x, _grad_small_x(alpha, x_small), rest)


class StandardGamma(Function):
    """Gamma(alpha, 1) samples whose gradient to ``alpha`` is the implicit one."""

    @staticmethod
    def forward(ctx, alpha: Tensor) -> Tensor:
        x = standard_gamma(alpha.detach())
        ctx.save_for_backward(alpha, x)
        return x

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:
        alpha, x = ctx.saved_tensors
        return grad * standard_gamma_grad(alpha.detach(), x)


def _poisson_knuth(rate: Tensor) -> Tensor:
    # multiply uniforms until the product drops below exp(-rate) (rate < 10)
    limit = mbtorch.exp(-rate)
    prod = mbtorch.ones_like(rate)
    count = mbtorch.zeros_like(rate)
    active = mbtorch.ones_like(rate, dtype=mbtorch.bool)
    while bool(active.any()):
        prod = prod * _rand(rate)
        active = active & (prod > limit)
        count = count + active.to(rate.dtype)
    return count


def _poisson_ptrs(rate: Tensor) -> Tensor:
    # Hormann's transformed rejection with squeeze (PTRS), for rate >= 10
    slam, loglam = mbtorch.sqrt(rate), mbtorch.log(rate)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    inv_alpha = 1.1239 + 1.1328 / (b - 3.4)
    vr = 0.9277 - 3.6224 / (b - 2)
    out = mbtorch.zeros_like(rate)
    done = mbtorch.zeros_like(rate, dtype=mbtorch.bool)
    while not bool(done.all()):
        u, v = _rand(rate) - 0.5, _rand(rate)
        us = 0.5 - u.abs()
        k = mbtorch.floor((2 * a / us + b) * u + rate + 0.43)
        quick = (us >= 0.07) & (v <= vr)
        bad = (k < 0) | ((us < 0.013) & (v > us))
        ks = k.clamp(min=0)
        lhs = mbtorch.log(v) + mbtorch.log(inv_alpha) - mbtorch.log(a / (us * us) + b)
        slow = lhs <= -rate + ks * loglam - mbtorch.lgamma(ks + 1)
        accept = quick | (~bad & slow)
        out = mbtorch.where(accept & ~done, k, out)
        done = done | accept
    return out


def poisson(rate: Tensor) -> Tensor:
    """Poisson samples of ``rate``'s shape and dtype (no gradient)."""
    with mbtorch.no_grad():
        large = rate >= 10
        small = _poisson_knuth(mbtorch.where(large, mbtorch.zeros_like(rate), rate))
        if not bool(large.any()):
            return small
        big = _poisson_ptrs(mbtorch.where(large, rate, mbtorch.full_like(rate, 10.0)))
        return mbtorch.where(large, big, small)


_CHUNK_ELEMENTS = 1 << 22  # uniforms drawn per pass: bounds the memory of a large batch


def binomial(total_count: Tensor, probs: Tensor) -> Tensor:
    """Binomial samples: the number of successes among ``total_count`` Bernoulli trials,
    counted exactly in chunks of trials (cost linear in ``max(total_count)``)."""
    with mbtorch.no_grad():
        n_max = int(total_count.max().item()) if total_count.numel() else 0
        count = mbtorch.zeros_like(probs)
        shape = tuple(probs.shape)
        chunk = max(1, min(256, _CHUNK_ELEMENTS // max(probs.numel(), 1)))
        for start in range(0, n_max, chunk):
            width = min(chunk, n_max - start)
            trial = mbtorch.arange(start, start + width, dtype=probs.dtype, device=probs.device)
            u = mbtorch.rand(shape + (width,), dtype=probs.dtype, device=probs.device)
            hit = (u < probs.unsqueeze(-1)) & (trial < total_count.unsqueeze(-1))
            count = count + hit.to(probs.dtype).sum(-1)
        return count


