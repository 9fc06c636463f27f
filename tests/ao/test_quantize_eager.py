"""The eager quantization flows (``quantize_dynamic``; ``prepare`` -> calibrate -> ``convert``;
``prepare_qat`` -> train -> ``convert``) against PyTorch's on copied weights and the same data.

The quantized weights and qparams come from the same observers on the same numbers, so they
match PyTorch's (weights exactly, scales to float rounding). Activations are computed in QDQ
form (dequantize -> float op -> quantize), where PyTorch accumulates int8 products in int32
and requantizes once; per layer the integers agree to within 1, and a rare 1-step difference
could move the next layer's result by a step, so final outputs are compared to within one
output step, with nearly all elements equal (on these models they come out identical).
"""

from __future__ import annotations

import copy
import re

import numpy as np
import pytest
import torch
import torch.ao.quantization as tq

import mbtorch as mt
import mbtorch.ao.quantization as mq
from mbtorch import nn

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")

torch.backends.quantized.engine = "x86"


def mt_f(t: torch.Tensor) -> mt.Tensor:
    return mt.from_numpy(t.detach().numpy().copy())


def ints(q) -> np.ndarray:
    return np.asarray(q.int_repr().numpy(), dtype=np.int64)


def copy_weights(src: torch.nn.Module, dst: nn.Module) -> None:
    dst.load_state_dict({k: mt_f(v) for k, v in src.state_dict().items()})


def data(*shape, seed=0, scale=1.0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed)) * scale


# -- models written once, built in either framework -----------------------------------------------
def mlp(lib):
    torch.manual_seed(0)
    return lib.nn.Sequential(lib.nn.Linear(20, 32), lib.nn.ReLU(), lib.nn.Linear(32, 16),
                             lib.nn.ReLU(), lib.nn.Linear(16, 4))


def cnn(lib, stubs):
    """QuantStub -> Conv+BN+ReLU -> Conv+ReLU -> flatten -> Linear(+ReLU) -> Linear ->
    DeQuantStub, with a FloatFunctional residual-style add."""
    n = lib.nn

    class Net(n.Module):
        def __init__(self):
            super().__init__()
            self.quant, self.dequant = stubs.QuantStub(), stubs.DeQuantStub()
            self.conv1, self.bn1, self.relu1 = n.Conv2d(1, 4, 3, padding=1), \
                n.BatchNorm2d(4), n.ReLU()
            self.conv2, self.relu2 = n.Conv2d(4, 6, 3, stride=2), n.ReLU()
            self.fc1, self.relu3 = n.Linear(6 * 3 * 3, 12), n.ReLU()
            self.fc2 = n.Linear(12, 5)
            self.skip = lib.ao.nn.quantized.FloatFunctional()

        def forward(self, x):
            x = self.quant(x)
            x = self.relu1(self.bn1(self.conv1(x)))
            x = self.relu2(self.conv2(x))
            h = self.relu3(self.fc1(x.reshape(x.shape[0], -1)))
            return self.dequant(self.fc2(self.skip.add(h, h)))

    torch.manual_seed(1)
    return Net()


FUSE = [["conv1", "bn1", "relu1"], ["conv2", "relu2"], ["fc1", "relu3"]]


def both_cnns():
    ref = cnn(torch, tq)
    with torch.no_grad():  # non-trivial BatchNorm statistics
        ref.bn1.running_mean.copy_(data(4, seed=7) * 0.1)
        ref.bn1.running_var.copy_(data(4, seed=8).abs() + 0.5)
        ref.bn1.weight.copy_(data(4, seed=9).abs() + 0.5)
        ref.bn1.bias.copy_(data(4, seed=10) * 0.1)
    m = cnn(mt, mq)
    copy_weights(ref, m)
    return ref, m


def minmax_qconfig(lib, q):
    return q.QConfig(activation=q.MinMaxObserver.with_args(dtype=lib.quint8, reduce_range=True),
                     weight=q.default_per_channel_weight_observer)


