"""The von Mises (circular normal) distribution."""

from __future__ import annotations

import math
from typing import Any

import mbtorch

from ..core.tensor import Size, Tensor
from . import constraints
from ._params import LocMeanMode
from .distribution import Distribution
from .utils import broadcast_all, lazy_property

__all__ = ["VonMises"]

# Abramowitz & Stegun 9.8.1-9.8.4 polynomial approximations of I0 and I1 (as PyTorch's), in
# y = (x/3.75)^2 below 3.75 and in 3.75/x above
_COEF_SMALL = ((1.0, 3.5156229, 3.0899424, 1.2067492, 0.2659732, 0.360768e-1, 0.45813e-2),
               (0.5, 0.87890594, 0.51498869, 0.15084934, 0.2658733e-1, 0.301532e-2,
                0.32411e-3))
_COEF_LARGE = ((0.39894228, 0.1328592e-1, 0.225319e-2, -0.157565e-2, 0.916281e-2,
                -0.2057706e-1, 0.2635537e-1, -0.1647633e-1, 0.392377e-2),
               (0.39894228, -0.3988024e-1, -0.362018e-2, 0.163801e-2, -0.1031555e-1,
                0.2282967e-1, -0.2895312e-1, 0.1787654e-1, -0.420059e-2))


def _eval_poly(y: Tensor, coef: tuple) -> Tensor:
    result = coef[-1]
    for c in reversed(coef[:-1]):
        result = c + y * result
    return result


def _log_modified_bessel_fn(x: Tensor, order: int = 0) -> Tensor:
    """``log(I_order(x))`` for ``x > 0`` and order 0 or 1."""
    small = _eval_poly((x / 3.75) ** 2, _COEF_SMALL[order])
    if order == 1:
        small = x.abs() * small
    small = small.log()
    large = x - 0.5 * x.log() + _eval_poly(3.75 / x, _COEF_LARGE[order]).log()
    return mbtorch.where(x < 3.75, small, large)


def _rejection_sample(loc: Tensor, concentration: Tensor, proposal_r: Tensor,
                      shape: tuple) -> Tensor:
    # Best & Fisher (1979), as PyTorch: wrapped-Cauchy proposals accepted elementwise
    x = mbtorch.zeros(shape, dtype=loc.dtype, device=loc.device)
    done = mbtorch.zeros(shape, dtype=mbtorch.bool, device=loc.device)
    while not bool(done.all()):
        u1, u2, u3 = mbtorch.rand((3,) + shape, dtype=loc.dtype, device=loc.device).unbind()
        z = mbtorch.cos(math.pi * u1)
        f = (1 + proposal_r * z) / (proposal_r + z)
        c = concentration * (proposal_r - f)
        accept = ((c * (2 - c) - u2) > 0) | ((c / u2).log() + 1 - c >= 0)
        x = mbtorch.where(accept & ~done, (u3 - 0.5).sign() * f.clamp(-1.0, 1.0).acos(), x)
        done = done | accept
    return mbtorch.remainder(x + math.pi + loc, 2 * math.pi) - math.pi


class VonMises(LocMeanMode, Distribution):
    """``VonMises(loc, concentration)`` on the circle, values in ``[-pi, pi)``."""

    arg_constraints = {"loc": constraints.real, "concentration": constraints.positive}
    support = constraints.real
    has_rsample = False

    def __init__(self, loc: Any, concentration: Any, validate_args: bool | None = None) -> None:
        self.loc, self.concentration = broadcast_all(loc, concentration)
        super().__init__(self.loc.shape, Size(), validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> VonMises:
        return self._expand_params(VonMises, batch_shape, _instance, ("loc", "concentration"))

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return (self.concentration * mbtorch.cos(value - self.loc) - math.log(2 * math.pi)
                - _log_modified_bessel_fn(self.concentration, order=0))

    def _wide(self, t: Tensor) -> Tensor:
        # sampling runs in float64 where the backend has it, as PyTorch's does
        return t.to(mbtorch.float64) if mbtorch.float64 in t._be.dtypes else t

    @lazy_property
    def _proposal_r(self) -> Tensor:
        kappa = self._wide(self.concentration.detach())
        tau = 1 + (1 + 4 * kappa**2).sqrt()
        rho = (tau - (2 * tau).sqrt()) / (2 * kappa)
        return mbtorch.where(kappa < 1e-5, 1 / kappa + kappa, (1 + rho**2) / (2 * rho))

    def sample(self, sample_shape: Any = ()) -> Tensor:
        shape = tuple(self._extended_shape(sample_shape))
        with mbtorch.no_grad():
            loc = self._wide(self.loc.detach())
            out = _rejection_sample(loc, self._wide(self.concentration.detach()),
                                    self._proposal_r, shape)
            return out.to(self.loc.dtype)


    @lazy_property
    def variance(self) -> Tensor:
        return 1 - (_log_modified_bessel_fn(self.concentration, order=1)
                    - _log_modified_bessel_fn(self.concentration, order=0)).exp()
