"""Margin, embedding and likelihood losses (``mbtorch.nn.functional``), as PyTorch defines
them, with the legacy ``size_average``/``reduce`` arguments PyTorch still accepts."""

from __future__ import annotations

import math
from typing import Any, Callable

import mbtorch as _mt

from ...core.autocast import AUTOCAST, to_float32
from ...core.tensor import Tensor
from .activation import logsigmoid, softplus
from .loss import _reduce, _reduction

__all__ = [
    "poisson_nll_loss", "gaussian_nll_loss", "hinge_embedding_loss", "cosine_embedding_loss",
    "margin_ranking_loss", "soft_margin_loss", "multilabel_soft_margin_loss",
    "multilabel_margin_loss", "multi_margin_loss", "pairwise_distance", "pdist",
    "triplet_margin_loss",
    "triplet_margin_with_distance_loss", "linear_cross_entropy"
]


def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool = True, full: bool = False,
                     size_average: bool | None = None, eps: float = 1e-8,
                     reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    if AUTOCAST.on:  # on PyTorch's autocast float32 list
        input, target = to_float32(input, target)
    reduction = _reduction(size_average, reduce, reduction)
    if log_input:
        loss = _mt.exp(input) - target * input
    else:
        loss = input - target * _mt.log(input + eps)
    if full:
        # Stirling's approximation of log(target!), only where target > 1
        stirling = target * _mt.log(target) - target + 0.5 * _mt.log(2 * math.pi * target)
        loss = loss + _mt.where(target > 1, stirling, 0.0)
    return _reduce(loss, reduction, "poisson_nll_loss")


def gaussian_nll_loss(input: Tensor, target: Tensor, var: Tensor | float, full: bool = False,
                      eps: float = 1e-6, reduction: str = "mean") -> Tensor:
    if isinstance(var, (int, float)):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        var = _mt.full_like(input, float(var))
    elif bool((var < 0).any()):
        raise ValueError("var has negative entry/entries")
    if var.shape != input.shape:
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = var.unsqueeze(-1)
        elif not (input.dim() == var.dim() and
                  sum(v for i, v in zip(input.shape, var.shape) if i != v) == 1):
            raise ValueError("var is of incorrect size")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    # clamped for stability with the gradient passing straight through, as PyTorch's in-place
    # clamp under no_grad does
    var = var + (_mt.clamp_min(var, eps) - var).detach()
    loss = 0.5 * (_mt.log(var) + (input - target).square() / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction, "gaussian_nll_loss")


def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0,
                         size_average: bool | None = None, reduce: bool | None = None,
                         reduction: str = "mean") -> Tensor:
    if AUTOCAST.on:  # on PyTorch's autocast float32 list
        input, target = to_float32(input, target)
    reduction = _reduction(size_average, reduce, reduction)
    margin_part = _mt.where(target != 1, _mt.clamp_min(margin - input, 0), 0.0)
    self_part = _mt.where(target != -1, input, 0.0)
    return _reduce(margin_part + self_part, reduction, "hinge_embedding_loss")


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0,
                          size_average: bool | None = None, reduce: bool | None = None,
                          reduction: str = "mean") -> Tensor:
    if AUTOCAST.on:  # on PyTorch's autocast float32 list
        input1, input2, target = to_float32(input1, input2, target)
    reduction = _reduction(size_average, reduce, reduction)
    t_dim = target.dim()
    if t_dim > 1 or input1.dim() != t_dim + 1 or input2.dim() != t_dim + 1:
        raise RuntimeError(f"cosine_embedding_loss(): {t_dim}D target tensor expects "
                           f"{t_dim + 1}D input tensors, but found inputs with sizes "
                           f"{list(input1.shape)} and {list(input2.shape)}.")
    eps = 1e-12  # PyTorch's EPSILON, added to the squared magnitudes
    prod = (input1 * input2).sum(t_dim)
    mag1 = (input1 * input1).sum(t_dim) + eps
    mag2 = (input2 * input2).sum(t_dim) + eps
    cos = prod / _mt.sqrt(mag1 * mag2)
    loss = _mt.where(target == 1, 1 - cos, 0.0) + \
        _mt.where(target == -1, _mt.clamp_min(cos - margin, 0), 0.0)
    return _reduce(loss, reduction, "cosine_embedding_loss")


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0,
                        size_average: bool | None = None, reduce: bool | None = None,
                        reduction: str = "mean") -> Tensor:
    if AUTOCAST.on:  # on PyTorch's autocast float32 list
        input1, input2, target = to_float32(input1, input2, target)
    reduction = _reduction(size_average, reduce, reduction)
    if not input1.dim() == input2.dim() == target.dim():
        raise RuntimeError(f"margin_ranking_loss : All input tensors should have same dimension "
                           f"but got sizes: input1: {list(input1.shape)}, input2: "
                           f"{list(input2.shape)}, target: {list(target.shape)} ")
    loss = _mt.clamp_min(-target * (input1 - input2) + margin, 0)
    return _reduce(loss, reduction, "margin_ranking_loss")


