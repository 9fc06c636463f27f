"""``scaled_dot_product_attention`` and the multi-head attention forward used by
``nn.MultiheadAttention``."""

from __future__ import annotations

import math
from typing import Any

import mbtorch as _mt

from ...core.autocast import AUTOCAST, lower
from ...core.tensor import Tensor
from .dropout import dropout
from .linear import linear

__all__ = ["scaled_dot_product_attention", "multi_head_attention_forward"]


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor,
                                 attn_mask: Tensor | None = None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """softmax(Q K^T * scale + mask) V; a bool mask keeps True positions."""
    if AUTOCAST.on:  # on PyTorch's autocast low-precision list
        query, key, value = lower(query, key, value)
    if is_causal and attn_mask is not None:
        raise RuntimeError("scaled_dot_product_attention(): explicit attn_mask should not be set "
                           "when is_causal=True")
    if enable_gqa and query.dim() >= 3 and key.shape[-3] != query.shape[-3]:
        # grouped-query attention: each key/value head serves a group of query heads
        heads_q, heads_kv = query.shape[-3], key.shape[-3]
        if heads_q % heads_kv:
            raise RuntimeError(f"scaled_dot_product_attention(): number of query heads "
                               f"({heads_q}) must be divisible by the number of key/value "
                               f"heads ({heads_kv}) with enable_gqa=True")
        key = key.repeat_interleave(heads_q // heads_kv, -3)
        value = value.repeat_interleave(heads_q // heads_kv, -3)
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


def _project(query: Tensor, key: Tensor, value: Tensor, in_proj_weight: Tensor | None,
             in_proj_bias: Tensor | None, separate: tuple | None) -> tuple:
    """The q, k, v input projections: slices of the packed weight, or three weights."""
    b_q = b_k = b_v = None
    if in_proj_bias is not None:
        b_q, b_k, b_v = in_proj_bias.chunk(3)
    if separate is None:
        w_q, w_k, w_v = in_proj_weight.chunk(3)
    else:
        w_q, w_k, w_v = separate
    return linear(query, w_q, b_q), linear(key, w_k, b_k), linear(value, w_v, b_v)


def _pad_last(mask: Tensor | None) -> Tensor | None:
    """One more (allowed) key position at the end of a mask."""
    if mask is None:
        return None
    extra = _mt.zeros(tuple(mask.shape[:-1]) + (1,), dtype=mask.dtype, device=mask.device)
    return _mt.cat([mask, extra], -1)


def _apply_mask(scores: Tensor, mask: Tensor) -> Tensor:
    if mask.dtype is _mt.bool:
        return scores.masked_fill(mask, float("-inf"))  # True means "not allowed"
    return scores + mask


def multi_head_attention_forward(query: Tensor, key: Tensor, value: Tensor,
                                 embed_dim_to_check: int, num_heads: int,
                                 in_proj_weight: Tensor | None, in_proj_bias: Tensor | None,
                                 bias_k: Tensor | None, bias_v: Tensor | None,
                                 add_zero_attn: bool, dropout_p: float, out_proj_weight: Tensor,
                                 out_proj_bias: Tensor | None, training: bool = True,
                                 key_padding_mask: Tensor | None = None,
                                 need_weights: bool = True, attn_mask: Tensor | None = None,
                                 use_separate_proj_weight: bool = False,
                                 q_proj_weight: Tensor | None = None,
                                 k_proj_weight: Tensor | None = None,
                                 v_proj_weight: Tensor | None = None,
                                 static_k: Tensor | None = None, static_v: Tensor | None = None,
                                 average_attn_weights: bool = True,
                                 is_causal: bool = False) -> tuple[Tensor, Any]:
    """PyTorch's functional multi-head attention; inputs are (L, N, E), sequence first."""
    tgt_len, bsz, embed = query.shape
    if embed != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, but "
                             f"got {embed}")
    head_dim = embed // num_heads
    if head_dim * num_heads != embed:
        raise AssertionError(f"embed_dim {embed} not divisible by num_heads {num_heads}")
    separate = (q_proj_weight, k_proj_weight, v_proj_weight) if use_separate_proj_weight \
        else None
    q, k, v = _project(query, key, value, in_proj_weight, in_proj_bias, separate)
    if is_causal and attn_mask is None:
        attn_mask = ~_mt.ones(tgt_len, key.shape[0], dtype=_mt.bool, device=q.device).tril()
    if bias_k is not None and bias_v is not None:
        k = _mt.cat([k, bias_k.expand(1, bsz, embed)])
        v = _mt.cat([v, bias_v.expand(1, bsz, embed)])
        attn_mask, key_padding_mask = _pad_last(attn_mask), _pad_last(key_padding_mask)
    # (L, N, E) -> (N*H, L, D), PyTorch's layout (static_k/static_v come in it)
    q = q.reshape(tgt_len, bsz * num_heads, head_dim).transpose(0, 1)
    k = static_k if static_k is not None else \
        k.reshape(k.shape[0], bsz * num_heads, head_dim).transpose(0, 1)
    v = static_v if static_v is not None else \
        v.reshape(v.shape[0], bsz * num_heads, head_dim).transpose(0, 1)
    if add_zero_attn:
        zeros = _mt.zeros(bsz * num_heads, 1, head_dim, dtype=k.dtype, device=k.device)
        k, v = _mt.cat([k, zeros], 1), _mt.cat([v, zeros], 1)
        attn_mask, key_padding_mask = _pad_last(attn_mask), _pad_last(key_padding_mask)
    src_len = k.shape[1]
    scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(head_dim))
    scores = scores.reshape(bsz, num_heads, tgt_len, src_len)
    if attn_mask is not None:
        scores = _apply_mask(scores, attn_mask if attn_mask.dim() == 2 else
                             attn_mask.reshape(bsz, num_heads, tgt_len, src_len))
    if key_padding_mask is not None:
        scores = _apply_mask(scores, key_padding_mask.reshape(bsz, 1, 1, src_len))
    attn = _mt.softmax(scores, -1)
    if dropout_p > 0.0 and training:
        attn = dropout(attn, dropout_p, True)
    out = (attn.reshape(bsz * num_heads, tgt_len, src_len) @ v)  # (N*H, L, D)
    out = out.transpose(0, 1).reshape(tgt_len, bsz, embed)
    out = linear(out, out_proj_weight, out_proj_bias)
    if not need_weights:
        return out, None
    return out, attn.mean(1) if average_attn_weights else attn
