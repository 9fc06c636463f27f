"""The generalised Pareto distribution."""

from __future__ import annotations

import math
from typing import Any

import mbtorch

from ..core.tensor import Size, Tensor
from . import constraints
from .distribution import Distribution
from .utils import broadcast_all

__all__ = ["GeneralizedPareto"]


class GeneralizedPareto(Distribution):
    """``GeneralizedPareto(loc, scale, concentration)``; ``concentration == 0`` is the
    shifted exponential."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive,
                       "concentration": constraints.real}
    has_rsample = True

    def __init__(self, loc: Any, scale: Any, concentration: Any,
                 validate_args: bool | None = None) -> None:
        self.loc, self.scale, self.concentration = broadcast_all(loc, scale, concentration)
        scalar = all(isinstance(v, (int, float)) for v in (loc, scale, concentration))
        super().__init__(Size() if scalar else self.loc.size(), validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> GeneralizedPareto:
        return self._expand_params(GeneralizedPareto, batch_shape, _instance,
                                   ("loc", "scale", "concentration"))

    def _safe_conc(self) -> tuple[Tensor, Tensor]:
        eq_zero = mbtorch.isclose(self.concentration, mbtorch.zeros_like(self.concentration))
        return eq_zero, mbtorch.where(eq_zero, mbtorch.ones_like(self.concentration),
                                      self.concentration)

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        shape = tuple(self._extended_shape(sample_shape))
        return self.icdf(mbtorch.rand(shape, dtype=self.loc.dtype, device=self.loc.device))

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        z = self._z(value)
        eq_zero, safe = self._safe_conc()
        y = 1 / safe + mbtorch.ones_like(z)
        nonzero = mbtorch.where(y == 0, y, y * mbtorch.log1p(safe * z))
        return -self.scale.log() - mbtorch.where(eq_zero, z, nonzero)

    def log_survival_function(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        z = self._z(value)
        eq_zero, safe = self._safe_conc()
        return mbtorch.where(eq_zero, -z, -mbtorch.log1p(safe * z) / safe)

    def log_cdf(self, value: Tensor) -> Tensor:
        return mbtorch.log1p(-mbtorch.exp(self.log_survival_function(value)))

    def cdf(self, value: Tensor) -> Tensor:
        return mbtorch.exp(self.log_cdf(value))

    def icdf(self, value: Tensor) -> Tensor:
        eq_zero, safe = self._safe_conc()
        logu = mbtorch.log1p(-value)
        nonzero = self.loc + self.scale / safe * mbtorch.expm1(-safe * logu)
        return mbtorch.where(eq_zero, self.loc - self.scale * logu, nonzero)

    def _z(self, x: Tensor) -> Tensor:
        return (x - self.loc) / self.scale

    @property
    def mean(self) -> Tensor:
        valid = self.concentration < 1
        safe = mbtorch.where(valid, self.concentration, mbtorch.full_like(self.loc, 0.5))
        result = self.loc + self.scale / (1 - safe)
        return mbtorch.where(valid, result, mbtorch.full_like(result, math.nan))

    @property
    def variance(self) -> Tensor:
        valid = self.concentration < 0.5
        safe = mbtorch.where(valid, self.concentration, mbtorch.full_like(self.loc, 0.25))
        result = self.scale**2 / ((1 - safe) ** 2 * (1 - 2 * safe))
        return mbtorch.where(valid, result, mbtorch.full_like(result, math.nan))

    def entropy(self) -> Tensor:
        ans = mbtorch.log(self.scale) + self.concentration + 1
        return mbtorch.broadcast_to(ans, tuple(self._batch_shape))

    @property
    def mode(self) -> Tensor:
        return self.loc

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self) -> Any:
        lower = self.loc
        neg = self.concentration < 0
        safe = mbtorch.where(neg, self.concentration, -mbtorch.ones_like(self.loc))
        upper = mbtorch.where(neg, lower - self.scale / safe, mbtorch.full_like(lower, math.inf))
        return constraints.interval(lower, upper)
