"""GPT-2 (Radford et al. 2019) with Hugging Face's module names, so ``GPT2LMHeadModel``'s
checkpoints load unchanged: ``transformer.wte``, ``transformer.wpe``, ``transformer.drop``,
``transformer.h.N.{ln_1, attn.c_attn, attn.c_proj, ln_2, mlp.c_fc, mlp.c_proj}``,
``transformer.ln_f`` and ``lm_head`` (tied to ``transformer.wte``). The projections are
Hugging Face's ``Conv1D``: a linear layer whose weight is stored ``(in, out)``.

The key/value cache is Hugging Face's legacy layout: one ``(key, value)`` pair per layer, each
``(batch, n_head, cached length, head size)``. ``from_pretrained``/``save_pretrained`` read and
write a model folder in Hugging Face's layout (``_gpt2_io``); ``generate`` is in
``_generation``. Of the config's attention options, ``scale_attn_weights`` and
``scale_attn_by_inverse_layer_idx`` are applied; ``reorder_and_upcast_attn`` (Hugging Face's
float32 upcast for half precision) is kept in the config but changes nothing here.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
from dataclasses import dataclass
from typing import Any, Sequence

import mbtorch as torch
from mbtorch import nn
from mbtorch.nn import functional as F

from . import _generation, _gpt2_io
from ._gpt2_config import ACTIVATIONS, GPT2Config

__all__ = ["GPT2Config", "Conv1D", "GPT2Attention", "GPT2MLP", "GPT2Block", "GPT2Model",
           "GPT2LMHeadModel", "GPT2PreTrainedModel", "BaseModelOutputWithPast",
           "CausalLMOutputWithPast"]

KeyValues = tuple[tuple[torch.Tensor, torch.Tensor], ...]

# False while from_pretrained builds a model whose weights the checkpoint overwrites: drawing
# gpt2's 124M random numbers takes tens of seconds here, for nothing
_INIT = contextvars.ContextVar("mbtorch_gpt2_init", default=True)


@contextlib.contextmanager
def _without_init() -> Any:
    token = _INIT.set(False)
    try:
        yield
    finally:
        _INIT.reset(token)


def _linear_without_init(in_features: int, out_features: int) -> nn.Linear:
    """An ``nn.Linear`` without bias whose weight is left uninitialized (nn.Linear's own
    constructor draws it; the caller ties or initializes it)."""
    head = nn.Linear.__new__(nn.Linear)
    nn.Module.__init__(head)
    head.in_features, head.out_features = in_features, out_features
    head.weight = nn.Parameter(torch.empty(out_features, in_features))
    head.register_parameter("bias", None)
    return head


@dataclass
class BaseModelOutputWithPast:
    """``GPT2Model``'s output: the final hidden states and, with ``use_cache``, the cache."""

    last_hidden_state: torch.Tensor
    past_key_values: KeyValues | None = None


@dataclass
class CausalLMOutputWithPast:
    """``GPT2LMHeadModel``'s output: ``logits`` (batch, sequence, vocab), ``loss`` when labels
    were given, and the cache with ``use_cache``."""

    logits: torch.Tensor
    loss: torch.Tensor | None = None
    past_key_values: KeyValues | None = None


