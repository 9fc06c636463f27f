"""``linear``, ``bilinear``, ``embedding``, ``one_hot``, ``normalize``."""

from __future__ import annotations

from typing import Any

import mbtorch as _mt

from ...core.autocast import AUTOCAST, lower
from ...core.tensor import Tensor

__all__ = ["linear", "bilinear", "embedding", "embedding_bag", "one_hot", "normalize"]


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``input @ weight.T + bias``."""
    if AUTOCAST.on:
        input, weight, bias = lower(input, weight, bias)
    if weight.dim() not in (1, 2):
        raise RuntimeError(f"linear(): weight should be 1D or 2D, got {weight.dim()}D")
    if input.shape[-1:] != weight.shape[-1:] if input.dim() else True:
        raise RuntimeError(f"linear(): mat1 and mat2 shapes cannot be multiplied "
                           f"({_flat(input)} and {weight.shape[-1]}x"
                           f"{weight.shape[0] if weight.dim() == 2 else 1})")
    out = input @ weight.t() if weight.dim() == 2 else input @ weight
    return out if bias is None else out + bias


def _flat(x: Tensor) -> str:
    rows = x.numel() // max(x.shape[-1], 1) if x.dim() else 1
    return f"{rows}x{x.shape[-1] if x.dim() else 1}"


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor,
             bias: Tensor | None = None) -> Tensor:
    """``y_k = x1^T W_k x2 + b_k`` for weight of shape (out, in1, in2)."""
    if input1.shape[:-1] != input2.shape[:-1]:
        raise RuntimeError(f"bilinear(): input1 and input2 batch shapes differ: "
                           f"{list(input1.shape)} vs {list(input2.shape)}")
    if weight.dim() != 3 or weight.shape[1] != input1.shape[-1] or \
            weight.shape[2] != input2.shape[-1]:
        raise RuntimeError(f"bilinear(): weight of shape {list(weight.shape)} does not match "
                           f"inputs {list(input1.shape)} and {list(input2.shape)}")
    tmp = _mt.matmul(input1.unsqueeze(-2).unsqueeze(-3), weight)  # (..., out, 1, in2)
    out = (tmp.squeeze(-2) * input2.unsqueeze(-2)).sum(-1)
    return out if bias is None else out + bias


def _renorm_rows(weight: Tensor, indices: Tensor, max_norm: float, norm_type: float) -> None:
    """PyTorch's ``embedding_renorm_``: rows looked up whose norm exceeds ``max_norm`` are
    scaled down to it, in place and outside autograd."""
    with _mt.no_grad():
        rows = _mt.unique(indices.reshape(-1))
        norms = _mt.linalg.vector_norm(weight.index_select(0, rows), norm_type, 1)
        scale = _mt.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
        weight.index_copy_(0, rows, weight.index_select(0, rows) * scale.unsqueeze(1))


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None,
              max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of ``weight`` at ``input``; ``padding_idx`` rows get no gradient; ``max_norm``
    renormalises the rows used (in place, as PyTorch); ``scale_grad_by_freq`` divides each
    row's gradient by its count in the batch."""
    if input.dtype.is_floating_point:
        raise RuntimeError("embedding(): Expected tensor for argument #1 'indices' to have one "
                           f"of the following scalar types: Long, Int; but got "
                           f"{input.dtype.scalar_name} instead")
    num = weight.shape[0]
    if padding_idx is not None and padding_idx < 0:
        padding_idx += num
    if max_norm is not None:
        _renorm_rows(weight, input, max_norm, norm_type)
    w = weight
    if padding_idx is not None and weight.requires_grad:
        keep = _mt.ones(num, 1, dtype=weight.dtype, device=weight.device)
        keep[padding_idx] = 0
        # the padding row's value is kept, its gradient is cut
        w = weight * keep + (weight * (1 - keep)).detach()
    flat = input.reshape(-1)
    out = w.index_select(0, flat)
    if scale_grad_by_freq and weight.requires_grad:
        counts = _mt.zeros(num, dtype=weight.dtype, device=weight.device).index_add(
            0, flat, _mt.ones(flat.shape[0], dtype=weight.dtype, device=weight.device))
        inv = (1.0 / counts.index_select(0, flat)).unsqueeze(1)
        out = out.detach() + (out - out.detach()) * inv  # same value, gradient / count
    return out.reshape(tuple(input.shape) + (weight.shape[1],))


