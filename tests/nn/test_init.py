"""``nn.init``: PyTorch's fan and gain rules, each initialiser's distribution, and every layer's
default initialisation against torch's (same distribution, by a two-sample test)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats

import mbtorch as mt
from mbtorch.nn import init


@pytest.mark.parametrize("name,param", [("linear", None), ("conv2d", None), ("sigmoid", None),
                                        ("tanh", None), ("relu", None), ("leaky_relu", None),
                                        ("leaky_relu", 0.2), ("leaky_relu", math.sqrt(5)),
                                        ("selu", None), ("conv_transpose2d", None)])
def test_calculate_gain_matches_torch(name, param):
    torch = pytest.importorskip("torch")
    assert init.calculate_gain(name, param) == pytest.approx(
        torch.nn.init.calculate_gain(name, param), rel=1e-12)


def test_calculate_gain_errors():
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="not a valid number"):
        init.calculate_gain("leaky_relu", "x")


@pytest.mark.parametrize("shape", [(3, 4), (5, 3, 2, 2), (4, 2, 3), (7, 1, 1, 1, 2)])
def test_fans_match_torch(shape):
    torch = pytest.importorskip("torch")
    expected = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    assert init._calculate_fan_in_and_fan_out(mt.empty(shape)) == expected


def test_fans_need_two_dims():
    with pytest.raises(ValueError, match="fewer than 2"):
        init._calculate_fan_in_and_fan_out(mt.empty(3))
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_uniform_(mt.empty(3, 3), mode="fan_avg")


def _sample(fn, shape=(200, 300), **kw):
    mt.manual_seed(0)
    t = mt.empty(shape)
    out = fn(t, **kw)
    assert out is t  # in place, returning the tensor
    return t.numpy().ravel().astype(np.float64), t


def _is_uniform(x, lo, hi):
    assert x.min() >= lo and x.max() <= hi
    assert scipy.stats.kstest(x, scipy.stats.uniform(lo, hi - lo).cdf).pvalue > 1e-3


def _is_normal(x, mean, std):
    assert scipy.stats.kstest(x, scipy.stats.norm(mean, std).cdf).pvalue > 1e-3


def test_uniform_normal_constant():
    _is_uniform(_sample(init.uniform_, a=-2.0, b=3.0)[0], -2.0, 3.0)
    _is_uniform(_sample(init.uniform_)[0], 0.0, 1.0)
    _is_normal(_sample(init.normal_, mean=1.5, std=0.3)[0], 1.5, 0.3)
    assert (_sample(init.constant_, val=0.7)[0] == np.float32(0.7)).all()
    assert (_sample(init.zeros_)[0] == 0).all() and (_sample(init.ones_)[0] == 1).all()


@pytest.mark.parametrize("gain", [1.0, 2.5])
def test_xavier(gain):
    shape = (40, 30, 3)  # fan_in 90, fan_out 120
    bound = gain * math.sqrt(6.0 / 210)
    _is_uniform(_sample(init.xavier_uniform_, shape, gain=gain)[0], -bound, bound)
    _is_normal(_sample(init.xavier_normal_, shape, gain=gain)[0], 0, gain * math.sqrt(2 / 210))


@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
@pytest.mark.parametrize("nonlinearity,a", [("relu", 0), ("leaky_relu", 0.1),
                                            ("leaky_relu", math.sqrt(5)), ("linear", 0)])
def test_kaiming(mode, nonlinearity, a):
    shape = (60, 20, 2, 2)
    fan = 80 if mode == "fan_in" else 240
    std = init.calculate_gain(nonlinearity, a) / math.sqrt(fan)
    kw = dict(a=a, mode=mode, nonlinearity=nonlinearity)
    _is_uniform(_sample(init.kaiming_uniform_, shape, **kw)[0], -std * math.sqrt(3),
                std * math.sqrt(3))
    _is_normal(_sample(init.kaiming_normal_, shape, **kw)[0], 0, std)
    empty = mt.empty(0, 3)
    assert init.kaiming_uniform_(empty) is empty  # zero-size: nothing to do, no error


@pytest.mark.parametrize("mean,std,a,b", [(0.0, 1.0, -2.0, 2.0), (1.0, 0.5, 0.5, 3.0),
                                          (0.0, 0.02, -0.04, 0.04)])
def test_trunc_normal(mean, std, a, b):
    x, _ = _sample(init.trunc_normal_, mean=mean, std=std, a=a, b=b)
    assert x.min() >= a and x.max() <= b
    dist = scipy.stats.truncnorm((a - mean) / std, (b - mean) / std, loc=mean, scale=std)
    assert scipy.stats.kstest(x, dist.cdf).pvalue > 1e-3
    with pytest.raises(ValueError):
        init.trunc_normal_(mt.empty(3), a=1.0, b=0.0)


@pytest.mark.parametrize("shape,gain", [((6, 6), 1.0), ((4, 9), 2.0), ((10, 3), 1.0),
                                        ((4, 2, 3), 0.5)])
def test_orthogonal(shape, gain):
    mt.manual_seed(1)
    t = init.orthogonal_(mt.empty(shape), gain=gain)
    q = t.numpy().reshape(shape[0], -1).astype(np.float64) / gain
    small = q @ q.T if q.shape[0] <= q.shape[1] else q.T @ q
    np.testing.assert_allclose(small, np.eye(small.shape[0]), atol=1e-5)
    with pytest.raises(ValueError, match="2 or more"):
        init.orthogonal_(mt.empty(3))


def test_eye_and_dirac_match_torch():
    torch = pytest.importorskip("torch")
    np.testing.assert_array_equal(init.eye_(mt.empty(3, 5)).numpy(),
                                  torch.nn.init.eye_(torch.empty(3, 5)).numpy())
    for shape, groups in [((4, 2, 3), 1), ((6, 3, 3, 3), 2), ((2, 4, 1, 3, 3), 1)]:
        np.testing.assert_array_equal(
            init.dirac_(mt.empty(shape), groups).numpy(),
            torch.nn.init.dirac_(torch.empty(shape), groups).numpy())


LAYERS = [
    ("Linear", (64, 48), {}), ("Linear", (5, 300), {}), ("Bilinear", (20, 15, 30), {}),
    # enough output channels that a wrong bias bound shows in the bias alone
    ("Conv1d", (6, 200, 5), {}), ("Conv2d", (8, 256, 3), {}),
    ("Conv2d", (8, 256, 3), {"groups": 4}), ("ConvTranspose2d", (16, 240, 3), {}),
    ("ConvTranspose2d", (16, 240, 3), {"groups": 2}),
    ("Embedding", (100, 30), {}), ("Embedding", (100, 30), {"padding_idx": 3}),
    ("BatchNorm2d", (16,), {}), ("LayerNorm", (32,), {}), ("GroupNorm", (4, 16), {}),
    ("RNN", (10, 40), {}), ("LSTM", (10, 30), {"num_layers": 2}), ("GRU", (10, 30), {}),
    ("MultiheadAttention", (32, 4), {}),
    ("TransformerEncoderLayer", (16, 2, 40), {}),
]


@pytest.mark.parametrize("name,args,kw", LAYERS, ids=str)
def test_default_init_matches_torch(name, args, kw):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    mt.manual_seed(0)
    t = getattr(torch.nn, name)(*args, **kw)
    m = getattr(mt.nn, name)(*args, **kw)
    t_state, m_state = t.state_dict(), m.state_dict()
    assert list(m_state) == list(t_state)
    for key, tv in t_state.items():
        a = m_state[key].numpy().astype(np.float64).ravel()
        b = tv.numpy().astype(np.float64).ravel()
        if b.size and (b == b[0]).all():  # a constant initialisation: exactly that constant
            np.testing.assert_array_equal(a, b, err_msg=key)
            continue
        # for a uniform (excess kurtosis -1.2) the sample's extremes estimate the bound well
        if b.size >= 200 and scipy.stats.kurtosis(b) < -1:
            assert np.abs(a).max() <= np.abs(b).max() * 1.05 + 1e-12, key
        assert scipy.stats.ks_2samp(a, b).pvalue > 1e-4, key
    if kw.get("padding_idx") is not None:
        assert not m.weight.detach().numpy()[kw["padding_idx"]].any()
