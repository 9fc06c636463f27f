"""Activation functions and dropout (``mbtorch.nn.functional``), on public tensor ops."""

from __future__ import annotations

import math
from typing import Any

import mbtorch as _mt

from ...core.tensor import Tensor

__all__ = [
    "relu", "relu_", "leaky_relu", "elu", "selu", "celu", "gelu", "silu", "softplus", "mish",
    "hardtanh", "relu6", "hardsigmoid", "hardswish", "logsigmoid", "sigmoid", "tanh", "softsign",
    "tanhshrink", "threshold", "glu", "softmax", "log_softmax", "softmin", "dropout", "dropout1d",
    "dropout2d"
]


def _inplace(input: Tensor, out: Tensor, inplace: bool) -> Tensor:
    return input.copy_(out) if inplace else out


def relu(input: Tensor, inplace: bool = False) -> Tensor:
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


def dropout(input: Tensor, p: float = 0.5, training: bool = True,
            inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return _inplace(input, input * 0.0, inplace)
    keep = _mt.rand_like(input) >= p
    return _inplace(input, _mt.where(keep, input * (1.0 / (1.0 - p)), 0.0), inplace)


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    return _channel_dropout(input, p, training, inplace, 1)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    return _channel_dropout(input, p, training, inplace, 2)


def _channel_dropout(input: Tensor, p: float, training: bool, inplace: bool,
                     spatial: int) -> Tensor:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    mask_shape = tuple(input.shape[:-spatial]) + (1,) * spatial
    keep = _mt.rand(mask_shape, device=input.device) >= p
    out = _mt.where(keep, input * (1.0 / (1.0 - p)), 0.0) if p < 1 else input * 0.0
    return _inplace(input, out, inplace)
