"""ONNX quantization operators as mbtorch calls, for ``mbtorch.onnx.load`` (see
``_import_ops``).

- ``QuantizeLinear`` runs ``mbtorch.quantize_per_tensor`` / ``quantize_per_channel`` (a
  1-D scale of more than one value is per axis) and hands on the integers (``int_repr()``):
  in ONNX a quantized value is a plain int8/uint8 tensor, which any later operator (``MaxPool``,
  ``Reshape``, ``Concat``) takes as such. mbtorch multiplies by the scale's reciprocal, as
  PyTorch, where ONNX divides by it, so a value exactly halfway between two steps may land one
  step from onnxruntime's.
- ``DequantizeLinear`` makes the quantized tensor of those integers
  (``mbtorch._make_per_tensor_quantized_tensor`` / ``_make_per_channel_quantized_tensor``:
  int8, uint8, int32) and dequantizes it.
- The integer operators onnxruntime's quantization tools write in their QOperator format —
  ``QLinearConv``, ``QLinearMatMul``, ``ConvInteger``, ``MatMulInteger``,
  ``DynamicQuantizeLinear`` — compute their integer sums exactly (in float64, which holds
  them) and requantize as onnxruntime does: the float32 sum times the float32 multiplier
  ``x_scale * w_scale / y_scale``, rounded half to even.
- onnxruntime's contrib operators (domain ``com.microsoft``, ``CONTRIB``) that its QOperator
  format writes around those — ``QGemm`` (exact sums, as above), ``QLinearAdd``,
  ``QLinearMul``, ``QLinearConcat``,
  ``QLinearAveragePool``, ``QLinearGlobalAveragePool``, ``QLinearSigmoid``,
  ``QLinearLeakyRelu`` — dequantize, compute in float32 and quantize (within one step of
  onnxruntime's lookup tables and fixed-point paths).

Only int8 and uint8 quantized values are supported (int32 for dequantizing a bias); blocked
quantization (``block_size``), 4- and 16-bit and float8 types are refused, naming the node.
"""

from __future__ import annotations

__all__ = ["CONTRIB"]

from typing import Any

import mbtorch as mt

from ._import_nn import _avg_pool, _conv
from ._import_ops import Run, imports

_QDTYPES = {"int8": mt.qint8, "uint8": mt.quint8}


def _check_blocked(op: str, run: Run, block_size: int) -> None:
    if block_size:
        raise run.error(op, f"blocked quantization (block_size={block_size}) is not supported")


def _per_axis(op: str, run: Run, x: Any, scale: Any, axis: int) -> int | None:
    """``axis`` (wrapped) when ``scale`` is per axis, None when per tensor."""
    if scale.numel() == 1:
        return None
    if scale.ndim != 1:
        raise run.error(op, f"a {scale.ndim}-D scale (blocked quantization) is not supported")
    axis = axis % max(x.ndim, 1)
    if scale.shape[0] != x.shape[axis]:
        raise run.error(op, f"{scale.shape[0]} scales for dim {axis} of size {x.shape[axis]}")
    return axis


@imports("QuantizeLinear")
def _quantize_linear(op: str, run: Run, x: Any, scale: Any, zero_point: Any = None,
                     axis: int = 1, saturate: int = 1, block_size: int = 0,
                     output_dtype: int = 0, precision: int = 0) -> list:
    _check_blocked(op, run, block_size)
    storage = zero_point.dtype.name if zero_point is not None else _output_type(
        op, run, output_dtype)
    if storage not in _QDTYPES:
        raise run.error(op, f"quantizing to {storage} is not supported (int8 and uint8 are)")
    if x.dtype is not mt.float32:
        if not x.dtype.is_floating_point:
            raise run.error(op, f"the input must be floating point, got {x.dtype}")
        x = x.to(mt.float32)
    if zero_point is None:
        zero_point = mt.zeros(scale.shape, dtype=mt.int64, device=scale.device)
    dim = _per_axis(op, run, x, scale, axis)
    if dim is None:
        q = mt.quantize_per_tensor(x, float(scale.reshape(-1)[0].item()),
                                   int(zero_point.reshape(-1)[0].item()), _QDTYPES[storage])
    else:
        q = mt.quantize_per_channel(x, scale.to(mt.float32), zero_point.to(mt.int64), dim,
                                    _QDTYPES[storage])
    return [q.int_repr()]


def _output_type(op: str, run: Run, output_dtype: int) -> str:
    if not output_dtype:
        return "uint8"  # ONNX's default without a zero point
    from ._load import mbtorch_dtype

    return mbtorch_dtype(output_dtype, f"{op} (node {run.node!r}) output_dtype").name


