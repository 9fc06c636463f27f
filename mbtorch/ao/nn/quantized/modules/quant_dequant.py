"""``Quantize`` and ``DeQuantize``: the modules ``convert`` puts where ``QuantStub`` and
``DeQuantStub`` stood (PyTorch defines them in ``torch.ao.nn.quantized.modules``)."""

from __future__ import annotations

from typing import Any

import mbtorch as _mt

from .....core.tensor import Tensor
from .....nn.modules.module import Module
from .utils import _calibrated_qparams, _QParamBuffersMixin

__all__ = ["Quantize", "DeQuantize"]


class Quantize(_QParamBuffersMixin, Module):
    """Quantize a float tensor per tensor with fixed qparams; ``scale`` and ``zero_point`` are
    buffers (shape ``(1,)``, as PyTorch's).

    >>> qm = Quantize(1.0, 2, mbtorch.qint8)
    >>> qm(mbtorch.tensor([[1., -1.], [1., -1.]])).int_repr()
    tensor([[3, 1],
            [3, 1]], dtype=mbtorch.int8)
    """

    def __init__(self, scale: float, zero_point: int, dtype: Any,
                 factory_kwargs: dict | None = None) -> None:
        super().__init__()
        factory_kwargs = dict(factory_kwargs or {})
        self._register_qparams(scale, zero_point, (1,), factory_kwargs.get("device"),
                               factory_kwargs.get("dtype"))
        self.dtype = dtype

    def forward(self, X: Tensor) -> Tensor:
        return _mt.quantize_per_tensor(X, *self._qparams, self.dtype)

    @staticmethod
    def from_float(mod: Module, use_precomputed_fake_quant: bool = False) -> "Quantize":
        observer = getattr(mod, "activation_post_process", None)
        scale, zero_point = _calibrated_qparams(observer, "nnq.Quantize")
        return Quantize(scale, zero_point, observer.dtype)

    def extra_repr(self) -> str:
        return f"scale={self.scale}, zero_point={self.zero_point}, dtype={self.dtype}"


class DeQuantize(Module):
    """Dequantize a quantized tensor to float."""

    def forward(self, Xq: Tensor) -> Tensor:
        return Xq.dequantize()

    @staticmethod
    def from_float(mod: Module, use_precomputed_fake_quant: bool = False) -> "DeQuantize":
        return DeQuantize()
