"""FakeQuantize modules against PyTorch's on the same values: forward bit-exact, input
gradients exact (straight-through), scale / zero_point buffers and the observer statistics
after several steps; the toggles, per-channel, fused and fixed-qparams variants; state dicts;
bad arguments."""

from __future__ import annotations

import numpy as np
import pytest

import mbtorch as mt

torch = pytest.importorskip("torch")
tq = torch.ao.quantization

from mbtorch.ao.quantization import fake_quantize as FQ  # noqa: E402
from tests.ao._util import same, to_mt  # noqa: E402


def _steps(tfq, mfq, shape=(6, 5, 4), n=4, seed=0, scale=2.0):
    """Run ``n`` batches through both; compare output, input gradient and buffers each time."""
    g = torch.Generator().manual_seed(seed)
    for i in range(n):
        x = (torch.randn(shape, generator=g) * scale * (i + 1)).requires_grad_(True)
        ct = torch.randn(shape, generator=g)
        xm = to_mt(x, requires_grad=True)
        ty, my = tfq(x), mfq(xm)
        same(my, ty, f"step {i} forward")
        ty.backward(ct)
        my.backward(to_mt(ct))
        same(xm.grad, x.grad, f"step {i} input grad")
        same(mfq.scale, tfq.scale, f"step {i} scale")
        same(mfq.zero_point, tfq.zero_point, f"step {i} zero_point")
        if hasattr(tfq, "activation_post_process") and hasattr(tfq.activation_post_process,
                                                               "min_val"):
            same(mfq.activation_post_process.min_val, tfq.activation_post_process.min_val)
            same(mfq.activation_post_process.max_val, tfq.activation_post_process.max_val)


FACTORIES = ["default_fake_quant", "default_weight_fake_quant",
             "default_per_channel_weight_fake_quant", "default_histogram_fake_quant",
             "default_fused_act_fake_quant", "default_fused_wt_fake_quant",
             "default_fused_per_channel_wt_fake_quant", "fused_wt_fake_quant_range_neg_127_to_127",
             "fused_per_channel_wt_fake_quant_range_neg_127_to_127"]


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name", FACTORIES)
def test_default_fake_quants_match_torch(name):
    tfq, mfq = getattr(tq, name)(), getattr(FQ, name)()
    assert type(mfq).__name__ == type(tfq).__name__
    assert (mfq.quant_min, mfq.quant_max, mfq.ch_axis) == (tfq.quant_min, tfq.quant_max,
                                                           tfq.ch_axis)
    same(mfq.fake_quant_enabled, tfq.fake_quant_enabled)
    _steps(tfq, mfq, n=2 if "histogram" in name else 4)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("kwargs", [
    {"observer": tq.MovingAverageMinMaxObserver, "quant_min": 0, "quant_max": 15},
    {"observer": tq.MinMaxObserver, "dtype": torch.qint8, "quant_min": -8, "quant_max": 7,
     "qscheme": torch.per_tensor_symmetric},
    {"observer": tq.MovingAveragePerChannelMinMaxObserver, "ch_axis": 1,
     "dtype": torch.qint8, "qscheme": torch.per_channel_affine, "quant_min": -128,
     "quant_max": 127},
])
def test_custom_fake_quantize_matches_torch(kwargs):
    from mbtorch.ao.quantization import observer as O
    from tests.ao._util import kw_mt

    mk = kw_mt(kwargs)
    mk["observer"] = getattr(O, kwargs["observer"].__name__)
    _steps(tq.FakeQuantize(**kwargs), FQ.FakeQuantize(**mk), scale=0.7)


def test_fused_per_channel_symmetric_uses_cpp_qparams():
    """The fused module's symmetric scale is max(|min|/128, max/127) (ATen's
    ChooseQuantizationParams), not the observer's max(|min|, max)/127.5: both sides agree."""
    tfq, mfq = tq.default_fused_wt_fake_quant(), FQ.default_fused_wt_fake_quant()
    x = torch.tensor([-1.0, 0.25, 0.5])
    tfq(x)
    mfq(to_mt(x))
    same(mfq.scale, tfq.scale)
    np.testing.assert_allclose(float(mfq.scale[0]), 1.0 / 128, rtol=1e-7)


