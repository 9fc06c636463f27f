"""Fused patterns for quantization-aware training (``torch.ao.nn.intrinsic.qat``).

``ConvBn*d`` keep training the batch norm while fake-quantizing the weight as it will be
after BN folding: the weight is scaled by ``bn.weight / running_std`` before
``weight_fake_quant``, the conv output is scaled back, and the real ``bn`` runs on it
(PyTorch's one-pass approximation; ``_enable_slow_path_for_better_numerical_stability`` picks
the two-pass form). ``freeze_bn_stats`` stops the BN statistics updating."""

from __future__ import annotations

import math
from typing import Any

import mbtorch as mt
from mbtorch import nn
from mbtorch.core.tensor import Tensor
from mbtorch.nn import functional as F
from mbtorch.nn import init
from mbtorch.nn.modules.conv import _ConvNd as _FloatConvNd
from mbtorch.nn.parameter import Parameter
from mbtorch.nn.utils.fusion import fuse_conv_bn_weights, fuse_linear_bn_weights

from ... import intrinsic as nni
from ...qat import modules as nnqat

__all__ = ["ConvBn1d", "ConvBnReLU1d", "ConvReLU1d", "ConvBn2d", "ConvBnReLU2d", "ConvReLU2d",
           "ConvBn3d", "ConvBnReLU3d", "ConvReLU3d", "LinearBn1d", "LinearReLU", "update_bn_stats",
           "freeze_bn_stats"]

_BN_CLASS_MAP = {1: nn.BatchNorm1d, 2: nn.BatchNorm2d, 3: nn.BatchNorm3d}


