"""The geometric distribution: failures before the first success."""

from __future__ import annotations

from typing import Any

import mbtorch

from ..core.tensor import Tensor
from . import constraints
from ._params import BinaryProbsLogits, binary_logits, binary_param, binary_probs
from .distribution import Distribution
from .utils import bce_with_logits, broadcast_all

__all__ = ["Geometric"]


class Geometric(BinaryProbsLogits, Distribution):
    """``Geometric(probs=p)``: ``P(k) = (1 - p)^k p`` for ``k = 0, 1, ...``."""

    logits = binary_logits  # each derived lazily from the other
    probs = binary_probs
    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.nonnegative_integer

    def __init__(self, probs: Any = None, logits: Any = None,
                 validate_args: bool | None = None) -> None:
        batch_shape = binary_param(self, probs, logits)
        super().__init__(batch_shape, validate_args=validate_args)
        if self._validate_args and probs is not None:
            # unit_interval admits 0, for which the distribution is undefined
            if not bool((self.probs > 0).all()):
                raise ValueError(
                    f"Expected parameter probs ({type(self.probs).__name__} of shape "
                    f"{tuple(self.probs.shape)}) of distribution {self!r} to satisfy the "
                    f"constraint {constraints.interval(0.0, 1.0)!r}, but found invalid "
                    f"values:\n{self.probs}")

    def expand(self, batch_shape: Any, _instance: Any = None) -> Geometric:
        return self._expand_binary(Geometric, batch_shape, _instance)

    @property
    def mean(self) -> Tensor:
        return 1.0 / self.probs - 1.0

    @property
    def mode(self) -> Tensor:
        return mbtorch.zeros_like(self.probs)

    @property
    def variance(self) -> Tensor:
        return (1.0 / self.probs - 1.0) / self.probs

    def sample(self, sample_shape: Any = ()) -> Tensor:
        shape = tuple(self._extended_shape(sample_shape))
        tiny = mbtorch.finfo(self.probs.dtype).tiny
        with mbtorch.no_grad():
            u = mbtorch.rand(shape, dtype=self.probs.dtype, device=self.probs.device)
            return (u.clamp(min=tiny).log() / (-self.probs).log1p()).floor()

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        value, probs = broadcast_all(value, self.probs)
        # p == 1 and k == 0: 0 * log(0) is 0 here
        probs = mbtorch.where((probs == 1) & (value == 0), mbtorch.zeros_like(probs), probs)
        return value * (-probs).log1p() + self.probs.log()

    def entropy(self) -> Tensor:
        return bce_with_logits(self.logits, self.probs) / self.probs
