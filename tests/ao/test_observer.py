"""Observers against PyTorch's on the same values: running min/max and (scale, zero_point)
bit-exact (values, shapes and dtypes); HistogramObserver's L2 range search on several
distributions; factories, state dicts and the errors for bad arguments."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import mbtorch as mt

torch = pytest.importorskip("torch")
tq = torch.ao.quantization

from mbtorch.ao.quantization import observer as O  # noqa: E402
from tests.ao._util import kw_mt, same, to_mt  # noqa: E402

PER_TENSOR_CONFIGS = [
    {},
    {"qscheme": torch.per_tensor_symmetric},
    {"dtype": torch.qint8},
    {"dtype": torch.qint8, "qscheme": torch.per_tensor_symmetric},
    {"reduce_range": True},
    {"dtype": torch.qint8, "reduce_range": True},
    {"quant_min": 0, "quant_max": 127},
    {"dtype": torch.qint8, "qscheme": torch.per_tensor_symmetric, "quant_min": -127,
     "quant_max": 127, "eps": 2**-12},
    {"qscheme": torch.per_tensor_symmetric, "quant_min": 0, "quant_max": 15},
    {"dtype": torch.qint32},
]

PER_CHANNEL_CONFIGS = [
    {},
    {"qscheme": torch.per_channel_symmetric},
    {"dtype": torch.qint8, "qscheme": torch.per_channel_symmetric},
    {"dtype": torch.qint8, "qscheme": torch.per_channel_symmetric, "ch_axis": 1},
    {"ch_axis": 2, "reduce_range": True},
    {"dtype": torch.quint8, "qscheme": torch.per_channel_affine_float_qparams},
    {"dtype": torch.qint8, "quant_min": -127, "quant_max": 127, "eps": 2**-12},
]


def _batches(seed: int, shape: tuple = (4, 6, 5)) -> list:
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(shape, generator=g) * s + o
            for s, o in ((1.0, 0.0), (3.0, 1.0), (0.5, -2.0), (2.0, 0.3))]


def _run(tobs, mobs, batches) -> None:
    for b in batches:
        out = mobs(to_mt(b))
        tobs(b)
        np.testing.assert_array_equal(out.numpy(), b.numpy())  # observers pass values through


def _compare(tobs, mobs, what: str) -> None:
    same(mobs.min_val, tobs.min_val, what + " min_val")
    same(mobs.max_val, tobs.max_val, what + " max_val")
    ts, tz = tobs.calculate_qparams()
    ms, mz = mobs.calculate_qparams()
    same(ms, ts, what + " scale")
    same(mz, tz, what + " zero_point")
    assert (mobs.quant_min, mobs.quant_max) == (tobs.quant_min, tobs.quant_max)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("cls", ["MinMaxObserver", "MovingAverageMinMaxObserver"])
@pytest.mark.parametrize("cfg", PER_TENSOR_CONFIGS)
def test_per_tensor_observers_match_torch(cls, cfg):
    tobs, mobs = getattr(tq, cls)(**cfg), getattr(O, cls)(**kw_mt(cfg))
    _run(tobs, mobs, _batches(0))
    _compare(tobs, mobs, f"{cls}({cfg})")


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("cls", ["PerChannelMinMaxObserver",
                                 "MovingAveragePerChannelMinMaxObserver"])
@pytest.mark.parametrize("cfg", PER_CHANNEL_CONFIGS)
def test_per_channel_observers_match_torch(cls, cfg):
    tobs, mobs = getattr(tq, cls)(**cfg), getattr(O, cls)(**kw_mt(cfg))
    _run(tobs, mobs, _batches(1))
    _compare(tobs, mobs, f"{cls}({cfg})")


def test_moving_average_constant_and_positive_only_inputs():
    tobs = tq.MovingAverageMinMaxObserver(averaging_constant=0.3)
    mobs = O.MovingAverageMinMaxObserver(averaging_constant=0.3)
    _run(tobs, mobs, [torch.rand(10) + 1.0, torch.rand(10) * 4 + 2.0])
    _compare(tobs, mobs, "positive inputs")


def test_constant_and_all_zero_inputs():
    for value in (0.0, 2.5, -1.0):
        tobs, mobs = tq.MinMaxObserver(), O.MinMaxObserver()
        _run(tobs, mobs, [torch.full((3, 3), value)])
        _compare(tobs, mobs, f"constant {value}")


def test_weight_default_factories_match_torch():
    w = torch.randn(8, 3, 3, 3)
    for name in ("default_observer", "default_weight_observer",
                 "default_per_channel_weight_observer", "weight_observer_range_neg_127_to_127",
                 "per_channel_weight_observer_range_neg_127_to_127",
                 "default_float_qparams_observer"):
        tobs, mobs = getattr(tq, name)(), getattr(O, name)()
        assert (mobs.dtype is mt_dtype(tobs.dtype)) and (mobs.qscheme is mt_dtype(tobs.qscheme))
        _run(tobs, mobs, [w])
        _compare(tobs, mobs, name)


def mt_dtype(v):
    from tests.ao._util import mt_of

    return mt_of(v)


HIST_CASES = {
    "normal": lambda g: [torch.randn(2000, generator=g)],
    "uniform": lambda g: [torch.rand(1500, generator=g) * 6 - 1],
    "outliers": lambda g: [torch.cat([torch.randn(3000, generator=g),
                                      torch.tensor([40.0, -25.0])])],
    "growing_range": lambda g: [torch.randn(500, generator=g),
                                torch.randn(500, generator=g) * 4,
                                torch.randn(500, generator=g) * 0.5 + 6],
    "relu_like": lambda g: [torch.relu(torch.randn(1000, generator=g)) for _ in range(3)],
    "constant_then_spread": lambda g: [torch.full((50,), 0.7), torch.randn(300, generator=g)],
}


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("case", sorted(HIST_CASES))
@pytest.mark.parametrize("cfg", [{}, {"reduce_range": True},
                                 {"dtype": torch.qint8, "qscheme": torch.per_tensor_symmetric},
                                 {"bins": 256, "quant_min": 0, "quant_max": 127}])
def test_histogram_observer_matches_torch(case, cfg):
    """The histogram is compared to 1e-5 relative (PyTorch and NumPy may sum the re-binned
    weights in a different order); min/max exactly; scale to 1e-5 relative and the zero point
    exactly (the L2 search makes the same choices)."""
    batches = HIST_CASES[case](torch.Generator().manual_seed(7))
    tobs, mobs = tq.HistogramObserver(**cfg), O.HistogramObserver(**kw_mt(cfg))
    _run(tobs, mobs, batches)
    same(mobs.min_val, tobs.min_val, "min_val")
    same(mobs.max_val, tobs.max_val, "max_val")
    np.testing.assert_allclose(mobs.histogram.numpy(), tobs.histogram.numpy(), rtol=1e-5,
                               atol=1e-4)
    ts, tz = tobs.calculate_qparams()
    ms, mz = mobs.calculate_qparams()
    np.testing.assert_allclose(ms.numpy(), ts.numpy(), rtol=1e-5)
    same(mz, tz, "zero_point")


def test_histogram_ignores_inf_with_warning():
    tobs, mobs = tq.HistogramObserver(), O.HistogramObserver()
    x = torch.tensor([1.0, float("inf"), -2.0, 0.5])
    with pytest.warns(UserWarning, match="inf"):
        mobs(to_mt(x))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tobs(x)
    same(mobs.min_val, tobs.min_val)
    same(mobs.max_val, tobs.max_val)


def test_uncalibrated_observers_return_defaults_with_warning():
    for mobs in (O.MinMaxObserver(), O.PerChannelMinMaxObserver(), O.HistogramObserver()):
        with pytest.warns(UserWarning, match="must run observer"):
            s, z = mobs.calculate_qparams()
        assert s.tolist() == [1.0] and z.tolist() == [0]


def test_empty_input_is_passed_through_unobserved():
    mobs = O.MinMaxObserver()
    out = mobs(mt.zeros(0, 3))
    assert out.shape == (0, 3) and float(mobs.min_val) == float("inf")


def test_state_dict_keys_match_torch_and_load_resizes_per_channel():
    for cls, cfg in (("MinMaxObserver", {}), ("PerChannelMinMaxObserver", {}),
                     ("HistogramObserver", {"bins": 16})):
        tobs, mobs = getattr(tq, cls)(**cfg), getattr(O, cls)(**cfg)
        assert list(mobs.state_dict()) == list(tobs.state_dict())
        tobs(torch.randn(5, 7))
        fresh = getattr(O, cls)(**cfg)
        fresh.load_state_dict({k: to_mt(v) for k, v in tobs.state_dict().items()})
        same(fresh.min_val, tobs.min_val, cls)
        same(fresh.max_val, tobs.max_val, cls)
        s, z = fresh.calculate_qparams()
        ts, tz = tobs.calculate_qparams()
        np.testing.assert_allclose(s.numpy(), ts.numpy(), rtol=1e-6)
        same(z, tz, cls)


def test_load_observer_state_dict_round_trip():
    src = mt.nn.Sequential(mt.nn.Linear(3, 3))
    src.activation_post_process = O.PerChannelMinMaxObserver()
    src.activation_post_process(mt.randn(4, 6))
    saved = O.get_observer_state_dict(src)
    assert sorted(saved) == ["activation_post_process.eps", "activation_post_process.max_val",
                             "activation_post_process.min_val"]
    dst = mt.nn.Sequential(mt.nn.Linear(3, 3))
    dst.activation_post_process = O.PerChannelMinMaxObserver()
    O.load_observer_state_dict(dst, saved)
    assert dst.activation_post_process.min_val.tolist() == saved[
        "activation_post_process.min_val"].tolist()


def test_with_args_and_with_callable_args():
    ctor = O.MinMaxObserver.with_args(dtype=mt.qint8).with_args(quant_min=-10, quant_max=10)
    a, b = ctor(), ctor()
    assert a is not b and a.dtype is mt.qint8 and (a.quant_min, a.quant_max) == (-10, 10)
    calls = []
    ctor2 = O.MinMaxObserver.with_callable_args(eps=lambda: calls.append(1) or 0.5)
    assert float(ctor2().eps[0]) == 0.5 and float(ctor2().eps[0]) == 0.5 and len(calls) == 2
    assert "MinMaxObserver" in repr(ctor)


def test_placeholder_recording_noop_fixed():
    p = O.default_dynamic_quant_observer()
    assert p.dtype is mt.quint8 and p.is_dynamic and (p.quant_min, p.quant_max) == (0, 255)
    with pytest.raises(Exception, match="should not be called for PlaceholderObserver"):
        p.calculate_qparams()
    r = O.RecordingObserver()
    x = mt.randn(3)
    r(x)
    assert r.get_tensor_value()[0].tolist() == x.tolist()
    assert O.NoopObserver().dtype is mt.float16
    f = O.default_fixed_qparams_range_neg1to1_observer()
    s, z = f.calculate_qparams()
    ts, tz = tq.default_fixed_qparams_range_neg1to1_observer().calculate_qparams()
    same(s, ts)
    same(z, tz)


# -- bad input ---------------------------------------------------------------------------------

def test_bad_dtype_names_the_argument():
    with pytest.raises(AssertionError, match="dtype"):
        O.MinMaxObserver(dtype=mt.float32)
    with pytest.raises(AssertionError):
        tq.MinMaxObserver(dtype=torch.float32)  # the same exception type as PyTorch


def test_bad_qscheme_for_observer_kind():
    with pytest.raises(NotImplementedError, match="qscheme"):
        O.MinMaxObserver(qscheme=mt.per_channel_affine)
    with pytest.raises(NotImplementedError, match="qscheme"):
        O.PerChannelMinMaxObserver(qscheme=mt.per_tensor_affine)
    with pytest.raises(NotImplementedError, match="qscheme"):
        O.HistogramObserver(qscheme=mt.per_channel_symmetric)


def test_bad_quant_range():
    with pytest.raises(AssertionError, match="include 0"):
        O.MinMaxObserver(quant_min=1, quant_max=10)
    with pytest.raises(AssertionError, match="strictly less"):
        O.MinMaxObserver(quant_min=0, quant_max=0)
    with pytest.raises(AssertionError, match="256"):
        O.MinMaxObserver(dtype=mt.qint8, quant_min=-200, quant_max=200)


def test_unsupported_combinations_raise_like_torch():
    with pytest.raises(NotImplementedError, match="reduce range"):
        O.MinMaxObserver(qscheme=mt.per_tensor_symmetric, reduce_range=True)
    with pytest.raises(NotImplementedError, match="dynamic"):
        O.MovingAverageMinMaxObserver(is_dynamic=True)
    with pytest.raises(NotImplementedError, match="dynamic"):
        O.PerChannelMinMaxObserver(is_dynamic=True)
    with pytest.raises(ValueError, match="bins"):
        O.HistogramObserver(bins=0)


def test_min_greater_than_max_is_rejected():
    mobs = O.MinMaxObserver()
    mobs.min_val.copy_(mt.tensor(2.0))
    mobs.max_val.copy_(mt.tensor(1.0))
    with pytest.raises(AssertionError, match="less than max"):
        mobs.calculate_qparams()
