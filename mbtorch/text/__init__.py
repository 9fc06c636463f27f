"""Text models with Hugging Face's layout (``mbtorch.text.models``): the same module and
parameter names as ``transformers``' models, so their checkpoints load unchanged."""

from . import models

__all__ = ["models"]
