"""``torch.ao.nn.quantized.functional``: functional ops on quantized tensors.

Every op is computed in QDQ form: dequantize the inputs, run the float op, quantize the result
with the output qparams (PyTorch's fbgemm/x86 kernels accumulate in int32 and requantize; the
two agree to within one step of the integer representation). That form is also what ONNX
export writes (QuantizeLinear -> float op -> DequantizeLinear). Output qparams follow PyTorch:
ops that keep the value range (pooling, ``hardtanh``, ``clamp``, ``threshold``, a
``leaky_relu`` without explicit qparams) keep the input's scale and zero point.
"""

from __future__ import annotations

from typing import Any

import mbtorch as _mt

from ....core.tensor import Tensor
from ....nn import functional as F
from ....nn.functional._utils import _tuple

__all__ = [
    "avg_pool2d", "adaptive_avg_pool2d", "conv1d", "conv2d", "interpolate", "linear",
    "max_pool1d", "max_pool2d", "celu", "leaky_relu", "hardtanh", "hardswish", "threshold",
    "elu", "hardsigmoid", "clamp", "upsample", "upsample_bilinear", "upsample_nearest",
]


def _dequant(input: Any, op: str) -> Tensor:
    if not isinstance(input, Tensor) or not input.is_quantized:
        raise ValueError(f"Input to 'quantized.{op}' must be quantized!")
    return input.dequantize()


def _quant(y: Tensor, scale: Any, zero_point: Any, dtype: Any) -> Tensor:
    return _mt.quantize_per_tensor(y, float(scale), int(zero_point), dtype)


def _same_qparams(input: Tensor, y: Tensor) -> Tensor:
    return _quant(y, input.q_scale(), input.q_zero_point(), input.dtype)


def _fixed_unit_qparams(dtype: Any) -> tuple[float, int]:
    """PyTorch's fixed output range of sigmoid/hardsigmoid on a quantized tensor: [0, 1)."""
    return 1.0 / 256, (0 if dtype is _mt.quint8 else -128)


# -- weighted ops ---------------------------------------------------------------------------
def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None,
           scale: float | None = None, zero_point: int | None = None) -> Tensor:
    """``y = x W^T + b`` on a ``quint8`` input and a ``qint8`` weight; the output takes
    ``scale``/``zero_point`` (the input's when omitted)."""
    return _linear(input, weight, bias, scale, zero_point, relu=False)


def _linear(input: Tensor, weight: Tensor, bias: Tensor | None, scale: Any, zero_point: Any,
            relu: bool) -> Tensor:
    x = _dequant(input, "linear")
    _check_weight(weight, "linear")
    scale = input.q_scale() if scale is None else scale
    zero_point = input.q_zero_point() if zero_point is None else zero_point
    y = F.linear(x, weight.dequantize(), bias)
    return _quant(F.relu(y) if relu else y, scale, zero_point, input.dtype)


def _check_weight(weight: Any, op: str) -> None:
    if not isinstance(weight, Tensor) or not weight.is_quantized or weight.dtype is not _mt.qint8:
        raise NotImplementedError(f"quantized.{op}: only mbtorch.qint8 is supported for the "
                                  "weight tensor!")


def _check_conv(input: Any, weight: Any, padding_mode: str, ndim: int, op: str) -> None:
    if padding_mode != "zeros":
        raise NotImplementedError(f"quantized.{op}: only zero-padding is supported!")
    if not isinstance(input, Tensor) or input.dtype is not _mt.quint8:
        raise NotImplementedError(f"quantized.{op}: only mbtorch.quint8 is supported for the "
                                  "activation tensor!")
    _check_weight(weight, op)
    if input.ndim != ndim:
        shape = "(N, C, L)" if ndim == 3 else "(N, C, H, W)"
        raise ValueError(f"quantized.{op}: input shape must be `{shape}`!")


def _conv(input: Tensor, weight: Tensor, bias: Tensor | None, stride: Any, padding: Any,
          dilation: Any, groups: int, scale: Any, zero_point: Any, dtype: Any,
          relu: bool = False) -> Tensor:
    x, w = input.dequantize(), weight.dequantize()
    conv = F.conv1d if input.ndim == 3 else F.conv2d
    y = conv(x, w, bias, stride, padding, dilation, groups)
    return _quant(F.relu(y) if relu else y, scale, zero_point, dtype)


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None, stride: Any = 1,
           padding: Any = 0, dilation: Any = 1, groups: int = 1, padding_mode: str = "zeros",
           scale: float = 1.0, zero_point: int = 0, dtype: Any = None) -> Tensor:
    """1-D convolution of a ``quint8`` ``(N, C, L)`` input with a ``qint8`` weight."""
    _check_conv(input, weight, padding_mode, 3, "conv1d")
    return _conv(input, weight, bias, stride, padding, dilation, groups, scale, zero_point,
                 _mt.quint8 if dtype is None else dtype)


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None, stride: Any = 1,
           padding: Any = 0, dilation: Any = 1, groups: int = 1, padding_mode: str = "zeros",
           scale: float = 1.0, zero_point: int = 0, dtype: Any = None) -> Tensor:
    """2-D convolution of a ``quint8`` ``(N, C, H, W)`` input with a ``qint8`` weight."""
    _check_conv(input, weight, padding_mode, 4, "conv2d")
    return _conv(input, weight, bias, _tuple(stride, 2, "stride", "conv2d"),
                 _tuple(padding, 2, "padding", "conv2d"),
                 _tuple(dilation, 2, "dilation", "conv2d"), groups, scale, zero_point,
                 _mt.quint8 if dtype is None else dtype)


