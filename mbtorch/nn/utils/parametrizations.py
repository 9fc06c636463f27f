"""``weight_norm``, ``spectral_norm`` and ``orthogonal`` as parametrizations (PyTorch's
``torch.nn.utils.parametrizations``, with its state-dict keys: ``original0``/``original1`` for
weight norm's g and v, ``0._u``/``0._v`` for spectral norm's power-iteration vectors,
``0.base`` for the orthogonal trivialisation)."""

from __future__ import annotations

import mbtorch as _mt

from ... import autograd as _ag
from ...core.tensor import Tensor
from .. import functional as F
from ..modules.module import Module
from . import parametrize
from ._linalg import geqrf, householder_product, matrix_exp, qr_q

__all__ = ["weight_norm", "spectral_norm", "orthogonal"]


def _norm_except_dim(v: Tensor, dim: int) -> Tensor:
    """The 2-norm over every dim but ``dim`` (kept, size 1); ``dim=-1`` means the whole tensor,
    as PyTorch's ``norm_except_dim``."""
    if dim == -1:
        return _mt.linalg.vector_norm(v, 2)
    others = tuple(d for d in range(v.dim()) if d != dim)
    return _mt.linalg.vector_norm(v, 2, others, keepdim=True)


class _WeightNorm(Module):
    def __init__(self, dim: int | None = 0) -> None:
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g: Tensor, weight_v: Tensor) -> Tensor:
        return weight_v * (weight_g / _norm_except_dim(weight_v, self.dim))

    def right_inverse(self, weight: Tensor) -> tuple[Tensor, Tensor]:
        return _norm_except_dim(weight, self.dim), weight


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """``w = g * v / ||v||`` with the norm over every dim but ``dim`` (``None``: the whole
    tensor); g is ``parametrizations.<name>.original0``, v ``original1``."""
    parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)
    return module


