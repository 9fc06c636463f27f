"""Activation layers, ``Dropout``, ``Softmax``/``LogSoftmax``, ``MultiheadAttention``."""

from __future__ import annotations

from typing import Any

import mbtorch as _mt

from ...core.tensor import Tensor
from .. import functional as F
from .. import init
from ..parameter import Parameter
from .module import Module

__all__ = [
    "ReLU", "ReLU6", "LeakyReLU", "ELU", "CELU", "SELU", "GELU", "SiLU", "Mish", "Sigmoid", "Tanh",
    "Softplus", "Hardtanh", "Hardsigmoid", "Hardswish", "LogSigmoid", "Softsign", "Tanhshrink",
    "Softmax", "LogSoftmax", "Softmin", "GLU", "Threshold", "Dropout", "Dropout1d", "Dropout2d",
    "MultiheadAttention"
]


def _simple(name: str, fn: Any, params: tuple[tuple[str, Any], ...] = (),
            inplace: bool = False) -> type:
    """A layer class that calls ``fn(input, *params)``; ``extra_repr`` lists the params."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        Module.__init__(self)
        names = [p for p, _ in params] + (["inplace"] if inplace else [])
        values = dict(params, **({"inplace": False} if inplace else {}))
        for n, v in zip(names, args):
            values[n] = v
        for n, v in kwargs.items():
            if n not in values:
                raise TypeError(f"{name}.__init__() got an unexpected keyword argument '{n}'")
            values[n] = v
        for n, v in values.items():
            setattr(self, n, v)

    def forward(self, input: Tensor) -> Tensor:
        args = [getattr(self, p) for p, _ in params]
        if inplace:
            return fn(input, *args, inplace=self.inplace)
        return fn(input, *args)

    def extra_repr(self) -> str:
        parts = [f"{p}={getattr(self, p)!r}" if isinstance(getattr(self, p), str)
                 else f"{p}={getattr(self, p)}" for p, _ in params]
        if inplace and self.inplace:
            parts.append("inplace=True")
        return ", ".join(parts)

    return type(name, (Module,), {"__init__": __init__, "forward": forward,
                                  "extra_repr": extra_repr, "__module__": __name__})


ReLU = _simple("ReLU", F.relu, inplace=True)
ReLU6 = _simple("ReLU6", F.relu6, inplace=True)
LeakyReLU = _simple("LeakyReLU", F.leaky_relu, (("negative_slope", 0.01),), inplace=True)
ELU = _simple("ELU", F.elu, (("alpha", 1.0),), inplace=True)
CELU = _simple("CELU", F.celu, (("alpha", 1.0),), inplace=True)
SELU = _simple("SELU", F.selu, inplace=True)
GELU = _simple("GELU", F.gelu, (("approximate", "none"),))
SiLU = _simple("SiLU", F.silu, inplace=True)
Mish = _simple("Mish", F.mish, inplace=True)
Sigmoid = _simple("Sigmoid", F.sigmoid)
Tanh = _simple("Tanh", F.tanh)
Softplus = _simple("Softplus", F.softplus, (("beta", 1.0), ("threshold", 20.0)))
Hardtanh = _simple("Hardtanh", F.hardtanh, (("min_val", -1.0), ("max_val", 1.0)),
                   inplace=True)
Hardsigmoid = _simple("Hardsigmoid", F.hardsigmoid, inplace=True)
Hardswish = _simple("Hardswish", F.hardswish, inplace=True)
LogSigmoid = _simple("LogSigmoid", F.logsigmoid)
Softsign = _simple("Softsign", F.softsign)
Tanhshrink = _simple("Tanhshrink", F.tanhshrink)
Softmax = _simple("Softmax", F.softmax, (("dim", None),))
LogSoftmax = _simple("LogSoftmax", F.log_softmax, (("dim", None),))
Softmin = _simple("Softmin", F.softmin, (("dim", None),))
GLU = _simple("GLU", F.glu, (("dim", -1),))


class Threshold(Module):
    def __init__(self, threshold: float, value: float, inplace: bool = False) -> None:
        super().__init__()
        self.threshold, self.value, self.inplace = threshold, value, inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.threshold(input, self.threshold, self.value, self.inplace)


class _DropoutNd(Module):
    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p, self.inplace = p, inplace

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    def forward(self, input: Tensor) -> Tensor:
        return F.dropout(input, self.p, self.training, self.inplace)


class Dropout1d(_DropoutNd):
    def forward(self, input: Tensor) -> Tensor:
        return F.dropout1d(input, self.p, self.training, self.inplace)


class Dropout2d(_DropoutNd):
    def forward(self, input: Tensor) -> Tensor:
        return F.dropout2d(input, self.p, self.training, self.inplace)


class MultiheadAttention(Module):
    """Multi-head attention with a packed input projection, as ``torch.nn``'s."""

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim: int | None = None,
                 vdim: int | None = None, batch_first: bool = False, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        if add_bias_kv or add_zero_attn or (kdim not in (None, embed_dim)) or \
                (vdim not in (None, embed_dim)):
            raise NotImplementedError("MultiheadAttention: add_bias_kv, add_zero_attn and "
                                      "kdim/vdim different from embed_dim are not supported")
        if embed_dim % num_heads:
            raise AssertionError("embed_dim must be divisible by num_heads")
        self.embed_dim, self.num_heads, self.dropout = embed_dim, num_heads, dropout
        self.batch_first, self.head_dim = batch_first, embed_dim // num_heads
        f = {"device": device, "dtype": dtype}
        self.in_proj_weight = Parameter(_mt.empty(3 * embed_dim, embed_dim, **f))
        if bias:
            self.in_proj_bias = Parameter(_mt.empty(3 * embed_dim, **f))
        else:
            self.register_parameter("in_proj_bias", None)
        from .linear import NonDynamicallyQuantizableLinear

        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias, **f)
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        init.xavier_uniform_(self.in_proj_weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)

    def forward(self, query: Tensor, key: Tensor, value: Tensor,
                key_padding_mask: Tensor | None = None, need_weights: bool = True,
                attn_mask: Tensor | None = None, average_attn_weights: bool = True,
                is_causal: bool = False) -> tuple[Tensor, Any]:
        unbatched = query.dim() == 2
        if unbatched:
            query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        elif self.batch_first:
            query, key, value = (x.transpose(0, 1) for x in (query, key, value))
        out, weights = F.multi_head_attention_forward(
            query, key, value, self.num_heads, self.in_proj_weight, self.in_proj_bias,
            self.out_proj.weight, self.out_proj.bias, self.dropout, self.training,
            key_padding_mask, need_weights, attn_mask, average_attn_weights, is_causal)
        if unbatched:
            return out.squeeze(1), (weights.squeeze(0) if weights is not None else None)
        if self.batch_first:
            out = out.transpose(0, 1)
        return out, weights