class Conv1D(nn.Module):
    """Hugging Face's ``Conv1D``: ``x @ weight + bias`` with ``weight`` of shape
    ``(nx, nf)`` = (in, out), the transpose of ``nn.Linear``'s (GPT-2's original layout)."""

    def __init__(self, nf: int, nx: int) -> None:
        super().__init__()
        self.nf = nf
        self.weight = nn.Parameter(torch.empty(nx, nf))
        self.bias = nn.Parameter(torch.zeros(nf))
        if _INIT.get():
            nn.init.normal_(self.weight, std=0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x @ self.weight + self.bias

    def extra_repr(self) -> str:
        return f"nf={self.nf}, nx={self.weight.shape[0]}"


def _activation(name: str) -> Any:
    kind = ACTIVATIONS[name]
    if kind == "gelu_tanh":
        return lambda x: F.gelu(x, approximate="tanh")
    return getattr(F, kind)


class GPT2Attention(nn.Module):
    """Causal multi-head self-attention; ``c_attn`` packs the q, k, v projections."""

    def __init__(self, config: GPT2Config, layer_idx: int) -> None:
        super().__init__()
        self.embed_dim, self.num_heads = config.n_embd, config.n_head
        self.head_dim = config.n_embd // config.n_head
        self.scaling = self.head_dim ** -0.5 if config.scale_attn_weights else 1.0
        if config.scale_attn_by_inverse_layer_idx:
            self.scaling /= float(layer_idx + 1)
        self.c_attn = Conv1D(3 * self.embed_dim, self.embed_dim)
        self.c_proj = Conv1D(self.embed_dim, self.embed_dim)
        self.attn_dropout = nn.Dropout(config.attn_pdrop)
        self.resid_dropout = nn.Dropout(config.resid_pdrop)

    def forward(self, x: torch.Tensor, bias: torch.Tensor | None,
                layer_past: tuple[torch.Tensor, torch.Tensor] | None
                ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        n, t, _ = x.shape
        q, k, v = (y.reshape(n, t, self.num_heads, self.head_dim).transpose(1, 2)
                   for y in self.c_attn(x).split(self.embed_dim, dim=2))
        if layer_past is not None:
            k = torch.cat([layer_past[0], k], dim=2)
            v = torch.cat([layer_past[1], v], dim=2)
        p = self.attn_dropout.p if self.training else 0.0
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, dropout_p=p,
                                           scale=self.scaling)
        y = y.transpose(1, 2).reshape(n, t, self.embed_dim)
        return self.resid_dropout(self.c_proj(y)), (k, v)


class GPT2MLP(nn.Module):
    """``c_fc`` -> activation -> ``c_proj`` -> dropout."""

    def __init__(self, inner_dim: int, config: GPT2Config) -> None:
        super().__init__()
        self.c_fc = Conv1D(inner_dim, config.n_embd)
        self.c_proj = Conv1D(config.n_embd, inner_dim)
        self.act = _activation(config.activation_function)
        self.dropout = nn.Dropout(config.resid_pdrop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.c_proj(self.act(self.c_fc(x))))


class GPT2Block(nn.Module):
    """Pre-norm block: ``x + attn(ln_1(x))``, then ``+ mlp(ln_2(.))``."""

    def __init__(self, config: GPT2Config, layer_idx: int) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)
        self.attn = GPT2Attention(config, layer_idx)
        self.ln_2 = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)
        self.mlp = GPT2MLP(config.inner_dim, config)

    def forward(self, x: torch.Tensor, bias: torch.Tensor | None,
                layer_past: tuple[torch.Tensor, torch.Tensor] | None
                ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        y, present = self.attn(self.ln_1(x), bias, layer_past)
        x = x + y
        return x + self.mlp(self.ln_2(x)), present


class GPT2PreTrainedModel(nn.Module):
    """What both models share: the config, Hugging Face's initialization and the model-folder
    I/O (``from_pretrained``/``save_pretrained``)."""

    config: GPT2Config

    def _init_weights(self, names: Sequence[str] | None = None) -> None:
        """Hugging Face's initialization of all parameters (or those ``names``): N(0,
        initializer_range) for embeddings and projections, the residual projections
        (``c_proj``) scaled down by sqrt(2 * n_layer), zero biases, LayerNorms at 1 and 0."""
        std = self.config.initializer_range
        with torch.no_grad():
            for name, p in self.named_parameters():
                if names is not None and name not in names:
                    continue
                owner = name.rpartition(".")[0]
                if isinstance(self.get_submodule(owner), nn.LayerNorm) and name.endswith("weight"):
                    p.fill_(1.0)
                elif name.endswith("bias"):
                    p.zero_()
                else:
                    scale = (2 * self.config.n_layer) ** -0.5 if owner.endswith("c_proj") else 1
                    nn.init.normal_(p, std=std * scale)

    @classmethod
    def from_pretrained(cls, folder: str | os.PathLike, *, strict: bool = True,
                        output_loading_info: bool = False) -> Any:
        """A model from a local folder in Hugging Face's layout: ``config.json`` and
        ``model.safetensors`` (or ``pytorch_model.bin``, or their sharded ``*.index.json``
        forms), returned in eval mode. Keys may carry the ``transformer.`` prefix or not (the
        published ``gpt2`` files do not); the old ``attn.bias``/``attn.masked_bias`` buffers
        are ignored. ``strict`` (default) makes a missing or unexpected key an error naming
        them; with ``strict=False`` they are a warning, as Hugging Face's, and missing
        weights get a new model's initialization. ``output_loading_info`` also returns
        ``{"missing_keys": [...], "unexpected_keys": [...]}``. A weight whose shape does not
        fit ``config.json`` is always an error.

        >>> model = GPT2LMHeadModel.from_pretrained("gpt2")   # a downloaded folder
        """
        return _gpt2_io.from_pretrained(cls, folder, strict, output_loading_info)

    def save_pretrained(self, folder: str | os.PathLike, safe_serialization: bool = True
                        ) -> None:
        """Write ``config.json`` and ``model.safetensors`` (or ``pytorch_model.bin`` with
        ``safe_serialization=False``) as Hugging Face does: keys with the ``transformer.``
        prefix, a tied ``lm_head.weight`` left out. ``transformers`` loads the folder."""
        _gpt2_io.save_pretrained(self, folder, safe_serialization)

    def num_parameters(self) -> int:
        """The number of distinct parameters' elements (a tied weight counted once)."""
        return sum(p.numel() for p in self.parameters())


class GPT2Model(GPT2PreTrainedModel):
    """GPT-2's transformer: token and position embeddings, ``n_layer`` blocks, ``ln_f``.

    >>> m = GPT2Model(GPT2Config(vocab_size=97, n_positions=16, n_embd=32, n_layer=2,
    ...                          n_head=4)).eval()
    >>> m(mbtorch.tensor([[1, 2, 3]])).last_hidden_state.shape
    mbtorch.Size([1, 3, 32])
    """

    def __init__(self, config: GPT2Config) -> None:
        super().__init__()
        if not isinstance(config, GPT2Config):
            raise TypeError(f"GPT2Model: config must be a GPT2Config, got "
                            f"{type(config).__name__}")
        self.config = config
        init = _INIT.get()
        with _without_init():  # one initialization pass below, not one per constructor too
            self.wte = nn.Embedding(config.vocab_size, config.n_embd,
                                    _weight=torch.empty(config.vocab_size, config.n_embd))
            self.wpe = nn.Embedding(config.n_positions, config.n_embd,
                                    _weight=torch.empty(config.n_positions, config.n_embd))
            self.drop = nn.Dropout(config.embd_pdrop)
            self.h = nn.ModuleList(GPT2Block(config, i) for i in range(config.n_layer))
            self.ln_f = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)
        if init:
            self._init_weights()

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                position_ids: torch.Tensor | None = None,
                past_key_values: Sequence[tuple[torch.Tensor, torch.Tensor]] | None = None,
                use_cache: bool = False) -> BaseModelOutputWithPast:
        """``input_ids`` (batch, sequence) of token ids; ``attention_mask`` (batch, cached +
        sequence) with 1 for tokens to attend and 0 for padding; ``position_ids`` (batch or
        1, sequence), by default counting on from the cache; ``past_key_values`` the cache of
        an earlier call, which ``use_cache=True`` returns extended."""
        past = _check_inputs("GPT2Model.forward", self.config, input_ids, attention_mask,
                             position_ids, past_key_values)
        return self._forward(input_ids, attention_mask, position_ids, past_key_values, past,
                             use_cache)

    def _forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None,
                 position_ids: torch.Tensor | None, past_key_values: Any, past: int,
                 use_cache: bool) -> BaseModelOutputWithPast:
        t = input_ids.shape[1]
        device = input_ids.device
        if position_ids is None:
            position_ids = torch.arange(past, past + t, device=device).unsqueeze(0)
        x = self.drop(self.wte(input_ids) + self.wpe(position_ids))
        bias = _attention_bias(attention_mask, past, t, x.dtype, device)
        presents = []
        for i, block in enumerate(self.h):
            x, present = block(x, bias, None if past_key_values is None else past_key_values[i])
            presents.append(present)
        return BaseModelOutputWithPast(self.ln_f(x), tuple(presents) if use_cache else None)


