"""Quantized ``Conv1d`` / ``Conv2d``: ``quint8`` input, ``qint8`` weight (per-tensor or
per-output-channel), float bias, ``quint8`` output with the module's ``scale``/``zero_point``;
``padding_mode`` ``"zeros"`` or ``"reflect"`` as PyTorch's. The state-dict layout is described
in ``utils.py`` (it is PyTorch's own for quantized convolutions)."""

from __future__ import annotations

from typing import Any

import mbtorch as _mt

from .....core.tensor import Tensor
from .....nn import functional as F
from .....nn.functional._utils import _tuple
from .....nn.modules.module import Module
from .. import functional as qF
from .linear import _placeholder_weight
from .utils import (
    WeightedQuantizedModule,
    _calibrated_qparams,
    _check_bias,
    _check_qweight,
    _check_weight_dtype,
    _qparam_tensors,
    _quantize_weight,
    _register_state_hooks,
)

__all__ = ["Conv1d", "Conv2d"]

_SUPPORTED_PADDING = {"zeros", "reflect"}


class _ConvNd(WeightedQuantizedModule):
    _n = 2
    _fused_relu = False

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, dilation: Any = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        name, n = self._get_name(), self._n
        if out_channels <= 0:
            raise ValueError(f"{name}: out_channels must be greater than 0, got {out_channels}")
        if groups <= 0 or in_channels % groups or out_channels % groups:
            raise ValueError(f"{name}: in_channels and out_channels must be divisible by "
                             "groups")
        if padding_mode not in _SUPPORTED_PADDING:
            raise ValueError(f"{name}: 'padding_mode' {padding_mode} is not supported by "
                             "quantized convolution")
        if isinstance(padding, str):
            raise ValueError(f"{name}: string padding ('{padding}') is not supported by "
                             "quantized convolution")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = _tuple(kernel_size, n, "kernel_size", name)
        self.stride = _tuple(stride, n, "stride", name)
        self.padding = _tuple(padding, n, "padding", name)
        self.dilation = _tuple(dilation, n, "dilation", name)
        self.transposed, self.output_padding = False, (0,) * n
        self.padding_mode = padding_mode
        shape = (out_channels, in_channels // groups) + self.kernel_size
        self.set_weight_bias(_placeholder_weight(shape),
                             _mt.zeros(out_channels) if bias else None)
        self.scale, self.zero_point = 1.0, 0
        _register_state_hooks(self)

    # -- weight and bias ----------------------------------------------------------------------
    def _weight_shape(self) -> tuple:
        return (self.out_channels, self.in_channels // self.groups) + self.kernel_size

    def set_weight_bias(self, w: Tensor, b: Tensor | None) -> None:
        _check_qweight(w, self._weight_shape(), self._get_name())
        _check_bias(b, self.out_channels, self._get_name())
        self._qweight = w
        self._bias = None if b is None else b.detach()

    def _weight_bias(self) -> tuple[Tensor, Tensor | None]:
        return self._qweight, self._bias

    def weight(self) -> Tensor:
        return self._qweight

    def bias(self) -> Tensor | None:
        return self._bias

    def _qstate(self) -> dict:
        return {"weight": self._qweight, "bias": self._bias,
                **_qparam_tensors(self.scale, self.zero_point)}

    def _load_qstate(self, found: dict) -> None:
        if "weight" in found or "bias" in found:
            self.set_weight_bias(found.get("weight", self._qweight),
                                 found.get("bias", self._bias))
        if "scale" in found:
            self.scale = float(found["scale"].item())
        if "zero_point" in found:
            self.zero_point = int(found["zero_point"].item())

    # -- forward and repr ---------------------------------------------------------------------
    def forward(self, input: Tensor) -> Tensor:
        n = self._n
        if input.ndim != n + 2:
            shape = "(N, C, L)" if n == 1 else "(N, C, H, W)"
            raise ValueError(f"{self._get_name()}: input shape must be `{shape}`!")
        qF._check_conv(input, self._qweight, "zeros", n + 2, self._get_name())
        padding = self.padding
        if self.padding_mode != "zeros":
            # reflect-pad the dequantized input; padding again in the conv would double it
            x = F.pad(input.dequantize(), [p for p in reversed(padding) for _ in (0, 1)],
                      mode=self.padding_mode)
            input, padding = _mt.quantize_per_tensor(x, input.q_scale(), input.q_zero_point(),
                                                     input.dtype), 0
        return qF._conv(input, self._qweight, self._bias, self.stride, padding, self.dilation,
                        self.groups, self.scale, self.zero_point, _mt.quint8,
                        relu=self._fused_relu)

    def extra_repr(self) -> str:
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}, scale={self.scale}, zero_point={self.zero_point}")
        if self.padding != (0,) * self._n:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * self._n:
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self._bias is None:
            s += ", bias=False"
        return s

    # -- conversion -----------------------------------------------------------------------------
    @classmethod
    def _is_fused(cls) -> bool:
        return False

    @classmethod
    def _float_modules(cls) -> tuple:
        from .....nn.modules import conv

        return (conv.Conv1d,) if cls._n == 1 else (conv.Conv2d,)

    @classmethod
    def from_float(cls, mod: Module, use_precomputed_fake_quant: bool = False) -> "_ConvNd":
        """Quantize an observed float (or QAT) convolution: weight with the qconfig's weight
        observer (a QAT module's ``weight_fake_quant``, BatchNorm folded in first), output
        with the qparams of its ``activation_post_process``."""
        owner = f"nnq.{cls.__name__}"
        activation_post_process = getattr(mod, "activation_post_process", None)
        if hasattr(mod, "weight_fake_quant"):
            _fold_conv_bn(mod)
            weight_post_process = mod.weight_fake_quant
        else:
            from .linear import _unwrap_float

            mod = _unwrap_float(cls, mod, owner)
            weight_post_process = mod.qconfig.weight()
        return cls.get_qconv(mod, activation_post_process, weight_post_process,
                             use_precomputed_fake_quant)

    @classmethod
    def get_qconv(cls, mod: Module, activation_post_process: Module | None,
                  weight_post_process: Module | None = None,
                  use_precomputed_fake_quant: bool = False) -> "_ConvNd":
        owner = f"nnq.{cls.__name__}"
        if weight_post_process is None:
            weight_post_process = mod.qconfig.weight()
        weight = mod.weight.detach().float()
        if not use_precomputed_fake_quant:
            weight_post_process(weight)
        _check_weight_dtype(weight_post_process, owner)
        scale, zero_point = _calibrated_qparams(activation_post_process, owner)
        if mod.padding_mode not in _SUPPORTED_PADDING:
            raise ValueError(f"{owner}.from_float: padding_mode '{mod.padding_mode}' is not "
                             "supported by quantized convolution (zeros, reflect)")
        qconv = cls(mod.in_channels, mod.out_channels, mod.kernel_size, mod.stride,
                    mod.padding, mod.dilation, mod.groups, mod.bias is not None,
                    mod.padding_mode)
        qconv.set_weight_bias(_quantize_weight(weight, weight_post_process), mod.bias)
        qconv.scale, qconv.zero_point = scale, zero_point
        return qconv


def _fold_conv_bn(mod: Module) -> None:
    """A QAT ``ConvBn``/``ConvBnReLU`` converts with its BatchNorm folded into the weight."""
    bn = getattr(mod, "bn", None)
    if bn is None:
        return
    if bn.running_mean is None or bn.running_var is None:
        raise RuntimeError(f"{type(mod).__name__}: the BatchNorm must track running statistics "
                           "to be folded at convert")
    from .....nn.utils.fusion import fuse_conv_bn_weights

    mod.weight, mod.bias = fuse_conv_bn_weights(mod.weight, mod.bias, bn.running_mean,
                                                bn.running_var, bn.eps, bn.weight, bn.bias)


class Conv1d(_ConvNd):
    """A 1-D convolution on quantized tensors (``torch.ao.nn.quantized.Conv1d``)."""

    _n = 1

    def _get_name(self) -> str:
        return "QuantizedConv1d"


class Conv2d(_ConvNd):
    """A 2-D convolution on quantized tensors (``torch.ao.nn.quantized.Conv2d``).

    >>> m = Conv2d(16, 33, 3, stride=2)
    >>> x = mbtorch.quantize_per_tensor(mbtorch.randn(20, 16, 50, 100), 1.0, 0, mbtorch.quint8)
    >>> m(x).shape
    mbtorch.Size([20, 33, 24, 49])
    """

    _n = 2

    def _get_name(self) -> str:
        return "QuantizedConv2d"