@imports("DequantizeLinear")
def _dequantize_linear(op: str, run: Run, x: Any, scale: Any, zero_point: Any = None,
                       axis: int = 1, block_size: int = 0, output_dtype: int = 0) -> list:
    _check_blocked(op, run, block_size)
    if x.dtype.name not in ("int8", "uint8", "int32"):
        raise run.error(op, f"dequantizing {x.dtype} is not supported (int8, uint8 and int32 "
                        "are)")
    if zero_point is None:
        zero_point = mt.zeros(scale.shape, dtype=x.dtype, device=scale.device)
    return [_dequantized(op, run, x, scale, zero_point, axis)]


def _dequantized(op: str, run: Run, x: Any, scale: Any, zero_point: Any, axis: int) -> Any:
    """``(x - zero_point) * scale`` through mbtorch's quantized tensors, in ``scale``'s dtype
    (float32 unless the model's scale is float16)."""
    dim = _per_axis(op, run, x, scale, axis)
    if dim is None:
        q = mt._make_per_tensor_quantized_tensor(x, float(scale.reshape(-1)[0].item()),
                                                 int(zero_point.reshape(-1)[0].item()))
    else:
        q = mt._make_per_channel_quantized_tensor(x, scale.to(mt.float64),
                                                  zero_point.to(mt.int64), dim)
    out = q.dequantize()
    return out if scale.dtype is mt.float32 else out.to(scale.dtype)


# -- onnxruntime's QOperator format ---------------------------------------------------------
def _shifted(x: Any, zero_point: Any, axis: int | None = None) -> Any:
    """``x - zero_point`` in float64 (exact); a per-axis zero point broadcast along ``axis``."""
    v = x.to(mt.float64)
    if zero_point is None:
        return v
    z = zero_point.to(mt.float64)
    if z.numel() > 1 and axis is not None:
        z = z.reshape([-1 if d == axis else 1 for d in range(x.ndim)])
    return v - z


def _requantize(op: str, run: Run, acc: Any, multiplier: Any, zero_point: Any) -> list:
    """onnxruntime's requantization: float32(acc) * float32 multiplier, rounded half to even,
    plus the zero point, saturated to the zero point's type."""
    storage = zero_point.dtype.name if zero_point is not None else "uint8"
    if storage not in _QDTYPES:
        raise run.error(op, f"a {storage} output is not supported (int8 and uint8 are)")
    lo, hi = (-128, 127) if storage == "int8" else (0, 255)
    zp = 0.0 if zero_point is None else zero_point.to(mt.float32)
    out = mt.round(acc.to(mt.float32) * multiplier) + zp
    return [mt.clamp(out, lo, hi).to(getattr(mt, storage))]


def _multiplier(a_scale: Any, b_scale: Any, y_scale: Any, shape: list) -> Any:
    m = a_scale.to(mt.float32) * b_scale.to(mt.float32) / y_scale.to(mt.float32)
    return m.reshape(shape) if m.numel() > 1 else m.reshape(())


@imports("QLinearConv")
def _qlinear_conv(op: str, run: Run, x: Any, x_scale: Any, x_zp: Any, w: Any, w_scale: Any,
                  w_zp: Any, y_scale: Any, y_zp: Any, bias: Any = None, **attrs: Any) -> list:
    (acc,) = _conv(op, run, _shifted(x, x_zp), _shifted(w, w_zp, 0),
                   None if bias is None else bias.to(mt.float64), **attrs)
    shape = [1, -1] + [1] * (x.ndim - 2)
    return _requantize(op, run, acc, _multiplier(x_scale, w_scale, y_scale, shape), y_zp)


@imports("QLinearMatMul")
def _qlinear_matmul(op: str, run: Run, a: Any, a_scale: Any, a_zp: Any, b: Any, b_scale: Any,
                    b_zp: Any, y_scale: Any, y_zp: Any) -> list:
    acc = mt.matmul(_shifted(a, a_zp), _shifted(b, b_zp, b.ndim - 1))
    return _requantize(op, run, acc, _multiplier(a_scale, b_scale, y_scale, [-1]), y_zp)


@imports("MatMulInteger")
def _matmul_integer(op: str, run: Run, a: Any, b: Any, a_zp: Any = None,
                    b_zp: Any = None) -> list:
    acc = mt.matmul(_shifted(a, a_zp, a.ndim - 2), _shifted(b, b_zp, b.ndim - 1))
    return [acc.to(mt.int32)]


@imports("ConvInteger")
def _conv_integer(op: str, run: Run, x: Any, w: Any, x_zp: Any = None, w_zp: Any = None,
                  **attrs: Any) -> list:
    (acc,) = _conv(op, run, _shifted(x, x_zp), _shifted(w, w_zp, 0), None, **attrs)
    return [acc.to(mt.int32)]