class _ConvBnNd(_FloatConvNd, nni._FusedModule):
    _version = 2
    _FLOAT_MODULE: Any
    _FLOAT_CONV_MODULE: Any
    _FLOAT_BN_MODULE: Any
    _FLOAT_RELU_MODULE: Any = None
    _FUSED_FLOAT_MODULE: Any = None

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, dilation: Any = 1, groups: int = 1, bias: Any = None,
                 padding_mode: str = "zeros", eps: float = 1e-05, momentum: float = 0.1,
                 freeze_bn: bool = False, qconfig: Any = None) -> None:
        _FloatConvNd.__init__(self, in_channels, out_channels, kernel_size, stride, padding,
                              dilation, groups, False, padding_mode)
        if not qconfig:
            raise AssertionError(f"{type(self).__name__}: qconfig must be provided for QAT "
                                 "module")
        self.qconfig = qconfig
        self.freeze_bn = freeze_bn if self.training else True
        self.bn = _BN_CLASS_MAP[self._n](out_channels, eps, momentum, True, True)
        self.weight_fake_quant = self.qconfig.weight()
        if bias:
            self.bias = Parameter(mt.empty(out_channels))
        else:
            self.register_parameter("bias", None)
        self.reset_bn_parameters()
        if self.training and not freeze_bn:
            self.update_bn_stats()
        else:
            self.freeze_bn_stats()
        self._enable_slow_path_for_better_numerical_stability = False

    def reset_running_stats(self) -> None:
        self.bn.reset_running_stats()

    def reset_bn_parameters(self) -> None:
        self.bn.reset_running_stats()
        init.uniform_(self.bn.weight)
        init.zeros_(self.bn.bias)
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in)
            init.uniform_(self.bias, -bound, bound)

    def update_bn_stats(self) -> _ConvBnNd:
        self.freeze_bn = False
        self.bn.training = True
        return self

    def freeze_bn_stats(self) -> _ConvBnNd:
        self.freeze_bn = True
        self.bn.training = False
        return self

    def _conv_forward(self, input: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        x, pad = self._padded(input)
        conv = getattr(F, f"conv{self._n}d")
        return conv(x, weight, bias, self.stride, pad, self.dilation, self.groups)

    def _shapes(self) -> tuple[list[int], list[int]]:
        weight_shape = [1] * self.weight.dim()
        weight_shape[0] = -1
        bias_shape = [1] * self.weight.dim()
        bias_shape[1] = -1
        return weight_shape, bias_shape

    def _scaled_weight(self) -> tuple[Tensor, Tensor]:
        running_std = mt.sqrt(self.bn.running_var + self.bn.eps)
        scale_factor = self.bn.weight / running_std
        weight_shape, _ = self._shapes()
        return self.weight_fake_quant(self.weight * scale_factor.reshape(weight_shape)), \
            running_std

    def _forward(self, input: Tensor) -> Tensor:
        if self._enable_slow_path_for_better_numerical_stability:
            return self._forward_slow(input)
        return self._forward_approximate(input)

    def _forward_approximate(self, input: Tensor) -> Tensor:
        """conv(x, fq(W * gamma / running_std)) * running_std / gamma (+ bias), then bn."""
        if self.bn.running_var is None:
            raise AssertionError("self.bn.running_var must not be None")
        scaled_weight, running_std = self._scaled_weight()
        scale_factor = self.bn.weight / running_std
        _, bias_shape = self._shapes()
        zero_bias = mt.zeros(self.out_channels, device=scaled_weight.device, dtype=input.dtype)
        conv = self._conv_forward(input, scaled_weight, zero_bias)
        conv_orig = conv / scale_factor.reshape(bias_shape)
        if self.bias is not None:
            conv_orig = conv_orig + self.bias.reshape(bias_shape)
        return self.bn(conv_orig)

    def _forward_slow(self, input: Tensor) -> Tensor:
        """Two passes (arXiv:1806.08342): the batch statistics come from the unquantized
        conv; the output is the fake-quantized conv rescaled to them."""
        _, bias_shape = self._shapes()
        zero_bias = mt.zeros(self.out_channels, device=self.weight.device, dtype=input.dtype)
        if self.bn.training:
            conv_out = self._conv_forward(input, self.weight, zero_bias)
            with mt.no_grad():
                self.bn(conv_out if self.bias is None
                        else conv_out + self.bias.reshape(bias_shape))
        scaled_weight, running_std = self._scaled_weight()
        conv_bn = self._conv_forward(input, scaled_weight, zero_bias)
        if self.bn.training:
            avg_dims = [0] + list(range(2, self.weight.dim()))
            batch_mean = conv_out.mean(avg_dims)
            batch_var = mt.square(conv_out - batch_mean.reshape(bias_shape)).mean(avg_dims)
            batch_std = mt.sqrt(batch_var + self.bn.eps)
            conv_bn = conv_bn * (running_std / batch_std).reshape(bias_shape)
            fused_mean, fused_std = batch_mean, batch_std
        else:
            fused_mean = self.bn.running_mean - (self.bias if self.bias is not None else 0)
            fused_std = running_std
        fused_bias = self.bn.bias - self.bn.weight * fused_mean / fused_std
        conv_bn = conv_bn + fused_bias.reshape(bias_shape)
        if self.bias is not None:  # keeps the bias in the autograd graph (PyTorch does too)
            conv_bn = conv_bn + (self.bias - self.bias).reshape(bias_shape)
        return conv_bn

    def forward(self, input: Tensor) -> Tensor:
        return self._forward(input)

    def train(self, mode: bool = True) -> _ConvBnNd:
        """A frozen BN stays in eval mode when the model is put back in training."""
        self.training = mode
        if not self.freeze_bn:
            for module in self.children():
                module.train(mode)
        return self

    @classmethod
    def from_float(cls, mod: Any, use_precomputed_fake_quant: bool = False) -> Any:
        """A QAT module sharing the parameters and BN buffers of ``nni.ConvBn*`` ``mod``."""
        if type(mod) is not cls._FLOAT_MODULE:
            raise AssertionError(f"qat.{cls.__name__}.from_float only works for "
                                 f"{cls._FLOAT_MODULE.__name__}, got {type(mod).__name__}")
        if not hasattr(mod, "qconfig"):
            raise AssertionError("Input float module must have qconfig defined")
        if not mod.qconfig:
            raise AssertionError("Input float module must have a valid qconfig")
        conv, bn = mod[0], mod[1]
        qat = cls(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride,
                  conv.padding, conv.dilation, conv.groups, conv.bias is not None,
                  conv.padding_mode, bn.eps, bn.momentum, False, mod.qconfig)
        qat.weight, qat.bias = conv.weight, conv.bias
        qat.bn.weight, qat.bn.bias = bn.weight, bn.bias
        qat.bn.running_mean, qat.bn.running_var = bn.running_mean, bn.running_var
        qat.bn.num_batches_tracked = bn.num_batches_tracked
        return qat

    def to_float(self) -> Any:
        """The float conv with the BN folded in (wrapped with ReLU for ``ConvBnReLU``)."""
        cls = type(self)
        conv = cls._FLOAT_CONV_MODULE(self.in_channels, self.out_channels, self.kernel_size,
                                      self.stride, self.padding, self.dilation, self.groups,
                                      self.bias is not None, self.padding_mode)
        conv.weight = Parameter(self.weight.detach())
        if self.bias is not None:
            conv.bias = Parameter(self.bias.detach())
        conv.weight, conv.bias = fuse_conv_bn_weights(
            conv.weight, conv.bias, self.bn.running_mean, self.bn.running_var, self.bn.eps,
            self.bn.weight, self.bn.bias)
        if cls._FLOAT_RELU_MODULE:
            fused = cls._FUSED_FLOAT_MODULE(conv, cls._FLOAT_RELU_MODULE())
            fused.train(self.training)
            return fused
        conv.train(self.training)
        return conv


def _conv_bn(n: int, relu: bool) -> type:
    conv_cls = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}[n]
    name = f"ConvBn{'ReLU' if relu else ''}{n}d"
    attrs: dict[str, Any] = {
        "__module__": __name__, "__qualname__": name,
        "__doc__": f"Conv{n}d + BatchNorm{n}d{' + ReLU' if relu else ''} for QAT: the weight "
                   "is fake-quantized as it will be after folding the BN.",
        "_FLOAT_MODULE": getattr(nni, name), "_FLOAT_CONV_MODULE": conv_cls,
        "_FLOAT_BN_MODULE": _BN_CLASS_MAP[n],
        "_FLOAT_RELU_MODULE": nn.ReLU if relu else None,
        "_FUSED_FLOAT_MODULE": getattr(nni, f"ConvReLU{n}d") if relu else None}
    if relu:
        attrs["forward"] = lambda self, input: F.relu(self._forward(input))
    return type(name, (_ConvBnNd, conv_cls), attrs)


