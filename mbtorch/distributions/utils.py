"""Helpers shared by the distributions (PyTorch's ``torch.distributions.utils``)."""

from __future__ import annotations

import functools
from typing import Any, Callable

import mbtorch

from ..core.tensor import Size, Tensor

__all__ = ["broadcast_all", "clamp_probs", "lazy_property", "logits_to_probs",
           "probs_to_logits", "tril_matrix_to_vec", "vec_to_tril_matrix"]

euler_constant = 0.57721566490153286060  # Euler-Mascheroni constant
_NUMBERS = (int, float, bool)


def broadcast_all(*values: Any) -> tuple:
    """Broadcast tensors and numbers together; numbers become tensors of the first tensor's
    dtype and device (the default dtype when there is none)."""
    if not all(isinstance(v, (Tensor, *_NUMBERS)) for v in values):
        raise ValueError("Input arguments must all be instances of Number, "
                         "torch.Tensor or objects implementing __torch_function__.")
    first = next((v for v in values if isinstance(v, Tensor)), None)
    if first is None:
        opts: dict = {"dtype": mbtorch.get_default_dtype()}
    else:
        opts = {"dtype": first.dtype, "device": first.device}
    tensors = [v if isinstance(v, Tensor) else mbtorch.tensor(float(v), **opts) for v in values]
    return tuple(mbtorch.broadcast_tensors(*tensors))


def standard_normal(shape: Any, dtype: Any, device: Any) -> Tensor:
    return mbtorch.randn(tuple(shape), dtype=dtype, device=device)


def sum_rightmost(value: Tensor, dim: int) -> Tensor:
    """Sum out the ``dim`` rightmost dimensions of ``value``."""
    if dim == 0:
        return value
    return value.reshape(tuple(value.shape[:-dim]) + (-1,)).sum(-1)


def extended_shape(sample_shape: Any, *shapes: Any) -> Size:
    return Size(tuple(Size(sample_shape)) + sum((tuple(s) for s in shapes), ()))


def logits_to_probs(logits: Tensor, is_binary: bool = False) -> Tensor:
    """Log-odds (binary) or unnormalised log-probabilities along the last dim to probs."""
    if is_binary:
        return mbtorch.sigmoid(logits)
    return mbtorch.softmax(logits, dim=-1)


def clamp_probs(probs: Tensor) -> Tensor:
    """Clamp probabilities into ``[eps, 1 - eps]`` of their dtype."""
    eps = mbtorch.finfo(probs.dtype).eps
    return probs.clamp(min=eps, max=1 - eps)


def probs_to_logits(probs: Tensor, is_binary: bool = False) -> Tensor:
    """The inverse of :func:`logits_to_probs` (on clamped probabilities)."""
    ps = clamp_probs(probs)
    if is_binary:
        return mbtorch.log(ps) - mbtorch.log1p(-ps)
    return mbtorch.log(ps)


class lazy_property:
    """A property computed on first access and then stored on the instance, as PyTorch's
    (so ``Normal(...).probs``-style derived parameters cost nothing until used)."""

    def __init__(self, wrapped: Callable) -> None:
        self.wrapped = wrapped
        functools.update_wrapper(self, wrapped)  # type: ignore[arg-type]

    def __get__(self, instance: Any, obj_type: Any = None) -> Any:
        if instance is None:
            return _LazyPropertyAndProperty(self.wrapped)
        with mbtorch.enable_grad():
            value = self.wrapped(instance)
        setattr(instance, self.wrapped.__name__, value)
        return value


class _LazyPropertyAndProperty(lazy_property, property):
    # accessed on the class: behaves as a property so documentation tools and
    # ``isinstance(..., lazy_property)`` checks both see it
    def __init__(self, wrapped: Callable) -> None:
        property.__init__(self, wrapped)


def tril_matrix_to_vec(mat: Tensor, diag: int = 0) -> Tensor:
    """The entries of the lower triangle (below diagonal ``diag``) of the last two dims."""
    n = mat.shape[-1]
    if not -n <= diag < n:
        raise ValueError(f"tril_matrix_to_vec(): diag ({diag}) provided is outside "
                         f"[{-n}, {n - 1}].")
    rows, cols = mbtorch.tril_indices(n, n, offset=diag, device=mat.device)
    return mat[..., rows, cols]


def vec_to_tril_matrix(vec: Tensor, diag: int = 0) -> Tensor:
    """The inverse of :func:`tril_matrix_to_vec`: a lower-triangular matrix from its entries."""
    m = vec.shape[-1]
    n = round((-(1 + 2 * diag) + ((1 + 2 * diag) ** 2 + 8 * m + 4 * abs(diag) * (diag + 1))
               ** 0.5) / 2)
    eps = mbtorch.finfo(vec.dtype).eps
    if not abs(n * (n + 1) / 2 + n * diag - m) < eps * 10 * max(1, m):
        raise ValueError(f"vec_to_tril_matrix(): the last dimension of vec ({m}) cannot be "
                         "rearranged into a lower triangular matrix")
    rows, cols = mbtorch.tril_indices(n, n, offset=diag, device=vec.device)
    flat = rows * n + cols
    out = mbtorch.zeros(tuple(vec.shape[:-1]) + (n * n,), dtype=vec.dtype, device=vec.device)
    index = flat.expand(tuple(vec.shape[:-1]) + (m,))
    return out.scatter(-1, index, vec).reshape(tuple(vec.shape[:-1]) + (n, n))


def bce_with_logits(logits: Tensor, target: Tensor) -> Tensor:
    """Elementwise ``-(t log sigmoid(l) + (1 - t) log(1 - sigmoid(l)))``, stably (as
    ``binary_cross_entropy_with_logits(..., reduction='none')``)."""
    return logits.clamp(min=0) - logits * target + mbtorch.log1p(mbtorch.exp(-logits.abs()))


def one_hot(index: Tensor, num_classes: int, dtype: Any) -> Tensor:
    """One-hot vectors of ``dtype`` along a new last dim of size ``num_classes``."""
    classes = mbtorch.arange(num_classes, device=index.device)
    return (index.unsqueeze(-1) == classes).to(dtype)
