"""The binomial distribution."""

from __future__ import annotations

from typing import Any

import mbtorch

from ..core.tensor import Tensor
from . import constraints
from ._params import BinaryParamShape, binary_logits, binary_probs, count_binary_param
from ._samplers import binomial
from .distribution import Distribution

__all__ = ["Binomial"]


def _clamp_by_zero(x: Tensor) -> Tensor:
    # max(x, 0) whose gradient at 0 is 1/2, as PyTorch's
    return (x.clamp(min=0) + x - x.clamp(max=0)) / 2


class Binomial(BinaryParamShape, Distribution):
    """``Binomial(total_count=1, probs=None, logits=None)``: successes in ``total_count``
    trials. Sampling counts the trials exactly (cost linear in ``total_count``)."""

    logits = binary_logits  # each derived lazily from the other
    probs = binary_probs
    arg_constraints = {"total_count": constraints.nonnegative_integer,
                       "probs": constraints.unit_interval, "logits": constraints.real}
    has_enumerate_support = True

    def __init__(self, total_count: Any = 1, probs: Any = None, logits: Any = None,
                 validate_args: bool | None = None) -> None:
        batch_shape = count_binary_param(self, total_count, probs, logits)
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Binomial:
        return self._expand_binary(Binomial, batch_shape, _instance,
                                   ("total_count", "probs", "logits"))

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self) -> Any:
        return constraints.integer_interval(0, self.total_count)

    @property
    def mean(self) -> Tensor:
        return self.total_count * self.probs

    @property
    def mode(self) -> Tensor:
        return ((self.total_count + 1) * self.probs).floor().clamp(max=self.total_count)

    @property
    def variance(self) -> Tensor:
        return self.total_count * self.probs * (1 - self.probs)

    def sample(self, sample_shape: Any = ()) -> Tensor:
        shape = tuple(self._extended_shape(sample_shape))
        return binomial(self.total_count.detach().expand(shape),
                        self.probs.detach().expand(shape))

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        n, logits = self.total_count, self.logits
        normalize = (n * _clamp_by_zero(logits) + n * mbtorch.log1p(mbtorch.exp(-logits.abs()))
                     - mbtorch.lgamma(n + 1))
        return (value * logits - mbtorch.lgamma(value + 1) - mbtorch.lgamma(n - value + 1)
                - normalize)

    def entropy(self) -> Tensor:
        total = int(self.total_count.max().item())
        if not self.total_count.min().item() == total:
            raise NotImplementedError("Inhomogeneous total count not supported by `entropy`.")
        log_prob = self.log_prob(self.enumerate_support(False))
        return -(mbtorch.exp(log_prob) * log_prob).sum(0)

    def enumerate_support(self, expand: bool = True) -> Tensor:
        total = int(self.total_count.max().item())
        if not self.total_count.min().item() == total:
            raise NotImplementedError(
                "Inhomogeneous total count not supported by `enumerate_support`.")
        values = mbtorch.arange(1 + total, dtype=self._param.dtype, device=self._param.device)
        values = values.view((-1,) + (1,) * len(self._batch_shape))
        if expand:
            values = values.expand((-1,) + tuple(self._batch_shape))
        return values


