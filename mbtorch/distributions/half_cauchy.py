"""The half-Cauchy distribution: ``|X|`` for a centred Cauchy ``X``."""

from __future__ import annotations

import math
from typing import Any

import mbtorch

from ..core.tensor import Size, Tensor
from ._half import HalfSymmetric
from .cauchy import Cauchy

__all__ = ["HalfCauchy"]


class HalfCauchy(HalfSymmetric):
    """``HalfCauchy(scale)``: ``|X|`` for ``X ~ Cauchy(0, scale)``."""

    _base_family = Cauchy

    def expand(self, batch_shape: Any, _instance: Any = None) -> HalfCauchy:
        new = self._get_checked_instance(HalfCauchy, _instance)
        return super().expand(Size(batch_shape), _instance=new)

    @property
    def mean(self) -> Tensor:
        return mbtorch.full(tuple(self._extended_shape()), math.inf, dtype=self.scale.dtype,
                            device=self.scale.device)

    @property
    def variance(self) -> Tensor:
        return self.base_dist.variance

    def _coerce(self, value: Any) -> Tensor:
        return mbtorch.as_tensor(value, dtype=self.base_dist.scale.dtype,
                                 device=self.base_dist.scale.device)
