"""QAT versions of float layers (``torch.ao.nn.qat``): the weight passes through
``weight_fake_quant`` (built from ``qconfig.weight``) on every forward, so training sees the
int8 rounding; ``from_float`` / ``to_float`` convert from and back to the float layer."""

from __future__ import annotations

from typing import Any

from mbtorch import nn
from mbtorch.core.tensor import Tensor
from mbtorch.nn import functional as F
from mbtorch.nn.parameter import Parameter
from mbtorch.nn.utils.parametrize import type_before_parametrizations

from ..intrinsic.modules.fused import LinearReLU, _FusedModule

__all__ = ["Linear", "Conv1d", "Conv2d", "Conv3d"]


def _check_float_module(cls: type, mod: Any, float_type: type) -> None:
    if type_before_parametrizations(mod) is not float_type:
        raise AssertionError(f"qat.{cls.__name__}.from_float only works for "
                             f"{float_type.__name__}, got "
                             f"{type_before_parametrizations(mod).__name__}")
    if not hasattr(mod, "qconfig"):
        raise AssertionError(f"qat.{cls.__name__}.from_float: Input float module must have "
                             "qconfig defined")
    if not mod.qconfig:
        raise AssertionError(f"qat.{cls.__name__}.from_float: Input float module must have a "
                             "valid qconfig")


def _weight_fake_quant(cls_name: str, qconfig: Any, device: Any, dtype: Any) -> Any:
    if not qconfig:
        raise AssertionError(f"qat.{cls_name}: qconfig must be provided for QAT module")
    return qconfig.weight(factory_kwargs={"device": device, "dtype": dtype})


class Linear(nn.Linear):
    """``nn.Linear`` whose weight is fake-quantized by ``weight_fake_quant``."""

    _FLOAT_MODULE: Any = nn.Linear

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 qconfig: Any = None, device: Any = None, dtype: Any = None) -> None:
        super().__init__(in_features, out_features, bias, device=device, dtype=dtype)
        fq = _weight_fake_quant(type(self).__name__, qconfig, device, dtype)
        self.qconfig = qconfig
        self.weight_fake_quant = fq

    def forward(self, input: Tensor) -> Tensor:
        return F.linear(input, self.weight_fake_quant(self.weight), self.bias)

    @classmethod
    def from_float(cls, mod: Any, use_precomputed_fake_quant: bool = False) -> Linear:
        """A QAT linear sharing ``mod``'s parameters, with ``mod.qconfig``."""
        _check_float_module(cls, mod, cls._FLOAT_MODULE)
        if type_before_parametrizations(mod) is LinearReLU:
            mod = mod[0]
        qat_linear = cls(mod.in_features, mod.out_features, bias=mod.bias is not None,
                         qconfig=mod.qconfig)
        qat_linear.weight = mod.weight
        qat_linear.bias = mod.bias
        return qat_linear

    def to_float(self) -> nn.Linear:
        linear = nn.Linear(self.in_features, self.out_features, self.bias is not None)
        linear.weight = Parameter(self.weight.detach())
        if self.bias is not None:
            linear.bias = Parameter(self.bias.detach())
        linear.train(self.training)
        return linear


class _ConvNd:
    """The QAT part shared by Conv1d/2d/3d (mixed in before the float conv class)."""

    _FLOAT_MODULE: Any
    _FLOAT_CONV_MODULE: Any

    def _init_qat(self, qconfig: Any, device: Any, dtype: Any) -> None:
        fq = _weight_fake_quant(type(self).__name__, qconfig, device, dtype)
        self.qconfig = qconfig
        self.weight_fake_quant = fq

    def _conv_forward(self, input: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        x, pad = self._padded(input)
        conv = getattr(F, f"conv{self._n}d")
        return conv(x, weight, bias, self.stride, pad, self.dilation, self.groups)

    def forward(self, input: Tensor) -> Tensor:
        return self._conv_forward(input, self.weight_fake_quant(self.weight), self.bias)

    @classmethod
    def from_float(cls, mod: Any, use_precomputed_fake_quant: bool = False) -> Any:
        """A QAT conv sharing ``mod``'s parameters (the conv of a fused ``ConvReLU``)."""
        _check_float_module(cls, mod, cls._FLOAT_MODULE)
        if issubclass(type(mod), _FusedModule):
            mod = mod[0]
        qat_conv = cls(mod.in_channels, mod.out_channels, mod.kernel_size, stride=mod.stride,
                       padding=mod.padding, dilation=mod.dilation, groups=mod.groups,
                       bias=mod.bias is not None, padding_mode=mod.padding_mode,
                       qconfig=mod.qconfig)
        qat_conv.weight = mod.weight
        qat_conv.bias = mod.bias
        return qat_conv

    def to_float(self) -> Any:
        """The float conv (inside its ``nni.ConvReLU*`` container for the fused classes)."""
        cls = type(self)
        conv = cls._FLOAT_CONV_MODULE(self.in_channels, self.out_channels, self.kernel_size,
                                      self.stride, self.padding, self.dilation, self.groups,
                                      self.bias is not None, self.padding_mode)
        conv.weight = Parameter(self.weight.detach())
        if self.bias is not None:
            conv.bias = Parameter(self.bias.detach())
        if issubclass(cls, _FusedModule):
            fused = cls._FLOAT_MODULE(conv, cls._FLOAT_RELU_MODULE())
            fused.train(self.training)
            return fused
        return conv


def _make_conv(n: int, float_conv: type) -> type:
    def __init__(self: Any, in_channels: int, out_channels: int, kernel_size: Any,
                 stride: Any = 1, padding: Any = 0, dilation: Any = 1, groups: int = 1,
                 bias: bool = True, padding_mode: str = "zeros", qconfig: Any = None,
                 device: Any = None, dtype: Any = None) -> None:
        float_conv.__init__(self, in_channels, out_channels, kernel_size, stride, padding,
                            dilation, groups, bias, padding_mode, device=device, dtype=dtype)
        self._init_qat(qconfig, device, dtype)

    doc = (f"``nn.Conv{n}d`` whose weight is fake-quantized by ``weight_fake_quant``.")
    return type(f"Conv{n}d", (_ConvNd, float_conv),
                {"__init__": __init__, "__doc__": doc, "__module__": __name__,
                 "__qualname__": f"Conv{n}d", "_FLOAT_MODULE": float_conv,
                 "_FLOAT_CONV_MODULE": float_conv})


Conv1d = _make_conv(1, nn.Conv1d)
Conv2d = _make_conv(2, nn.Conv2d)
Conv3d = _make_conv(3, nn.Conv3d)
