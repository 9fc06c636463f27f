"""``RNNCell``, ``LSTMCell``, ``GRUCell``: one time step, PyTorch's parameter names
(``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh``), gate order and initialisation."""

from __future__ import annotations

import math
from typing import Any

import mbtorch as _mt

from ...core.tensor import Tensor
from .. import functional as F
from .. import init
from ..parameter import Parameter
from .module import Module

__all__ = ["RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]


class RNNCellBase(Module):
    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        if input_size < 0 or hidden_size <= 0:
            raise ValueError(f"{type(self).__name__}: hidden_size must be positive and "
                             f"input_size non-negative, got {input_size} and {hidden_size}")
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        f = {"device": device, "dtype": dtype}
        self.weight_ih = Parameter(_mt.empty(num_chunks * hidden_size, input_size, **f))
        self.weight_hh = Parameter(_mt.empty(num_chunks * hidden_size, hidden_size, **f))
        if bias:
            self.bias_ih = Parameter(_mt.empty(num_chunks * hidden_size, **f))
            self.bias_hh = Parameter(_mt.empty(num_chunks * hidden_size, **f))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        std = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for p in self.parameters():
            init.uniform_(p, -std, std)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def _batch(self, input: Tensor, states: tuple, hx_name: str) -> tuple[Tensor, list, bool]:
        """Check ranks, add the batch dim to unbatched input and make zero states."""
        name = type(self).__name__
        if input.dim() not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.dim()}D "
                             "instead")
        for i, s in enumerate(states):
            if s is not None and s.dim() not in (1, 2):
                label = hx_name if len(states) == 1 else f"{hx_name}[{i}]"
                raise ValueError(f"{name}: Expected {label} to be 1D or 2D, got {s.dim()}D "
                                 "instead")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"{name}: input has inconsistent input_size: got "
                               f"{input.shape[-1]} expected {self.input_size}")
        batched = input.dim() == 2
        x = input if batched else input.unsqueeze(0)
        out = []
        for s in states:
            if s is None:
                s = _mt.zeros(x.shape[0], self.hidden_size, dtype=x.dtype, device=x.device)
            elif not batched:
                s = s.unsqueeze(0)
            if tuple(s.shape) != (x.shape[0], self.hidden_size):
                raise RuntimeError(f"{name}: Expected hidden size "
                                   f"{(x.shape[0], self.hidden_size)}, got {tuple(s.shape)}")
            out.append(s)
        return x, out, batched


class RNNCell(RNNCellBase):
    """``h' = tanh(W_ih x + b_ih + W_hh h + b_hh)`` (or ReLU)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device: Any = None, dtype: Any = None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity: {nonlinearity}")
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, (h,), batched = self._batch(input, (hx,), "hidden")
        pre = F.linear(x, self.weight_ih, self.bias_ih) + F.linear(h, self.weight_hh,
                                                                   self.bias_hh)
        out = _mt.tanh(pre) if self.nonlinearity == "tanh" else _mt.relu(pre)
        return out if batched else out.squeeze(0)


class LSTMCell(RNNCellBase):
    """Gates in PyTorch's order: input, forget, cell, output; returns ``(h', c')``."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None) -> tuple:
        states = (None, None) if hx is None else tuple(hx)
        x, (h, c), batched = self._batch(input, states, "hx")
        gates = F.linear(x, self.weight_ih, self.bias_ih) + F.linear(h, self.weight_hh,
                                                                     self.bias_hh)
        i, f, g, o = gates.chunk(4, -1)
        c = _mt.sigmoid(f) * c + _mt.sigmoid(i) * _mt.tanh(g)
        h = _mt.sigmoid(o) * _mt.tanh(c)
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    """Gates in PyTorch's order: reset, update, new."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, (h,), batched = self._batch(input, (hx,), "hidden")
        xr, xz, xn = F.linear(x, self.weight_ih, self.bias_ih).chunk(3, -1)
        hr, hz, hn = F.linear(h, self.weight_hh, self.bias_hh).chunk(3, -1)
        r = _mt.sigmoid(xr + hr)
        z = _mt.sigmoid(xz + hz)
        n = _mt.tanh(xn + r * hn)
        out = (1 - z) * n + z * h
        return out if batched else out.squeeze(0)
