"""The neural-network functions PyTorch also exposes at top level (``torch.conv2d``,
``torch.dropout``, ``torch.layer_norm``...), with *their* signatures, which are ATen's, not
``nn.functional``'s: positional-only-looking required flags (``torch.dropout(x, p, train)``),
integer reductions (0 none, 1 mean, 2 sum), ``torch.embedding(weight, indices)`` with the
operands swapped, ``torch.batch_norm``'s weight/bias before the running statistics, and the
tuples ATen returns (``max_pool1d_with_indices``, ``adaptive_max_pool1d``, ``embedding_bag``).

Each forwards to ``mbtorch.nn.functional`` — one implementation per function. That package is
imported on the first call (``lazy_import``), so ``import mbtorch`` does not pay for ``nn``;
the module sits above both ``core`` and ``nn`` (imports point downward only).
"""

from __future__ import annotations

import sys
from typing import Any, Sequence

from .core._lazy import lazy_import
from .core.tensor import Tensor, install_methods

F = lazy_import("mbtorch.nn.functional", globals(), "F")
_mt = lazy_import("mbtorch", globals(), "_mt")

__all__ = [
    "adaptive_avg_pool1d", "adaptive_max_pool1d", "alpha_dropout", "avg_pool1d", "batch_norm",
    "bilinear", "binary_cross_entropy_with_logits", "celu", "channel_shuffle", "conv1d",
    "conv2d", "conv3d", "conv_tbc", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
    "cosine_embedding_loss", "cosine_similarity", "ctc_loss", "dropout", "embedding",
    "embedding_bag", "feature_alpha_dropout", "feature_dropout", "group_norm", "hardshrink",
    "hinge_embedding_loss", "instance_norm", "kl_div", "layer_norm", "margin_ranking_loss",
    "max_pool1d", "max_pool1d_with_indices", "max_pool2d", "max_pool3d", "pairwise_distance",
    "pdist", "pixel_shuffle", "pixel_unshuffle", "poisson_nll_loss", "prelu", "rms_norm",
    "rrelu", "selu", "threshold", "triplet_margin_loss",
]

TENSOR_METHODS: dict = {}
"""``Tensor.hardshrink`` and ``Tensor.prelu`` (installed below)."""

_REDUCTIONS = ("none", "mean", "sum")  # ATen's at::Reduction enum, by value


def _reduction(value: Any, op: str) -> str:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{op}(): argument 'reduction' must be int (0: none, 1: mean, 2: sum), "
                        f"not {type(value).__name__}")
    if not 0 <= value <= 2:
        raise ValueError(f"{op}(): argument 'reduction' must be 0 (none), 1 (mean) or 2 (sum), "
                         f"got {value}")
    return _REDUCTIONS[value]


def _stride(stride: Any) -> Any:
    # ATen's empty stride list means "the kernel size", nn.functional's None
    return None if stride is None or (isinstance(stride, (list, tuple)) and not stride) else stride


# -- activations ----------------------------------------------------------------------------
def celu(input: Tensor, alpha: float = 1.0) -> Tensor:
    return F.celu(input, alpha)


def selu(input: Tensor) -> Tensor:
    return F.selu(input)


def threshold(input: Tensor, threshold: float, value: float) -> Tensor:
    return F.threshold(input, threshold, value)


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    return F.hardshrink(input, lambd)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    return F.prelu(input, weight)


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
          generator: Any = None) -> Tensor:
    if generator is not None:
        raise NotImplementedError("rrelu(): argument 'generator' is not supported by mbtorch; "
                                  "seed the default generator with mbtorch.manual_seed instead")
    return F.rrelu(input, lower, upper, training)


TENSOR_METHODS["hardshrink"] = hardshrink
TENSOR_METHODS["prelu"] = prelu


