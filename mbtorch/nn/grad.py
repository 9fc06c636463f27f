"""Gradients of the convolutions with respect to their input and weight
(``torch.nn.grad.conv2d_input`` and friends), as vector-Jacobian products through autograd:
a convolution is linear in each argument, so one backward pass gives the exact result."""

from __future__ import annotations

from typing import Any, Callable, Sequence

import mbtorch as _mt

from ..core.tensor import Tensor
from . import functional as F

__all__ = ["conv1d_input", "conv1d_weight", "conv2d_input", "conv2d_weight", "conv3d_input",
           "conv3d_weight"]


def _vjp(conv: Callable, input: Tensor, weight: Tensor, grad_output: Tensor, wrt: str,
         stride: Any, padding: Any, dilation: Any, groups: int) -> Tensor:
    with _mt.enable_grad():
        x = input.detach().requires_grad_(wrt == "input")
        w = weight.detach().requires_grad_(wrt == "weight")
        out = conv(x, w, None, stride, padding, dilation, groups)
        (grad,) = _mt.autograd.grad(out, x if wrt == "input" else w, grad_output)
    return grad


def _input_grad(conv: Callable, input_size: Sequence[int], weight: Tensor, grad_output: Tensor,
                stride: Any, padding: Any, dilation: Any, groups: int) -> Tensor:
    x = _mt.zeros(tuple(input_size), dtype=weight.dtype, device=weight.device)
    return _vjp(conv, x, weight, grad_output, "input", stride, padding, dilation, groups)


def _weight_grad(conv: Callable, input: Tensor, weight_size: Sequence[int], grad_output: Tensor,
                 stride: Any, padding: Any, dilation: Any, groups: int) -> Tensor:
    w = _mt.zeros(tuple(weight_size), dtype=input.dtype, device=input.device)
    return _vjp(conv, input, w, grad_output, "weight", stride, padding, dilation, groups)


def conv1d_input(input_size: Sequence[int], weight: Tensor, grad_output: Tensor, stride: Any = 1,
                 padding: Any = 0, dilation: Any = 1, groups: int = 1) -> Tensor:
    return _input_grad(F.conv1d, input_size, weight, grad_output, stride, padding, dilation,
                       groups)


def conv1d_weight(input: Tensor, weight_size: Sequence[int], grad_output: Tensor,
                  stride: Any = 1, padding: Any = 0, dilation: Any = 1,
                  groups: int = 1) -> Tensor:
    return _weight_grad(F.conv1d, input, weight_size, grad_output, stride, padding, dilation,
                        groups)


def conv2d_input(input_size: Sequence[int], weight: Tensor, grad_output: Tensor, stride: Any = 1,
                 padding: Any = 0, dilation: Any = 1, groups: int = 1) -> Tensor:
    return _input_grad(F.conv2d, input_size, weight, grad_output, stride, padding, dilation,
                       groups)


def conv2d_weight(input: Tensor, weight_size: Sequence[int], grad_output: Tensor,
                  stride: Any = 1, padding: Any = 0, dilation: Any = 1,
                  groups: int = 1) -> Tensor:
    return _weight_grad(F.conv2d, input, weight_size, grad_output, stride, padding, dilation,
                        groups)


def conv3d_input(input_size: Sequence[int], weight: Tensor, grad_output: Tensor, stride: Any = 1,
                 padding: Any = 0, dilation: Any = 1, groups: int = 1) -> Tensor:
    return _input_grad(F.conv3d, input_size, weight, grad_output, stride, padding, dilation,
                       groups)


def conv3d_weight(input: Tensor, weight_size: Sequence[int], grad_output: Tensor,
                  stride: Any = 1, padding: Any = 0, dilation: Any = 1,
                  groups: int = 1) -> Tensor:
    return _weight_grad(F.conv3d, input, weight_size, grad_output, stride, padding, dilation,
                        groups)