class _SpectralNorm(Module):
    def __init__(self, weight: Tensor, n_power_iterations: int = 1, dim: int = 0,
                 eps: float = 1e-12) -> None:
        super().__init__()
        ndim = weight.dim()
        if dim >= ndim or dim < -ndim:
            raise IndexError(f"Dimension out of range (expected to be in range of [-{ndim}, "
                             f"{ndim - 1}] but got {dim})")
        if n_power_iterations <= 0:
            raise ValueError(f"Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.dim = dim if dim >= 0 else dim + ndim
        self.eps, self.n_power_iterations = eps, n_power_iterations
        if ndim > 1:
            mat = self._reshape_weight_to_matrix(weight)
            h, w = mat.shape
            u = F.normalize(_mt.randn(h, dtype=weight.dtype, device=weight.device), dim=0,
                            eps=eps)
            v = F.normalize(_mt.randn(w, dtype=weight.dtype, device=weight.device), dim=0,
                            eps=eps)
            self.register_buffer("_u", u)
            self.register_buffer("_v", v)
            self._power_method(mat, 15)

    def _reshape_weight_to_matrix(self, weight: Tensor) -> Tensor:
        if self.dim != 0:
            weight = weight.permute((self.dim,) + tuple(d for d in range(weight.dim())
                                                        if d != self.dim))
        return weight.flatten(1)

    def _power_method(self, mat: Tensor, iterations: int) -> None:
        """Refine the buffers ``_u``, ``_v`` towards the top singular vectors (in place, no
        gradient), as PyTorch's."""
        with _ag.no_grad():
            mat = mat.detach()
            for _ in range(iterations):
                self._u.copy_(F.normalize(mat @ self._v, dim=0, eps=self.eps))
                self._v.copy_(F.normalize(mat.t() @ self._u, dim=0, eps=self.eps))

    def forward(self, weight: Tensor) -> Tensor:
        if weight.dim() == 1:
            return F.normalize(weight, dim=0, eps=self.eps)
        mat = self._reshape_weight_to_matrix(weight)
        if self.training:
            self._power_method(mat, self.n_power_iterations)
        u, v = self._u.clone(), self._v.clone()
        sigma = (u * (mat @ v)).sum()
        return weight / sigma

    def right_inverse(self, value: Tensor) -> Tensor:
        return value


def spectral_norm(module: Module, name: str = "weight", n_power_iterations: int = 1,
                  eps: float = 1e-12, dim: int | None = None) -> Module:
    """Divide the weight by its largest singular value, estimated by power iteration (one
    step per training-mode forward)."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{type(module).__name__}' has no parameter or buffer with "
                         f"name '{name}'")
    if dim is None:
        from ..modules.conv import ConvTranspose1d, ConvTranspose2d, ConvTranspose3d

        dim = 1 if isinstance(module, (ConvTranspose1d, ConvTranspose2d, ConvTranspose3d)) \
            else 0
    parametrize.register_parametrization(
        module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))
    return module


_MAPS = ("matrix_exp", "cayley", "householder")


class _Orthogonal(Module):
    def __init__(self, weight: Tensor, orthogonal_map: str, *,
                 use_trivialization: bool = True) -> None:
        super().__init__()
        self.shape, self.orthogonal_map = tuple(weight.shape), orthogonal_map
        if use_trivialization:
            self.register_buffer("base", None)

    def forward(self, X: Tensor) -> Tensor:
        n, k = X.shape[-2], X.shape[-1]
        transposed = n < k
        if transposed:
            X = X.mT
            n, k = k, n
        if self.orthogonal_map == "matrix_exp":
            X = X.tril()
            if n != k:
                X = _mt.cat([X, X.new_zeros(n, n - k).expand(tuple(X.shape[:-2]) + (n, n - k))],
                            -1)
            Q = matrix_exp(X - X.mT)
            if n != k:
                Q = Q[..., :k]
        else:
            A = X.tril(diagonal=-1)
            tau = 2.0 / (1.0 + (A * A).sum(-2))
            Q = householder_product(A, tau)
            # PyTorch multiplies by the int-truncated diagonal (in practice its sign, 0 or 1)
            Q = Q * X.diagonal(dim1=-2, dim2=-1).int().unsqueeze(-2).to(Q.dtype)
        if "base" in self._buffers:
            Q = self.base @ Q
        return Q.mT if transposed else Q

    def right_inverse(self, Q: Tensor) -> Tensor:
        if tuple(Q.shape) != self.shape:
            raise ValueError(f"Expected a matrix or batch of matrices of shape "
                             f"{list(self.shape)}. Got a tensor of shape {list(Q.shape)}.")
        if "base" not in self._buffers:
            return self._householder_inverse(Q)
        with _ag.no_grad():
            q_init = Q
            n, k = Q.shape[-2], Q.shape[-1]
            if n < k:
                Q = Q.mT
                n, k = k, n
            if n != k:
                extra = _mt.randn(tuple(Q.shape[:-2]) + (n, n - k), dtype=Q.dtype,
                                  device=Q.device)
                Q = _mt.cat([Q, extra], -1)
            eye = _mt.eye(n, dtype=Q.dtype, device=Q.device)
            if n != k or not bool(_mt.allclose(Q.mT @ Q, eye.expand_as(Q), atol=1e-5)):
                Q = qr_q(Q)
            self.base = Q.clone()
            neg_id = _mt.zeros_like(q_init)
            neg_id.diagonal(dim1=-2, dim2=-1).fill_(-1.0)
            return neg_id


    def _householder_inverse(self, Q: Tensor) -> Tensor:
        if self.orthogonal_map == "matrix_exp":
            raise NotImplementedError("It is not possible to assign to the matrix exponential "
                                      "or the Cayley parametrizations when "
                                      "use_trivialization=False.")
        transpose = Q.shape[-2] < Q.shape[-1]
        if transpose:
            Q = Q.mT
        with _ag.no_grad():
            A, tau = geqrf(Q)
            diag = A.diagonal(dim1=-2, dim2=-1)
            sign = _mt.where(tau == 0.0, -_mt.sign(diag), _mt.sign(diag))
            eye = _mt.eye(A.shape[-2], A.shape[-1], dtype=A.dtype, device=A.device).bool()
            A = _mt.where(eye, sign.unsqueeze(-2).expand_as(A), A)
        return A.mT if transpose else A


def orthogonal(module: Module, name: str = "weight", orthogonal_map: str | None = None, *,
               use_trivialization: bool = True) -> Module:
    """Keep the weight (a matrix or a batch of them) orthogonal: ``matrix_exp`` of a
    skew-symmetric matrix (the default for square weights) or a product of Householder
    reflections (``householder``, the default otherwise)."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{type(module).__name__}' has no parameter or buffer with "
                         f"name '{name}'")
    if weight.dim() < 2:
        raise ValueError(f"Expected a matrix or batch of matrices. Got a tensor of "
                         f"{weight.dim()} dimensions.")
    if orthogonal_map is None:
        orthogonal_map = "matrix_exp" if weight.shape[-2] == weight.shape[-1] else "householder"
    if orthogonal_map not in _MAPS:
        raise ValueError(f'orthogonal_map has to be one of "matrix_exp", "cayley", '
                         f'"householder". Got: {orthogonal_map}')
    if orthogonal_map == "cayley":
        raise NotImplementedError("orthogonal(): the 'cayley' map needs linalg.solve, which "
                                  "mbtorch does not have; use 'matrix_exp' or 'householder'")
    orth = _Orthogonal(weight, orthogonal_map, use_trivialization=use_trivialization)
    parametrize.register_parametrization(module, name, orth, unsafe=True)
    return module
