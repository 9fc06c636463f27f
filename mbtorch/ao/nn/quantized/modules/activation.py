"""Quantized activations: ``ReLU6``, ``Hardswish``, ``ELU``, ``LeakyReLU``, ``Sigmoid``,
``Softmax`` (PyTorch's classes, constructors, buffers and names). Each computes in QDQ form;
the output qparams are the module's (or, for ``ReLU6``, the input's)."""

from __future__ import annotations

from typing import Any

from .....core.tensor import Tensor
from .....nn.modules import activation as _act
from .....nn.modules.module import Module
from .. import functional as qF
from .utils import _calibrated_qparams, _QParamBuffersMixin, _QuantizedReprMixin

__all__ = ["ReLU6", "Hardswish", "ELU", "LeakyReLU", "Sigmoid", "Softmax"]


def _observed_qparams(mod: Module, owner: str) -> tuple[float, int]:
    return _calibrated_qparams(getattr(mod, "activation_post_process", None), owner)


class ReLU6(_QuantizedReprMixin, _act.ReLU):
    """``min(max(x, 0), 6)`` on a quantized tensor; the output keeps the input's qparams."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__(inplace)
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return qF._relu6(input)

    def _get_name(self) -> str:
        return "QuantizedReLU6"

    @staticmethod
    def from_float(mod: Module, use_precomputed_fake_quant: bool = False) -> "ReLU6":
        return ReLU6(mod.inplace)


class Hardswish(_QParamBuffersMixin, _QuantizedReprMixin, _act.Hardswish):
    """Hardswish with output ``scale``/``zero_point`` held as buffers, as PyTorch's."""

    def __init__(self, scale: float, zero_point: int, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        self._register_qparams(scale, zero_point, (), device, dtype)

    def forward(self, input: Tensor) -> Tensor:
        return qF.hardswish(input, *self._qparams)

    def _get_name(self) -> str:
        return "QuantizedHardswish"

    @staticmethod
    def from_float(mod: Module, use_precomputed_fake_quant: bool = False) -> "Hardswish":
        return Hardswish(*_observed_qparams(mod, "nnq.Hardswish"))


class ELU(_QuantizedReprMixin, _act.ELU):
    def __init__(self, scale: float, zero_point: int, alpha: float = 1.0) -> None:
        super().__init__(alpha)
        self.scale, self.zero_point = scale, zero_point

    def forward(self, input: Tensor) -> Tensor:
        return qF.elu(input, self.scale, self.zero_point, self.alpha)

    def _get_name(self) -> str:
        return "QuantizedELU"

    @staticmethod
    def from_float(mod: Module, use_precomputed_fake_quant: bool = False) -> "ELU":
        return ELU(*_observed_qparams(mod, "nnq.ELU"), mod.alpha)


class LeakyReLU(_QParamBuffersMixin, _QuantizedReprMixin, _act.LeakyReLU):
    def __init__(self, scale: float, zero_point: int, negative_slope: float = 1e-2,
                 inplace: bool = False, device: Any = None, dtype: Any = None) -> None:
        super().__init__(negative_slope, inplace)
        self._register_qparams(scale, zero_point, (), device, dtype)

    def forward(self, input: Tensor) -> Tensor:
        return qF.leaky_relu(input, self.negative_slope, False, *self._qparams)

    def _get_name(self) -> str:
        return "QuantizedLeakyReLU"

    @classmethod
    def from_float(cls, mod: Module, use_precomputed_fake_quant: bool = False) -> "LeakyReLU":
        scale, zero_point = _observed_qparams(mod, "nnq.LeakyReLU")
        return cls(scale, zero_point, mod.negative_slope, mod.inplace)


class Sigmoid(_QuantizedReprMixin, _act.Sigmoid):
    """PyTorch's quantized ``Sigmoid`` keeps the float class's name in its repr."""

    def __init__(self, output_scale: float, output_zero_point: int) -> None:
        super().__init__()
        self.output_scale, self.output_zero_point = output_scale, output_zero_point

    def forward(self, input: Tensor) -> Tensor:
        return qF._sigmoid(input, self.output_scale, self.output_zero_point)

    @classmethod
    def from_float(cls, mod: Module, use_precomputed_fake_quant: bool = False) -> "Sigmoid":
        return cls(*_observed_qparams(mod, "nnq.Sigmoid"))


class Softmax(_QuantizedReprMixin, _act.Softmax):
    def __init__(self, dim: int | None = None, scale: float = 1.0, zero_point: int = 0) -> None:
        super().__init__(dim)
        self.scale, self.zero_point = scale, zero_point

    def forward(self, input: Tensor) -> Tensor:
        dim = self.dim
        if dim is None:
            dim = 0 if input.ndim in (0, 1, 3) else 1  # PyTorch's _get_softmax_dim
        return qF._softmax(input, dim, self.scale, self.zero_point)

    def _get_name(self) -> str:
        return "QuantizedSoftmax"

    @staticmethod
    def from_float(mod: Module, use_precomputed_fake_quant: bool = False) -> "Softmax":
        scale, zero_point = _observed_qparams(mod, "nnq.Softmax")
        return Softmax(mod.dim, scale, zero_point)
