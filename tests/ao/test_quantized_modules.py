"""Quantized modules and functionals against PyTorch's (x86/fbgemm engine) on the same integer
weights, inputs and qparams.

mbtorch computes every quantized op in QDQ form (dequantize -> float op -> quantize with the
output qparams); PyTorch's kernels multiply int8 by uint8, accumulate in int32 and requantize
once (float bias added at requantization). The two differ only by float rounding before the
final round-half-even, so the integer representations agree to within 1, and almost always
exactly; each test checks both the bound and that mismatches are rare.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.ao.nn.intrinsic.quantized as tnniq
import torch.ao.nn.quantized as tnnq
import torch.ao.nn.quantized.dynamic as tnnqd
import torch.ao.nn.quantized.functional as tqF

import mbtorch as mt
import mbtorch.ao.nn.intrinsic.quantized as nniq
import mbtorch.ao.nn.quantized as nnq
import mbtorch.ao.nn.quantized.dynamic as nnqd
import mbtorch.ao.nn.quantized.functional as qF
from mbtorch import nn

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")

torch.backends.quantized.engine = "x86"


# -- conversions between the two frameworks ----------------------------------------------------
def mt_q(tq: torch.Tensor) -> mt.Tensor:
    """The mbtorch quantized tensor with the same integers and qparams as ``tq``."""
    ints = mt.from_numpy(tq.int_repr().numpy().copy())
    if tq.qscheme() in (torch.per_tensor_affine, torch.per_tensor_symmetric):
        return mt._make_per_tensor_quantized_tensor(ints, tq.q_scale(), tq.q_zero_point())
    return mt._make_per_channel_quantized_tensor(
        ints, mt.from_numpy(tq.q_per_channel_scales().numpy().copy()),
        mt.from_numpy(tq.q_per_channel_zero_points().numpy().copy()), tq.q_per_channel_axis())


def mt_f(t: torch.Tensor) -> mt.Tensor:
    return mt.from_numpy(t.detach().numpy().copy())


def ints(q) -> np.ndarray:
    return np.asarray(q.int_repr().numpy(), dtype=np.int64)


def assert_int_close(q_mb, q_torch, max_mismatch: float = 0.02) -> None:
    """Same qparams, integers within 1, and at most ``max_mismatch`` of them off by 1."""
    assert q_mb.q_scale() == pytest.approx(q_torch.q_scale(), rel=1e-6)
    assert q_mb.q_zero_point() == q_torch.q_zero_point()
    a, b = ints(q_mb), ints(q_torch)
    assert a.shape == b.shape
    diff = np.abs(a - b)
    assert diff.max(initial=0) <= 1, diff.max()
    assert (diff > 0).mean() <= max_mismatch


def q_input(shape, scale=0.05, zero_point=64, seed=0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.quantize_per_tensor(torch.randn(*shape, generator=g) * 2, scale, zero_point,
                                     torch.quint8)


def q_weight(shape, per_channel: bool, seed=1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(*shape, generator=g) * 0.3
    if per_channel:
        scales = w.abs().amax(dim=tuple(range(1, w.ndim))) / 127
        return torch.quantize_per_channel(w, scales.double(), torch.zeros(shape[0],
                                          dtype=torch.long), 0, torch.qint8)
    return torch.quantize_per_tensor(w, float(w.abs().max()) / 127, 0, torch.qint8)


def bias(n, seed=2) -> torch.Tensor:
    return torch.randn(n, generator=torch.Generator().manual_seed(seed))


# -- weighted modules ----------------------------------------------------------------------------
@pytest.mark.parametrize("per_channel", [False, True])
@pytest.mark.parametrize("with_bias", [True, False])
def test_linear_matches_torch(per_channel, with_bias):
    wq, b = q_weight((24, 40), per_channel), bias(24) if with_bias else None
    ref = tnnq.Linear(40, 24, bias_=with_bias)
    ref.set_weight_bias(wq, b)
    ref.scale, ref.zero_point = 0.07, 70
    m = nnq.Linear(40, 24, bias_=with_bias)
    m.set_weight_bias(mt_q(wq), None if b is None else mt_f(b))
    m.scale, m.zero_point = 0.07, 70
    x = q_input((16, 40))
    assert_int_close(m(mt_q(x)), ref(x))
    assert repr(m) == repr(ref).replace("torch.", "mbtorch.")


def test_linear_relu_matches_torch():
    wq, b = q_weight((12, 20), True), bias(12)
    ref = tnniq.LinearReLU(20, 12)
    ref.set_weight_bias(wq, b)
    ref.scale, ref.zero_point = 0.03, 0
    m = nniq.LinearReLU(20, 12)
    m.set_weight_bias(mt_q(wq), mt_f(b))
    m.scale, m.zero_point = 0.03, 0
    x = q_input((9, 20))
    out = m(mt_q(x))
    assert_int_close(out, ref(x))
    assert m._get_name() == "QuantizedLinearReLU"


CONV_CASES = [
    dict(stride=1, padding=0, dilation=1, groups=1),
    dict(stride=2, padding=1, dilation=1, groups=1),
    dict(stride=1, padding=2, dilation=2, groups=2),
]


@pytest.mark.parametrize("kw", CONV_CASES)
@pytest.mark.parametrize("per_channel", [False, True])
def test_conv2d_matches_torch(kw, per_channel):
    wq, b = q_weight((6, 4 // kw["groups"], 3, 3), per_channel), bias(6)
    ref = tnnq.Conv2d(4, 6, 3, **kw)
    ref.set_weight_bias(wq, b)
    ref.scale, ref.zero_point = 0.1, 60
    m = nnq.Conv2d(4, 6, 3, **kw)
    m.set_weight_bias(mt_q(wq), mt_f(b))
    m.scale, m.zero_point = 0.1, 60
    x = q_input((2, 4, 9, 8))
    assert_int_close(m(mt_q(x)), ref(x))
    assert repr(m) == repr(ref)


def test_conv2d_reflect_padding_and_conv_relu():
    wq, b = q_weight((5, 3, 3, 3), True), bias(5)
    for ref, m in ((tnnq.Conv2d(3, 5, 3, padding=1, padding_mode="reflect"),
                    nnq.Conv2d(3, 5, 3, padding=1, padding_mode="reflect")),
                   (tnniq.ConvReLU2d(3, 5, 3, padding=1), nniq.ConvReLU2d(3, 5, 3, padding=1))):
        ref.set_weight_bias(wq, b)
        ref.scale, ref.zero_point = 0.08, 10
        m.set_weight_bias(mt_q(wq), mt_f(b))
        m.scale, m.zero_point = 0.08, 10
        x = q_input((2, 3, 7, 7))
        assert_int_close(m(mt_q(x)), ref(x))


@pytest.mark.parametrize("cls,tcls", [(nnq.Conv1d, tnnq.Conv1d),
                                      (nniq.ConvReLU1d, tnniq.ConvReLU1d)])
def test_conv1d_matches_torch(cls, tcls):
    wq, b = q_weight((4, 3, 5), True), bias(4)
    ref = tcls(3, 4, 5, stride=2, padding=2)
    ref.set_weight_bias(wq, b)
    ref.scale, ref.zero_point = 0.06, 40
    m = cls(3, 4, 5, stride=2, padding=2)
    m.set_weight_bias(mt_q(wq), mt_f(b))
    m.scale, m.zero_point = 0.06, 40
    x = q_input((3, 3, 20))
    assert_int_close(m(mt_q(x)), ref(x))


@pytest.mark.parametrize("per_channel", [False, True])
def test_dynamic_linear_matches_torch(per_channel):
    """Float in, float out; PyTorch quantizes the input to quint8 with reduce_range (0..127)
    from its min/max. Outputs agree to within one step of the input quantization per term."""
    wq, b = q_weight((10, 32), per_channel), bias(10)
    ref = tnnqd.Linear(32, 10)
    ref.set_weight_bias(wq, b)
    m = nnqd.Linear(32, 10)
    m.set_weight_bias(mt_q(wq), mt_f(b))
    x = torch.randn(7, 32, generator=torch.Generator().manual_seed(5)) * 3
    y, y_ref = m(mt_f(x)).numpy(), ref(x).numpy()
    x_scale = (float(x.max()) - min(float(x.min()), 0.0)) / 127
    bound = x_scale * wq.dequantize().abs().sum(dim=1).numpy()
    assert (np.abs(y - y_ref) <= bound[None, :] + 1e-4).all()
    assert np.abs(y - y_ref).max() < 0.05 * np.abs(y_ref).max()
    assert repr(m) == repr(ref).replace("torch.", "mbtorch.")


# -- activations and normalisation ----------------------------------------------------------------
def test_activation_modules_match_torch():
    x = q_input((4, 6, 5), scale=0.04, zero_point=128)
    pairs = [
        (nnq.ReLU6(), tnnq.ReLU6()),
        (nnq.Hardswish(0.02, 30), tnnq.Hardswish(0.02, 30)),
        (nnq.ELU(0.03, 100, alpha=0.7), tnnq.ELU(0.03, 100, alpha=0.7)),
        (nnq.LeakyReLU(0.035, 90, 0.1), tnnq.LeakyReLU(0.035, 90, 0.1)),
        (nnq.Sigmoid(1 / 256, 0), tnnq.Sigmoid(1 / 256, 0)),
        (nnq.Softmax(dim=1, scale=1 / 256, zero_point=0),
         tnnq.Softmax(dim=1, scale=1 / 256, zero_point=0)),
    ]
    for m, ref in pairs:
        assert_int_close(m(mt_q(x)), ref(x), max_mismatch=0.05)
        assert repr(m) == repr(ref), m


def test_batchnorm2d_and_layernorm_match_torch():
    g = torch.Generator().manual_seed(3)
    w, b, rm, rv = (torch.rand(4, generator=g) + 0.5, torch.randn(4, generator=g),
                    torch.randn(4, generator=g), torch.rand(4, generator=g) + 0.5)
    x = q_input((2, 4, 5, 5))
    for ref, m in ((tnnq.BatchNorm2d(4), nnq.BatchNorm2d(4)),
                   (tnniq.BNReLU2d(4), nniq.BNReLU2d(4))):
        for mod, conv in ((ref, lambda t: t), (m, mt_f)):
            mod.weight.data.copy_(conv(w))
            mod.bias.data.copy_(conv(b))
            mod.running_mean.copy_(conv(rm))
            mod.running_var.copy_(conv(rv))
        ref.scale, ref.zero_point = torch.tensor(0.05), torch.tensor(100)
        m.scale, m.zero_point = mt.tensor(0.05), mt.tensor(100)
        assert_int_close(m(mt_q(x)), ref(x))
        assert repr(m) == repr(ref)
    lw, lb = torch.linspace(0.5, 1.5, 5), torch.linspace(-0.2, 0.3, 5)
    ln_ref = tnnq.LayerNorm((5,), torch.nn.Parameter(lw), torch.nn.Parameter(lb), 0.04, 120)
    ln = nnq.LayerNorm((5,), nn.Parameter(mt_f(lw)), nn.Parameter(mt_f(lb)), 0.04, 120)
    assert_int_close(ln(mt_q(x)), ln_ref(x), max_mismatch=0.05)
    assert repr(ln) == repr(ln_ref)


def test_quantize_dequantize_and_dropout():
    x = torch.randn(3, 4) * 3
    q, ref = nnq.Quantize(0.1, 5, mt.quint8), tnnq.Quantize(0.1, 5, torch.quint8)
    assert (ints(q(mt_f(x))) == ints(ref(x))).all()
    out = nnq.DeQuantize()(q(mt_f(x)))
    np.testing.assert_allclose(out.numpy(), tnnq.DeQuantize()(ref(x)).numpy(), rtol=0,
                               atol=1e-7)
    assert nnq.Dropout(0.3)(q(mt_f(x))) is not None
    assert repr(nnq.Dropout(0.3)) == repr(tnnq.Dropout(0.3))


# -- functionals -------------------------------------------------------------------------------
FUNCTIONAL_CASES = [
    ("max_pool2d", (3, 2), dict(padding=1)),
    ("avg_pool2d", (3, 2), dict(padding=1, count_include_pad=False)),
    ("adaptive_avg_pool2d", ((2, 3),), {}),
    ("hardtanh", (-0.5, 1.5), {}),
    ("clamp", (-0.3, 0.9), {}),
    ("threshold", (0.2, -1.0), {}),
    ("hardsigmoid", (), {}),
    ("celu", (0.03, 90, 0.8), {}),
    ("elu", (0.03, 90, 0.8), {}),
    ("hardswish", (0.02, 40), {}),
    ("leaky_relu", (0.2,), {}),
    ("leaky_relu", (0.2, False, 0.021, 60), {}),  # 0.02 would put 1 in 15 on a tie
    ("interpolate", (), dict(scale_factor=2, mode="nearest")),
    ("interpolate", (), dict(size=(9, 7), mode="bilinear", align_corners=False)),
]


@pytest.mark.parametrize("name,args,kwargs", FUNCTIONAL_CASES)
def test_functional_matches_torch(name, args, kwargs):
    x = q_input((2, 3, 6, 5), scale=0.03, zero_point=100)
    out = getattr(qF, name)(mt_q(x), *args, **kwargs)
    assert_int_close(out, getattr(tqF, name)(x, *args, **kwargs), max_mismatch=0.05)


def test_functional_linear_and_conv_match_torch():
    x, wq, b = q_input((5, 12)), q_weight((7, 12), False), bias(7)
    assert_int_close(qF.linear(mt_q(x), mt_q(wq), mt_f(b), 0.05, 64),
                     tqF.linear(x, wq, b, 0.05, 64))
    assert_int_close(qF.linear(mt_q(x), mt_q(wq)), tqF.linear(x, wq))
    x2, w2 = q_input((1, 3, 6, 6)), q_weight((4, 3, 3, 3), True)
    assert_int_close(qF.conv2d(mt_q(x2), mt_q(w2), None, padding=1, scale=0.1, zero_point=50),
                     tqF.conv2d(x2, w2, None, padding=1, scale=0.1, zero_point=50))
    x1, w1 = q_input((2, 3, 10)), q_weight((4, 3, 3), False)
    assert_int_close(qF.conv1d(mt_q(x1), mt_q(w1), mt_f(bias(4)), stride=2, scale=0.1,
                               zero_point=50),
                     tqF.conv1d(x1, w1, bias(4), stride=2, scale=0.1, zero_point=50))


def test_functional_bad_input():
    x = mt.randn(2, 3, 6, 6)
    with pytest.raises(ValueError, match="must be quantized"):
        qF.avg_pool2d(x, 2)
    xq = mt_q(q_input((2, 3, 6, 6)))
    w = mt_q(q_weight((4, 3, 3, 3), False))
    with pytest.raises(NotImplementedError, match="only zero-padding"):
        qF.conv2d(xq, w, None, padding_mode="reflect")
    with pytest.raises(NotImplementedError, match="qint8 is supported for the weight"):
        qF.conv2d(xq, mt_q(q_input((4, 3, 3, 3))), None)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        qF.conv2d(mt_q(q_input((3, 6, 6))), w, None)
    with pytest.raises(NotImplementedError, match="return_indices"):
        qF.max_pool2d(xq, 2, return_indices=True)


# -- QFunctional ---------------------------------------------------------------------------------
def test_qfunctional_matches_torch():
    a, b = q_input((3, 8), 0.05, 60, seed=1), q_input((3, 8), 0.04, 70, seed=2)
    ref, m = tnnq.QFunctional(), nnq.QFunctional()
    ref.scale, ref.zero_point = m.scale, m.zero_point = 0.08, 50
    for op in ("add", "mul", "add_relu"):
        assert_int_close(getattr(m, op)(mt_q(a), mt_q(b)), getattr(ref, op)(a, b))
    assert_int_close(m.cat([mt_q(a), mt_q(b)], dim=1), ref.cat([a, b], dim=1))
    for c in (1.3, -1.3, 0.0, 9.0):
        assert_int_close(m.add_scalar(mt_q(a), c), ref.add_scalar(a, c))
        assert_int_close(m.mul_scalar(mt_q(a), c), ref.mul_scalar(a, c))
    assert repr(m) == repr(ref)
    with pytest.raises(RuntimeError, match="not intended to use the 'forward'"):
        m(mt_q(a))


def test_float_functional_is_float_ops():
    f = nnq.FloatFunctional()
    a, b = mt.randn(2, 3), mt.randn(2, 3)
    np.testing.assert_allclose(f.add(a, b).numpy(), (a + b).numpy())
    np.testing.assert_allclose(f.add_relu(a, b).numpy(), np.maximum((a + b).numpy(), 0))
    np.testing.assert_allclose(f.cat([a, b], 1).numpy(), np.concatenate([a.numpy(),
                                                                        b.numpy()], 1))
    np.testing.assert_allclose(f.mul_scalar(a, 2.0).numpy(), a.numpy() * 2)
    assert isinstance(f.activation_post_process, nn.Identity)
    with pytest.raises(RuntimeError, match="not intended to use the 'forward'"):
        f(a)


# -- state dict -----------------------------------------------------------------------------------
def _filled_linear(per_channel: bool) -> nnq.Linear:
    m = nnq.Linear(40, 24)
    m.set_weight_bias(mt_q(q_weight((24, 40), per_channel)), mt_f(bias(24)))
    m.scale, m.zero_point = 0.0123456789, 77
    return m


@pytest.mark.parametrize("per_channel", [False, True])
def test_state_dict_round_trip(per_channel):
    m = _filled_linear(per_channel)
    sd = m.state_dict()
    assert list(sd) == ["weight", "bias", "scale", "zero_point"]
    assert sd["weight"].is_quantized and sd["weight"].dtype is mt.qint8
    fresh = nnq.Linear(40, 24)
    result = fresh.load_state_dict(sd)
    assert not result.missing_keys and not result.unexpected_keys
    assert fresh.scale == m.scale and fresh.zero_point == 77
    assert (ints(fresh.weight()) == ints(m.weight())).all()
    assert fresh.weight().qscheme() == m.weight().qscheme()
    x = mt_q(q_input((3, 40)))
    assert (ints(fresh(x)) == ints(m(x))).all()
    assert list(fresh.state_dict()) == list(sd)  # the keys are back after loading


def test_state_dict_in_a_container_and_errors():
    model = nn.Sequential(nnq.Quantize(0.05, 64, mt.quint8), _filled_linear(True),
                          nnq.DeQuantize())
    sd = model.state_dict()
    assert {"1.weight", "1.bias", "1.scale", "1.zero_point", "0.scale"} <= set(sd)
    other = nn.Sequential(nnq.Quantize(1.0, 0, mt.quint8), nnq.Linear(40, 24),
                          nnq.DeQuantize())
    other.load_state_dict(sd)
    x = mt.randn(2, 40)
    np.testing.assert_array_equal(other(x).numpy(), model(x).numpy())
    partial = {k: v for k, v in sd.items() if k != "1.weight"}
    with pytest.raises(RuntimeError, match='Missing key.*"1.weight"'):
        other.load_state_dict(partial)
    bad = dict(sd, **{"1.weight": mt.randn(24, 40)})
    with pytest.raises(RuntimeError, match="weight must be a quantized tensor"):
        other.load_state_dict(bad)


def test_conv_state_dict_keys_match_torch():
    ref, m = tnnq.Conv2d(3, 4, 3), nnq.Conv2d(3, 4, 3)
    assert list(m.state_dict()) == list(ref.state_dict())


# -- from_float and bad input ---------------------------------------------------------------------
def test_from_float_errors_name_the_module_type():
    lin = nn.Linear(4, 3)
    with pytest.raises(RuntimeError, match="must have qconfig"):
        nnq.Linear.from_float(lin)
    with pytest.raises(TypeError, match="only works for Linear"):
        nnq.Linear.from_float(nn.Conv2d(1, 1, 1))
    with pytest.raises(TypeError, match="only works for Conv2d"):
        nnq.Conv2d.from_float(nn.Linear(2, 2))
    with pytest.raises(RuntimeError, match="no observer"):
        nnq.Hardswish.from_float(nn.Hardswish())


def test_set_weight_bias_and_constructor_errors():
    m = nnq.Linear(4, 3)
    with pytest.raises(TypeError, match="weight must be a quantized tensor"):
        m.set_weight_bias(mt.randn(3, 4), None)
    with pytest.raises(TypeError, match="qint8"):
        m.set_weight_bias(mt_q(q_input((3, 4))), None)
    with pytest.raises(ValueError, match=r"shape \(3, 4\)"):
        m.set_weight_bias(mt_q(q_weight((4, 4), False)), None)
    with pytest.raises(ValueError, match=r"bias must have shape \(3,\)"):
        m.set_weight_bias(mt_q(q_weight((3, 4), False)), mt.zeros(4))
    with pytest.raises(ValueError, match="padding_mode"):
        nnq.Conv2d(3, 3, 3, padding_mode="circular")
    with pytest.raises(RuntimeError, match="unsupported weight dtype"):
        nnq.Linear(3, 3, dtype=mt.float16)
    with pytest.raises(TypeError, match="expected a float input"):
        nnqd.Linear(4, 3)(mt_q(q_input((2, 4))))


# -- dynamic LSTM ---------------------------------------------------------------------------------
@pytest.mark.parametrize("kw", [{}, dict(num_layers=2, bidirectional=True, batch_first=True)])
def test_dynamic_lstm_matches_torch(kw):
    """Same int8 weights (each weight observed on its own, as PyTorch): PyTorch's kernel
    quantizes the layer's whole input sequence once and the hidden state per step, so does
    mbtorch; outputs agree to float rounding, far inside one quantization step."""
    torch.manual_seed(0)
    ref = torch.nn.LSTM(6, 8, **kw)
    m = nn.LSTM(6, 8, **kw)
    m.load_state_dict({k: mt_f(v) for k, v in ref.state_dict().items()})
    ref.qconfig = torch.ao.quantization.default_dynamic_qconfig
    m.qconfig = mt.ao.quantization.default_dynamic_qconfig
    q_ref, q_m = tnnqd.LSTM.from_float(ref), nnqd.LSTM.from_float(m)
    assert repr(q_m) == repr(q_ref)
    x = torch.randn(5, 3, 6, generator=torch.Generator().manual_seed(4)) * 2
    h0 = torch.randn(1, 3, 8, generator=torch.Generator().manual_seed(6))
    hx = (h0, h0 * 0.5) if not kw else None  # a given state for the one-layer case
    out, (h, c) = q_m(mt_f(x), None if hx is None else tuple(mt_f(t) for t in hx))
    out_ref, (h_ref, c_ref) = q_ref(x, hx)
    for a, b in ((out, out_ref), (h, h_ref), (c, c_ref)):
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=0, atol=1e-5)
    for key, w in q_m.state_dict().items():
        if key.startswith("weight"):
            assert w.is_quantized


def test_dynamic_lstm_state_dict_and_errors():
    torch.manual_seed(1)
    m = nn.LSTM(4, 5, num_layers=2)
    m.qconfig = mt.ao.quantization.default_dynamic_qconfig
    q = nnqd.LSTM.from_float(m)
    sd = q.state_dict()
    assert set(sd) == set(m.state_dict())
    fresh = nnqd.LSTM(4, 5, num_layers=2)
    fresh.load_state_dict(sd)
    x = mt.randn(3, 2, 4)
    np.testing.assert_array_equal(fresh(x)[0].numpy(), q(x)[0].numpy())
    with pytest.raises(ValueError, match="input must be 3-D with 4 features"):
        q(mt.randn(3, 5))
    with pytest.raises(TypeError, match="only works for LSTM"):
        nnqd.LSTM.from_float(nn.GRU(4, 5))
    with pytest.raises(ValueError, match="bias=False is not supported"):
        nnqd.LSTM(4, 5, bias=False)
