"""The LKJ distribution over Cholesky factors of correlation matrices."""

from __future__ import annotations

import math
from typing import Any

import mbtorch

from ..core.tensor import Size, Tensor
from . import constraints
from .beta import Beta
from .distribution import Distribution
from .utils import broadcast_all

__all__ = ["LKJCholesky"]


class LKJCholesky(Distribution):
    """``LKJCholesky(dim, concentration=1.0)``: lower Cholesky factors ``L`` of ``dim x dim``
    correlation matrices with density proportional to ``det(L L^T)^(concentration - 1)``;
    sampled by the onion method (Ghosh & Henderson), as PyTorch."""

    arg_constraints = {"concentration": constraints.positive}
    support = constraints.corr_cholesky

    def __init__(self, dim: int, concentration: Any = 1.0,
                 validate_args: bool | None = None) -> None:
        if dim < 2:
            raise ValueError("Expected dim to be an integer greater than or equal to 2. "
                             f"Found dim={dim}.")
        self.dim = dim
        (self.concentration,) = broadcast_all(concentration)
        c = self.concentration
        marginal_conc = c + 0.5 * (dim - 2)
        offset = mbtorch.arange(dim - 1, dtype=c.dtype, device=c.device)
        offset = mbtorch.cat([mbtorch.zeros(1, dtype=c.dtype, device=c.device), offset])
        self._beta = Beta(offset + 0.5, marginal_conc.unsqueeze(-1) - 0.5 * offset)
        super().__init__(c.size(), Size((dim, dim)), validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> LKJCholesky:
        new = self._expand_params(LKJCholesky, batch_shape, _instance, ("concentration",))
        new.dim = self.dim
        new._beta = self._beta.expand(tuple(Size(batch_shape)) + (self.dim,))
        return new

    def sample(self, sample_shape: Any = ()) -> Tensor:
        with mbtorch.no_grad():
            y = self._beta.sample(sample_shape).unsqueeze(-1)
            shape = tuple(self._extended_shape(sample_shape))
            u = mbtorch.randn(shape, dtype=y.dtype, device=y.device).tril(-1)
            tiny = mbtorch.finfo(y.dtype).tiny
            # the first row is all zeros: dividing by a clamped norm keeps it zero
            u_sphere = u / u.norm(dim=-1, keepdim=True).clamp(min=tiny)
            w = mbtorch.sqrt(y) * u_sphere
            diag = (1 - (w**2).sum(-1)).clamp(min=tiny).sqrt()
            return w + mbtorch.diag_embed(diag)

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        diag_elems = value.diagonal(dim1=-1, dim2=-2)[..., 1:]
        order = mbtorch.arange(2, self.dim + 1, device=self.concentration.device)
        order = 2 * (self.concentration - 1).unsqueeze(-1) + self.dim - order
        unnormalized = (order * diag_elems.log()).sum(-1)
        dm1 = self.dim - 1
        alpha = self.concentration + 0.5 * dm1
        normalize = (0.5 * dm1 * math.log(math.pi) + mbtorch.mvlgamma(alpha - 0.5, dm1)
                     - mbtorch.lgamma(alpha) * dm1)
        return unnormalized - normalize