def _conv_relu(n: int) -> type:
    name = f"ConvReLU{n}d"
    base = getattr(nnqat, f"Conv{n}d")
    return type(name, (base, nni._FusedModule), {
        "__module__": __name__, "__qualname__": name,
        "__doc__": f"Conv{n}d + ReLU for QAT (fake-quantized weight).",
        "_FLOAT_MODULE": getattr(nni, name), "_FLOAT_CONV_MODULE": base._FLOAT_CONV_MODULE,
        "_FLOAT_BN_MODULE": None, "_FLOAT_RELU_MODULE": nn.ReLU,
        "forward": lambda self, input: F.relu(
            self._conv_forward(input, self.weight_fake_quant(self.weight), self.bias))})


ConvBn1d, ConvBnReLU1d, ConvReLU1d = _conv_bn(1, False), _conv_bn(1, True), _conv_relu(1)
ConvBn2d, ConvBnReLU2d, ConvReLU2d = _conv_bn(2, False), _conv_bn(2, True), _conv_relu(2)
ConvBn3d, ConvBnReLU3d, ConvReLU3d = _conv_bn(3, False), _conv_bn(3, True), _conv_relu(3)


class LinearReLU(nnqat.Linear, nni._FusedModule):
    """Linear + ReLU for QAT (fake-quantized weight)."""

    _FLOAT_MODULE: Any = nni.LinearReLU

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 qconfig: Any = None) -> None:
        super().__init__(in_features, out_features, bias, qconfig)

    def forward(self, input: Tensor) -> Tensor:
        return F.relu(F.linear(input, self.weight_fake_quant(self.weight), self.bias))

    def to_float(self) -> Any:
        linear = nn.Linear(self.in_features, self.out_features, self.bias is not None)
        linear.weight = Parameter(self.weight.detach())
        if self.bias is not None:
            linear.bias = Parameter(self.bias.detach())
        return nni.LinearReLU(linear, nn.ReLU())