# -- dropout --------------------------------------------------------------------------------
# ATen's checks, which differ from nn.functional's: RuntimeError for p, dims only in training
def _check_dropout(input: Tensor, p: float, train: bool, name: str, feature: bool) -> None:
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    if not 0.0 <= p <= 1.0:
        raise RuntimeError(f"dropout probability has to be between 0 and 1, but got {p}")
    if train and feature and input.dim() < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    if train and not input.dtype.is_floating_point:
        raise RuntimeError(f"{name}(): result type Float can't be cast to the desired output "
                           f"type {input.dtype.scalar_name}")


def dropout(input: Tensor, p: float, train: bool) -> Tensor:
    _check_dropout(input, p, train, "dropout", False)
    return F.dropout(input, p, train)


def alpha_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    _check_dropout(input, p, train, "alpha_dropout", False)
    return F.alpha_dropout(input, p, train)


def feature_alpha_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    _check_dropout(input, p, train, "feature_alpha_dropout", True)
    return F.feature_alpha_dropout(input, p, train) if train else input


def feature_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """Dropout of whole feature maps: one draw per (batch, channel) of an (N, C, *) input."""
    _check_dropout(input, p, train, "feature_dropout", True)
    if not train or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    mask_shape = tuple(input.shape[:2]) + (1,) * (input.dim() - 2)
    keep = _mt.rand(mask_shape, dtype=input.dtype, device=input.device) >= p
    return _mt.where(keep, input * (1.0 / (1.0 - p)), 0.0)


# -- convolution and pooling ----------------------------------------------------------------
def _conv(name: str):
    def fn(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1,
           padding: Any = 0, dilation: Any = 1, groups: int = 1) -> Tensor:
        return getattr(F, name)(input, weight, bias, stride, padding, dilation, groups)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"``torch.{name}``: ``nn.functional.{name}``."
    return fn


def _conv_transpose(name: str):
    def fn(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1,
           padding: Any = 0, output_padding: Any = 0, groups: int = 1,
           dilation: Any = 1) -> Tensor:
        return getattr(F, name)(input, weight, bias, stride, padding, output_padding, groups,
                                dilation)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"``torch.{name}``: ``nn.functional.{name}``."
    return fn


conv1d, conv2d, conv3d = _conv("conv1d"), _conv("conv2d"), _conv("conv3d")
conv_transpose1d = _conv_transpose("conv_transpose1d")
conv_transpose2d = _conv_transpose("conv_transpose2d")
conv_transpose3d = _conv_transpose("conv_transpose3d")


def conv_tbc(input: Tensor, weight: Tensor, bias: Tensor, pad: int = 0) -> Tensor:
    return F.conv_tbc(input, weight, bias, pad)


def _max_pool(name: str, with_indices: bool = False):
    target = "max_pool1d" if with_indices else name

    def fn(input: Tensor, kernel_size: Any, stride: Any = (), padding: Any = 0,
           dilation: Any = 1, ceil_mode: bool = False) -> Any:
        return getattr(F, target)(input, kernel_size, _stride(stride), padding,
                                  dilation, ceil_mode, return_indices=with_indices)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"``torch.{name}`` (an empty ``stride`` means the kernel size)."
    return fn


max_pool1d, max_pool2d, max_pool3d = (_max_pool("max_pool1d"), _max_pool("max_pool2d"),
                                      _max_pool("max_pool3d"))
max_pool1d_with_indices = _max_pool("max_pool1d_with_indices", with_indices=True)


def avg_pool1d(input: Tensor, kernel_size: Any, stride: Any = (), padding: Any = 0,
               ceil_mode: bool = False, count_include_pad: bool = True) -> Tensor:
    return F.avg_pool1d(input, kernel_size, _stride(stride), padding, ceil_mode,
                        count_include_pad)


def adaptive_avg_pool1d(input: Tensor, output_size: Any) -> Tensor:
    return F.adaptive_avg_pool1d(input, output_size)


def adaptive_max_pool1d(input: Tensor, output_size: Any) -> tuple[Tensor, Tensor]:
    """``(values, indices)``: ATen always returns both."""
    return F.adaptive_max_pool1d(input, output_size, return_indices=True)


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    return F.pixel_shuffle(input, upscale_factor)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    return F.pixel_unshuffle(input, downscale_factor)


