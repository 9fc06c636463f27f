"""Quantizing, dequantizing and fake quantization (``mbtorch.core.ops.quantize``), reached
through ``quantize_per_tensor(...).int_repr()`` and friends; NumPy references that compute
as PyTorch's kernels do: ``x * (1/scale)`` with ``1/scale`` in float32, rounded half to even
(``np.rint``), the zero point added before rounding in one fused multiply-add when quantizing,
after rounding the float32 product when fake quantizing."""

from __future__ import annotations

import numpy as np

import mbtorch as mt
from mbtorch.core.op import Op

from ..samples import case
from . import Bad, Entry

__all__ = ["ENTRIES"]

_F32 = (mt.float32,)
_SHAPES = [case((5,)), case((3, 4)), case((2, 3, 4)), case(()), case((0, 3)), case((7, 1)),
           case((2, 2, 2, 3)), case((64,))]


def _fake_case(shape, scale, zero_point, quant_min, quant_max):
    return case(shape, scale=scale, zero_point=zero_point, quant_min=quant_min,
                quant_max=quant_max)


_FAKE = [_fake_case((4, 5), 0.05, 3, -128, 127), _fake_case((3, 6), 0.2, 0, 0, 15),
         _fake_case((2, 3, 4), 0.01, -5, -20, 20), _fake_case((), 0.1, 1, 0, 255),
         _fake_case((0, 2), 0.1, 0, -128, 127), _fake_case((8,), 0.5, 2, 0, 7),
         _fake_case((2, 5), 1e-3, 0, -127, 127), _fake_case((3, 1, 3), 0.25, 128, 0, 255)]


def _scaled(x, scale):
    return x.astype(np.float32) * (np.float32(1) / np.float32(scale))


def _quantize(x, scale, zero_point, lo, hi, dtype):
    # x * (1/scale) + zero_point as one fused multiply-add, rounded once to float32
    inv = np.float64(np.float32(1) / np.float32(scale))
    fused = np.float32(x.astype(np.float32).astype(np.float64) * inv + zero_point)
    return np.clip(np.rint(fused), lo, hi).astype(dtype)


def _int_repr(x):
    return _quantize(x, 0.05, 3, -128, 127, np.int8)


def _dequantized(x):
    q = _quantize(x, 0.05, 3, 0, 255, np.uint8)
    return (q.astype(np.float32) - np.float32(3)) * np.float32(0.05)


def _fake(x, scale, zero_point, quant_min, quant_max):
    r = np.rint(_scaled(x, scale)) + np.float32(zero_point)
    return (np.clip(r, quant_min, quant_max) - np.float32(zero_point)) * np.float32(scale)


ENTRIES = [
    Entry("quantize_per_tensor (int_repr)", Op.QUANTIZE,
          "expr:mbtorch.quantize_per_tensor(x0, 0.05, 3, mbtorch.qint8).int_repr()", _int_repr,
          _SHAPES, _F32, out=mt.int8, grad=False,
          errors=(Bad(((3,),), {}, RuntimeError, "Quantize only works on Float Tensor",
                      dtype=mt.float64),)),
    Entry("dequantize", Op.DEQUANTIZE,
          "expr:mbtorch.quantize_per_tensor(x0, 0.05, 3, mbtorch.quint8).dequantize()",
          _dequantized, _SHAPES, _F32, out=mt.float32, grad=False),
    Entry("fake_quantize_per_tensor_affine", Op.FAKE_QUANTIZE,
          "mbtorch.fake_quantize_per_tensor_affine", _fake, _FAKE, _F32, grad=False,
          note="its gradient is the straight-through estimator, not the derivative that "
               "finite differences see; tests/core/test_quantized.py checks it against "
               "PyTorch"),
]
