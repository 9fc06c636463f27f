"""Student's t distribution."""

from __future__ import annotations

import math
from typing import Any

import mbtorch

from ..core.tensor import Size, Tensor
from . import constraints
from .chi2 import Chi2
from .distribution import Distribution
from .utils import broadcast_all

__all__ = ["StudentT"]


class StudentT(Distribution):
    """``StudentT(df, loc=0., scale=1.)``; ``rsample`` is ``loc + scale * X / sqrt(Z / df)``
    with ``X`` normal and ``Z`` a differentiable Chi2 sample."""

    arg_constraints = {"df": constraints.positive, "loc": constraints.real,
                       "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, df: Any, loc: Any = 0.0, scale: Any = 1.0,
                 validate_args: bool | None = None) -> None:
        self.df, self.loc, self.scale = broadcast_all(df, loc, scale)
        self._chi2 = Chi2(self.df)
        super().__init__(self._chi2._batch_shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> StudentT:
        new = self._expand_params(StudentT, batch_shape, _instance, ("df", "loc", "scale"))
        new._chi2 = self._chi2.expand(Size(batch_shape))
        return new

    @property
    def mean(self) -> Tensor:
        return mbtorch.where(self.df <= 1, mbtorch.full_like(self.loc, math.nan), self.loc)

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def variance(self) -> Tensor:
        df = self.df
        finite = self.scale.pow(2) * df / mbtorch.where(df > 2, df - 2, mbtorch.ones_like(df))
        out = mbtorch.where(df > 2, finite, mbtorch.full_like(df, math.inf))
        return mbtorch.where(df <= 1, mbtorch.full_like(df, math.nan), out)

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        shape = tuple(self._extended_shape(sample_shape))
        x = mbtorch.randn(shape, dtype=self.df.dtype, device=self.df.device)
        z = self._chi2.rsample(sample_shape)
        y = x * mbtorch.rsqrt(z / self.df)
        return self.loc + self.scale * y

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        y = (value - self.loc) / self.scale
        z = (self.scale.log() + 0.5 * self.df.log() + 0.5 * math.log(math.pi)
             + mbtorch.lgamma(0.5 * self.df) - mbtorch.lgamma(0.5 * (self.df + 1.0)))
        return -0.5 * (self.df + 1.0) * mbtorch.log1p(y**2.0 / self.df) - z

    def entropy(self) -> Tensor:
        df = self.df
        lbeta = mbtorch.lgamma(0.5 * df) + math.lgamma(0.5) - mbtorch.lgamma(0.5 * (df + 1))
        return (self.scale.log() + 0.5 * (df + 1) * (mbtorch.digamma(0.5 * (df + 1))
                                                    - mbtorch.digamma(0.5 * df))
                + 0.5 * df.log() + lbeta)
