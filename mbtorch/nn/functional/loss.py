"""Losses with every ``reduction`` ('none', 'mean', 'sum') and PyTorch's argument rules."""

from __future__ import annotations

import mbtorch as _mt

from ...core.autocast import AUTOCAST, to_float32
from ...core.tensor import Tensor

__all__ = [
    "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "nll_loss", "cross_entropy",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div", "cosine_similarity"
]

_REDUCTIONS = ("none", "mean", "sum")


def _reduce(loss: Tensor, reduction: str, op: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{op}(): {reduction} is not a valid value for reduction")


def _reduction(size_average: bool | None, reduce: bool | None, reduction: str) -> str:
    """PyTorch's mapping of the deprecated ``size_average``/``reduce`` pair."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    return "none" if not reduce else ("mean" if size_average else "sum")


def _weighted(loss: Tensor, weight: Tensor | None, reduction: str, op: str,
              by_weights: bool = True) -> Tensor:
    """Element-weighted loss; PyTorch's mean divides by the sum of the weights, except
    huber_loss's, which is the plain mean of the weighted terms."""
    if weight is None:
        return _reduce(loss, reduction, op)
    if weight.shape != loss.shape:
        raise ValueError("Weights and input must have the same size.")
    loss = loss * weight
    if reduction == "mean" and by_weights:
        return loss.sum() / weight.sum()
    return _reduce(loss, reduction, op)


def _same_shape(input: Tensor, target: Tensor, op: str) -> None:
    if input.shape != target.shape:
        raise ValueError(f"{op}(): Using a target size ({list(target.shape)}) that is different "
                         f"to the input size ({list(input.shape)}) is not supported. Please "
                         "ensure they have the same size.")


def mse_loss(input: Tensor, target: Tensor, size_average: bool | None = None,
             reduce: bool | None = None, reduction: str = "mean",
             weight: Tensor | None = None) -> Tensor:
    reduction = _reduction(size_average, reduce, reduction)
    if AUTOCAST.on:  # on PyTorch's autocast float32 list
        input, target = to_float32(input, target)
    _same_shape(input, target, "mse_loss")
    return _weighted((input - target).square(), weight, reduction, "mse_loss")


def l1_loss(input: Tensor, target: Tensor, size_average: bool | None = None,
            reduce: bool | None = None, reduction: str = "mean",
            weight: Tensor | None = None) -> Tensor:
    reduction = _reduction(size_average, reduce, reduction)
    if AUTOCAST.on:  # on PyTorch's autocast float32 list
        input, target = to_float32(input, target)
    _same_shape(input, target, "l1_loss")
    return _weighted((input - target).abs(), weight, reduction, "l1_loss")


def smooth_l1_loss(input: Tensor, target: Tensor, size_average: bool | None = None,
                   reduce: bool | None = None, reduction: str = "mean",
                   beta: float = 1.0) -> Tensor:
    reduction = _reduction(size_average, reduce, reduction)
    if AUTOCAST.on:  # on PyTorch's autocast float32 list
        input, target = to_float32(input, target)
    _same_shape(input, target, "smooth_l1_loss")
    if beta < 0:
        raise RuntimeError("smooth_l1_loss(): beta must be non-negative")
    diff = (input - target).abs()
    if beta == 0:
        return _reduce(diff, reduction, "smooth_l1_loss")
    loss = _mt.where(diff < beta, diff.square() * (0.5 / beta), diff - 0.5 * beta)
    return _reduce(loss, reduction, "smooth_l1_loss")


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight: Tensor | None = None) -> Tensor:
    if AUTOCAST.on:  # on PyTorch's autocast float32 list
        input, target = to_float32(input, target)
    _same_shape(input, target, "huber_loss")
    diff = (input - target).abs()
    loss = _mt.where(diff < delta, diff.square() * 0.5, (diff - 0.5 * delta) * delta)
    return _weighted(loss, weight, reduction, "huber_loss", by_weights=False)


