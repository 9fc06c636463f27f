"""``QuantStub`` / ``DeQuantStub`` mark where a model's tensors enter and leave the quantized
region; both are identities until ``convert`` swaps them for ``nnq.Quantize`` /
``nnq.DeQuantize``. ``QuantWrapper`` surrounds a module with the two."""

from __future__ import annotations

from typing import Any

from mbtorch import nn
from mbtorch.core.tensor import Tensor

__all__ = ["QuantStub", "DeQuantStub", "QuantWrapper"]


class QuantStub(nn.Module):
    """Identity before ``convert`` (``prepare`` attaches an observer to its output); becomes
    ``nnq.Quantize``. ``qconfig``, when given, overrides the one propagated from parents."""

    def __init__(self, qconfig: Any = None) -> None:
        super().__init__()
        if qconfig:
            self.qconfig = qconfig

    def forward(self, x: Tensor) -> Tensor:
        return x


class DeQuantStub(nn.Module):
    """Identity before ``convert``; becomes ``nnq.DeQuantize``."""

    def __init__(self, qconfig: Any = None) -> None:
        super().__init__()
        if qconfig:
            self.qconfig = qconfig

    def forward(self, x: Tensor) -> Tensor:
        return x


class QuantWrapper(nn.Module):
    """``dequant(module(quant(x)))``, with the wrapped module's ``qconfig`` on both stubs."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        qconfig = getattr(module, "qconfig", None)
        self.add_module("quant", QuantStub(qconfig))
        self.add_module("dequant", DeQuantStub(qconfig))
        self.add_module("module", module)
        self.train(module.training)

    def forward(self, X: Tensor) -> Tensor:
        return self.dequant(self.module(self.quant(X)))
