"""Quantized ``BatchNorm2d`` and ``LayerNorm`` (PyTorch's classes): float affine parameters and
statistics, output ``scale``/``zero_point`` as buffers; computed in QDQ form."""

from __future__ import annotations

from typing import Any

import mbtorch as _mt

from .....core.tensor import Tensor
from .....nn import functional as F
from .....nn.modules.batchnorm import BatchNorm2d as _FloatBatchNorm2d
from .....nn.modules.module import Module
from .....nn.modules.normalization import LayerNorm as _FloatLayerNorm
from .. import functional as qF
from .utils import _calibrated_qparams, _QParamBuffersMixin, _QuantizedReprMixin

__all__ = ["BatchNorm2d", "LayerNorm"]


class BatchNorm2d(_QParamBuffersMixin, _QuantizedReprMixin, _FloatBatchNorm2d):
    """Batch norm over ``(N, C, H, W)`` quantized input with its running statistics."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__(num_features, eps, momentum, True, True, device=device, dtype=dtype)
        self._register_qparams(1.0, 0, (), device, dtype)

    def _get_name(self) -> str:
        return "QuantizedBatchNorm2d"

    def _check_input_dim(self, input: Tensor) -> None:
        if len(input.shape) != 4:
            raise ValueError("QuantizedBatchNorm2d: input shape must be `(N, C, H, W)`!")

    def forward(self, input: Tensor) -> Tensor:
        self._check_input_dim(input)
        x = qF._dequant(input, "batch_norm2d")
        y = F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                         False, 0.0, self.eps)
        return qF._quant(y, *self._qparams, input.dtype)

    @classmethod
    def from_float(cls, mod: Module, use_precomputed_fake_quant: bool = False) -> "BatchNorm2d":
        """A float ``BatchNorm2d`` (or fused ``BNReLU2d``, via the intrinsic module) with its
        observer gives the quantized module with the same parameters and statistics."""
        activation_post_process = getattr(mod, "activation_post_process", None)
        bn = mod[0] if cls._is_fused() else mod
        scale, zero_point = _calibrated_qparams(activation_post_process, f"nnq.{cls.__name__}")
        new_mod = cls(bn.num_features, bn.eps)
        new_mod.weight, new_mod.bias = bn.weight, bn.bias
        new_mod.running_mean, new_mod.running_var = bn.running_mean, bn.running_var
        new_mod.scale = _mt.tensor(scale)
        new_mod.zero_point = _mt.tensor(zero_point)
        return new_mod

    @classmethod
    def _is_fused(cls) -> bool:
        return False


class LayerNorm(_QParamBuffersMixin, _QuantizedReprMixin, _FloatLayerNorm):
    """Layer norm on a quantized tensor; ``weight``/``bias`` are the float module's."""

    def __init__(self, normalized_shape: Any, weight: Tensor | None, bias: Tensor | None,
                 scale: float, zero_point: int, eps: float = 1e-5,
                 elementwise_affine: bool = True, device: Any = None, dtype: Any = None) -> None:
        super().__init__(normalized_shape, eps=eps, elementwise_affine=elementwise_affine,
                         device=device, dtype=dtype)
        self.weight, self.bias = weight, bias
        self._register_qparams(scale, zero_point, (), device, dtype)

    def forward(self, input: Tensor) -> Tensor:
        x = qF._dequant(input, "layer_norm")
        y = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return qF._quant(y, *self._qparams, input.dtype)

    def _get_name(self) -> str:
        return "QuantizedLayerNorm"

    @classmethod
    def from_float(cls, mod: Module, use_precomputed_fake_quant: bool = False) -> "LayerNorm":
        scale, zero_point = _calibrated_qparams(getattr(mod, "activation_post_process", None),
                                                "nnq.LayerNorm")
        return cls(mod.normalized_shape, mod.weight, mod.bias, scale, zero_point, mod.eps,
                   mod.elementwise_affine)
