"""The Kumaraswamy distribution on ``[0, 1]``."""

from __future__ import annotations

import math
from typing import Any

import mbtorch

from ..core.tensor import Size, Tensor
from ._params import UnitIntervalConcentrations
from .transformed_distribution import TransformedDistribution
from .transforms import AffineTransform, PowerTransform
from .uniform import Uniform
from .utils import broadcast_all, euler_constant

__all__ = ["Kumaraswamy"]


def _moments(a: Tensor, b: Tensor, n: int) -> Tensor:
    """The ``n``-th raw moment ``b B(1 + n/a, b)``."""
    arg1 = 1 + n / a
    return b * mbtorch.exp(mbtorch.lgamma(arg1) + mbtorch.lgamma(b) - mbtorch.lgamma(arg1 + b))


class Kumaraswamy(UnitIntervalConcentrations, TransformedDistribution):
    """``Kumaraswamy(concentration1, concentration0)``: ``(1 - U ** (1/b)) ** (1/a)``."""

    def __init__(self, concentration1: Any, concentration0: Any,
                 validate_args: bool | None = None) -> None:
        self.concentration1, self.concentration0 = broadcast_all(concentration1, concentration0)
        base = Uniform(mbtorch.zeros_like(self.concentration0),
                       mbtorch.ones_like(self.concentration0), validate_args=validate_args)
        transforms = [PowerTransform(exponent=self.concentration0.reciprocal()),
                      AffineTransform(loc=1.0, scale=-1.0),
                      PowerTransform(exponent=self.concentration1.reciprocal())]
        super().__init__(base, transforms, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Kumaraswamy:
        new = self._get_checked_instance(Kumaraswamy, _instance)
        new.concentration1 = self.concentration1.expand(tuple(batch_shape))
        new.concentration0 = self.concentration0.expand(tuple(batch_shape))
        return super().expand(Size(batch_shape), _instance=new)

    @property
    def mean(self) -> Tensor:
        return _moments(self.concentration1, self.concentration0, 1)

    @property
    def mode(self) -> Tensor:
        a, b = self.concentration1, self.concentration0
        log_mode = b.reciprocal() * (-b).log1p() - (-b * a).log1p()
        undefined = (b < 1) | (a < 1)
        return mbtorch.where(undefined, mbtorch.full_like(log_mode, math.nan), log_mode).exp()

    @property
    def variance(self) -> Tensor:
        return _moments(self.concentration1, self.concentration0, 2) - self.mean.pow(2)

    def entropy(self) -> Tensor:
        t1 = 1 - self.concentration1.reciprocal()
        t0 = 1 - self.concentration0.reciprocal()
        h0 = mbtorch.digamma(self.concentration0 + 1) + euler_constant
        return t0 + t1 * h0 - mbtorch.log(self.concentration1) - mbtorch.log(self.concentration0)
