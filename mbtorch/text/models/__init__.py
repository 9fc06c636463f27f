"""Language models with Hugging Face's parameter names: ``GPT2LMHeadModel`` loads a
``transformers`` GPT-2 folder (``config.json`` + ``model.safetensors`` or
``pytorch_model.bin``) with ``from_pretrained`` and decodes with ``generate``."""

from ._generation import filter_logits
from .gpt2 import (
    BaseModelOutputWithPast,
    CausalLMOutputWithPast,
    Conv1D,
    GPT2Config,
    GPT2LMHeadModel,
    GPT2Model,
    GPT2PreTrainedModel,
)

__all__ = ["BaseModelOutputWithPast", "CausalLMOutputWithPast", "Conv1D", "GPT2Config",
           "GPT2LMHeadModel", "GPT2Model", "GPT2PreTrainedModel", "filter_logits"]
