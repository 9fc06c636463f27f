"""ONNX translations of quantizing and dequantizing (``mbtorch.core.ops.quantize``): the QDQ
form onnxruntime fuses into integer kernels (``QLinearConv``, ``QLinearMatMul``).

- ``quantize`` -> ``QuantizeLinear`` (per tensor, or per axis with a 1-D scale), its zero
  point an initializer of the storage type (int8 or uint8). ONNX has no int32
  ``QuantizeLinear`` output in any opset, so quantizing to ``qint32`` is refused.
- ``dequantize`` -> ``DequantizeLinear`` (int32 values with a non-zero zero point, which
  ONNX does not define, are spelled out as ``(float(v) - zero_point) * scale``).
- ``fake_quantize`` -> ``QuantizeLinear`` + ``DequantizeLinear`` in the smallest type whose
  range holds ``[quant_min, quant_max]`` (uint8, int8; uint16/int16 from opset 21), with a
  ``Clip`` to a narrower range such as ``reduce_range``'s 0..127 (as ``torch.onnx`` writes
  0..127); wider ranges are refused, naming the node.

In ONNX a quantized value is its integers: a quantized view, ``cat`` or ``max_pool`` result
has its storage type (int8, uint8), and a model that returns a quantized tensor has an
integer output (its ``int_repr()``; the scale and zero point stay in the graph's nodes).

ONNX divides by the scale where PyTorch (and mbtorch) multiply by its reciprocal, so a value
that lies exactly halfway between two steps can round one step apart; nothing else differs.
"""

from __future__ import annotations

__all__: list[str] = []

import numpy as np
from onnx import TensorProto, numpy_helper

from ..core.op import Op
from ._context import Ctx, translates

_ONNX = {"int8": TensorProto.INT8, "uint8": TensorProto.UINT8, "int16": TensorProto.INT16,
         "uint16": TensorProto.UINT16, "int32": TensorProto.INT32}
# the QuantizeLinear output types, narrowest first, with the opset that brought them
_QTYPES = (("uint8", 0, 255, 13), ("int8", -128, 127, 13), ("uint16", 0, 65535, 21),
           ("int16", -32768, 32767, 21))


def _storage_name(dtype: object) -> str:
    """The integer type a graph value holds (a quantized view's dtype is its variant)."""
    storage = getattr(dtype, "_storage", None)
    return (storage or dtype).name


def _initializer(c: Ctx, name: str) -> np.ndarray | None:
    """The constant data behind an ONNX name (an initializer, or a ``Reshape`` of one to a
    constant shape: a 0-d view of a scale), or None for a value the graph computes."""
    for init in reversed(c.b.initializers):
        if init.name == name:
            return numpy_helper.to_array(init)
    for node in reversed(c.b.nodes):
        if name in node.output:
            if node.op_type != "Reshape":
                return None
            data, shape = (_initializer(c, i) for i in node.input[:2])
            if data is None or shape is None or -1 in shape.tolist():
                return None
            return data.reshape(shape.tolist())
    return None


def _scale(c: Ctx, i: int) -> str:
    """Argument ``i`` (the scale) as float32, the type QuantizeLinear's scale has here."""
    name = c.input(i)
    if c.value(i).dtype.name == "float32":
        return name
    data = _initializer(c, name)
    if data is not None:
        return c.b.const(data.astype(np.float32), "scale")
    return c.b.op1("Cast", [name], to=TensorProto.FLOAT)


def _zero_point(c: Ctx, i: int, storage: str) -> str:
    """Argument ``i`` (the zero point) as a tensor of the ``storage`` type: a new initializer
    when it is constant (what onnxruntime's integer fusions need), else a ``Cast``."""
    name = c.input(i)
    data = _initializer(c, name)
    if data is None:
        return c.b.op1("Cast", [name], to=_ONNX[storage])
    info = np.iinfo(storage)
    if np.any(data != np.round(data)) or np.any(data < info.min) or np.any(data > info.max):
        c.unsupported(f"the zero point {data.tolist()} does not fit in {storage}")
    return c.b.const(data.astype(storage), "zero_point")


def _axis(c: Ctx, i: int) -> dict:
    axis = c.arg(i)
    return {} if axis is None else {"axis": int(axis)}


