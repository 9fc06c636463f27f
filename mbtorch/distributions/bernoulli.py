"""The Bernoulli distribution, parameterised by ``probs`` or ``logits``."""

from __future__ import annotations

from typing import Any

import mbtorch

from ..core.tensor import Tensor
from . import constraints
from ._params import BinaryParamShape, binary_logits, binary_param, binary_probs
from .exp_family import ExponentialFamily
from .utils import bce_with_logits, broadcast_all

__all__ = ["Bernoulli"]


class Bernoulli(BinaryParamShape, ExponentialFamily):
    """``Bernoulli(probs=p)`` or ``Bernoulli(logits=l)``: 1 with probability ``p``."""

    logits = binary_logits  # each derived lazily from the other
    probs = binary_probs
    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.boolean
    has_enumerate_support = True
    _mean_carrier_measure = 0

    def __init__(self, probs: Any = None, logits: Any = None,
                 validate_args: bool | None = None) -> None:
        batch_shape = binary_param(self, probs, logits)
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Bernoulli:
        return self._expand_binary(Bernoulli, batch_shape, _instance)

    @property
    def mean(self) -> Tensor:
        return self.probs

    @property
    def mode(self) -> Tensor:
        mode = (self.probs >= 0.5).to(self.probs.dtype)
        return mbtorch.where(self.probs == 0.5, mbtorch.full_like(mode, float("nan")), mode)

    @property
    def variance(self) -> Tensor:
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape: Any = ()) -> Tensor:
        shape = tuple(self._extended_shape(sample_shape))
        with mbtorch.no_grad():
            return mbtorch.bernoulli(self.probs.expand(shape))

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        return -bce_with_logits(logits, value)

    def entropy(self) -> Tensor:
        return bce_with_logits(self.logits, self.probs)

    def enumerate_support(self, expand: bool = True) -> Tensor:
        values = mbtorch.arange(2, dtype=self._param.dtype, device=self._param.device)
        values = values.view((-1,) + (1,) * len(self._batch_shape))
        if expand:
            values = values.expand((-1,) + tuple(self._batch_shape))
        return values

    @property
    def _natural_params(self) -> tuple:
        return (mbtorch.logit(self.probs),)

    def _log_normalizer(self, x: Tensor) -> Tensor:
        return mbtorch.log1p(mbtorch.exp(x))