def check_quantized_layers_match(m, ref):
    for name in ("conv1", "conv2", "fc1", "fc2"):
        a, b = getattr(m, name), getattr(ref, name)
        assert a._get_name() == b._get_name()
        assert a.scale == pytest.approx(b.scale, rel=1e-5) and a.zero_point == b.zero_point
        assert (ints(a.weight()) == ints(b.weight())).all(), name
        np.testing.assert_allclose(a.weight().q_per_channel_scales().numpy(),
                                   b.weight().q_per_channel_scales().numpy(), rtol=1e-6)


def same_repr(m, ref) -> bool:
    """Reprs equal up to the printed numbers (scales computed from float activations differ
    in the last bits)."""
    def mask(s):
        return re.sub(r"-?\d+\.\d+(e-?\d+)?", "#", s)
    return mask(repr(m)) == mask(repr(ref).replace("torch.", "mbtorch."))


def check_outputs(out, out_ref, step):
    """Within one output step everywhere, and off by a step in at most 2 % of elements."""
    diff = np.abs(out.numpy() - out_ref.detach().numpy())
    assert diff.max() <= step * (1 + 1e-4), (diff.max(), step)
    assert (diff > step / 2).mean() <= 0.02


# -- dynamic -------------------------------------------------------------------------------------
@pytest.mark.parametrize("per_channel", [False, True])
def test_quantize_dynamic_mlp_matches_torch(per_channel):
    ref = mlp(torch).eval()
    m = mlp(mt)
    copy_weights(ref, m)
    if per_channel:
        q_ref = tq.quantize_dynamic(ref, {torch.nn.Linear: tq.per_channel_dynamic_qconfig})
        q_m = mq.quantize_dynamic(m, {nn.Linear: mq.per_channel_dynamic_qconfig})
    else:
        q_ref = tq.quantize_dynamic(ref, {torch.nn.Linear}, dtype=torch.qint8)
        q_m = mq.quantize_dynamic(m, {nn.Linear}, dtype=mt.qint8)
    assert repr(q_m) == repr(q_ref).replace("torch.", "mbtorch.")
    for i in (0, 2, 4):
        assert (ints(q_m[i].weight()) == ints(q_ref[i].weight())).all()
    assert isinstance(m[0], nn.Linear)  # not in place: the float model is untouched
    x = data(64, 20, seed=3, scale=2)
    out, out_ref = q_m(mt_f(x)), q_ref(x)
    # one quantization step of the last layer's input, spread through its weights
    h = ref[3](ref[2](ref[1](ref[0](x))))
    step = (float(h.max()) - min(float(h.min()), 0.0)) / 127
    bound = step * q_ref[4].weight().dequantize().abs().sum(dim=1).numpy()
    diff = np.abs(out.numpy() - out_ref.numpy())
    assert (diff <= bound[None, :]).all()
    assert diff.max() < 0.02 * np.abs(out_ref.numpy()).max()



def seq_model(lib):
    n = lib.nn

    class Tagger(n.Module):
        def __init__(self):
            super().__init__()
            self.lstm, self.head = n.LSTM(6, 10, batch_first=True), n.Linear(10, 3)

        def forward(self, x):
            return self.head(self.lstm(x)[0])

    torch.manual_seed(2)
    return Tagger()


def test_quantize_dynamic_default_spec_covers_lstm_and_linear():
    ref = seq_model(torch).eval()
    m = seq_model(mt)
    copy_weights(ref, m)
    q_ref, q_m = tq.quantize_dynamic(ref), mq.quantize_dynamic(m)
    assert repr(q_m) == repr(q_ref).replace("torch.", "mbtorch.")
    x = data(4, 7, 6, seed=5)
    np.testing.assert_allclose(q_m(mt_f(x)).numpy(), q_ref(x).detach().numpy(), rtol=0,
                               atol=1e-5)

def test_quantize_dynamic_defaults_and_inplace():
    m = mlp(mt)
    out = mq.quantize_dynamic(m, inplace=True)
    assert out is m and m[0]._get_name() == "DynamicQuantizedLinear"
    assert not hasattr(m[0], "qconfig") and not hasattr(m[1], "qconfig")
    named = mq.quantize_dynamic(mlp(mt), {"2"})
    assert named[2]._get_name() == "DynamicQuantizedLinear" and isinstance(named[0], nn.Linear)


