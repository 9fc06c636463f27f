"""Activation layers, ``Softmax``/``LogSoftmax``/``Softmin``, ``MultiheadAttention`` (the
dropout layers live in ``dropout.py``, as in PyTorch)."""

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
    "Softmax", "LogSoftmax", "Softmin", "GLU", "Threshold", "Hardshrink", "Softshrink", "RReLU",
    "PReLU", "Softmax2d", "MultiheadAttention"
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


class Hardshrink(Module):
    def __init__(self, lambd: float = 0.5) -> None:
        super().__init__()
        self.lambd = lambd

    def forward(self, input: Tensor) -> Tensor:
        return F.hardshrink(input, self.lambd)

    def extra_repr(self) -> str:
        return f"{self.lambd}"


class Softshrink(Hardshrink):
    def forward(self, input: Tensor) -> Tensor:
        return F.softshrink(input, self.lambd)


class Softmax2d(Module):
    """Softmax over the channels of a (C, H, W) or (N, C, H, W) input."""

    def forward(self, input: Tensor) -> Tensor:
        return F.softmax2d(input)


class RReLU(Module):
    def __init__(self, lower: float = 1.0 / 8, upper: float = 1.0 / 3,
                 inplace: bool = False) -> None:
        super().__init__()
        self.lower, self.upper, self.inplace = lower, upper, inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.rrelu(input, self.lower, self.upper, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"lower={self.lower}, upper={self.upper}" + (", inplace=True" if self.inplace
                                                             else "")


class PReLU(Module):
    """Leaky ReLU with a learnt slope (one, or one per channel), initialised to ``init``."""

    def __init__(self, num_parameters: int = 1, init: float = 0.25, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        self.num_parameters, self.init = num_parameters, init
        self.weight = Parameter(_mt.empty(num_parameters, device=device, dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.constant_(self.weight, self.init)

    def forward(self, input: Tensor) -> Tensor:
        return F.prelu(input, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class Threshold(Module):
    def __init__(self, threshold: float, value: float, inplace: bool = False) -> None:
        super().__init__()
        self.threshold, self.value, self.inplace = threshold, value, inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.threshold(input, self.threshold, self.value, self.inplace)

    def extra_repr(self) -> str:
        return f"threshold={self.threshold}, value={self.value}" + (
            ", inplace=True" if self.inplace else "")


class MultiheadAttention(Module):
    """Multi-head attention, as ``torch.nn``'s: a packed input projection
    (``in_proj_weight``) when query, key and value share ``embed_dim``, three
    (``q/k/v_proj_weight``) when ``kdim``/``vdim`` differ; optional ``bias_k``/``bias_v`` and a
    zero attention position."""

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim: int | None = None,
                 vdim: int | None = None, batch_first: bool = False, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"embed_dim and num_heads must be greater than 0, got "
                             f"embed_dim={embed_dim} and num_heads={num_heads} instead")
        if embed_dim % num_heads:
            raise AssertionError("embed_dim must be divisible by num_heads")
        self.embed_dim, self.num_heads, self.dropout = embed_dim, num_heads, dropout
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.batch_first, self.head_dim = batch_first, embed_dim // num_heads
        f = {"device": device, "dtype": dtype}
        if not self._qkv_same_embed_dim:
            self.q_proj_weight = Parameter(_mt.empty(embed_dim, embed_dim, **f))
            self.k_proj_weight = Parameter(_mt.empty(embed_dim, self.kdim, **f))
            self.v_proj_weight = Parameter(_mt.empty(embed_dim, self.vdim, **f))
            self.register_parameter("in_proj_weight", None)
        else:
            self.in_proj_weight = Parameter(_mt.empty(3 * embed_dim, embed_dim, **f))
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        if bias:
            self.in_proj_bias = Parameter(_mt.empty(3 * embed_dim, **f))
        else:
            self.register_parameter("in_proj_bias", None)
        from .linear import NonDynamicallyQuantizableLinear

        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias, **f)
        if add_bias_kv:
            self.bias_k = Parameter(_mt.empty(1, 1, embed_dim, **f))
            self.bias_v = Parameter(_mt.empty(1, 1, embed_dim, **f))
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            for w in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(w)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
            init.xavier_normal_(self.bias_v)

    def forward(self, query: Tensor, key: Tensor, value: Tensor,
                key_padding_mask: Tensor | None = None, need_weights: bool = True,
                attn_mask: Tensor | None = None, average_attn_weights: bool = True,
                is_causal: bool = False) -> tuple[Tensor, Any]:
        unbatched = query.dim() == 2
        if unbatched:
            query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        elif self.batch_first:
            query, key, value = (x.transpose(0, 1) for x in (query, key, value))
        out, weights = F.multi_head_attention_forward(
            query, key, value, self.embed_dim, self.num_heads, self.in_proj_weight,
            self.in_proj_bias, self.bias_k, self.bias_v, self.add_zero_attn, self.dropout,
            self.out_proj.weight, self.out_proj.bias, training=self.training,
            key_padding_mask=key_padding_mask, need_weights=need_weights, attn_mask=attn_mask,
            use_separate_proj_weight=not self._qkv_same_embed_dim,
            q_proj_weight=self.q_proj_weight, k_proj_weight=self.k_proj_weight,
            v_proj_weight=self.v_proj_weight, average_attn_weights=average_attn_weights,
            is_causal=is_causal)
        if unbatched:
            return out.squeeze(1), (weights.squeeze(0) if weights is not None else None)
        if self.batch_first:
            out = out.transpose(0, 1)
        return out, weights
