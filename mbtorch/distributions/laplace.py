"""The Laplace (double exponential) distribution."""

from __future__ import annotations

from typing import Any

import mbtorch

from ..core.tensor import Tensor
from . import constraints
from ._params import LocMeanMode, loc_scale_param
from .distribution import Distribution

__all__ = ["Laplace"]


class Laplace(LocMeanMode, Distribution):
    """``Laplace(loc, scale)``: density ``exp(-|x - loc| / scale) / (2 scale)``."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc: Any, scale: Any, validate_args: bool | None = None) -> None:
        super().__init__(loc_scale_param(self, loc, scale), validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Laplace:
        return self._expand_params(Laplace, batch_shape, _instance, ("loc", "scale"))

    @property
    def variance(self) -> Tensor:
        return 2 * self.scale.pow(2)

    @property
    def stddev(self) -> Tensor:
        return (2**0.5) * self.scale

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        shape = tuple(self._extended_shape(sample_shape))
        eps = mbtorch.finfo(self.loc.dtype).eps
        u = mbtorch.rand(shape, dtype=self.loc.dtype, device=self.loc.device)
        u = u * (2.0 - eps) + (eps - 1.0)  # uniform on (eps - 1, 1): log1p(-|u|) stays finite
        return self.loc - self.scale * u.sign() * mbtorch.log1p(-u.abs())

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return -mbtorch.log(2 * self.scale) - mbtorch.abs(value - self.loc) / self.scale

    def cdf(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        z = value - self.loc
        return 0.5 - 0.5 * z.sign() * mbtorch.expm1(-z.abs() / self.scale)

    def icdf(self, value: Tensor) -> Tensor:
        term = value - 0.5
        return self.loc - self.scale * term.sign() * mbtorch.log1p(-2 * term.abs())

    def entropy(self) -> Tensor:
        return 1 + mbtorch.log(2 * self.scale)