@imports("DynamicQuantizeLinear")
def _dynamic_quantize_linear(op: str, run: Run, x: Any) -> list:
    # ONNX's definition: the range widened to hold 0, mapped onto uint8 [0, 255]
    lo = mt.clamp(mt.amin(x), max=0.0) if x.numel() else mt.zeros((), device=x.device)
    hi = mt.clamp(mt.amax(x), min=0.0) if x.numel() else mt.zeros((), device=x.device)
    scale = (hi - lo) / 255.0
    scale = mt.where(scale == 0, mt.ones_like(scale), scale)
    zp = mt.clamp(mt.round((0.0 - lo) / scale), 0.0, 255.0)
    y = mt.clamp(mt.round(x / scale) + zp, 0.0, 255.0)
    return [y.to(mt.uint8), scale.to(mt.float32), zp.to(mt.uint8)]


# -- onnxruntime's contrib operators (com.microsoft) of its QOperator format ----------------
CONTRIB = frozenset({"QGemm", "QLinearAdd", "QLinearMul", "QLinearConcat", "QLinearAveragePool",
                     "QLinearGlobalAveragePool", "QLinearSigmoid", "QLinearLeakyRelu"})
"""The ``com.microsoft`` operators ``mbtorch.onnx.load`` reads."""


@imports("QGemm")
def _qgemm(op: str, run: Run, a: Any, a_scale: Any, a_zp: Any, b: Any, b_scale: Any, b_zp: Any,
           c: Any = None, y_scale: Any = None, y_zp: Any = None, alpha: float = 1.0,
           transA: int = 0, transB: int = 0) -> list:  # noqa: N803 - ONNX's attribute names
    a = _shifted(a, a_zp)
    b = _shifted(b, b_zp, 0 if transB else 1)  # one zero point per output column
    acc = mt.matmul(a.T if transA else a, b.T if transB else b)
    if c is not None:  # int32, in the units of a_scale * b_scale
        acc = acc + c.to(mt.float64)
    if y_scale is None:  # a float output
        scale = a_scale.to(mt.float32) * b_scale.to(mt.float32) * alpha
        return [acc.to(mt.float32) * (scale.reshape(-1) if scale.numel() > 1 else scale)]
    multiplier = _multiplier(a_scale, b_scale, y_scale, [-1]) * alpha
    return _requantize(op, run, acc, multiplier, y_zp)


def _requantized(op: str, run: Run, y: Any, scale: Any, zero_point: Any) -> list:
    """Float ``y`` quantized as ``QuantizeLinear`` with ``scale`` and ``zero_point``."""
    return _quantize_linear(op, run, y, scale, zero_point, axis=1)


def _channels_first(op: str, run: Run, channels_last: int) -> None:
    if channels_last:
        raise run.error(op, "channels_last=1 is not supported")


@imports("QLinearAdd", "QLinearMul")
def _qlinear_binary(op: str, run: Run, a: Any, a_scale: Any, a_zp: Any, b: Any, b_scale: Any,
                    b_zp: Any, c_scale: Any, c_zp: Any = None) -> list:
    x = _dequantized(op, run, a, a_scale, a_zp, 1)
    y = _dequantized(op, run, b, b_scale, b_zp, 1)
    return _requantized(op, run, x + y if op == "QLinearAdd" else x * y, c_scale, c_zp)


@imports("QLinearConcat")
def _qlinear_concat(op: str, run: Run, y_scale: Any, y_zp: Any, *inputs: Any,
                    axis: int = 0) -> list:
    if len(inputs) % 3:
        raise run.error(op, "inputs must come in (X, scale, zero point) triples")
    parts = [_dequantized(op, run, *inputs[i:i + 3], 1) for i in range(0, len(inputs), 3)]
    return _requantized(op, run, mt.cat(parts, axis), y_scale, y_zp)


@imports("QLinearAveragePool")
def _qlinear_avg_pool(op: str, run: Run, x: Any, x_scale: Any, x_zp: Any, y_scale: Any,
                      y_zp: Any = None, channels_last: int = 0, **attrs: Any) -> list:
    _channels_first(op, run, channels_last)
    (y,) = _avg_pool(op, run, _dequantized(op, run, x, x_scale, x_zp, 1), **attrs)
    return _requantized(op, run, y, y_scale, y_zp)


@imports("QLinearGlobalAveragePool")
def _qlinear_global_avg_pool(op: str, run: Run, x: Any, x_scale: Any, x_zp: Any, y_scale: Any,
                             y_zp: Any = None, channels_last: int = 0) -> list:
    _channels_first(op, run, channels_last)
    x = _dequantized(op, run, x, x_scale, x_zp, 1)
    return _requantized(op, run, mt.mean(x, tuple(range(2, x.ndim)), keepdim=True), y_scale,
                        y_zp)


@imports("QLinearSigmoid", "QLinearLeakyRelu")
def _qlinear_activation(op: str, run: Run, x: Any, x_scale: Any, x_zp: Any, y_scale: Any,
                        y_zp: Any = None, alpha: float = 0.01) -> list:
    x = _dequantized(op, run, x, x_scale, x_zp, 1)
    y = mt.sigmoid(x) if op == "QLinearSigmoid" else mt.nn.functional.leaky_relu(x, alpha)
    return _requantized(op, run, y, y_scale, y_zp)
