"""``RNN``, ``LSTM``, ``GRU``: stacked, optionally bidirectional, ``batch_first``; PyTorch's
parameter names, gate order and initialisation. The input projection of a whole sequence is
one matmul; only the recurrent part loops over time."""

from __future__ import annotations

import math
from typing import Any

import mbtorch as _mt

from ...core.tensor import Tensor
from .. import functional as F
from .. import init
from ..parameter import Parameter
from .module import Module
from .rnn_cells import GRUCell, LSTMCell, RNNCell, RNNCellBase

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]


class RNNBase(Module):
    _gates = 1
    mode = "RNN_TANH"

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable "
                             "projections")
        if proj_size and self._gates != 4:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if not 0 <= dropout <= 1:
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             "probability of an element being zeroed")
        if hidden_size <= 0 or num_layers <= 0:
            raise ValueError("hidden_size and num_layers must be positive")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional, self.proj_size = bidirectional, proj_size
        dirs = 2 if bidirectional else 1
        gh = self._gates * hidden_size
        real = proj_size or hidden_size  # the size of the state passed between steps
        f = {"device": device, "dtype": dtype}
        for layer in range(num_layers):
            for d in range(dirs):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                in_size = input_size if layer == 0 else real * dirs
                setattr(self, "weight_ih" + sfx, Parameter(_mt.empty(gh, in_size, **f)))
                setattr(self, "weight_hh" + sfx, Parameter(_mt.empty(gh, real, **f)))
                if bias:
                    setattr(self, "bias_ih" + sfx, Parameter(_mt.empty(gh, **f)))
                    setattr(self, "bias_hh" + sfx, Parameter(_mt.empty(gh, **f)))
                if proj_size:
                    setattr(self, "weight_hr" + sfx,
                            Parameter(_mt.empty(proj_size, hidden_size, **f)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        std = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for p in self.parameters():
            init.uniform_(p, -std, std)

    def _cell(self, gx: Tensor, h: Any, w_hh: Tensor, b_hh: Tensor | None,
              w_hr: Tensor | None = None) -> Any:
        raise NotImplementedError

    def flatten_parameters(self) -> None:
        """A no-op, as PyTorch's on the CPU: there is no fused (cuDNN) weight buffer to
        compact; the weights are always used as the separate parameters they are."""

    @property
    def _flat_weights_names(self) -> list[str]:
        return [n for n, _ in self.named_parameters(recurse=False)]

    @property
    def _flat_weights(self) -> list[Tensor]:
        return [getattr(self, n) for n in self._flat_weights_names]

    @property
    def all_weights(self) -> list[list[Tensor]]:
        per = (4 if self.bias else 2) + (1 if self.proj_size else 0)
        w = self._flat_weights
        return [w[i:i + per] for i in range(0, len(w), per)]

    def _weights(self, layer: int, d: int) -> tuple:
        sfx = f"_l{layer}" + ("_reverse" if d else "")
        return (getattr(self, "weight_ih" + sfx), getattr(self, "weight_hh" + sfx),
                getattr(self, "bias_ih" + sfx) if self.bias else None,
                getattr(self, "bias_hh" + sfx) if self.bias else None,
                getattr(self, "weight_hr" + sfx) if self.proj_size else None)

    def _init_state(self, hx: Any, batch: int, x: Tensor, size: int | None = None) -> Any:
        dirs = 2 if self.bidirectional else 1
        shape = (self.num_layers * dirs, batch, size or self.proj_size or self.hidden_size)
        if hx is None:
            return _mt.zeros(shape, dtype=x.dtype, device=x.device)
        if tuple(hx.shape) != shape:
            raise RuntimeError(f"Expected hidden size {shape}, got {tuple(hx.shape)}")
        return hx

    def _run_direction(self, x: Tensor, h: Any, layer: int, d: int,
                       mask: Tensor | None) -> tuple[Tensor, Any]:
        w_ih, w_hh, b_ih, b_hh, w_hr = self._weights(layer, d)
        gx = F.linear(x, w_ih, b_ih)  # (L, N, G*H): one matmul for the whole sequence
        steps = range(x.shape[0] - 1, -1, -1) if d else range(x.shape[0])
        outs = [None] * x.shape[0]
        for t in steps:
            new = self._cell(gx[t], h, w_hh, b_hh, w_hr)
            if mask is not None:  # packed input: a finished sequence keeps its state
                new = tuple(_mt.where(mask[t], a, b) for a, b in zip(new, h)) \
                    if isinstance(new, tuple) else _mt.where(mask[t], new, h)
            h = new
            outs[t] = h[0] if isinstance(h, tuple) else h
        return _mt.stack(outs, 0), h

    def forward(self, input: Any, hx: Any = None) -> tuple[Any, Any]:
        from ..utils.rnn import PackedSequence, _pack_like, pad_packed_sequence

        if isinstance(input, PackedSequence):
            padded, lengths = pad_packed_sequence(input)
            steps = _mt.arange(padded.shape[0], device=padded.device).reshape(-1, 1, 1)
            mask = steps < lengths.to(padded.device).reshape(1, -1, 1)
            out, states = self._forward_seq(padded, hx, False, mask)
            return _pack_like(out, input), states
        if input.dim() not in (2, 3):
            raise ValueError(f"{type(self).__name__}: Expected input to be 2D or 3D, got "
                             f"{input.dim()}D instead")
        unbatched = input.dim() == 2
        x = input.unsqueeze(1) if unbatched else (input.transpose(0, 1) if self.batch_first
                                                  else input)
        out, states = self._forward_seq(x, hx, unbatched, None)
        out = out.squeeze(1) if unbatched else (out.transpose(0, 1) if self.batch_first
                                                else out)
        return out, states

    def _forward_seq(self, x: Tensor, hx: Any, unbatched: bool,
                     mask: Tensor | None) -> tuple[Tensor, Any]:
        """Run the stack over time-major ``x`` (L, N, input_size)."""
        if x.shape[-1] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {x.shape[-1]}")
        states = self._states_in(hx, x, unbatched)
        dirs = 2 if self.bidirectional else 1
        finals = []
        for layer in range(self.num_layers):
            outs = []
            for d in range(dirs):
                out, h = self._run_direction(x, states[layer * dirs + d], layer, d, mask)
                outs.append(out)
                finals.append(h)
            x = outs[0] if dirs == 1 else _mt.cat(outs, -1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, True)
        return x, self._states_out(finals, unbatched)

    def _states_in(self, hx: Any, x: Tensor, unbatched: bool) -> list:
        if hx is not None and unbatched:
            hx = hx.unsqueeze(1)
        return list(self._init_state(hx, x.shape[1], x).unbind(0))

    def _states_out(self, finals: list, unbatched: bool) -> Any:
        h = _mt.stack(finals, 0)
        return h.squeeze(1) if unbatched else h

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s


class RNN(RNNBase):
    def __init__(self, *args: Any, nonlinearity: str = "tanh", **kwargs: Any) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or "
                             "'relu'.")
        self.__dict__["nonlinearity"] = nonlinearity
        super().__init__(*args, **kwargs)

    def _cell(self, gx: Tensor, h: Tensor, w_hh: Tensor, b_hh: Tensor | None,
              w_hr: Tensor | None = None) -> Tensor:
        pre = gx + F.linear(h, w_hh, b_hh)
        return _mt.tanh(pre) if self.nonlinearity == "tanh" else _mt.relu(pre)


class LSTM(RNNBase):
    """Gates in PyTorch's order: input, forget, cell, output."""

    _gates = 4

    def _cell(self, gx: Tensor, hc: tuple, w_hh: Tensor, b_hh: Tensor | None,
              w_hr: Tensor | None = None) -> tuple:
        h, c = hc
        i, f, g, o = (gx + F.linear(h, w_hh, b_hh)).chunk(4, -1)
        c = _mt.sigmoid(f) * c + _mt.sigmoid(i) * _mt.tanh(g)
        h = _mt.sigmoid(o) * _mt.tanh(c)
        return (h if w_hr is None else F.linear(h, w_hr)), c

    def _states_in(self, hx: Any, x: Tensor, unbatched: bool) -> list:
        if hx is None:
            h = c = None
        else:
            h, c = hx
            if unbatched:
                h, c = h.unsqueeze(1), c.unsqueeze(1)
        hs = self._init_state(h, x.shape[1], x).unbind(0)
        cs = self._init_state(c, x.shape[1], x, self.hidden_size).unbind(0)
        return list(zip(hs, cs))

    def _states_out(self, finals: list, unbatched: bool) -> Any:
        h = _mt.stack([s[0] for s in finals], 0)
        c = _mt.stack([s[1] for s in finals], 0)
        return (h.squeeze(1), c.squeeze(1)) if unbatched else (h, c)


class GRU(RNNBase):
    """Gates in PyTorch's order: reset, update, new."""

    _gates = 3

    def _cell(self, gx: Tensor, h: Tensor, w_hh: Tensor, b_hh: Tensor | None,
              w_hr: Tensor | None = None) -> Tensor:
        gh = F.linear(h, w_hh, b_hh)
        xr, xz, xn = gx.chunk(3, -1)
        hr, hz, hn = gh.chunk(3, -1)
        r = _mt.sigmoid(xr + hr)
        z = _mt.sigmoid(xz + hz)
        n = _mt.tanh(xn + r * hn)
        return (1 - z) * n + z * h
