"""Activation functions (``mbtorch.nn.functional``), on public tensor ops."""

from __future__ import annotations

import math
from typing import Any

import mbtorch as _mt

from ...core.autocast import AUTOCAST, lower
from ...core.tensor import Tensor

__all__ = [
    "relu", "relu_", "leaky_relu", "elu", "selu", "celu", "gelu", "silu", "softplus", "mish",
    "hardtanh", "relu6", "hardsigmoid", "hardswish", "logsigmoid", "sigmoid", "tanh", "softsign",
    "tanhshrink", "threshold", "glu", "softmax", "log_softmax", "softmin", "hardshrink",
    "softshrink", "rrelu", "rrelu_", "prelu", "softmax2d", "elu_", "leaky_relu_", "hardtanh_",
    "threshold_", "celu_", "selu_", "gumbel_softmax"
]


def _inplace(input: Tensor, out: Tensor, inplace: bool) -> Tensor:
    return input.copy_(out) if inplace else out


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    if input._dtype._q is not None:  # PyTorch's quantized relu: clamped at the zero point
        from ...core.ops.quantize import quantized_relu

        return _inplace(input, quantized_relu(input), inplace)
    return _inplace(input, _mt.relu(input), inplace)


def relu_(input: Tensor) -> Tensor:
    return relu(input, True)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    return _inplace(input, _mt.where(input > 0, input, input * negative_slope), inplace)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    return _inplace(input, _mt.where(input > 0, input, _mt.expm1(input) * alpha), inplace)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    alpha, scale = 1.6732632423543772, 1.0507009873554805
    return _inplace(input, elu(input, alpha) * scale, inplace)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    return _inplace(input, _mt.where(input > 0, input, _mt.expm1(input / alpha) * alpha),
                    inplace)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """``x * Phi(x)``; ``approximate='tanh'`` uses PyTorch's tanh formula."""
    if approximate == "none":
        return input * 0.5 * (1.0 + _mt.erf(input * (1.0 / math.sqrt(2.0))))
    if approximate == "tanh":
        inner = (input + input * input * input * 0.044715) * math.sqrt(2.0 / math.pi)
        return input * 0.5 * (1.0 + _mt.tanh(inner))
    raise RuntimeError(f"gelu(): approximate argument must be either none or tanh, got "
                       f"'{approximate}'")


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    return _inplace(input, input * _mt.sigmoid(input), inplace)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """``log(1 + exp(beta x)) / beta``, linear above ``threshold`` (as PyTorch)."""
    scaled = input * beta
    soft = _mt.log1p(_mt.exp(_mt.clamp(scaled, max=threshold))) / beta
    return _mt.where(scaled > threshold, input, soft)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    return _inplace(input, input * _mt.tanh(softplus(input)), inplace)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:
    if min_val > max_val:
        raise ValueError("hardtanh(): min_val cannot be greater than max_val")
    return _inplace(input, _mt.clamp(input, min_val, max_val), inplace)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    return hardtanh(input, 0.0, 6.0, inplace)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    return _inplace(input, _mt.clamp(input / 6.0 + 0.5, 0.0, 1.0), inplace)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    return _inplace(input, input * _mt.clamp(input / 6.0 + 0.5, 0.0, 1.0), inplace)


def logsigmoid(input: Tensor) -> Tensor:
    return -softplus(-input)


def sigmoid(input: Tensor) -> Tensor:
    return _mt.sigmoid(input)


def tanh(input: Tensor) -> Tensor:
    return _mt.tanh(input)


def softsign(input: Tensor) -> Tensor:
    return input / (_mt.abs(input) + 1.0)


def tanhshrink(input: Tensor) -> Tensor:
    return input - _mt.tanh(input)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    return _inplace(input, _mt.where(input > threshold, input, value), inplace)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    a, b = _mt.chunk(input, 2, dim)
    return a * _mt.sigmoid(b)


def _softmax_dim(ndim: int) -> int:
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
            dtype: Any = None) -> Tensor:
    if dim is None:
        dim = _softmax_dim(input.dim())
    return _mt.softmax(input, dim, dtype=dtype)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
                dtype: Any = None) -> Tensor:
    if dim is None:
        dim = _softmax_dim(input.dim())
    return _mt.log_softmax(input, dim, dtype=dtype)


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
            dtype: Any = None) -> Tensor:
    return softmax(-input, dim, dtype=dtype)


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    return _mt.where((input > lambd) | (input < -lambd), input, 0.0)


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    if lambd < 0:
        raise RuntimeError(f"softshrink(): lambda must be greater or equal to 0, but found to be "
                           f"{lambd}.")
    return _mt.where(input > lambd, input - lambd, _mt.where(input < -lambd, input + lambd, 0.0))


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3,
          training: bool = False, inplace: bool = False) -> Tensor:
    """Leaky ReLU whose negative slope is drawn from U(lower, upper) per element while
    training and is ``(lower + upper) / 2`` in evaluation."""
    if lower > upper:
        raise RuntimeError(f"rrelu(): lower bound ({lower}) should be less than or equal to "
                           f"the upper bound ({upper})")
    if training:
        slope = _mt.rand_like(input) * (upper - lower) + lower
    else:
        slope = (lower + upper) / 2.0
    return _inplace(input, _mt.where(input >= 0, input, input * slope), inplace)


def rrelu_(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3,
           training: bool = False) -> Tensor:
    return rrelu(input, lower, upper, training, True)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """``max(0, x) + weight * min(0, x)``, ``weight`` one value or one per channel (dim 1)."""
    if AUTOCAST.on:  # on PyTorch's autocast low-precision list
        input, weight = lower(input, weight)
    n = weight.numel()
    if n != 1:
        channels = input.shape[1] if input.dim() >= 2 else (input.shape[0] if input.dim() else 1)
        if channels != n:
            raise RuntimeError(f"prelu(): Mismatch of parameter numbers and input channel size. "
                               f"Found parameter numbers = {n} and channel size = {channels}.")
        shape = [1] * input.dim()
        shape[1 if input.dim() >= 2 else 0] = n
        weight = weight.reshape(shape)
    return _mt.where(input > 0, input, input * weight)


def softmax2d(input: Tensor) -> Tensor:
    if input.dim() not in (3, 4):
        raise ValueError(f"Softmax2d: expected input to be 3D or 4D, got {input.dim()}D instead")
    return _mt.softmax(input, -3)


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    return elu(input, alpha, True)


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    return leaky_relu(input, negative_slope, True)


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    return hardtanh(input, min_val, max_val, True)


def threshold_(input: Tensor, threshold_: float, value: float) -> Tensor:
    return threshold(input, threshold_, value, True)


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    return celu(input, alpha, True)


def selu_(input: Tensor) -> Tensor:
    return selu(input, True)


def gumbel_softmax(logits: Tensor, tau: float = 1.0, hard: bool = False, eps: float = 1e-10,
                   dim: int = -1) -> Tensor:
    """Softmax of ``(logits + Gumbel noise) / tau``; ``hard`` returns one-hot samples whose
    gradient is the soft one's (straight-through)."""
    gumbels = -_mt.log(_mt.empty_like(logits).exponential_())
    y_soft = _mt.softmax((logits + gumbels) / tau, dim)
    if not hard:
        return y_soft
    index = y_soft.argmax(dim, keepdim=True)
    y_hard = _mt.zeros_like(logits).scatter(dim, index, 1.0)
    return y_hard - y_soft.detach() + y_soft