class GPT2LMHeadModel(GPT2PreTrainedModel):
    """GPT-2 with its language-modelling head ``lm_head`` (tied to ``transformer.wte`` when
    ``config.tie_word_embeddings``).

    >>> model = GPT2LMHeadModel.from_pretrained("gpt2")
    >>> model.generate(mbtorch.tensor([[464, 2068, 7586]]), max_new_tokens=5)
    """

    def __init__(self, config: GPT2Config) -> None:
        super().__init__()
        self.config = config
        self.transformer = GPT2Model(config)
        self.lm_head = _linear_without_init(config.n_embd, config.vocab_size)
        if config.tie_word_embeddings:
            self.lm_head.weight = self.transformer.wte.weight
        elif _INIT.get():
            self._init_weights(["lm_head.weight"])

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                position_ids: torch.Tensor | None = None,
                past_key_values: Sequence[tuple[torch.Tensor, torch.Tensor]] | None = None,
                use_cache: bool = False, labels: torch.Tensor | None = None
                ) -> CausalLMOutputWithPast:
        """The logits of the next token at each position; the arguments as
        :meth:`GPT2Model.forward`. ``labels`` (the shape of ``input_ids``; -100 is ignored)
        are shifted inside, as Hugging Face's: ``labels=input_ids`` gives the mean
        cross-entropy of predicting each next token."""
        past = _check_inputs("GPT2LMHeadModel.forward", self.config, input_ids,
                             attention_mask, position_ids, past_key_values)
        if labels is not None and (not isinstance(labels, torch.Tensor)
                                   or labels.shape != input_ids.shape):
            shape = tuple(labels.shape) if isinstance(labels, torch.Tensor) else type(labels)
            raise ValueError(f"GPT2LMHeadModel.forward: labels must be a tensor of input_ids' "
                             f"shape {tuple(input_ids.shape)}, got {shape}")
        out = self.transformer._forward(input_ids, attention_mask, position_ids,
                                        past_key_values, past, use_cache)
        logits = self.lm_head(out.last_hidden_state)
        loss = None
        if labels is not None:
            vocab = logits.shape[-1]
            loss = F.cross_entropy(logits[:, :-1].reshape(-1, vocab).float(),
                                   labels[:, 1:].reshape(-1).long(), ignore_index=-100)
        return CausalLMOutputWithPast(logits, loss, out.past_key_values)

    def generate(self, input_ids: torch.Tensor, max_new_tokens: int, do_sample: bool = False,
                 temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None,
                 eos_token_id: int | Sequence[int] | None = None,
                 generator: torch.Generator | None = None, *,
                 attention_mask: torch.Tensor | None = None,
                 pad_token_id: int | None = None) -> torch.Tensor:
        """Continue ``input_ids`` (batch, sequence) by up to ``max_new_tokens`` tokens with the
        key/value cache; returns the prompt and the new tokens, as Hugging Face's
        ``generate``. Greedy by default; ``do_sample`` draws from the softmax after
        ``temperature``, ``top_k`` and ``top_p`` (nucleus) filtering, in that order, from
        ``generator`` or the global one (so ``mbtorch.manual_seed`` makes it reproducible).
        ``eos_token_id`` (None: ``config.eos_token_id``; ``[]``: never stop) ends a sequence,
        which is then filled with ``pad_token_id`` (default: the first eos id) until all
        have ended. ``attention_mask`` marks left padding in a batch of unequal prompts.
        Runs under ``no_grad`` and does not change train/eval mode (call ``eval()``)."""
        return _generation.generate(self, input_ids, max_new_tokens, do_sample, temperature,
                                    top_k, top_p, eos_token_id, generator, attention_mask,
                                    pad_token_id)


