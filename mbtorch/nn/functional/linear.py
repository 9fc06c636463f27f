"""``linear``, ``bilinear``, ``embedding``, ``one_hot``, ``normalize``."""

from __future__ import annotations

from typing import Any

import mbtorch as _mt

from ...core.tensor import Tensor

__all__ = ["linear", "bilinear", "embedding", "one_hot", "normalize"]


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``input @ weight.T + bias``."""
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


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None,
              max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of ``weight`` at ``input``; ``padding_idx`` rows get no gradient."""
    if input.dtype.is_floating_point:
        raise RuntimeError("embedding(): Expected tensor for argument #1 'indices' to have one "
                           f"of the following scalar types: Long, Int; but got "
                           f"{input.dtype.scalar_name} instead")
    if max_norm is not None:
        raise NotImplementedError("embedding(): max_norm is not supported")
    num = weight.shape[0]
    if padding_idx is not None and padding_idx < 0:
        padding_idx += num
    w = weight
    if padding_idx is not None and weight.requires_grad:
        keep = _mt.ones(num, 1, dtype=weight.dtype, device=weight.device)
        keep[padding_idx] = 0
        # the padding row's value is kept, its gradient is cut
        w = weight * keep + (weight * (1 - keep)).detach()
    flat = input.reshape(-1)
    return w.index_select(0, flat).reshape(tuple(input.shape) + (weight.shape[1],))


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
