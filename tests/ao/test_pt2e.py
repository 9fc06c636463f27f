"""The graph flow of static quantization (mbtorch/ao/quantization/quantize_pt2e.py) against
torchao's ``prepare_pt2e`` / ``convert_pt2e`` with ``X86InductorQuantizer``: the same
quantization points and scales, and outputs equal to float rounding, on the same weights
and calibration data."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import mbtorch as mt
from mbtorch.ao.quantization.quantize_pt2e import convert_pt2e, prepare_pt2e
from mbtorch.ao.quantization.quantizer import (
    QuantizationSpec,
    X86InductorQuantizer,
    get_default_x86_inductor_quantization_config,
)
from mbtorch.core.op import Op

torch = pytest.importorskip("torch")
warnings.filterwarnings("ignore", message=".*(deprecated|Enum subclass).*")


def _build(nn):
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(4 * 4 * 4, 16), nn.ReLU(), nn.Linear(16, 5))


def _twins():
    torch.manual_seed(0)
    tm = _build(torch.nn).eval()
    mm = _build(mt.nn).eval()
    mm.load_state_dict({k: mt.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    return tm, mm


def _batches(n=3):
    return [np.random.default_rng(i).normal(size=(4, 1, 8, 8)).astype(np.float32)
            for i in range(n)]


def _quantizer():
    return X86InductorQuantizer().set_global(get_default_x86_inductor_quantization_config())


def _mbtorch_flow(mm, batches):
    prepared = prepare_pt2e(mt.export.export(mm, (mt.tensor(batches[0]),)).module(),
                            _quantizer())
    for x in batches:
        prepared(mt.tensor(x))
    return convert_pt2e(prepared)


def _qparams(program):
    out = []
    for n in program.graph.nodes:
        if n.op is Op.QUANTIZE:
            s, z = (program.constants[a.producer.target] for a in n.inputs[1:3])
            out.append((s.item(), z.item()))
    return out


def test_matches_torchao_x86_quantizer():
    ao = pytest.importorskip("torchao.quantization.pt2e.quantize_pt2e",
                             reason="torchao is the oracle of the graph flow (.ci/run installs it)")
    from torchao.quantization.pt2e.quantizer import x86_inductor_quantizer as tx

    tm, mm = _twins()
    batches = _batches()
    tprep = ao.prepare_pt2e(torch.export.export(tm, (torch.tensor(batches[0]),)).module(),
                            tx.X86InductorQuantizer().set_global(
                                tx.get_default_x86_inductor_quantization_config()))
    for x in batches:
        tprep(torch.tensor(x))
    tconv = ao.convert_pt2e(tprep)
    mconv = _mbtorch_flow(mm, batches)
    theirs = [n.args[1:3] for n in tconv.graph.nodes
              if str(n.target).endswith("quantize_per_tensor.default")
              and "dequantize" not in str(n.target)]
    ours = _qparams(mconv._program)
    assert len(ours) == len(theirs) == 5
    for (s, z), (ts, tz) in zip(ours, theirs):
        assert z == tz and s == pytest.approx(ts, rel=1e-6)
    for x in _batches(5)[3:]:
        with torch.no_grad():
            want = tconv(torch.tensor(x)).numpy()
        got = mconv(mt.tensor(x)).detach().numpy()
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)


def test_converted_program_holds_int8_weights_and_no_float_ones():
    _, mm = _twins()
    conv = _mbtorch_flow(mm, _batches())
    program = conv._program
    ints = [t for k, t in program.constants.items() if "weight_int" in k]
    assert sorted(tuple(t.shape) for t in ints) == [(4, 1, 3, 3), (16, 5), (64, 16)]
    assert all(t.dtype is mt.int8 for t in ints)
    assert not any(k.endswith("weight") for k in program.state_dict)
    x = mt.tensor(_batches(4)[3])
    with mt.no_grad():
        err = (conv(x) - mm(x)).abs().max().item()
    assert err < 0.05  # a few quantization steps of the output


def test_converted_program_exports_and_runs_under_onnxruntime(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    _, mm = _twins()
    conv = _mbtorch_flow(mm, _batches())
    x = _batches(4)[3]
    path = tmp_path / "q.onnx"
    mt.onnx.export(conv, (mt.tensor(x),), str(path))
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (got,) = sess.run(None, {sess.get_inputs()[0].name: x})
    want = conv(mt.tensor(x)).detach().numpy()
    # onnxruntime runs int8 kernels: integer accumulation, one requantization per layer
    assert np.abs(got - want).max() < 0.05


def test_prepared_module_observes_without_changing_results():
    _, mm = _twins()
    x = mt.tensor(_batches(1)[0])
    prepared = prepare_pt2e(mt.export.export(mm, (x,)).module(), _quantizer())
    np.testing.assert_array_equal(prepared(x).detach().numpy(), mm(x).detach().numpy())
    names = [n for n, _ in prepared.named_children() if n.startswith("activation_post_process")]
    # the input, the two ReLU outputs (pooling and flatten share one) and the three weights
    assert len(names) == 6


def test_errors_name_what_is_wrong():
    _, mm = _twins()
    x = mt.tensor(_batches(1)[0])
    module = mt.export.export(mm, (x,)).module()
    with pytest.raises(TypeError, match="prepare_pt2e\\(\\): argument 'quantizer'"):
        prepare_pt2e(module, object())
    with pytest.raises(TypeError, match="module of an exported program"):
        prepare_pt2e(mm, _quantizer())
    with pytest.raises(RuntimeError, match="no configuration"):
        prepare_pt2e(module, X86InductorQuantizer())
    with pytest.raises(RuntimeError, match="has seen no data: run the prepared module"):
        convert_pt2e(prepare_pt2e(module, _quantizer()))
    with pytest.raises(TypeError, match="dtype must be mbtorch.int8"):
        QuantizationSpec(mt.float32, lambda **kw: None)
    with pytest.raises(ValueError, match="quant_min"):
        QuantizationSpec(mt.uint8, lambda **kw: None, 10, 300)
