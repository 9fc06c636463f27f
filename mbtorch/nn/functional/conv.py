"""Convolution, pooling, padding and resampling as views + matmul (im2col): every backend
that has the primitives trains a CNN. ``Tensor.unfold`` windows are views, so the only copy
is the column matrix that feeds the matmul."""

from __future__ import annotations

from typing import Any, Sequence

import mbtorch as _mt

from ...core.autocast import AUTOCAST, lower
from ...core.ops.convolution import convolution
from ...core.ops.windows import col2im, im2col
from ...core.tensor import Tensor
from ._utils import _tuple
from .padding import pad

__all__ = [
    "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
    "unfold", "fold", "conv_tbc"
]


def _out_size(size: int, k: int, s: int, p: int, d: int) -> int:
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def _same_padding(kernel: Sequence[int], dilation: Sequence[int]) -> list[tuple[int, int]]:
    pads = []
    for k, d in zip(kernel, dilation):
        total = d * (k - 1)
        pads.append((total // 2, total - total // 2))
    return pads


def _convnd(input: Tensor, weight: Tensor, bias: Tensor | None, stride: Any, padding: Any,
            dilation: Any, groups: int, n: int, op: str) -> Tensor:
    if AUTOCAST.on:
        input, weight, bias = lower(input, weight, bias)
    if input.dim() not in (n + 1, n + 2):
        raise RuntimeError(f"{op}(): Expected {n + 1}D (unbatched) or {n + 2}D (batched) input "
                           f"to {op}, but got input of size: {list(input.shape)}")
    unbatched = input.dim() == n + 1
    if unbatched:
        input = input.unsqueeze(0)
    if weight.dim() != n + 2:
        raise RuntimeError(f"{op}(): weight should have {n + 2} dimensions, got "
                           f"{list(weight.shape)}")
    stride, dilation = _tuple(stride, n, "stride", op), _tuple(dilation, n, "dilation", op)
    kernel = tuple(weight.shape[2:])
    if isinstance(padding, str):
        if padding == "valid":
            pads = [(0, 0)] * n
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(f"{op}(): padding='same' is not supported for strided "
                                 "convolutions")
            pads = _same_padding(kernel, dilation)
        else:
            raise ValueError(f"{op}(): Invalid padding string '{padding}'")
    else:
        pads = [(p, p) for p in _tuple(padding, n, "padding", op)]
    c_in, c_out = input.shape[1], weight.shape[0]
    if groups <= 0 or c_in % groups or c_out % groups:
        raise RuntimeError(f"{op}(): groups ({groups}) must divide in_channels ({c_in}) and "
                           f"out_channels ({c_out})")
    if weight.shape[1] * groups != c_in:
        raise RuntimeError(f"{op}(): Given groups={groups}, weight of size {list(weight.shape)}"
                           f", expected input{list(input.shape)} to have "
                           f"{weight.shape[1] * groups} channels, but got {c_in} channels "
                           "instead")
    for i in range(n):
        if input.shape[2 + i] + sum(pads[i]) < dilation[i] * (kernel[i] - 1) + 1:
            raise RuntimeError(f"{op}(): Kernel size can't be greater than actual input size")
    # one op (CONVOLUTION); its decomposition's matmul raises PyTorch's error for mixed
    # dtypes or devices
    out = convolution(input, weight, stride, tuple(pads), dilation, groups)
    if bias is not None:
        out = out + bias.reshape((1, -1) + (1,) * n)
    return out.squeeze(0) if unbatched else out


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1,
           padding: Any = 0, dilation: Any = 1, groups: int = 1) -> Tensor:
    return _convnd(input, weight, bias, stride, padding, dilation, groups, 1, "conv1d")


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1,
           padding: Any = 0, dilation: Any = 1, groups: int = 1) -> Tensor:
    return _convnd(input, weight, bias, stride, padding, dilation, groups, 2, "conv2d")


def conv3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1,
           padding: Any = 0, dilation: Any = 1, groups: int = 1) -> Tensor:
    return _convnd(input, weight, bias, stride, padding, dilation, groups, 3, "conv3d")