# -- static ---------------------------------------------------------------------------------------
def static_quantize(model, lib, q, calib, histogram=False):
    model.eval()
    model.qconfig = q.get_default_qconfig("x86") if histogram else minmax_qconfig(lib, q)
    fused = q.fuse_modules(model, FUSE)
    prepared = q.prepare(fused)
    for x in calib:
        prepared(x)
    return q.convert(prepared)


@pytest.mark.parametrize("histogram", [False, True], ids=["minmax", "x86-default"])
def test_static_cnn_matches_torch(histogram):
    ref, m = both_cnns()
    calib = [data(8, 1, 8, 8, seed=s) for s in range(4)]
    q_ref = static_quantize(ref, torch, tq, calib, histogram)
    q_m = static_quantize(m, mt, mq, [mt_f(x) for x in calib], histogram)
    check_quantized_layers_match(q_m, q_ref)
    assert q_m.quant.scale.item() == pytest.approx(q_ref.quant.scale.item(), rel=1e-6)
    assert q_m.skip.scale == pytest.approx(q_ref.skip.scale, rel=1e-5)
    assert same_repr(q_m, q_ref)
    x = data(16, 1, 8, 8, seed=11)
    check_outputs(q_m(mt_f(x)), q_ref(x), q_ref.fc2.scale)
    assert not hasattr(q_m.conv1, "qconfig") and not hasattr(q_m.conv1,
                                                             "activation_post_process")


def test_quantize_one_call_equals_three_steps():
    _, m = both_cnns()
    calib = [mt_f(data(8, 1, 8, 8, seed=s)) for s in range(2)]
    fused = mq.fuse_modules(m.eval(), FUSE)
    fused.qconfig = minmax_qconfig(mt, mq)

    def run(model, batches):
        for x in batches:
            model(x)

    one = mq.quantize(fused, run, [calib])
    three = static_quantize(m, mt, mq, calib)
    x = mt_f(data(4, 1, 8, 8, seed=12))
    np.testing.assert_array_equal(one(x).numpy(), three(x).numpy())


def test_converted_state_dict_round_trip():
    _, m = both_cnns()
    q_m = static_quantize(m, mt, mq, [mt_f(data(8, 1, 8, 8, seed=s)) for s in range(2)])
    sd = q_m.state_dict()
    assert sd["conv1.weight"].is_quantized and sd["conv1.weight"].qscheme() in (
        mt.per_channel_affine, mt.per_channel_symmetric)
    # a skeleton converted from other data has other weights and qparams until it loads
    _, other = both_cnns()
    with mt.no_grad():
        for p in other.parameters():
            p.mul_(0.5)
    q_other = static_quantize(other, mt, mq, [mt_f(data(8, 1, 8, 8, seed=20))])
    x = mt_f(data(4, 1, 8, 8, seed=13))
    assert not np.array_equal(q_other(x).numpy(), q_m(x).numpy())
    result = q_other.load_state_dict(sd)
    assert not result.missing_keys and not result.unexpected_keys
    np.testing.assert_array_equal(q_other(x).numpy(), q_m(x).numpy())
    clone = copy.deepcopy(q_m)  # the state-dict hooks travel with a copy
    assert list(clone.state_dict()) == list(sd)
    np.testing.assert_array_equal(clone(x).numpy(), q_m(x).numpy())


@pytest.mark.parametrize("name", ["q.pt", "q.safetensors"])
def test_converted_state_dict_file_round_trip(tmp_path, name):
    """Saved to a file (PyTorch's zip format or safetensors) and loaded into a model converted
    from other data: the same outputs."""
    _, m = both_cnns()
    q_m = static_quantize(m, mt, mq, [mt_f(data(8, 1, 8, 8, seed=s)) for s in range(2)])
    _, other = both_cnns()
    q_other = static_quantize(other, mt, mq, [mt_f(data(8, 1, 8, 8, seed=20))])
    mt.save(q_m.state_dict(), tmp_path / name)
    q_other.load_state_dict(mt.load(tmp_path / name))
    x = mt_f(data(4, 1, 8, 8, seed=13))
    np.testing.assert_array_equal(q_other(x).numpy(), q_m(x).numpy())