# -- pooling and resampling (output qparams = input qparams) ---------------------------------
def max_pool1d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
               dilation: Any = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Tensor:
    if return_indices:
        raise NotImplementedError("quantized.max_pool1d: return_indices is not yet implemented!")
    y = F.max_pool1d(_dequant(input, "max_pool1d"), kernel_size, stride, padding, dilation,
                     ceil_mode=ceil_mode)
    return _same_qparams(input, y)


def max_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
               dilation: Any = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Tensor:
    if return_indices:
        raise NotImplementedError("quantized.max_pool2d: return_indices is not yet implemented!")
    y = F.max_pool2d(_dequant(input, "max_pool2d"), kernel_size, stride, padding, dilation,
                     ceil_mode=ceil_mode)
    return _same_qparams(input, y)


def avg_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
               ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> Tensor:
    y = F.avg_pool2d(_dequant(input, "avg_pool2d"), kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override)
    return _same_qparams(input, y)


def adaptive_avg_pool2d(input: Tensor, output_size: Any) -> Tensor:
    y = F.adaptive_avg_pool2d(_dequant(input, "functional.adaptive_avg_pool2d"), output_size)
    return _same_qparams(input, y)


def interpolate(input: Tensor, size: Any = None, scale_factor: Any = None,
                mode: str = "nearest", align_corners: bool | None = None) -> Tensor:
    if mode not in ("nearest", "bilinear"):
        raise NotImplementedError(f"quantized.interpolate: mode '{mode}' is not supported; "
                                  "use 'nearest' or 'bilinear'")
    y = F.interpolate(_dequant(input, "interpolate"), size, scale_factor, mode, align_corners)
    return _same_qparams(input, y)


def upsample(input: Tensor, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
             align_corners: bool | None = None) -> Tensor:
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_bilinear(input: Tensor, size: Any = None, scale_factor: Any = None) -> Tensor:
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


def upsample_nearest(input: Tensor, size: Any = None, scale_factor: Any = None) -> Tensor:
    return interpolate(input, size, scale_factor, mode="nearest")


# -- activations ----------------------------------------------------------------------------
def celu(input: Tensor, scale: float, zero_point: int, alpha: float = 1.0) -> Tensor:
    return _quant(F.celu(_dequant(input, "celu"), alpha), scale, zero_point, input.dtype)


def elu(input: Tensor, scale: float, zero_point: int, alpha: float = 1.0) -> Tensor:
    return _quant(F.elu(_dequant(input, "elu"), alpha), scale, zero_point, input.dtype)


def hardswish(input: Tensor, scale: float, zero_point: int) -> Tensor:
    return _quant(F.hardswish(_dequant(input, "hardswish")), scale, zero_point, input.dtype)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False,
               scale: float | None = None, zero_point: int | None = None) -> Tensor:
    """``inplace`` is accepted for PyTorch's signature; quantized results are always new."""
    if inplace and scale is not None and zero_point is not None:
        raise ValueError("quantized.leaky_relu: cannot rescale with `inplace`")
    y = F.leaky_relu(_dequant(input, "leaky_relu"), negative_slope)
    if scale is None or zero_point is None:
        return _same_qparams(input, y)
    return _quant(y, scale, zero_point, input.dtype)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:
    return _same_qparams(input, F.hardtanh(_dequant(input, "hardtanh"), min_val, max_val))


def clamp(input: Tensor, min_: float, max_: float) -> Tensor:
    return _same_qparams(input, _mt.clamp(_dequant(input, "clamp"), min_, max_))


def threshold(input: Tensor, threshold: float, value: float) -> Tensor:
    if threshold is None or value is None:
        raise ValueError("quantized.threshold: 'threshold' and 'value' must be specified!")
    return _same_qparams(input, F.threshold(_dequant(input, "threshold"), threshold, value))


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    scale, zero_point = _fixed_unit_qparams(input.dtype)
    return _quant(F.hardsigmoid(_dequant(input, "hardsigmoid")), scale, zero_point,
                  input.dtype)


def _sigmoid(input: Tensor, scale: float | None = None, zero_point: int | None = None) -> Tensor:
    """``torch.ops.quantized.sigmoid``: the output range [0, 1) unless qparams are given."""
    if scale is None or zero_point is None:
        scale, zero_point = _fixed_unit_qparams(input.dtype)
    return _quant(_mt.sigmoid(_dequant(input, "sigmoid")), scale, zero_point, input.dtype)


def _relu6(input: Tensor) -> Tensor:
    return _same_qparams(input, F.relu6(_dequant(input, "relu6")))


def _softmax(input: Tensor, dim: int, scale: float, zero_point: int) -> Tensor:
    return _quant(F.softmax(_dequant(input, "softmax"), dim), scale, zero_point, input.dtype)