def _conv_transposend(input: Tensor, weight: Tensor, bias: Tensor | None, stride: Any,
                      padding: Any, output_padding: Any, groups: int, dilation: Any, n: int,
                      op: str) -> Tensor:
    """The gradient of convNd with respect to its input: dilate the input by ``stride``,
    pad by ``dilation * (k - 1) - padding``, and convolve with the flipped, transposed
    kernel."""
    if AUTOCAST.on:
        input, weight, bias = lower(input, weight, bias)
    unbatched = input.dim() == n + 1
    if unbatched:
        input = input.unsqueeze(0)
    if input.dim() != n + 2:
        raise RuntimeError(f"{op}(): Expected {n + 1}D or {n + 2}D input, got "
                           f"{list(input.shape)}")
    stride, dilation = _tuple(stride, n, "stride", op), _tuple(dilation, n, "dilation", op)
    padding = _tuple(padding, n, "padding", op)
    out_pad = _tuple(output_padding, n, "output_padding", op)
    for i in range(n):
        if out_pad[i] >= max(stride[i], dilation[i]):
            raise RuntimeError(f"{op}(): output padding must be smaller than either stride or "
                               "dilation")
    if weight.dim() != n + 2 or weight.shape[0] != input.shape[1]:
        raise RuntimeError(f"{op}(): weight of size {list(weight.shape)} expects "
                           f"{weight.shape[0]} input channels, got {input.shape[1]}")
    c_in, og = weight.shape[0], weight.shape[1]
    kernel = tuple(weight.shape[2:])
    if any(s != 1 for s in stride):
        sizes = tuple((input.shape[2 + i] - 1) * stride[i] + 1 for i in range(n))
        up = _mt.zeros((input.shape[0], c_in) + sizes, dtype=input.dtype, device=input.device)
        up[(slice(None), slice(None)) + tuple(slice(None, None, s) for s in stride)] = input
        input = up
    pads = [(dilation[i] * (k - 1) - padding[i], dilation[i] * (k - 1) - padding[i] + out_pad[i])
            for i, k in enumerate(kernel)]
    input = _pad_or_crop(input, pads)
    cg = c_in // groups
    # (Cin, Og, *k) -> per group (G*Og, Cg, *k), flipped spatially
    wt = weight.reshape((groups, cg, og) + kernel).transpose(1, 2)
    wt = wt.reshape((groups * og, cg) + kernel).flip(tuple(range(2, n + 2)))
    out = convolution(input, wt, (1,) * n, ((0, 0),) * n, dilation, groups)
    if bias is not None:
        out = out + bias.reshape((1, -1) + (1,) * n)
    return out.squeeze(0) if unbatched else out


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None,
                     stride: Any = 1, padding: Any = 0, output_padding: Any = 0,
                     groups: int = 1, dilation: Any = 1) -> Tensor:
    return _conv_transposend(input, weight, bias, stride, padding, output_padding, groups,
                             dilation, 1, "conv_transpose1d")


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None,
                     stride: Any = 1, padding: Any = 0, output_padding: Any = 0,
                     groups: int = 1, dilation: Any = 1) -> Tensor:
    return _conv_transposend(input, weight, bias, stride, padding, output_padding, groups,
                             dilation, 2, "conv_transpose2d")


def conv_transpose3d(input: Tensor, weight: Tensor, bias: Tensor | None = None,
                     stride: Any = 1, padding: Any = 0, output_padding: Any = 0,
                     groups: int = 1, dilation: Any = 1) -> Tensor:
    return _conv_transposend(input, weight, bias, stride, padding, output_padding, groups,
                             dilation, 3, "conv_transpose3d")


def _pad_or_crop(x: Tensor, pads: list[tuple[int, int]]) -> Tensor:
    """Pad (positive) or crop (negative) the last len(pads) dims."""
    n = len(pads)
    crop = [slice(None)] * x.dim()
    flat = []
    for i, (lo, hi) in enumerate(pads):
        dim = x.dim() - n + i
        crop[dim] = slice(max(-lo, 0), x.shape[dim] - max(-hi, 0))
    x = x[tuple(crop)]
    for lo, hi in reversed(pads):
        flat += [max(lo, 0), max(hi, 0)]
    return pad(x, flat) if any(flat) else x


