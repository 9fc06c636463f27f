"""``GPT2Config``: Hugging Face's GPT-2 configuration (the fields and names of
``transformers.GPT2Config``), read from and written to the ``config.json`` of a model folder.

Fields this implementation does not use (``summary_*``, ``n_ctx``, ``task_specific_params``,
``transformers_version``, ...) are kept in :attr:`GPT2Config.extra`, so a folder written by
``save_pretrained`` holds the configuration it was loaded from.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, fields
from typing import Any

__all__ = ["GPT2Config", "ACTIVATIONS"]

# config.json's activation_function -> (mbtorch.nn.functional.gelu's approximate, or a name)
ACTIVATIONS = {"gelu_new": "gelu_tanh", "gelu_pytorch_tanh": "gelu_tanh", "gelu": "gelu",
               "relu": "relu", "silu": "silu", "swish": "silu", "tanh": "tanh"}
# Hugging Face's attribute_map: generic names of four GPT-2 fields
_ALIASES = {"hidden_size": "n_embd", "max_position_embeddings": "n_positions",
            "num_attention_heads": "n_head", "num_hidden_layers": "n_layer"}
_WRITTEN_BY_US = ("model_type",)


@dataclass
class GPT2Config:
    """GPT-2's hyper-parameters under Hugging Face's names; the defaults are ``gpt2``'s
    (124M parameters).

    >>> GPT2Config(vocab_size=97, n_positions=64, n_embd=32, n_layer=2, n_head=4).inner_dim
    128
    >>> GPT2Config.from_json_file("gpt2/config.json").n_layer
    12
    """

    vocab_size: int = 50257
    n_positions: int = 1024
    n_embd: int = 768
    n_layer: int = 12
    n_head: int = 12
    n_inner: int | None = None
    activation_function: str = "gelu_new"
    resid_pdrop: float = 0.1
    embd_pdrop: float = 0.1
    attn_pdrop: float = 0.1
    layer_norm_epsilon: float = 1e-5
    initializer_range: float = 0.02
    scale_attn_weights: bool = True
    scale_attn_by_inverse_layer_idx: bool = False
    reorder_and_upcast_attn: bool = False
    tie_word_embeddings: bool = True
    use_cache: bool = True
    bos_token_id: int | None = 50256
    eos_token_id: int | list[int] | None = 50256
    pad_token_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("vocab_size", "n_positions", "n_embd", "n_layer", "n_head"):
            value = getattr(self, name)
            if type(value) is not int or value < 1:
                raise ValueError(f"GPT2Config: {name} must be a positive int, got {value!r}")
        if self.n_inner is not None and (type(self.n_inner) is not int or self.n_inner < 1):
            raise ValueError(f"GPT2Config: n_inner must be None or a positive int, got "
                             f"{self.n_inner!r}")
        if self.n_embd % self.n_head:
            raise ValueError(f"GPT2Config: n_embd ({self.n_embd}) must be divisible by n_head "
                             f"({self.n_head})")
        if self.activation_function not in ACTIVATIONS:
            raise ValueError(f"GPT2Config: activation_function {self.activation_function!r} is "
                             f"not supported; choose from {sorted(ACTIVATIONS)}")
        for name in ("resid_pdrop", "embd_pdrop", "attn_pdrop"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                raise ValueError(f"GPT2Config: {name} must be a probability, got {value!r}")
        if not isinstance(self.layer_norm_epsilon, (int, float)) or self.layer_norm_epsilon <= 0:
            raise ValueError(f"GPT2Config: layer_norm_epsilon must be positive, got "
                             f"{self.layer_norm_epsilon!r}")
        if self.extra.get("add_cross_attention"):
            raise ValueError("GPT2Config: add_cross_attention=True (GPT-2 as a decoder with "
                             "cross-attention) is not supported")

    # Hugging Face's generic names of four fields (config.hidden_size ...)
    hidden_size = property(lambda self: self.n_embd)
    max_position_embeddings = property(lambda self: self.n_positions)
    num_attention_heads = property(lambda self: self.n_head)
    num_hidden_layers = property(lambda self: self.n_layer)

    @property
    def inner_dim(self) -> int:
        """The MLP's width: ``n_inner``, or ``4 * n_embd`` when it is None."""
        return self.n_inner if self.n_inner is not None else 4 * self.n_embd

    @classmethod
    def from_dict(cls, config: dict[str, Any]) -> GPT2Config:
        """A config from ``config.json``'s dict; unknown entries go to :attr:`extra`."""
        if not isinstance(config, dict):
            raise TypeError(f"GPT2Config.from_dict: config must be a dict, got "
                            f"{type(config).__name__}")
        model_type = config.get("model_type", "gpt2")
        if model_type != "gpt2":
            raise ValueError(f"GPT2Config.from_dict: model_type is {model_type!r}, not 'gpt2'")
        names = {f.name for f in fields(cls)} - {"extra"}
        known: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for key, value in config.items():
            key_here = _ALIASES.get(key, key)
            if key_here in names:
                known[key_here] = value
            elif key not in _WRITTEN_BY_US:
                extra[key] = value
        return cls(**known, extra=extra)

    @classmethod
    def from_json_file(cls, path: str | os.PathLike) -> GPT2Config:
        """Read a ``config.json`` as Hugging Face writes it."""
        path = os.fspath(path)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"GPT2Config.from_json_file: no such file: '{path}'")
        with open(path, encoding="utf-8") as fh:
            try:
                config = json.load(fh)
            except ValueError as exc:
                raise ValueError(f"GPT2Config.from_json_file: '{path}' is not valid JSON: "
                                 f"{exc}") from None
        try:
            return cls.from_dict(config)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"{exc} (in '{path}')") from None

    def to_dict(self) -> dict[str, Any]:
        """``config.json``'s dict: the fields, the kept extra entries and ``model_type``."""
        out = {"architectures": ["GPT2LMHeadModel"], **self.extra, "model_type": "gpt2"}
        out.update({f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"})
        return out

    def to_json_file(self, path: str | os.PathLike) -> None:
        """Write ``config.json`` (sorted keys, 2-space indent, as Hugging Face)."""
        with open(os.fspath(path), "w", encoding="utf-8") as fh:
            json.dump(self.to_dict(), fh, indent=2, sort_keys=True)
            fh.write("\n")
