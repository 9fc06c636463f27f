"""``scaled_dot_product_attention`` and the multi-head attention forward used by
``nn.MultiheadAttention``."""

from __future__ import annotations

import math
from typing import Any

import mbtorch as _mt

from ...core.tensor import Tensor
from .activation import dropout
from .linear import linear

__all__ = ["scaled_dot_product_attention", "multi_head_attention_forward"]


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor,
                                 attn_mask: Tensor | None = None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """softmax(Q K^T * scale + mask) V; a bool mask keeps True positions."""
    if is_causal and attn_mask is not None:
        raise RuntimeError("scaled_dot_product_attention(): explicit attn_mask should not be set "
                           "when is_causal=True")
    n_q, n_k = query.shape[-2], key.shape[-2]
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = (query @ key.transpose(-2, -1)) * scale
    if is_causal:
        keep = _mt.ones(n_q, n_k, dtype=_mt.bool, device=query.device).tril()
        scores = scores.masked_fill(~keep, float("-inf"))
    elif attn_mask is not None:
        if attn_mask.dtype is _mt.bool:
            scores = scores.masked_fill(~attn_mask, float("-inf"))
        else:
            scores = scores + attn_mask
    attn = _mt.softmax(scores, -1)
    if dropout_p > 0.0:
        attn = dropout(attn, dropout_p, True)
    return attn @ value


def multi_head_attention_forward(query: Tensor, key: Tensor, value: Tensor, num_heads: int,
                                 in_proj_weight: Tensor, in_proj_bias: Tensor | None,
                                 out_proj_weight: Tensor, out_proj_bias: Tensor | None,
                                 dropout_p: float = 0.0, training: bool = True,
                                 key_padding_mask: Tensor | None = None,
                                 need_weights: bool = True, attn_mask: Tensor | None = None,
                                 average_attn_weights: bool = True,
                                 is_causal: bool = False) -> tuple[Tensor, Any]:
    """Inputs are (L, N, E) (sequence first, as PyTorch's functional form)."""
    tgt_len, bsz, embed = query.shape
    src_len = key.shape[0]
    head_dim = embed // num_heads
    if head_dim * num_heads != embed:
        raise AssertionError(f"embed_dim {embed} not divisible by num_heads {num_heads}")
    w_q, w_k, w_v = in_proj_weight.chunk(3)
    b_q = b_k = b_v = None
    if in_proj_bias is not None:
        b_q, b_k, b_v = in_proj_bias.chunk(3)
    q, k, v = linear(query, w_q, b_q), linear(key, w_k, b_k), linear(value, w_v, b_v)

    def heads(x: Tensor, n: int) -> Tensor:  # (n, N, E) -> (N, H, n, D)
        return x.reshape(n, bsz, num_heads, head_dim).permute(1, 2, 0, 3)

    q, k, v = heads(q, tgt_len), heads(k, src_len), heads(v, src_len)
    scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(head_dim))
    if is_causal and attn_mask is None:
        attn_mask = ~_mt.ones(tgt_len, src_len, dtype=_mt.bool, device=q.device).tril()
    if attn_mask is not None:
        mask = attn_mask if attn_mask.dim() == 2 else attn_mask.reshape(bsz, num_heads,
                                                                        tgt_len, src_len)
        if mask.dtype is _mt.bool:
            scores = scores.masked_fill(mask, float("-inf"))  # True means "not allowed"
        else:
            scores = scores + mask
    if key_padding_mask is not None:
        pad = key_padding_mask.reshape(bsz, 1, 1, src_len)
        if pad.dtype is _mt.bool:
            scores = scores.masked_fill(pad, float("-inf"))
        else:
            scores = scores + pad
    attn = _mt.softmax(scores, -1)
    if dropout_p > 0.0 and training:
        attn = dropout(attn, dropout_p, True)
    out = (attn @ v).permute(2, 0, 1, 3).reshape(tgt_len, bsz, embed)
    out = linear(out, out_proj_weight, out_proj_bias)
    if not need_weights:
        return out, None
    return out, attn.mean(1) if average_attn_weights else attn
