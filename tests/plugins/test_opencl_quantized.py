"""Quantized tensors on ``opencl``: quantizing, dequantizing and fake quantization decompose
onto the device's kernels and give exactly the cpu backend's integers and values (which
tests/core/test_quantized.py checks against PyTorch); layout ops keep the quantization and
math is refused as on cpu. Skipped, with the reason, where there is no usable OpenCL device."""

from __future__ import annotations

import numpy as np
import pytest

import mbtorch as mt

from .test_opencl import _OK, _WHY, DEV

pytestmark = pytest.mark.skipif(not _OK, reason=f"no usable OpenCL device: {_WHY}")

RNG = np.random.default_rng(7)


def _values() -> np.ndarray:
    ties = (np.arange(-30, 30) + 0.5).astype(np.float32) * np.float32(0.1)
    return np.concatenate([RNG.normal(0, 5, 300).astype(np.float32), ties,
                           np.float32([400, -400, 0, 1, -1, 2])]).reshape(6, -1)


@pytest.mark.parametrize("dtype,zero_point", [(mt.qint8, 3), (mt.quint8, 128), (mt.qint32, -5)])
def test_quantize_per_tensor_matches_cpu(dtype, zero_point):
    x = _values()
    q = mt.quantize_per_tensor(mt.tensor(x, device=DEV), 0.1, zero_point, dtype)
    ref = mt.quantize_per_tensor(mt.tensor(x), 0.1, zero_point, dtype)
    assert q.device.type == "opencl" and q.dtype is dtype
    np.testing.assert_array_equal(q.int_repr().cpu().numpy(), ref.int_repr().numpy())
    np.testing.assert_array_equal(q.dequantize().cpu().numpy(), ref.dequantize().numpy())


def test_quantize_per_channel_matches_cpu():
    x = _values()
    scales, points = mt.linspace(0.02, 0.3, 6), mt.arange(6) - 3
    q = mt.quantize_per_channel(mt.tensor(x, device=DEV), scales.to(DEV), points.to(DEV), 0,
                                mt.qint8)
    ref = mt.quantize_per_channel(mt.tensor(x), scales, points, 0, mt.qint8)
    np.testing.assert_array_equal(q.int_repr().cpu().numpy(), ref.int_repr().numpy())
    np.testing.assert_array_equal(q.dequantize().cpu().numpy(), ref.dequantize().numpy())


def test_fake_quantize_and_its_gradient_match_cpu():
    x = _values()
    out = {}
    for dev in ("cpu", DEV):
        t = mt.tensor(x, device=dev, requires_grad=True)
        y = mt.fake_quantize_per_tensor_affine(t, 0.1, 2, -20, 20)
        (y * mt.arange(y.numel(), device=dev).reshape(y.shape)).sum().backward()
        out[dev] = (y.detach().cpu().numpy(), t.grad.cpu().numpy())
    for a, b in zip(out["cpu"], out[DEV]):
        np.testing.assert_array_equal(a, b)


def test_layout_ops_and_refusals_on_opencl():
    q = mt.quantize_per_tensor(mt.tensor(_values(), device=DEV), 0.1, 0, mt.quint8)
    ref = q.cpu()
    pooled = mt.nn.functional.max_pool2d(q[None], 2)
    np.testing.assert_array_equal(pooled.int_repr().cpu().numpy(),
                                  mt.nn.functional.max_pool2d(ref[None], 2).int_repr().numpy())
    np.testing.assert_array_equal(q.t().contiguous().int_repr().cpu().numpy(),
                                  ref.t().contiguous().int_repr().numpy())
    with pytest.raises(NotImplementedError, match="QuantizedOPENCL"):
        q + q
