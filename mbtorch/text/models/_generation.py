"""``GPT2LMHeadModel.generate``: greedy or sampled decoding with the key/value cache, after
Hugging Face's ``generate`` (``do_sample``, ``temperature``, ``top_k``, ``top_p``,
``eos_token_id``, ``pad_token_id``, left padding through ``attention_mask``).

Each step feeds only the new token and the cache, and computes the head's logits for the
last position only. The logits filters are Hugging Face's ``TemperatureLogitsWarper``,
``TopKLogitsWarper`` and ``TopPLogitsWarper``, applied in that order. One difference: Hugging
Face's generation config samples with ``top_k=50`` unless told otherwise; here ``top_k=None``
means no top-k filter.
"""

from __future__ import annotations

from typing import Any, Sequence

import mbtorch as torch

__all__ = ["generate", "filter_logits"]


def filter_logits(logits: torch.Tensor, temperature: float = 1.0, top_k: int | None = None,
                  top_p: float | None = None) -> torch.Tensor:
    """``logits`` (batch, vocab) divided by ``temperature``, with -inf outside the ``top_k``
    largest and outside the smallest set whose probability exceeds ``top_p`` (at least one
    token is always kept)."""
    if temperature != 1.0:
        logits = logits / temperature
    if top_k is not None:
        kth = logits.topk(min(top_k, logits.shape[-1]), dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p is not None and top_p < 1.0:
        ascending, order = logits.sort(dim=-1)
        cumulative = ascending.softmax(dim=-1).cumsum(dim=-1)
        drop_sorted = cumulative <= (1 - top_p)
        drop_sorted[..., -1:] = False  # the most likely token stays
        logits = logits.masked_fill(drop_sorted.scatter(-1, order, drop_sorted), float("-inf"))
    return logits


def _check_args(fn: str, max_new_tokens: Any, temperature: Any, top_k: Any, top_p: Any,
                generator: Any) -> None:
    if type(max_new_tokens) is not int or max_new_tokens < 1:
        raise ValueError(f"{fn}: max_new_tokens must be a positive int, got {max_new_tokens!r}")
    if not isinstance(temperature, (int, float)) or isinstance(temperature, bool) \
            or not temperature > 0:
        raise ValueError(f"{fn}: temperature must be a positive number, got {temperature!r}")
    if top_k is not None and (type(top_k) is not int or top_k < 1):
        raise ValueError(f"{fn}: top_k must be None or a positive int, got {top_k!r}")
    if top_p is not None and (not isinstance(top_p, (int, float)) or not 0.0 < top_p <= 1.0):
        raise ValueError(f"{fn}: top_p must be None or in (0, 1], got {top_p!r}")
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"{fn}: generator must be an mbtorch.Generator, got "
                        f"{type(generator).__name__}")


def _eos_ids(fn: str, eos_token_id: Any, config: Any) -> list[int]:
    eos = config.eos_token_id if eos_token_id is None else eos_token_id
    ids = [] if eos is None else [eos] if isinstance(eos, int) else list(eos)
    if any(type(i) is not int or not 0 <= i < config.vocab_size for i in ids):
        raise ValueError(f"{fn}: eos_token_id must be token ids in [0, {config.vocab_size}), "
                         f"got {eos!r}")
    return ids


def generate(model: Any, input_ids: torch.Tensor, max_new_tokens: int, do_sample: bool,
             temperature: float, top_k: int | None, top_p: float | None,
             eos_token_id: int | Sequence[int] | None, generator: torch.Generator | None,
             attention_mask: torch.Tensor | None, pad_token_id: int | None) -> torch.Tensor:
    """See ``GPT2LMHeadModel.generate``."""
    from .gpt2 import _check_inputs

    fn = "GPT2LMHeadModel.generate"
    config = model.config
    _check_args(fn, max_new_tokens, temperature, top_k, top_p, generator)
    _check_inputs(fn, config, input_ids, attention_mask, None, None)
    n, t = input_ids.shape
    if t + max_new_tokens > config.n_positions:
        raise ValueError(f"{fn}: {t} prompt tokens and max_new_tokens={max_new_tokens} exceed "
                         f"the {config.n_positions} positions of config.n_positions")
    eos = _eos_ids(fn, eos_token_id, config)
    pad = pad_token_id if pad_token_id is not None else config.pad_token_id
    pad = eos[0] if pad is None and eos else pad
    device = input_ids.device
    eos_t = torch.tensor(eos, dtype=input_ids.dtype, device=device)
    position_ids = None
    if attention_mask is not None:  # left padding: positions count real tokens only
        attention_mask = attention_mask.long()
        position_ids = (attention_mask.cumsum(-1) - 1).masked_fill(attention_mask == 0, 0)
    ids, step_ids, past, cached = input_ids, input_ids, None, 0
    unfinished = torch.ones(n, dtype=torch.bool, device=device)
    with torch.no_grad():
        for _ in range(max_new_tokens):
            out = model.transformer._forward(step_ids, attention_mask, position_ids, past,
                                             cached, True)
            logits = model.lm_head(out.last_hidden_state[:, -1]).float()
            if do_sample:
                probs = filter_logits(logits, temperature, top_k, top_p).softmax(dim=-1)
                nxt = torch.multinomial(probs, 1, generator=generator).squeeze(1)
            else:
                nxt = logits.argmax(dim=-1)
            nxt = nxt.to(input_ids.dtype)
            if eos:
                nxt = torch.where(unfinished, nxt, torch.full_like(nxt, pad))
                unfinished = unfinished & ~torch.isin(nxt, eos_t)
            ids = torch.cat([ids, nxt[:, None]], dim=1)
            if eos and not bool(unfinished.any()):
                break
            past, cached, step_ids = out.past_key_values, cached + step_ids.shape[1], nxt[:, None]
            if attention_mask is not None:
                attention_mask = torch.cat([attention_mask, attention_mask.new_ones(n, 1)], 1)
                position_ids = position_ids[:, -1:] + 1
    return ids
