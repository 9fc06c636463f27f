"""The part HalfCauchy and HalfNormal share: ``|X|`` for a centred, symmetric ``X``.

Folding a distribution symmetric about 0 doubles its density on ``[0, inf)``, so
log_prob, cdf, icdf and entropy follow from the base family's alone.
"""

from __future__ import annotations

import math
from typing import Any

import mbtorch

from ..core.tensor import Tensor
from . import constraints
from .transformed_distribution import TransformedDistribution
from .transforms import AbsTransform

__all__ = ["HalfSymmetric"]


class HalfSymmetric(TransformedDistribution):
    """``|X|`` for ``X ~ _base_family(0, scale)``; subclasses set ``_base_family`` and
    supply ``expand``, ``mean`` and ``variance``."""

    arg_constraints = {"scale": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True
    _base_family: type

    def __init__(self, scale: Any, validate_args: bool | None = None) -> None:
        base = self._base_family(0, scale, validate_args=False)
        super().__init__(base, AbsTransform(), validate_args=validate_args)

    @property
    def scale(self) -> Tensor:
        return self.base_dist.scale

    @property
    def mode(self) -> Tensor:
        return mbtorch.zeros_like(self.scale)

    def _coerce(self, value: Any) -> Any:
        # hook for families whose log_prob accepts non-tensor values (HalfCauchy)
        return value

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        value = self._coerce(value)
        log_prob = self.base_dist.log_prob(value) + math.log(2)
        return mbtorch.where(value >= 0, log_prob, mbtorch.full_like(log_prob, -math.inf))

    def cdf(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return 2 * self.base_dist.cdf(value) - 1

    def icdf(self, prob: Tensor) -> Tensor:
        return self.base_dist.icdf((prob + 1) / 2)

    def entropy(self) -> Tensor:
        return self.base_dist.entropy() - math.log(2)
