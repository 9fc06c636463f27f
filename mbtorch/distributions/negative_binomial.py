"""The negative binomial distribution."""

from __future__ import annotations

from typing import Any

import mbtorch

from ..core.tensor import Tensor
from . import constraints
from ._params import BinaryParamShape, binary_logits, binary_probs, count_binary_param
from ._samplers import poisson
from .distribution import Distribution
from .gamma import Gamma
from .utils import lazy_property

__all__ = ["NegativeBinomial"]


def _log_sigmoid(x: Tensor) -> Tensor:
    return -(x.neg().clamp(min=0) + mbtorch.log1p(mbtorch.exp(-x.abs())))


class NegativeBinomial(BinaryParamShape, Distribution):
    """``NegativeBinomial(total_count, probs=None, logits=None)``: successes before
    ``total_count`` failures, each trial succeeding with probability ``probs``."""

    logits = binary_logits  # each derived lazily from the other
    probs = binary_probs
    arg_constraints = {"total_count": constraints.greater_than_eq(0),
                       "probs": constraints.half_open_interval(0.0, 1.0),
                       "logits": constraints.real}
    support = constraints.nonnegative_integer

    def __init__(self, total_count: Any, probs: Any = None, logits: Any = None,
                 validate_args: bool | None = None) -> None:
        batch_shape = count_binary_param(self, total_count, probs, logits)
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> NegativeBinomial:
        return self._expand_binary(NegativeBinomial, batch_shape, _instance,
                                   ("total_count", "probs", "logits"))

    @property
    def mean(self) -> Tensor:
        return self.total_count * mbtorch.exp(self.logits)

    @property
    def mode(self) -> Tensor:
        return ((self.total_count - 1) * self.logits.exp()).floor().clamp(min=0.0)

    @property
    def variance(self) -> Tensor:
        return self.mean / mbtorch.sigmoid(-self.logits)

    @lazy_property
    def _gamma(self) -> Gamma:
        # a Poisson whose rate is Gamma(total_count, exp(-logits)) distributed
        return Gamma(concentration=self.total_count, rate=mbtorch.exp(-self.logits),
                     validate_args=False)

    def sample(self, sample_shape: Any = ()) -> Tensor:
        with mbtorch.no_grad():
            return poisson(self._gamma.sample(sample_shape).contiguous())

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        n = self.total_count
        log_unnormalized = n * _log_sigmoid(-self.logits) + value * _log_sigmoid(self.logits)
        log_normalization = (-mbtorch.lgamma(n + value) + mbtorch.lgamma(1.0 + value)
                             + mbtorch.lgamma(n))
        log_normalization = mbtorch.where(n + value == 0.0,
                                          mbtorch.zeros_like(log_normalization),
                                          log_normalization)
        return log_unnormalized - log_normalization