class LinearBn1d(nn.Linear, nni._FusedModule):
    """Linear + BatchNorm1d for QAT, with the same weight scaling as ``ConvBn*d``."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 eps: float = 1e-05, momentum: float = 0.1, freeze_bn: bool = False,
                 qconfig: Any = None) -> None:
        nn.Linear.__init__(self, in_features, out_features, bias)
        if not qconfig:
            raise AssertionError("LinearBn1d: qconfig must be provided for QAT module")
        self.qconfig = qconfig
        self.freeze_bn = freeze_bn if self.training else True
        self.bn = nn.BatchNorm1d(out_features, eps, momentum, True, True)
        self.weight_fake_quant = self.qconfig.weight()
        if bias:
            self.bias = Parameter(mt.empty(out_features))
        else:
            self.register_parameter("bias", None)
        self.reset_bn_parameters()
        if self.training and not freeze_bn:
            self.update_bn_stats()
        else:
            self.freeze_bn_stats()

    def reset_running_stats(self) -> None:
        self.bn.reset_running_stats()

    def reset_bn_parameters(self) -> None:
        self.bn.reset_running_stats()
        init.uniform_(self.bn.weight)
        init.zeros_(self.bn.bias)
        if self.bias is not None:  # PyTorch leaves it torch.empty; use nn.Linear's init
            bound = 1 / math.sqrt(self.in_features) if self.in_features else 0.0
            init.uniform_(self.bias, -bound, bound)

    update_bn_stats = _ConvBnNd.update_bn_stats
    freeze_bn_stats = _ConvBnNd.freeze_bn_stats
    train = _ConvBnNd.train

    def forward(self, input: Tensor) -> Tensor:
        running_std = mt.sqrt(self.bn.running_var + self.bn.eps)
        scale_factor = self.bn.weight / running_std
        scaled_weight = self.weight_fake_quant(self.weight * scale_factor.reshape(-1, 1))
        zero_bias = mt.zeros(self.out_features, device=scaled_weight.device,
                             dtype=scaled_weight.dtype)
        out = F.linear(input, scaled_weight, zero_bias) / scale_factor.reshape(1, -1)
        if self.bias is not None:
            out = out + self.bias.reshape(1, -1)
        return self.bn(out)

    @classmethod
    def from_float(cls, mod: Any, use_precomputed_fake_quant: bool = False) -> LinearBn1d:
        """A QAT module sharing the parameters and BN buffers of ``nni.LinearBn1d`` ``mod``."""
        if type(mod) is not nni.LinearBn1d:
            raise AssertionError(f"qat.{cls.__name__}.from_float only works for LinearBn1d, "
                                 f"got {type(mod).__name__}")
        if not getattr(mod, "qconfig", None):
            raise AssertionError("Input float module must have a valid qconfig")
        linear, bn = mod[0], mod[1]
        qat = cls(linear.in_features, linear.out_features, linear.bias is not None, bn.eps,
                  bn.momentum, False, mod.qconfig)
        qat.weight, qat.bias = linear.weight, linear.bias
        qat.bn.weight, qat.bn.bias = bn.weight, bn.bias
        qat.bn.running_mean, qat.bn.running_var = bn.running_mean, bn.running_var
        qat.bn.num_batches_tracked = bn.num_batches_tracked
        return qat

    def to_float(self) -> nn.Linear:
        """A float linear with the BN folded in."""
        linear = nn.Linear(self.in_features, self.out_features)
        linear.weight, linear.bias = fuse_linear_bn_weights(
            self.weight, self.bias, self.bn.running_mean, self.bn.running_var, self.bn.eps,
            self.bn.weight, self.bn.bias)
        return linear


_BN_FUSED = (ConvBn1d, ConvBn2d, ConvBn3d, ConvBnReLU1d, ConvBnReLU2d, ConvBnReLU3d)


def update_bn_stats(mod: nn.Module) -> None:
    """``model.apply(update_bn_stats)``: let the fused BNs update their running statistics."""
    if type(mod) in _BN_FUSED:
        mod.update_bn_stats()


def freeze_bn_stats(mod: nn.Module) -> None:
    """``model.apply(freeze_bn_stats)``: freeze the fused BNs' running statistics."""
    if type(mod) in _BN_FUSED:
        mod.freeze_bn_stats()