def _attention_bias(attention_mask: torch.Tensor | None, past: int, t: int, dtype: Any,
                    device: Any) -> torch.Tensor | None:
    """The additive mask (batch or 1, 1, t, past + t): 0 where a query may attend a key (not
    after it, not padding), the dtype's lowest value elsewhere (a fully masked padding row
    then averages instead of giving NaN, as Hugging Face's eager attention)."""
    if attention_mask is None and t == 1:
        return None
    keep = torch.ones(t, past + t, dtype=torch.bool, device=device).tril(diagonal=past)
    if attention_mask is not None:
        keep = keep & attention_mask.bool()[:, None, None, :]
    zeros = torch.zeros(keep.shape, dtype=dtype, device=device)
    return zeros.masked_fill(~keep, torch.finfo(dtype).min)


def _check_inputs(fn: str, config: GPT2Config, input_ids: Any, attention_mask: Any,
                  position_ids: Any, past_key_values: Any) -> int:
    """Refuse what would fail deep inside (or silently read the wrong embedding row), naming
    the argument; returns the cached length."""
    if not isinstance(input_ids, torch.Tensor) or input_ids.dtype.is_floating_point \
            or input_ids.dtype is torch.bool or input_ids.dim() != 2 or input_ids.shape[1] == 0:
        what = (f"{input_ids.dtype} tensor of shape {tuple(input_ids.shape)}"
                if isinstance(input_ids, torch.Tensor) else type(input_ids).__name__)
        raise ValueError(f"{fn}: input_ids must be an integer tensor of shape (batch, "
                         f"sequence) with sequence >= 1, got a {what}")
    n, t = input_ids.shape
    lo, hi = int(input_ids.min()), int(input_ids.max())
    if lo < 0 or hi >= config.vocab_size:
        raise IndexError(f"{fn}: input_ids holds token id {lo if lo < 0 else hi}, outside the "
                         f"vocabulary [0, {config.vocab_size}) of config.vocab_size")
    past = _check_cache(fn, config, past_key_values, n)
    if position_ids is None and past + t > config.n_positions:
        raise ValueError(f"{fn}: input_ids has {t} tokens after {past} cached ones, more than "
                         f"the {config.n_positions} positions of config.n_positions")
    if position_ids is not None:
        if not isinstance(position_ids, torch.Tensor) or position_ids.dim() != 2 \
                or position_ids.shape[0] not in (1, n) or position_ids.shape[1] != t:
            raise ValueError(f"{fn}: position_ids must be a tensor of shape ({n} or 1, {t})")
        lo, hi = int(position_ids.min()), int(position_ids.max())
        if lo < 0 or hi >= config.n_positions:
            raise IndexError(f"{fn}: position_ids holds {lo if lo < 0 else hi}, outside [0, "
                             f"{config.n_positions}) of config.n_positions")
    if attention_mask is not None and (not isinstance(attention_mask, torch.Tensor)
                                       or tuple(attention_mask.shape) != (n, past + t)):
        got = tuple(attention_mask.shape) if isinstance(attention_mask, torch.Tensor) else \
            type(attention_mask).__name__
        raise ValueError(f"{fn}: attention_mask must have shape (batch, cached + sequence) = "
                         f"({n}, {past + t}), got {got}")
    return past


def _check_cache(fn: str, config: GPT2Config, past_key_values: Any, n: int) -> int:
    if past_key_values is None:
        return 0
    heads, size = config.n_head, config.n_embd // config.n_head
    if not isinstance(past_key_values, (tuple, list)) or len(past_key_values) != config.n_layer:
        raise ValueError(f"{fn}: past_key_values must hold one (key, value) pair per layer "
                         f"({config.n_layer}), as an earlier call with use_cache=True returns")
    past = None
    for pair in past_key_values:
        ok = isinstance(pair, (tuple, list)) and len(pair) == 2 and all(
            isinstance(kv, torch.Tensor) and kv.dim() == 4
            and tuple(kv.shape[:2]) == (n, heads) and kv.shape[3] == size for kv in pair)
        if not ok or pair[0].shape[2] != pair[1].shape[2] or past not in (None, pair[0].shape[2]):
            raise ValueError(f"{fn}: past_key_values must hold (key, value) pairs of shape "
                             f"({n}, {heads}, cached, {size}), the same cached length in "
                             "every layer")
        past = pair[0].shape[2]
    return int(past)