def _class_dim_last(x: Tensor) -> Tensor:
    """(N, C, d1, ...) -> (N, d1, ..., C) so classes are the last dim."""
    return x if x.dim() <= 2 else x.movedim(1, -1)


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None,
             size_average: bool | None = None, ignore_index: int = -100,
             reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of class indices; ``weight`` and ``ignore_index`` as PyTorch
    (the mean divides by the summed weights of the non-ignored targets)."""
    reduction = _reduction(size_average, reduce, reduction)
    if AUTOCAST.on:  # on PyTorch's autocast float32 list
        input, weight = to_float32(input, weight)
    if input.dim() < 1:
        raise ValueError("nll_loss(): input must have at least 1 dimension")
    if target.dtype.is_floating_point:
        raise RuntimeError("nll_loss(): expected scalar type Long but found "
                           f"{target.dtype.scalar_name}")
    batch_ok = (input.dim() == 1 and target.dim() == 0) or \
        (input.shape[0] == target.shape[0] and tuple(input.shape[2:]) == tuple(target.shape[1:]))
    if not batch_ok:
        raise ValueError(f"nll_loss(): Expected input batch_size ({input.shape[0]}) to match "
                         f"target batch_size ({target.shape[0] if target.dim() else 1}).")
    logp = _class_dim_last(input)
    # no host read of the targets (a graph holds this): the mask drops ignored ones and the
    # gather kernel checks the bounds of the rest, as PyTorch's kernel does
    valid = target != ignore_index
    safe = _mt.where(valid, target, 0)
    try:
        picked = -logp.gather(-1, safe.unsqueeze(-1)).squeeze(-1)
    except IndexError as exc:
        raise IndexError(f"nll_loss(): Target is out of bounds ({exc})") from None
    w = valid.to(logp.dtype)
    if weight is not None:
        w = w * weight.index_select(0, safe.reshape(-1)).reshape(safe.shape)
    loss = picked * w
    if reduction == "mean":
        return loss.sum() / w.sum()
    return _reduce(loss, reduction, "nll_loss")


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                  size_average: bool | None = None, ignore_index: int = -100,
                  reduce: bool | None = None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """``log_softmax`` + ``nll_loss`` for class indices; class probabilities as targets when
    ``target`` is floating; ``label_smoothing`` as PyTorch."""
    reduction = _reduction(size_average, reduce, reduction)
    if AUTOCAST.on:  # on PyTorch's autocast float32 list
        input, target, weight = to_float32(input, target, weight)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy(): label_smoothing must be between 0.0 and 1.0. Got: "
                         f"{label_smoothing}")
    class_dim = 0 if input.dim() == 1 else 1
    logp = _mt.log_softmax(input, class_dim)
    c = input.shape[class_dim]
    if target.dtype.is_floating_point:
        if target.shape != input.shape:
            raise RuntimeError("cross_entropy(): probability targets must have the same shape "
                               f"as input, got {list(target.shape)} and {list(input.shape)}")
        probs = target * (1 - label_smoothing) + label_smoothing / c
        lp = _class_dim_last(logp)
        pr = _class_dim_last(probs)
        if weight is not None:
            lp = lp * weight
        loss = -(lp * pr).sum(-1)
        return _reduce(loss, reduction, "cross_entropy")
    nll = nll_loss(logp, target, weight, ignore_index=ignore_index, reduction=reduction)
    if label_smoothing == 0.0:
        return nll
    lp = _class_dim_last(logp)
    valid = target != ignore_index
    w = weight if weight is not None else _mt.ones(c, dtype=lp.dtype, device=lp.device)
    smooth = -(lp * w).sum(-1) * _mt.where(valid, 1.0, 0.0).to(lp.dtype)
    if reduction == "mean":
        if weight is not None:
            denom = weight.index_select(0, _mt.where(valid, target, 0).reshape(-1))
            denom = (denom * _mt.where(valid, 1.0, 0.0).reshape(-1)).sum()
        else:
            denom = valid.sum()
        smooth = smooth.sum() / denom
    else:
        smooth = _reduce(smooth, reduction, "cross_entropy")
    return nll * (1 - label_smoothing) + smooth * (label_smoothing / c)


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         size_average: bool | None = None, reduce: bool | None = None,
                         reduction: str = "mean") -> Tensor:
    reduction = _reduction(size_average, reduce, reduction)
    if AUTOCAST.on:  # on PyTorch's autocast float32 list
        input, target, weight = to_float32(input, target, weight)
    _same_shape(input, target, "binary_cross_entropy")
    if bool(((input < 0) | (input > 1)).any()):
        raise RuntimeError("binary_cross_entropy(): all elements of input should be between 0 "
                           "and 1")
    # PyTorch clamps the logs at -100 so that log(0) does not make the loss infinite
    log_p = _mt.clamp_min(_mt.log(input), -100.0)
    log_1mp = _mt.clamp_min(_mt.log1p(-input), -100.0)
    loss = -(target * log_p + (1 - target) * log_1mp)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, "binary_cross_entropy")


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor,
                                     weight: Tensor | None = None,
                                     size_average: bool | None = None,
                                     reduce: bool | None = None, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """Stable: ``(1 - y) x + (1 + (pw - 1) y) * softplus(-x)`` written with ``log1p(exp(-|x|))``."""
    reduction = _reduction(size_average, reduce, reduction)
    if AUTOCAST.on:  # on PyTorch's autocast float32 list
        input, target, weight, pos_weight = to_float32(input, target, weight, pos_weight)
    _same_shape(input, target, "binary_cross_entropy_with_logits")
    log_sig_neg = _mt.log1p(_mt.exp(-input.abs())) + _mt.clamp_min(-input, 0)  # -log sigmoid(x)
    if pos_weight is not None:
        coeff = 1 + (pos_weight - 1) * target
        loss = (1 - target) * input + coeff * log_sig_neg
    else:
        loss = (1 - target) * input + log_sig_neg
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, "binary_cross_entropy_with_logits")


def kl_div(input: Tensor, target: Tensor, size_average: bool | None = None,
           reduce: bool | None = None, reduction: str = "mean",
           log_target: bool = False) -> Tensor:
    """KL(target || exp(input)) pointwise; 'batchmean' divides the sum by the batch size."""
    reduction = _reduction(size_average, reduce, reduction)
    if AUTOCAST.on:  # on PyTorch's autocast float32 list
        input, target = to_float32(input, target)
    if log_target:
        loss = _mt.exp(target) * (target - input)
    else:
        loss = _mt.where(target > 0, target * (_mt.log(_mt.clamp_min(target, 1e-45)) - input),
                         0.0)
    if reduction == "batchmean":
        return loss.sum() / (input.shape[0] if input.dim() else 1)
    return _reduce(loss, reduction, "kl_div")


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    n1 = _mt.clamp_min(_mt.linalg.vector_norm(x1, 2, dim), eps)
    n2 = _mt.clamp_min(_mt.linalg.vector_norm(x2, 2, dim), eps)
    return (x1 * x2).sum(dim) / (n1 * n2)
