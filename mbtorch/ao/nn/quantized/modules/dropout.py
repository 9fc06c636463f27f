"""Quantized ``Dropout``: the identity (quantized inference never drops)."""

from __future__ import annotations

from .....core.tensor import Tensor
from .....nn.modules.dropout import Dropout as _FloatDropout
from .....nn.modules.module import Module
from .utils import _QuantizedReprMixin

__all__ = ["Dropout"]


class Dropout(_QuantizedReprMixin, _FloatDropout):
    """PyTorch's quantized ``Dropout``: returns its input unchanged."""

    def forward(self, input: Tensor) -> Tensor:
        return input

    def _get_name(self) -> str:
        return "QuantizedDropout"

    @classmethod
    def from_float(cls, mod: Module, use_precomputed_fake_quant: bool = False) -> "Dropout":
        return cls(mod.p, mod.inplace)