@translates(Op.QUANTIZE)
def _quantize(c: Ctx) -> list[str]:
    storage = c.arg(4).name
    if storage not in ("int8", "uint8"):
        c.unsupported(f"quantizing to {storage} (qint32): ONNX's QuantizeLinear has no "
                      f"{storage} output in any opset; keep qint32 values (a bias) in "
                      "floating point for export")
    x = _float32(c, 0)
    return [c.b.op1("QuantizeLinear", [x, _scale(c, 1), _zero_point(c, 2, storage)],
                    **_axis(c, 3))]


@translates(Op.DEQUANTIZE)
def _dequantize(c: Ctx) -> list[str]:
    b, storage = c.b, _storage_name(c.value(0).dtype)
    if storage in ("int8", "uint8"):
        return [b.op1("DequantizeLinear", [c.input(0), _scale(c, 1),
                                           _zero_point(c, 2, storage)], **_axis(c, 3))]
    if storage != "int32":
        c.unsupported(f"dequantizing {storage} values")
    zp = _initializer(c, c.input(2))
    if zp is not None and not np.any(zp):  # ONNX defines int32 values with zero point 0 only
        return [b.op1("DequantizeLinear", [c.input(0), _scale(c, 1)], **_axis(c, 3))]
    # mbtorch's own formula: (float32(v) - float32(zero_point)) * scale, along the axis
    values = b.op1("Cast", [c.input(0)], to=TensorProto.FLOAT)
    shift = b.op1("Cast", [_along(c, c.input(2), 3)], to=TensorProto.FLOAT)
    return [b.op1("Mul", [b.op1("Sub", [values, shift]), _along(c, _scale(c, 1), 3)])]


def _along(c: Ctx, name: str, axis_arg: int) -> str:
    """A per-axis parameter reshaped to broadcast along the axis of input 0."""
    axis = c.arg(axis_arg)
    if axis is None:
        return name
    shape = [-1 if d == axis else 1 for d in range(c.rank(0))]
    return c.b.op1("Reshape", [name, c.b.ints(shape, "shape")])


def _float32(c: Ctx, i: int) -> str:
    """Input ``i`` as float32, QuantizeLinear's input type (mbtorch quantizes in float32)."""
    name = c.input(i)
    if c.value(i).dtype.name == "float32":
        return name
    return c.b.op1("Cast", [name], to=TensorProto.FLOAT)


def _fake_storage(c: Ctx, lo: int, hi: int) -> tuple[str, int, int]:
    for name, qmin, qmax, since in _QTYPES:
        if qmin <= lo and hi <= qmax:
            if c.b.opset < since:
                c.unsupported(f"fake quantization to [{lo}, {hi}] needs {name} QuantizeLinear, "
                              f"which ONNX has from opset {since} (exporting with opset "
                              f"{c.b.opset}; pass opset_version={since})")
            return name, qmin, qmax
    c.unsupported(f"fake quantization to [{lo}, {hi}]: ONNX's QuantizeLinear holds at most 16 "
                  "bits (quant_min/quant_max must lie within [-32768, 65535])")
    raise AssertionError  # unreachable: unsupported() raises


def _clip(c: Ctx, q: str, storage: str, lo: int, hi: int) -> str:
    """``q`` clipped to ``[lo, hi]``; 16-bit values through int32 (onnxruntime has no 16-bit
    ``Clip`` kernel)."""
    b = c.b
    if storage in ("int8", "uint8"):
        bounds = [b.const(np.asarray(v, dtype=storage), "bound") for v in (lo, hi)]
        return b.op1("Clip", [q, *bounds])
    bounds = [b.const(np.asarray(v, dtype=np.int32), "bound") for v in (lo, hi)]
    wide = b.op1("Clip", [b.op1("Cast", [q], to=TensorProto.INT32), *bounds])
    return b.op1("Cast", [wide], to=_ONNX[storage])


@translates(Op.FAKE_QUANTIZE)
def _fake_quantize(c: Ctx) -> list[str]:
    b = c.b
    lo, hi = int(c.arg(4)), int(c.arg(5))
    storage, qmin, qmax = _fake_storage(c, lo, hi)
    scale, zp, axis = _scale(c, 1), _zero_point(c, 2, storage), _axis(c, 3)
    q = b.op1("QuantizeLinear", [_float32(c, 0), scale, zp], **axis)
    if (lo, hi) != (qmin, qmax):  # a narrower range (reduce_range): clip the integers
        q = _clip(c, q, storage, lo, hi)
    out = b.op1("DequantizeLinear", [q, scale, zp], **axis)
    if c.out_dtype.name != "float32":
        out = b.op1("Cast", [out], to=c.out_type)
    return [out]