def soft_margin_loss(input: Tensor, target: Tensor, size_average: bool | None = None,
                     reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    if AUTOCAST.on:  # on PyTorch's autocast float32 list
        input, target = to_float32(input, target)
    reduction = _reduction(size_average, reduce, reduction)
    if input.shape != target.shape:
        raise ValueError(f"soft_margin_loss(): target size ({list(target.shape)}) must be the "
                         f"same as input size ({list(input.shape)})")
    return _reduce(softplus(-target * input), reduction, "soft_margin_loss")


def multilabel_soft_margin_loss(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                size_average: bool | None = None, reduce: bool | None = None,
                                reduction: str = "mean") -> Tensor:
    reduction = _reduction(size_average, reduce, reduction)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    class_dim = input.dim() - 1
    loss = loss.sum(class_dim) / input.shape[class_dim]
    return _reduce(loss, reduction, "multilabel_soft_margin_loss")


def _class_rows(input: Tensor, target: Tensor, op: str) -> tuple[Tensor, Tensor, bool]:
    if input.dim() not in (1, 2):
        raise RuntimeError(f"{op}(): Expected non-empty vector or matrix with optional 0-dim "
                           f"batch size, but got: {list(input.shape)}")
    if target.dtype.is_floating_point:
        raise RuntimeError(f"{op}(): expected scalar type Long but found "
                           f"{target.dtype.scalar_name}")
    single = input.dim() == 1
    return (input.unsqueeze(0) if single else input), target, single


def multilabel_margin_loss(input: Tensor, target: Tensor, size_average: bool | None = None,
                           reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    """Hinge loss between each target class (the indices before the first -1) and each
    non-target class, divided by the number of classes."""
    if AUTOCAST.on:  # on PyTorch's autocast float32 list
        input, target = to_float32(input, target)
    reduction = _reduction(size_average, reduce, reduction)
    x, target, single = _class_rows(input, target, "multilabel_margin_loss")
    tgt = target.unsqueeze(0) if target.dim() == 1 else target
    if tuple(tgt.shape) != tuple(x.shape):
        raise RuntimeError(f"multilabel_margin_loss(): inconsistent target size: "
                           f"{list(target.shape)} for input of size: {list(input.shape)}")
    c = x.shape[1]
    if bool(((tgt < -1) | (tgt >= c)).any()):
        raise RuntimeError("multilabel_margin_loss(): target index out of range")
    valid = _mt.cumprod((tgt != -1).long(), 1)  # the prefix before the first -1
    safe = _mt.where(valid.bool(), tgt, 0)
    hits = _mt.zeros(x.shape, dtype=x.dtype, device=x.device).scatter_add(
        1, safe, valid.to(x.dtype))
    is_target = hits > 0
    x_t = x.gather(1, safe)  # (N, J): the target classes' scores
    hinge = _mt.clamp_min(1 - x_t.unsqueeze(2) + x.unsqueeze(1), 0)  # (N, J, C)
    mask = valid.to(x.dtype).unsqueeze(2) * (~is_target).to(x.dtype).unsqueeze(1)
    loss = (hinge * mask).sum((1, 2)) / c
    if single:
        loss = loss.squeeze(0)
    return _reduce(loss, reduction, "multilabel_margin_loss")


def multi_margin_loss(input: Tensor, target: Tensor, p: int = 1, margin: float = 1.0,
                      weight: Tensor | None = None, size_average: bool | None = None,
                      reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    if AUTOCAST.on:  # on PyTorch's autocast float32 list
        input, target = to_float32(input, target)
    reduction = _reduction(size_average, reduce, reduction)
    if p not in (1, 2):
        raise ValueError("multi_margin_loss(): only p == 1 and p == 2 supported")
    x, target, single = _class_rows(input, target, "multi_margin_loss")
    tgt = target.reshape(-1)
    if tgt.shape[0] != x.shape[0]:
        raise RuntimeError(f"multi_margin_loss(): inconsistent target size: {list(target.shape)} "
                           f"for input of size: {list(input.shape)}")
    c = x.shape[1]
    if bool(((tgt < 0) | (tgt >= c)).any()):
        raise RuntimeError("multi_margin_loss(): target out of range")
    x_y = x.gather(1, tgt.unsqueeze(1))
    hinge = _mt.clamp_min(margin - x_y + x, 0)
    if p == 2:
        hinge = hinge * hinge
    if weight is not None:
        hinge = hinge * weight.index_select(0, tgt).unsqueeze(1)
    not_y = _mt.arange(c, device=x.device).unsqueeze(0) != tgt.unsqueeze(1)
    loss = _mt.where(not_y, hinge, 0.0).sum(1) / c
    if single:
        loss = loss.squeeze(0)
    return _reduce(loss, reduction, "multi_margin_loss")


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6,
                      keepdim: bool = False) -> Tensor:
    """``||x1 - x2 + eps||_p`` over the last dim (PyTorch adds ``eps`` to the difference)."""
    out_dim = max(x1.dim(), x2.dim())
    if out_dim == 0:
        raise RuntimeError("pairwise_distance(): inputs must have at least one dimension")
    return _mt.linalg.vector_norm(x1 - x2 + eps, p, out_dim - 1, keepdim=keepdim)


def pdist(input: Tensor, p: float = 2.0) -> Tensor:
    """The p-norm distances between the rows of an (N, M) input: the upper triangle of the
    distance matrix, row by row, (N * (N - 1) / 2,)."""
    if input.dim() != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.dim()}D")
    n = input.shape[0]
    rows, cols = _mt.triu_indices(n, n, 1, device=input.device)
    diff = input.index_select(0, rows) - input.index_select(0, cols)
    return _mt.linalg.vector_norm(diff, p, 1)


def _triplet_dims(anchor: Tensor, positive: Tensor, negative: Tensor, op: str) -> None:
    a, p, n = anchor.dim(), positive.dim(), negative.dim()
    if not a == p == n:
        raise RuntimeError(f"{op}(): The anchor, positive, and negative tensors are expected to "
                           f"have the same number of dimensions, but got: anchor {a}D, positive "
                           f"{p}D, and negative {n}D inputs")


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor,
                        margin: float = 1.0, p: float = 2, eps: float = 1e-6,
                        swap: bool = False, size_average: bool | None = None,
                        reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    if AUTOCAST.on:  # on PyTorch's autocast float32 list
        anchor, positive, negative = to_float32(anchor, positive, negative)
    reduction = _reduction(size_average, reduce, reduction)
    _triplet_dims(anchor, positive, negative, "triplet_margin_loss")
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = _mt.minimum(d_neg, pairwise_distance(positive, negative, p, eps))
    loss = _mt.clamp_min(margin + d_pos - d_neg, 0)
    return _reduce(loss, reduction, "triplet_margin_loss")


def triplet_margin_with_distance_loss(anchor: Tensor, positive: Tensor, negative: Tensor, *,
                                      distance_function: Callable | None = None,
                                      margin: float = 1.0, swap: bool = False,
                                      reduction: str = "mean") -> Tensor:
    if margin <= 0:
        raise ValueError(f"triplet_margin_with_distance_loss: expected margin to be greater "
                         f"than 0, got {margin} instead")
    _triplet_dims(anchor, positive, negative, "triplet_margin_with_distance_loss")
    dist = distance_function if distance_function is not None else pairwise_distance
    d_pos = dist(anchor, positive)
    d_neg = dist(anchor, negative)
    if swap:
        d_neg = _mt.minimum(d_neg, dist(positive, negative))
    loss = _mt.clamp_min(margin + d_pos - d_neg, 0)
    return _reduce(loss, reduction, "triplet_margin_with_distance_loss")


def linear_cross_entropy(input: Tensor, linear_weight: Tensor, target: Tensor, *,
                         linear_bias: Tensor | None = None, weight: Tensor | None = None,
                         reduction: str = "mean", ignore_index: int | None = None,
                         label_smoothing: float = 0.0, options: Any = None) -> Tensor:
    """``cross_entropy(input @ linear_weight^T + linear_bias, target)``; ``linear_weight`` is
    (C, *out_features, in_features) for a K-dimensional loss. The logits are materialised
    (PyTorch's chunked ``options`` path, a memory saving, is not provided)."""
    op = "linear_cross_entropy"
    if options is not None:
        raise NotImplementedError(f"{op}(): options (the chunked, memory-saving path) is not "
                                  "supported; pass options=None")
    if input.dim() not in (1, 2):
        raise RuntimeError(f"expected input with dimensionality 1 or 2, got {input.dim()}")
    if linear_weight.dim() < 2:
        raise RuntimeError(f"expected linear_weight with dimensionality at least 2, got "
                           f"{linear_weight.dim()}")
    if input.shape[-1] != linear_weight.shape[-1]:
        raise RuntimeError(f"expected equal input and linear_weight last dimensions "
                           f"(in_features), got {input.shape[-1]} and "
                           f"{linear_weight.shape[-1]}, respectively")
    classes = tuple(linear_weight.shape[:-1])
    if linear_bias is not None and tuple(linear_bias.shape) != classes:
        raise RuntimeError(f"expected linear_bias shape {classes}, got "
                           f"{tuple(linear_bias.shape)}")
    if len(classes) > 1 and input.dim() == 1:
        raise RuntimeError(f"K-dimensional loss defined by linear_weight shape "
                           f"{tuple(linear_weight.shape)} requires batched input, (N, "
                           f"{input.shape[-1]}), got unbatched input with shape "
                           f"{tuple(input.shape)}")
    logits = (input @ linear_weight.reshape(-1, input.shape[-1]).t()).reshape(
        tuple(input.shape[:-1]) + classes)
    if linear_bias is not None:
        logits = logits + linear_bias
    if tuple(target.shape) == tuple(logits.shape) and ignore_index is not None:
        raise RuntimeError("ignore_index cannot be specified when target contains "
                           "probabilities")
    from .loss import cross_entropy

    return cross_entropy(logits, target, weight,
                         ignore_index=-100 if ignore_index is None else ignore_index,
                         reduction=reduction, label_smoothing=label_smoothing)