def test_converted_model_exports_in_qdq_form():
    """The quantized modules compute with Python-number qparams (no host reads), so
    ``mbtorch.export`` captures a converted model whole: each quantized activation is a
    QUANTIZE -> DEQUANTIZE pair around float ops, each int8 weight a DEQUANTIZE."""
    _, m = both_cnns()
    q_m = static_quantize(m, mt, mq, [mt_f(data(8, 1, 8, 8, seed=s)) for s in range(2)])
    ep = mt.export.export(q_m, (mt_f(data(2, 1, 8, 8, seed=3)),))
    ops = [n.op.name for n in ep.graph.op_nodes()]
    # quant, conv1, conv2, fc1, the FloatFunctional add and fc2 quantize their outputs
    assert ops.count("QUANTIZE") == 6
    # each activation is dequantized by its consumer (the add reads fc1's twice), and the
    # four weights once each
    assert ops.count("DEQUANTIZE") == 7 + 4
    assert ops.count("CONVOLUTION") == 2 and ops.count("MATMUL") == 2


def test_converted_model_runs_under_onnxruntime(tmp_path):
    """End to end: the QDQ graph exported to ONNX (QuantizeLinear/DequantizeLinear around
    float ops) gives onnxruntime the converted model's outputs."""
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    _, m = both_cnns()
    q_m = static_quantize(m, mt, mq, [mt_f(data(8, 1, 8, 8, seed=s)) for s in range(2)])
    x = mt_f(data(2, 1, 8, 8, seed=3))
    mt.onnx.export(q_m, (x,), str(tmp_path / "q.onnx"))
    session = ort.InferenceSession(str(tmp_path / "q.onnx"))
    out = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
    np.testing.assert_allclose(out, q_m(x).numpy(), rtol=0, atol=q_m.fc2.scale * 1.001)

# -- QAT ------------------------------------------------------------------------------------------
def qat(model, lib, q, steps):
    model.train()
    model.qconfig = q.get_default_qat_qconfig("x86")
    prepared = q.prepare_qat(q.fuse_modules_qat(model, FUSE))
    opt = lib.optim.SGD(prepared.parameters(), lr=0.01)
    for x, y in steps:
        opt.zero_grad()
        lib.nn.functional.cross_entropy(prepared(x), y).backward()
        opt.step()
    prepared.eval()
    return q.convert(prepared)


def test_qat_prepare_train_convert_matches_torch():
    ref, m = both_cnns()
    steps = [(data(8, 1, 8, 8, seed=s), torch.randint(0, 5, (8,),
                                                      generator=torch.Generator().manual_seed(s)))
             for s in range(3)]
    q_ref = qat(ref, torch, tq, steps)
    q_m = qat(m, mt, mq, [(mt_f(x), mt.from_numpy(y.numpy().copy())) for x, y in steps])
    assert same_repr(q_m, q_ref)
    for name in ("conv1", "conv2", "fc1", "fc2"):
        a, b = getattr(q_m, name), getattr(q_ref, name)
        assert a.scale == pytest.approx(b.scale, rel=1e-4) and abs(a.zero_point
                                                                   - b.zero_point) <= 1
        diff = np.abs(ints(a.weight()) - ints(b.weight()))
        assert diff.max() <= 1 and (diff > 0).mean() < 0.05, name
    x = data(16, 1, 8, 8, seed=14)
    check_outputs(q_m(mt_f(x)), q_ref(x), q_ref.fc2.scale)


# -- bad input ------------------------------------------------------------------------------------
def test_convert_before_calibration_names_the_module():
    _, m = both_cnns()
    m.eval().qconfig = minmax_qconfig(mt, mq)
    prepared = mq.prepare(mq.fuse_modules(m, FUSE))
    with pytest.raises(RuntimeError, match=r"module 'quant' \(QuantStub\) has seen no data"):
        mq.convert(prepared)
    prepared(mt_f(data(2, 1, 8, 8)))  # calibrated: converts
    assert mq.convert(prepared).conv1._get_name() == "QuantizedConvReLU2d"