def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    return F.channel_shuffle(input, groups)


# -- normalisation --------------------------------------------------------------------------
def batch_norm(input: Tensor, weight: Tensor | None, bias: Tensor | None,
               running_mean: Tensor | None, running_var: Tensor | None, training: bool,
               momentum: float, eps: float, cudnn_enabled: bool) -> Tensor:
    """ATen's order: weight and bias before the running statistics (``cudnn_enabled`` only
    chooses a CUDA kernel in PyTorch; it does not change the result)."""
    return F.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def instance_norm(input: Tensor, weight: Tensor | None, bias: Tensor | None,
                  running_mean: Tensor | None, running_var: Tensor | None,
                  use_input_stats: bool, momentum: float, eps: float,
                  cudnn_enabled: bool) -> Tensor:
    return F.instance_norm(input, running_mean, running_var, weight, bias, use_input_stats,
                           momentum, eps)


def layer_norm(input: Tensor, normalized_shape: Sequence[int], weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5,
               cudnn_enable: bool = True) -> Tensor:
    return F.layer_norm(input, normalized_shape, weight, bias, eps)


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5,
               cudnn_enabled: bool = True) -> Tensor:
    return F.group_norm(input, num_groups, weight, bias, eps)


def rms_norm(input: Tensor, normalized_shape: Sequence[int], weight: Tensor | None = None,
             eps: float | None = None) -> Tensor:
    return F.rms_norm(input, normalized_shape, weight, eps)


# -- embeddings and linear ------------------------------------------------------------------
def embedding(weight: Tensor, indices: Tensor, padding_idx: int = -1,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """``torch.embedding(weight, indices)``: the operands in ATen's order (the reverse of
    ``nn.functional.embedding``); a negative ``padding_idx`` means none."""
    pad = None if padding_idx is None or padding_idx < 0 else padding_idx
    return F.embedding(indices, weight, pad, None, 2.0, scale_grad_by_freq, sparse)


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor,
             bias: Tensor | None = None) -> Tensor:
    return F.bilinear(input1, input2, weight, bias)


# -- distances and losses -------------------------------------------------------------------
def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    return F.cosine_similarity(x1, x2, dim, eps)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6,
                      keepdim: bool = False) -> Tensor:
    return F.pairwise_distance(x1, x2, p, eps, keepdim)


def pdist(input: Tensor, p: float = 2.0) -> Tensor:
    return F.pdist(input, p)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor,
                                     weight: Tensor | None = None,
                                     pos_weight: Tensor | None = None,
                                     reduction: int = 1) -> Tensor:
    r = _reduction(reduction, "binary_cross_entropy_with_logits")
    return F.binary_cross_entropy_with_logits(input, target, weight, reduction=r,
                                              pos_weight=pos_weight)


def kl_div(input: Tensor, target: Tensor, reduction: int = 1, *,
           log_target: bool = False) -> Tensor:
    """ATen's mean is over all elements (``nn.functional.kl_div`` warns about exactly that)."""
    r = _reduction(reduction, "kl_div")
    out = F.kl_div(input, target, reduction="none", log_target=log_target)
    return out.mean() if r == "mean" else out.sum() if r == "sum" else out


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0,
                          reduction: int = 1) -> Tensor:
    return F.cosine_embedding_loss(input1, input2, target, margin,
                                   reduction=_reduction(reduction, "cosine_embedding_loss"))


def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0,
                         reduction: int = 1) -> Tensor:
    return F.hinge_embedding_loss(input, target, margin,
                                  reduction=_reduction(reduction, "hinge_embedding_loss"))


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0,
                        reduction: int = 1) -> Tensor:
    return F.margin_ranking_loss(input1, input2, target, margin,
                                 reduction=_reduction(reduction, "margin_ranking_loss"))


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor,
                        margin: float = 1.0, p: float = 2.0, eps: float = 1e-6,
                        swap: bool = False, reduction: int = 1) -> Tensor:
    return F.triplet_margin_loss(anchor, positive, negative, margin, p, eps, swap,
                                 reduction=_reduction(reduction, "triplet_margin_loss"))


