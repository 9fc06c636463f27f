"""The Dirichlet distribution on the probability simplex."""

from __future__ import annotations

from typing import Any

import mbtorch

from ..core.tensor import Tensor
from . import constraints
from ._samplers import StandardGamma
from .exp_family import ExponentialFamily
from .utils import one_hot

__all__ = ["Dirichlet"]


class Dirichlet(ExponentialFamily):
    """``Dirichlet(concentration)`` over vectors of length ``concentration.shape[-1]``.

    ``rsample`` normalises independent Gamma samples, each with its implicit reparameterisation
    gradient, so gradients reach ``concentration`` (an unbiased pathwise estimator; PyTorch
    uses a different closed-form approximation, so per-sample gradients differ from its)."""

    arg_constraints = {"concentration": constraints.independent(constraints.positive, 1)}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, concentration: Tensor, validate_args: bool | None = None) -> None:
        if not isinstance(concentration, Tensor) or concentration.dim() < 1:
            raise ValueError("`concentration` parameter must be at least one-dimensional.")
        self.concentration = concentration
        batch_shape, event_shape = concentration.shape[:-1], concentration.shape[-1:]
        super().__init__(batch_shape, event_shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Dirichlet:
        return self._expand_params(Dirichlet, batch_shape, _instance, ("concentration",),
                                   param_dims=1)

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        shape = tuple(self._extended_shape(sample_shape))
        gammas = StandardGamma.apply(self.concentration.expand(shape))
        return gammas / gammas.sum(-1, keepdim=True)

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        c = self.concentration
        return (mbtorch.xlogy(c - 1.0, value).sum(-1) + mbtorch.lgamma(c.sum(-1))
                - mbtorch.lgamma(c).sum(-1))

    @property
    def mean(self) -> Tensor:
        return self.concentration / self.concentration.sum(-1, True)

    @property
    def mode(self) -> Tensor:
        concm1 = (self.concentration - 1).clamp(min=0.0)
        mode = concm1 / concm1.sum(-1, True)
        # every concentration below 1: the density peaks at the simplex's corners
        corner = one_hot(mode.argmax(-1), concm1.shape[-1], mode.dtype)  # as PyTorch (NaN row)
        low = (self.concentration < 1).all(-1, keepdim=True)
        return mbtorch.where(low, corner, mode)

    @property
    def variance(self) -> Tensor:
        con0 = self.concentration.sum(-1, True)
        return self.concentration * (con0 - self.concentration) / (con0.pow(2) * (con0 + 1))

    def entropy(self) -> Tensor:
        k = self.concentration.size(-1)
        a0 = self.concentration.sum(-1)
        c = self.concentration
        return (mbtorch.lgamma(c).sum(-1) - mbtorch.lgamma(a0) - (k - a0) * mbtorch.digamma(a0)
                - ((c - 1.0) * mbtorch.digamma(c)).sum(-1))

    @property
    def _natural_params(self) -> tuple:
        return (self.concentration,)

    def _log_normalizer(self, x: Tensor) -> Tensor:
        return mbtorch.lgamma(x).sum(-1) - mbtorch.lgamma(x.sum(-1))