def test_quantize_dynamic_refuses_unsupported_types_and_names():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(8, 2))
    with pytest.raises(ValueError, match=r"module '0' \(Conv2d\) has no dynamically quantized"):
        mq.quantize_dynamic(model, {nn.Conv2d})
    with pytest.raises(ValueError, match="'fc9', which is not a submodule"):
        mq.quantize_dynamic(model, {"fc9"})
    with pytest.raises(ValueError, match=r"module '0' \(Conv2d\)"):
        mq.quantize_dynamic(model, {"0": mq.default_dynamic_qconfig})
    with pytest.raises(ValueError, match="dtype mbtorch.float16 is not supported"):
        mq.quantize_dynamic(model, dtype=mt.float16)
    with pytest.raises(TypeError, match="qconfig_spec must be"):
        mq.quantize_dynamic(model, nn.Linear)
    assert isinstance(mq.quantize_dynamic(model, {nn.Sequential})[0], nn.Conv2d)


def test_invalid_qconfig_dtype_names_the_module():
    float_act = mq.QConfig(activation=mq.PlaceholderObserver.with_args(dtype=mt.float32),
                           weight=mq.default_weight_observer)
    model = nn.Sequential(mq.QuantStub(), nn.Linear(4, 3), mq.DeQuantStub())
    model.qconfig = mq.default_qconfig
    model[1].qconfig = float_act
    with pytest.raises(ValueError, match=r"prepare: invalid qconfig for module '1' \(Linear\)"):
        mq.prepare(model)
    model[1].qconfig = mq.QConfig(activation=mq.MinMaxObserver.with_args(dtype=mt.float64),
                                  weight=mq.default_weight_observer)
    with pytest.raises(ValueError, match=r"invalid qconfig for module '1' \(Linear\).*float64"):
        mq.prepare(model)
    bad_weight = mq.QConfig(activation=mq.default_observer,
                            weight=mq.MinMaxObserver.with_args(dtype=mt.quint8))
    model[1].qconfig = bad_weight
    prepared = mq.prepare(model)
    prepared(mt.randn(5, 4))
    with pytest.raises(ValueError, match=r"module '1' \(Linear\).*weight observer dtype"):
        mq.convert(prepared)
    with pytest.raises(ValueError, match=r"module '0' \(Linear\).*weight observer dtype"):
        mq.quantize_dynamic(nn.Sequential(nn.Linear(4, 3)).eval(), {nn.Linear: bad_weight})


def test_flow_argument_errors():
    model = nn.Sequential(nn.Linear(4, 3))
    with pytest.raises(RuntimeError, match="prepare_qat only works on models in training"):
        mq.prepare_qat(model.eval())
    with pytest.raises(NotImplementedError, match="is_reference"):
        mq.convert(model, is_reference=True)
    with pytest.warns(UserWarning, match="None of the submodule got qconfig"):
        mq.prepare(nn.Sequential(nn.Linear(4, 3)))


def test_mappings_mirror_torch_names():
    static = mq.get_default_static_quant_module_mappings()
    assert static[nn.Linear] is mt.ao.nn.quantized.Linear
    assert static[mq.QuantStub] is mt.ao.nn.quantized.Quantize
    assert mq.get_default_dynamic_quant_module_mappings()[nn.Linear] \
        is mt.ao.nn.quantized.dynamic.Linear
    assert mq.get_default_qat_module_mappings()[nn.Linear] is mt.ao.nn.qat.Linear
    assert nn.Sequential in mq.get_default_qconfig_propagation_list()
    assert mq.get_static_quant_module_class(nn.Conv2d) is mt.ao.nn.quantized.Conv2d
    with pytest.raises(ValueError, match="does not have a corresponding quantized module"):
        mq.get_dynamic_quant_module_class(nn.Conv2d)
    for name in ("DEFAULT_STATIC_QUANT_MODULE_MAPPINGS", "DEFAULT_DYNAMIC_QUANT_MODULE_MAPPINGS",
                 "DEFAULT_QAT_MODULE_MAPPINGS"):
        ours = getattr(mq.quantization_mappings, name)
        theirs = getattr(tq.quantization_mappings, name)
        assert {k.__name__ for k in ours} <= {k.__name__ for k in theirs}