def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool, full: bool, eps: float,
                     reduction: int) -> Tensor:
    return F.poisson_nll_loss(input, target, log_input, full, eps=eps,
                              reduction=_reduction(reduction, "poisson_nll_loss"))


def ctc_loss(log_probs: Tensor, targets: Tensor, input_lengths: Any, target_lengths: Any,
             blank: int = 0, reduction: int = 1, zero_infinity: bool = False) -> Tensor:
    return F.ctc_loss(log_probs, targets, input_lengths, target_lengths, blank,
                      _reduction(reduction, "ctc_loss"), zero_infinity)


_BAG_MODES = ("sum", "mean", "max")


def embedding_bag(weight: Tensor, indices: Tensor, offsets: Tensor,
                  scale_grad_by_freq: bool = False, mode: int = 0, sparse: bool = False,
                  per_sample_weights: Tensor | None = None, include_last_offset: bool = False,
                  padding_idx: int | None = None) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """ATen's ``(output, offset2bag, bag_size, max_indices)``; ``mode`` is 0 sum, 1 mean, 2 max.

    The last three are what PyTorch's backward uses, given as its general path computes them:
    the bag of each index, the non-padding count per bag (zeros for sum), and per bag the
    weight row of each column's maximum (max), ``bag_size`` (mean) or zeros (sum). PyTorch's
    float32 sum fast path leaves ``offset2bag`` empty instead; the output is the same."""
    if not isinstance(offsets, Tensor):
        raise TypeError(f"embedding_bag(): argument 'offsets' (position 3) must be Tensor, not "
                        f"{type(offsets).__name__}")
    if indices.dim() != 1 or offsets.dim() != 1:
        # ATen reads a 2-D ``indices`` with offsets in an undocumented way; the 2-D form
        # without offsets is nn.functional.embedding_bag's
        raise ValueError("embedding_bag(): 'indices' and 'offsets' must be 1-D here; for bags "
                         "as the rows of a 2-D input use mbtorch.nn.functional.embedding_bag")
    if isinstance(mode, bool) or mode not in (0, 1, 2):
        raise ValueError(f"embedding_bag(): argument 'mode' must be 0 (sum), 1 (mean) or 2 "
                         f"(max), got {mode!r}")
    out = F.embedding_bag(indices, weight, offsets, None, 2, scale_grad_by_freq,
                          _BAG_MODES[mode], sparse, per_sample_weights, include_last_offset,
                          padding_idx)
    starts = offsets[:-1] if include_last_offset else offsets
    n, bags = indices.shape[0], starts.shape[0]
    offset2bag = _mt.searchsorted(starts, _mt.arange(n, device=indices.device), right=True) - 1
    if mode == 0:  # PyTorch sizes these by ``offsets`` here, even with include_last_offset
        zeros = _mt.zeros(offsets.shape[0], dtype=_mt.int64, device=indices.device)
        return out, offset2bag, zeros, zeros.clone()
    zeros = _mt.zeros(bags, dtype=_mt.int64, device=indices.device)
    kept = indices != padding_idx if padding_idx is not None else _mt.ones_like(indices)
    bag_size = zeros.index_add(0, offset2bag, kept.long())
    if mode == 1:
        return out, offset2bag, bag_size, bag_size.clone()
    return out, offset2bag, bag_size, _bag_argmax(weight, indices, offset2bag, kept, bags)


def _bag_argmax(weight: Tensor, indices: Tensor, offset2bag: Tensor, kept: Tensor,
                bags: int) -> Tensor:
    """Per bag and column, the weight row holding the maximum (0 for an empty bag)."""
    rows = weight.detach()[indices]
    result = _mt.zeros(bags, weight.shape[1], dtype=_mt.int64, device=weight.device)
    for b in range(bags):
        members = ((offset2bag == b) & kept.bool()).nonzero().flatten()
        if members.numel():
            result[b] = indices[members][rows[members].argmax(0)]
    return result


install_methods(sys.modules[__name__])
