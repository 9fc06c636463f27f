"""The multinomial distribution: category counts over ``total_count`` draws."""

from __future__ import annotations

import math
from typing import Any

import mbtorch

from ..core.tensor import Size, Tensor
from . import constraints
from ._params import CategoricalParams
from .binomial import Binomial
from .categorical import Categorical
from .distribution import Distribution
from .utils import broadcast_all

__all__ = ["Multinomial"]


class Multinomial(CategoricalParams, Distribution):
    """``Multinomial(total_count=1, probs=None, logits=None)``; ``log_prob`` accepts any
    counts, ``sample`` uses the shared ``total_count``."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}

    def __init__(self, total_count: int = 1, probs: Any = None, logits: Any = None,
                 validate_args: bool | None = None) -> None:
        if not isinstance(total_count, int):
            raise NotImplementedError("inhomogeneous total_count is not supported")
        self.total_count = total_count
        self._categorical = Categorical(probs=probs, logits=logits)
        self._binomial = Binomial(total_count=total_count, probs=self.probs)
        super().__init__(*self._categorical_shapes(), validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Multinomial:
        new = self._get_checked_instance(Multinomial, _instance)
        new.total_count = self.total_count
        new._categorical = self._categorical.expand(Size(batch_shape))
        new._binomial = Binomial(total_count=self.total_count, probs=new._categorical.probs)
        return self._init_expanded(new, Size(batch_shape), self.event_shape)

    @constraints.dependent_property(is_discrete=True, event_dim=1)
    def support(self) -> Any:
        return constraints.multinomial(self.total_count)

    @property
    def mean(self) -> Tensor:
        return self.probs * self.total_count

    @property
    def variance(self) -> Tensor:
        return self.total_count * self.probs * (1 - self.probs)

    def sample(self, sample_shape: Any = ()) -> Tensor:
        sample_shape = tuple(Size(sample_shape))
        draws = self._categorical.sample((self.total_count,) + sample_shape)
        draws = draws.permute(*range(1, draws.dim()), 0)  # the draws last
        counts = mbtorch.zeros(tuple(self._extended_shape(sample_shape)), dtype=draws.dtype,
                               device=draws.device)
        counts = counts.scatter_add(-1, draws, mbtorch.ones_like(draws))
        return counts.to(self.probs.dtype)

    def entropy(self) -> Tensor:
        n = float(self.total_count)
        term1 = n * self._categorical.entropy() - math.lgamma(n + 1)
        support = self._binomial.enumerate_support(expand=False)[1:]
        binomial_probs = mbtorch.exp(self._binomial.log_prob(support))
        weights = mbtorch.lgamma(support + 1)
        return term1 + (binomial_probs * weights).sum((0, -1))

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        log_factorial_n = mbtorch.lgamma(value.sum(-1) + 1)
        log_factorial_xs = mbtorch.lgamma(value + 1).sum(-1)
        logits = mbtorch.where((value == 0) & (logits == -math.inf), mbtorch.zeros_like(logits),
                               logits)
        return log_factorial_n - log_factorial_xs + (logits * value).sum(-1)
