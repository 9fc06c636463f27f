"""Normalisation: ``batch_norm`` (running statistics), ``layer_norm``, ``group_norm``,
``instance_norm``, ``rms_norm``, ``local_response_norm``."""

from __future__ import annotations

from typing import Sequence

import mbtorch as _mt

from ... import autograd as _ag
from ...core.tensor import Tensor

__all__ = [
    "batch_norm", "layer_norm", "group_norm", "instance_norm", "rms_norm", "local_response_norm"
]


def _bcast(t: Tensor | None, ndim: int) -> Tensor | None:
    return None if t is None else t.reshape((1, -1) + (1,) * (ndim - 2))


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalise over all dims but the channel dim (1). In training, batch statistics are
    used and the running ones updated with the unbiased variance (PyTorch's rule)."""
    if input.dim() < 2:
        raise ValueError(f"batch_norm(): expected at least 2D input (got {input.dim()}D input)")
    dims = (0,) + tuple(range(2, input.dim()))
    n = input.numel() // input.shape[1]
    if training:
        if n <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got "
                             f"input size {list(input.shape)}")
        mean = input.mean(dims)
        var = input.var(dims, correction=0)
        if running_mean is not None and running_var is not None:
            with _ag.no_grad():
                running_mean.mul_(1 - momentum).add_(mean.detach() * momentum)
                running_var.mul_(1 - momentum).add_(var.detach() * (momentum * n / (n - 1)))
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm(): running_mean and running_var are required when not "
                             "training")
        mean, var = running_mean, running_var
    out = (input - _bcast(mean, input.dim())) * _bcast(_mt.rsqrt(var + eps), input.dim())
    if weight is not None:
        out = out * _bcast(weight, input.dim())
    if bias is not None:
        out = out + _bcast(bias, input.dim())
    return out


def layer_norm(input: Tensor, normalized_shape: Sequence[int], weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if tuple(input.shape[-len(shape):]) != shape:
        raise RuntimeError(f"layer_norm(): Given normalized_shape={list(shape)}, expected input "
                           f"with shape [*, {', '.join(map(str, shape))}], but got input of "
                           f"size{list(input.shape)}")
    dims = tuple(range(-len(shape), 0))
    mean = input.mean(dims, keepdim=True)
    var = input.var(dims, keepdim=True, correction=0)
    out = (input - mean) * _mt.rsqrt(var + eps)
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    if input.dim() < 2:
        raise RuntimeError(f"group_norm(): Expected at least 2 dimensions for input tensor but "
                           f"received {input.dim()}")
    n, c = input.shape[0], input.shape[1]
    if c % num_groups:
        raise RuntimeError(f"group_norm(): Expected number of channels in input to be divisible "
                           f"by num_groups, but got input of shape {list(input.shape)} and "
                           f"num_groups={num_groups}")
    x = input.reshape(n, num_groups, -1)
    mean = x.mean(-1, keepdim=True)
    var = x.var(-1, keepdim=True, correction=0)
    out = ((x - mean) * _mt.rsqrt(var + eps)).reshape(input.shape)
    if weight is not None:
        out = out * _bcast(weight, input.dim())
    if bias is not None:
        out = out + _bcast(bias, input.dim())
    return out


def instance_norm(input: Tensor, running_mean: Tensor | None = None,
                  running_var: Tensor | None = None, weight: Tensor | None = None,
                  bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalise each (sample, channel) plane over its spatial dims; the running statistics
    (when given) move towards the batch average of the per-instance ones, as PyTorch's."""
    if input.dim() < 3:
        raise ValueError(f"instance_norm(): expected at least 3D input (got {input.dim()}D "
                         "input)")
    dims = tuple(range(2, input.dim()))
    if not use_input_stats:
        if running_mean is None or running_var is None:
            raise ValueError("instance_norm(): Expected running_mean and running_var to be "
                             "defined when use_input_stats is false")
        return batch_norm(input, running_mean, running_var, weight, bias, False, momentum, eps)
    n = input.numel() // (input.shape[0] * input.shape[1]) if input.numel() else 0
    if n <= 1:
        raise ValueError(f"Expected more than 1 spatial element when training, got input size "
                         f"{list(input.shape)}")
    mean = input.mean(dims, keepdim=True)
    var = input.var(dims, keepdim=True, correction=0)
    if running_mean is not None and running_var is not None:
        with _ag.no_grad():
            flat_m = mean.detach().reshape(input.shape[0], input.shape[1]).mean(0)
            flat_v = var.detach().reshape(input.shape[0], input.shape[1]).mean(0)
            running_mean.mul_(1 - momentum).add_(flat_m * momentum)
            running_var.mul_(1 - momentum).add_(flat_v * (momentum * n / (n - 1)))
    out = (input - mean) * _mt.rsqrt(var + eps)
    if weight is not None:
        out = out * _bcast(weight, input.dim())
    if bias is not None:
        out = out + _bcast(bias, input.dim())
    return out


def rms_norm(input: Tensor, normalized_shape: Sequence[int], weight: Tensor | None = None,
             eps: float | None = None) -> Tensor:
    """``x / sqrt(mean(x^2) + eps) * weight`` over the trailing ``normalized_shape`` dims;
    ``eps`` defaults to the dtype's machine epsilon, as PyTorch's."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if tuple(input.shape[-len(shape):]) != shape:
        raise RuntimeError(f"rms_norm(): Given normalized_shape={list(shape)}, expected input "
                           f"with shape [*, {', '.join(map(str, shape))}], but got input of "
                           f"size{list(input.shape)}")
    if eps is None:
        eps = _mt.finfo(input.dtype).eps
    dims = tuple(range(-len(shape), 0))
    out = input * _mt.rsqrt((input * input).mean(dims, keepdim=True) + eps)
    return out if weight is None else out * weight


def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75,
                        k: float = 1.0) -> Tensor:
    """Divide by ``(k + alpha * mean of squares over ``size`` neighbouring channels)^beta``."""
    if input.dim() < 3:
        raise ValueError(f"Expected 3D or higher dimensionality input (got {input.dim()} "
                         "dimensions)")
    if input.numel() == 0:
        return input
    from .padding import pad
    from .pooling import avg_pool2d

    n, c = input.shape[0], input.shape[1]
    sq = (input * input).reshape(n, 1, c, -1)
    sq = pad(sq, (0, 0, size // 2, (size - 1) // 2))
    div = avg_pool2d(sq, (size, 1), stride=1).reshape(input.shape)
    return input / (div * alpha + k).pow(beta)
