"""The half-normal distribution: ``|X|`` for a centred normal ``X``."""

from __future__ import annotations

import math
from typing import Any

from ..core.tensor import Size, Tensor
from ._half import HalfSymmetric
from .normal import Normal

__all__ = ["HalfNormal"]


class HalfNormal(HalfSymmetric):
    """``HalfNormal(scale)``: ``|X|`` for ``X ~ Normal(0, scale)``."""

    _base_family = Normal

    def expand(self, batch_shape: Any, _instance: Any = None) -> HalfNormal:
        new = self._get_checked_instance(HalfNormal, _instance)
        return super().expand(Size(batch_shape), _instance=new)

    @property
    def mean(self) -> Tensor:
        return self.scale * math.sqrt(2 / math.pi)

    @property
    def variance(self) -> Tensor:
        return self.scale.pow(2) * (1 - 2 / math.pi)