def test_fused_positive_only_and_constant_inputs():
    for x in (torch.rand(7) + 0.5, torch.zeros(7), torch.full((7,), -3.0)):
        for name in ("default_fused_act_fake_quant", "default_fused_wt_fake_quant"):
            tfq, mfq = getattr(tq, name)(), getattr(FQ, name)()
            ty, my = tfq(x), mfq(to_mt(x))
            same(my, ty, name)
            same(mfq.scale, tfq.scale, name)
            same(mfq.zero_point, tfq.zero_point, name)


def test_toggles_disable_observer_and_fake_quant():
    tfq, mfq = tq.default_fake_quant(), FQ.default_fake_quant()
    _steps(tfq, mfq, n=1)
    for fn in ("disable_observer", "disable_fake_quant"):
        getattr(tq, fn)(tfq)
        getattr(FQ, fn)(mfq)
    same(mfq.observer_enabled, tfq.observer_enabled)
    x = torch.randn(3, 4) * 10
    same(mfq(to_mt(x)), tfq(x))  # identity now
    FQ.enable_fake_quant(mfq)
    tq.enable_fake_quant(tfq)
    same(mfq(to_mt(x)), tfq(x))  # frozen scale, fake-quantized
    FQ.enable_observer(mfq)
    tq.enable_observer(tfq)
    _steps(tfq, mfq, n=1, seed=3)
    model = mt.nn.Sequential(FQ.default_fake_quant(), mt.nn.ReLU())
    model.apply(FQ.disable_observer)
    assert int(model[0].observer_enabled[0]) == 0


def test_fixed_qparams_fake_quant_matches_torch():
    for name in ("default_fixed_qparams_range_0to1_fake_quant",
                 "default_fixed_qparams_range_neg1to1_fake_quant"):
        tfq, mfq = getattr(tq, name)(), getattr(FQ, name)()
        x = torch.randn(20) * 2
        same(mfq(to_mt(x)), tfq(x), name)
        same(mfq.calculate_qparams()[0], tfq.calculate_qparams()[0])


def test_state_dict_keys_match_torch_and_load_per_channel():
    tfq = tq.default_per_channel_weight_fake_quant()
    tfq(torch.randn(5, 3))
    mfq = FQ.default_per_channel_weight_fake_quant()
    assert list(mfq.state_dict()) == list(tq.default_per_channel_weight_fake_quant()
                                          .state_dict())
    mfq.load_state_dict({k: to_mt(v) for k, v in tfq.state_dict().items()})
    same(mfq.scale, tfq.scale)
    same(mfq.zero_point, tfq.zero_point)
    FQ.disable_observer(mfq)
    tfq.disable_observer()
    x = torch.randn(5, 3)
    same(mfq(to_mt(x)), tfq(x))


def test_bad_arguments():
    with pytest.raises(AssertionError, match="quant_min must be less"):
        FQ.FakeQuantize(quant_min=10, quant_max=0)
    with pytest.raises(AssertionError, match="out of bound"):
        FQ.FakeQuantize(quant_min=-1, quant_max=255)  # quint8 starts at 0
    with pytest.raises(AssertionError, match="out of bound"):
        FQ.FakeQuantize(dtype=mt.qint8, quant_min=-128, quant_max=128)
    with pytest.raises(AssertionError, match="dtype"):
        FQ.FakeQuantize(dtype=mt.float32, quant_min=0, quant_max=255)
    from mbtorch.ao.quantization import observer as O

    with pytest.raises(AssertionError, match="MovingAverageMinMaxObserver"):
        FQ.FusedMovingAvgObsFakeQuantize(observer=O.MinMaxObserver)
    with pytest.raises(AssertionError, match="FixedQParamsObserver"):
        FQ.FixedQParamsFakeQuantize(observer=O.MinMaxObserver)