def unfold(input: Tensor, kernel_size: Any, dilation: Any = 1, padding: Any = 0,
           stride: Any = 1) -> Tensor:
    """im2col: (N, C, H, W) -> (N, C*kh*kw, L), as ``torch.nn.functional.unfold``."""
    if input.dim() != 4:
        raise NotImplementedError("unfold(): only 4-D input tensors are supported")
    k = _tuple(kernel_size, 2, "kernel_size", "unfold")
    d, s = _tuple(dilation, 2, "dilation", "unfold"), _tuple(stride, 2, "stride", "unfold")
    p = _tuple(padding, 2, "padding", "unfold")
    x = pad(input, [p[1], p[1], p[0], p[0]]) if any(p) else input
    for i in range(2):
        if _out_size(x.shape[2 + i], k[i], s[i], 0, d[i]) <= 0:
            raise RuntimeError(f"unfold(): Given input with spatial size {list(input.shape[2:])}"
                               f", kernel_size={k}, dilation={d}, padding={p}, calculated shape "
                               "of the array of sliding blocks is non-positive")
    return im2col(x, tuple(k), tuple(d), tuple(s))


def fold(input: Tensor, output_size: Any, kernel_size: Any, dilation: Any = 1, padding: Any = 0,
         stride: Any = 1) -> Tensor:
    """col2im: (N, C*kh*kw, L) -> (N, C, H, W), summing overlapping blocks, as
    ``torch.nn.functional.fold``; an unbatched (C*kh*kw, L) input is accepted too."""
    op = "fold"
    if input.dim() not in (2, 3):
        raise RuntimeError(f"{op}(): Expected 2D or 3D (batch mode) tensor for input with "
                           f"possibly 0 batch size and non-zero dimensions for input, but got: "
                           f"{list(input.shape)}")
    unbatched = input.dim() == 2
    cols = input.unsqueeze(0) if unbatched else input
    size, k = _tuple(output_size, 2, "output_size", op), _tuple(kernel_size, 2, "kernel_size", op)
    d, s = _tuple(dilation, 2, "dilation", op), _tuple(stride, 2, "stride", op)
    p = _tuple(padding, 2, "padding", op)
    if cols.shape[1] % (k[0] * k[1]):
        raise RuntimeError(f"{op}(): Expected size of input's dimension 1 to be divisible by the "
                           f"product of kernel_size, but got input.size(1)={cols.shape[1]} and "
                           f"kernel_size={k}.")
    padded = (size[0] + 2 * p[0], size[1] + 2 * p[1])
    blocks = [_out_size(padded[i], k[i], s[i], 0, d[i]) for i in range(2)]
    if blocks[0] <= 0 or blocks[1] <= 0 or blocks[0] * blocks[1] != cols.shape[2]:
        raise RuntimeError(f"{op}(): Given output_size={size}, kernel_size={k}, dilation={d}, "
                           f"padding={p}, stride={s}, expected size of input's dimension 2 to "
                           f"match the calculated number of sliding blocks {blocks[0]} * "
                           f"{blocks[1]} = {blocks[0] * blocks[1]}, but got "
                           f"input.size(2)={cols.shape[2]}.")
    out = col2im(cols, padded, tuple(k), tuple(d), tuple(s))
    if any(p):
        out = out[:, :, p[0]:p[0] + size[0], p[1]:p[1] + size[1]]
    return out.squeeze(0) if unbatched else out


def conv_tbc(input: Tensor, weight: Tensor, bias: Tensor, pad: int = 0) -> Tensor:
    """1-D convolution in time-batch-channel layout: input (T, B, C_in), weight
    (K, C_in, C_out), bias (C_out,) -> (T_out, B, C_out)."""
    if input.dim() != 3 or weight.dim() != 3 or bias.dim() != 1:
        raise RuntimeError("conv_tbc(): Input must have 3 dims: time, batch, in_channel; weight "
                           "must have 3 dims: kernel_width, in_channels, out_channels; bias "
                           "must have 1 dim")
    if input.shape[2] != weight.shape[1] or weight.shape[2] != bias.shape[0]:
        raise RuntimeError("conv_tbc(): Input dim 2 (input channels) is not == dim 1 in the "
                           "weight tensor, or bias does not match the output channels")
    out = conv1d(input.permute(1, 2, 0), weight.permute(2, 1, 0), bias, padding=pad)
    return out.permute(2, 0, 1)