def _bag_ids(input: Tensor, offsets: Tensor | None, include_last_offset: bool) -> tuple:
    """(flat indices, bag id of each, number of bags) for 2-D input or 1-D input + offsets."""
    if input.dim() == 2:
        if offsets is not None:
            raise ValueError("embedding_bag(): if input is 2D, then offsets has to be None, as "
                             "input is treated is a mini-batch of fixed length sequences.")
        bags, per = input.shape
        return input.reshape(-1), [b for b in range(bags) for _ in range(per)], bags
    if input.dim() != 1:
        raise ValueError(f"embedding_bag(): input has to be 1D or 2D Tensor, but got Tensor of "
                         f"dimension {input.dim()}")
    if offsets is None:
        raise ValueError("embedding_bag(): offsets has to be a 1D Tensor but got None")
    if offsets.dim() != 1:
        raise ValueError("embedding_bag(): offsets has to be a 1D Tensor")
    starts = [int(v) for v in offsets.tolist()]
    if starts and starts[0] != 0:
        raise RuntimeError("embedding_bag(): offsets[0] has to be 0, i.e., the first sequence "
                           "in the mini-batch has to start from position 0.")
    total = input.shape[0]
    if include_last_offset:
        ends, starts = starts[1:], starts[:-1]
    else:
        ends = starts[1:] + [total]
    ids = [b for b, (lo, hi) in enumerate(zip(starts, ends)) for _ in range(lo, hi)]
    return input, ids, len(starts)


def embedding_bag(input: Tensor, weight: Tensor, offsets: Tensor | None = None,
                  max_norm: float | None = None, norm_type: float = 2,
                  scale_grad_by_freq: bool = False, mode: str = "mean", sparse: bool = False,
                  per_sample_weights: Tensor | None = None, include_last_offset: bool = False,
                  padding_idx: int | None = None) -> Tensor:
    """Sums, means or maxima of bags of embeddings; entries equal to ``padding_idx`` are left
    out (and not counted by 'mean'); an empty bag gives zeros."""
    if mode not in ("sum", "mean", "max"):
        raise ValueError(f"embedding_bag(): mode has to be one of sum, mean or max, got {mode}")
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(f"embedding_bag(): per_sample_weights was not None. "
                                  f"per_sample_weights is only supported for mode='sum' (got "
                                  f"mode='{mode}'). Please open a feature request on GitHub.")
    if max_norm is not None:
        _renorm_rows(weight, input, max_norm, norm_type)
    flat, ids, bags = _bag_ids(input, offsets, include_last_offset)
    if padding_idx is not None and padding_idx < 0:
        padding_idx += weight.shape[0]
    rows = embedding(flat, weight)
    keep = flat != padding_idx if padding_idx is not None else None
    if per_sample_weights is not None:
        rows = rows * per_sample_weights.reshape(-1, 1)
    if keep is not None:
        rows = rows * keep.unsqueeze(1).to(rows.dtype)
    bag_t = _mt.tensor(ids, dtype=_mt.int64, device=weight.device)
    if mode == "max":
        return _bag_max(rows, keep, ids, bags)
    out = _mt.zeros(bags, weight.shape[1], dtype=weight.dtype, device=weight.device)
    out = out.index_add(0, bag_t, rows)
    if mode == "mean":
        ones = _mt.ones(len(ids), dtype=weight.dtype, device=weight.device)
        if keep is not None:
            ones = ones * keep.to(weight.dtype)
        counts = _mt.zeros(bags, dtype=weight.dtype, device=weight.device).index_add(0, bag_t,
                                                                                   ones)
        out = out / counts.clamp_min(1).unsqueeze(1)
    return out


def _bag_max(rows: Tensor, keep: Tensor | None, ids: list[int], bags: int) -> Tensor:
    kept = keep.tolist() if keep is not None else [True] * len(ids)
    members: list[list[int]] = [[] for _ in range(bags)]
    for pos, (b, k) in enumerate(zip(ids, kept)):
        if k:
            members[b].append(pos)
    zero = _mt.zeros(rows.shape[1], dtype=rows.dtype, device=rows.device)
    outs = [rows.index_select(0, _mt.tensor(m, device=rows.device)).max(0)[0] if m else zero
            for m in members]
    return _mt.stack(outs, 0) if outs else rows.new_zeros((0, rows.shape[1]))


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    if tensor.dtype is not _mt.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if num_classes == -1:
        num_classes = int(tensor.max().item()) + 1 if tensor.numel() else 0
    if tensor.numel() and (int(tensor.min().item()) < 0 or
                           int(tensor.max().item()) >= num_classes):
        raise RuntimeError("one_hot(): Class values must be smaller than num_classes and "
                           "non-negative.")
    classes = _mt.arange(num_classes, device=tensor.device)
    return (tensor.unsqueeze(-1) == classes).long()


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12,
              out: Any = None) -> Tensor:
    denom = _mt.clamp_min(_mt.linalg.vector_norm(input, p, dim, keepdim=True), eps)
    return input / denom.expand_as(input)
