"""``mbtorch.onnx.export``: every example model, the training program's CNN and the model zoo's
architectures (``tests/onnx/models.py``) exported with a dynamic batch, checked by the ONNX
checker and run under onnxruntime against mbtorch's own outputs at two batch sizes; each op
family's translation; the errors."""

from __future__ import annotations

import io
import os

import numpy as np
import onnx  # the dev extra has onnx and onnxruntime: a missing one is an error, not a skip
import onnxruntime as ort
import pytest

import mbtorch as mt
import mbtorch.onnx
from mbtorch import nn
from mbtorch.onnx.errors import UnsupportedOperatorError

from .models import EXPORTED, build, example_input

RTOL = 1e-5  # float32, relative to the output's largest magnitude


def _session(path_or_proto):
    data = path_or_proto if isinstance(path_or_proto, str) else \
        path_or_proto.SerializeToString()
    return ort.InferenceSession(data, providers=["CPUExecutionProvider"])


def _close(got: np.ndarray, want: np.ndarray, rtol: float = RTOL) -> None:
    assert got.shape == want.shape and got.dtype == want.dtype
    if want.dtype.kind in "biu":
        np.testing.assert_array_equal(got, want)
        return
    scale = max(float(np.abs(want).max(initial=0.0)), 1e-30)
    err = float(np.abs(got.astype(np.float64) - want).max(initial=0.0)) / scale
    assert err <= rtol, f"max relative error {err:.3g} > {rtol:g}"


@pytest.mark.parametrize("name", EXPORTED)
def test_model_matches_onnxruntime_with_a_dynamic_batch(name, tmp_path):
    model = build(name, mt)
    path = str(tmp_path / f"{name}.onnx")
    mbtorch.onnx.export(model, (example_input(name, mt, 3),), path, input_names=["x"],
                        dynamic_axes={"x": {0: "batch"}, "output": {0: "batch"}})
    proto = onnx.load(path)
    onnx.checker.check_model(proto, full_check=True)
    assert proto.opset_import[0].version >= 18
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    assert {t.name for t in proto.graph.initializer} >= {
        k for k, _ in model.named_parameters()}  # weights keep their state-dict names
    if name.endswith("cnn"):  # convolutions as Conv nodes, not an im2col chain
        ops = [n.op_type for n in proto.graph.node]
        assert ops.count("Conv") == 2 and ops.count("MaxPool") == 2
    sess = _session(path)
    for batch in (2, 5):
        x = example_input(name, mt, batch)
        with mt.no_grad():
            want = model(x).numpy()
        _close(sess.run(None, {"x": x.numpy()})[0], want)


def _ops_cases():
    i = mt.tensor([[0, 1], [1, 2], [2, 3], [3, 0]])
    mask = mt.tensor([[True, False, True, False]] * 4)
    c = {
        "arith": lambda x: (x + 1.5) * x - x / 3 + x ** 2,
        "compare": lambda x: ((x > 0) & (x <= 0.5)) | (x == x) ^ (x != 1) | ~(x < -1),
        "minmax_where": lambda x: mt.where(x > 0, mt.maximum(x, x * 2), mt.minimum(x, -x)),
        "unary": lambda x: (x.exp() + x.abs().log() + x.abs().sqrt() + x.sin() + x.cos()
                            + x.tanh() + x.sigmoid() + x.relu() + x.neg() + x.sign()
                            + x.floor() + x.ceil() + x.round() + x.trunc() + x.erf()
                            + x.abs().rsqrt() + x.square() + x.reciprocal() + x.atan()
                            + (x / 4).asin() + (x / 4).acos() + x.sinh() + x.cosh()
                            + x.exp2() + x.abs().log2() + x.abs().log10()),
        "log1p_expm1": lambda x: (x * 1e-6).log1p() + (x * 1e-6).expm1() + x.abs().log1p()
        + x.expm1(),
        "remainder_floordiv": lambda x: mt.remainder(x * 7, -3.0) + (x * 7).floor_divide(2.5),
        "int_remainder_floordiv": lambda x: (mt.remainder((x * 10).long(), -3)
                                             + (x * 10).long().floor_divide(3)),
        "atan2": lambda x: mt.atan2(x, x.flip(1)),
        "clamp_nan_to_num_lerp": lambda x: (x.clamp(-0.5, 0.5) + x.clamp(min=x * 0.1)
                                            + (x / 0).nan_to_num(1.0, 2.0, -2.0)
                                            + mt.lerp(x, x * 3, 0.7) + mt.lerp(x, -x, 0.2)),
        "isfinite": lambda x: (x / (x > 0).float()).isfinite() | (x / 0).isnan()
        | (x / 0).isinf(),
        "reductions": lambda x: (x.sum((0,), keepdim=True) + x.mean(1, keepdim=True)
                                 + x.amax(1, keepdim=True) + x.amin(0) + x.prod(1, True)
                                 + x.var(1, keepdim=True) + x.std(0)
                                 + x.logsumexp(1, keepdim=True)),
        "norms": lambda x: (x.norm(dim=1) + x.norm(p=1, dim=1) + x.norm(p=3, dim=1)
                            + mt.linalg.vector_norm(x, float("inf"), dim=1)
                            + mt.linalg.vector_norm(x, 0, dim=1)),
        "arg_any_all": lambda x: (x.argmax(1) + x.argmin(0) + (x > 0).any(1).long()
                                  + (x > -2).all(0).long()),
        "softmax_cumsum": lambda x: x.softmax(1) + x.log_softmax(0) + x.cumsum(1),
        "views": lambda x: (x.view(2, 8).t().reshape(4, 4) + x.permute(1, 0)
                            + x[1:3].repeat(2, 1) + x[:, 1:2].expand(4, 4) + x[2]
                            + x.flip(0) + x.unsqueeze(0).squeeze(0)),
        "cat_pad_tri": lambda x: (mt.cat([x, x * 2], 1)[:, 2:6] + x.tril() + x.triu(1)
                                  + nn.functional.pad(x, (1, 1), value=3.0)[:, 1:5]),
        "indexing": lambda x: (x.gather(1, i).sum() + x.scatter(1, i, x[:, :2] * 0 + 1.0,
                                                               reduce="add")
                               + x.index_select(0, i[:, 0]) + x[i[:, 0]] + x.masked_fill(mask, 2.0)
                               + x[:, i[0]].sum(1, keepdim=True) + x[i[:, 0], i[:, 1]][:, None]),
        "index_put": lambda x: x.index_put((i[:, 0], i[:, 1]), x[0], accumulate=True),
        "sort_nonzero": lambda x: x.sort(1).values + x.sort(0, descending=True).values,
        "factories": lambda x: x + mt.full((4, 4), 2.0) + mt.arange(4) + mt.zeros(4, 4),
        "matmul": lambda x: x @ x.t() + mt.bmm(x[None], x[None])[0],
    }
    return c


OPS = _ops_cases()


class _Fn(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


@pytest.mark.parametrize("case", sorted(OPS))
def test_op_translations_match(case):
    x = mt.tensor(np.random.default_rng(7).standard_normal((4, 4)).astype(np.float32))
    fn = _Fn(OPS[case])
    want = fn(x).numpy()
    program = mbtorch.onnx.export(fn, (x,))
    got = _session(program.model_proto).run(None, {"x": x.numpy()})[0]
    _close(got, want, 2e-6 if case != "log1p_expm1" else 1e-5)


def test_pooling_windows_and_indices_match():
    x = mt.randn(2, 3, 9, 9, generator=mt.Generator().manual_seed(1))
    fn = _Fn(lambda x: nn.functional.max_pool2d(x, 3, 2, 1, ceil_mode=True,
                                                return_indices=True))
    want_v, want_i = fn(x)
    got_v, got_i = _session(mbtorch.onnx.export(fn, (x,)).model_proto).run(
        None, {"x": x.numpy()})
    _close(got_v, want_v.numpy())
    np.testing.assert_array_equal(got_i, want_i.numpy())


def test_conv_variants_match():
    g = mt.Generator().manual_seed(3)
    model = nn.Sequential(nn.Conv2d(4, 6, 3, stride=2, padding=2, dilation=2, groups=2),
                          nn.ReLU(), nn.AvgPool2d(2), nn.Conv2d(6, 2, 1),
                          nn.ConvTranspose2d(2, 3, 3, stride=2), nn.Flatten(2),
                          nn.Conv1d(3, 2, 3, padding=1, padding_mode="circular")).eval()
    x = mt.randn(2, 4, 11, 11, generator=g)
    with mt.no_grad():
        want = model(x).numpy()
    got = _session(mbtorch.onnx.export(model, (x,), input_names=["x"]).model_proto).run(
        None, {"x": x.numpy()})
    _close(got[0], want)


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_conv_padding_modes_match(mode):
    model = nn.Conv2d(3, 4, 3, padding=2, padding_mode=mode).eval()
    x = mt.randn(2, 3, 7, 7, generator=mt.Generator().manual_seed(4))
    with mt.no_grad():
        want = model(x).numpy()
    got = _session(mbtorch.onnx.export(model, (x,)).model_proto).run(None, {"input": x.numpy()})
    _close(got[0], want)


def test_program_call_and_file_object(tmp_path):
    model = build("mlp", mt)
    x = example_input("mlp", mt, 4)
    program = mbtorch.onnx.export(model, (x,))
    with mt.no_grad():
        want = model(x).numpy()
    _close(program(x)[0].numpy(), want)
    buf = io.BytesIO()
    mbtorch.onnx.export(model, (x,), buf)
    _close(_session(onnx.load_from_string(buf.getvalue())).run(None, {"input": x.numpy()})[0],
           want)
    with pytest.raises(TypeError, match="takes 1 inputs"):
        program(x, x)


def test_unsupported_op_names_the_op_and_node(tmp_path):
    path = tmp_path / "m.onnx"
    path.write_bytes(b"earlier file")
    fn = _Fn(lambda x: x + mt.rand(4, 4))
    with pytest.raises(UnsupportedOperatorError,
                       match=r"op philox \(node \d+: .*philox.*; at .*test_export.py:\d+\)"):
        mbtorch.onnx.export(fn, (mt.ones(4, 4),), str(path))
    assert path.read_bytes() == b"earlier file"  # nothing written half-way
    assert os.listdir(tmp_path) == ["m.onnx"]


def _roundtrip(fn, x):
    got = _session(mbtorch.onnx.export(_Fn(fn), (x,)).model_proto).run(None, {"x": x.numpy()})
    _close(got[0], fn(x).numpy())


def test_in_place_writes_become_new_values():
    def whole(x):
        y = x * 2
        y.add_(x)
        y.copy_(y * 3)
        return y + 1

    _roundtrip(whole, mt.randn(4, 4))


def test_writes_through_views_reach_the_base_and_its_other_views():
    def through_views(x):
        y = x * 2
        row, col = y[1], y[:, 2]  # views made before the writes see them
        y[0] = 1.0
        y[:, 1:4:2] += x[:, :2]
        row.mul_(-1)
        t = y.t()
        t[3, ::2] = 7.0
        return y + row.sum() + col[None, :].t()

    _roundtrip(through_views, mt.randn(4, 4))


def test_writes_that_cannot_be_made_functional_are_refused():
    def into_input(x):
        x[0] = 1.0
        return x * 2

    with pytest.raises(UnsupportedOperatorError,
                       match=r"node \d+ .*; at .*test_export.py:\d+\).*model's input"):
        mbtorch.onnx.export(_Fn(into_input), (mt.ones(4, 4),))

    def dynamic_view(x):
        y = x * 2
        y[:, 0] = 1.0
        return y

    with pytest.raises(UnsupportedOperatorError, match="dynamic"):
        mbtorch.onnx.export(_Fn(dynamic_view), (mt.ones(4, 4),),
                            dynamic_axes={"x": {0: "batch"}})


def test_bad_arguments_are_clear_errors():
    model, x = build("mlp", mt), example_input("mlp", mt, 2)
    with pytest.raises(ValueError, match="opset_version must be in"):
        mbtorch.onnx.export(model, (x,), opset_version=11)
    with pytest.raises(ValueError, match="dynamic_axes names 'y'"):
        mbtorch.onnx.export(model, (x,), dynamic_axes={"y": [0]})
    with pytest.raises(ValueError, match="input_names has 2 names for 1 inputs"):
        mbtorch.onnx.export(model, (x,), input_names=["a", "b"])
    with pytest.raises(TypeError, match="unexpected keyword argument 'bogus'"):
        mbtorch.onnx.export(model, (x,), bogus=1)
    with pytest.raises(TypeError, match="path or a binary file object"):
        mbtorch.onnx.export(model, (x,)).save(12)


def test_weights_past_the_limit_go_to_external_data(tmp_path, monkeypatch):
    from mbtorch.onnx import _export

    monkeypatch.setattr(_export, "EXTERNAL_DATA_THRESHOLD", 1000)
    model, x = build("mlp", mt), example_input("mlp", mt, 2)
    path = tmp_path / "big.onnx"
    program = mbtorch.onnx.export(model, (x,), str(path))
    assert sorted(os.listdir(tmp_path)) == ["big.onnx", "big.onnx.data"]
    assert any(t.data_location == onnx.TensorProto.EXTERNAL
               for t in onnx.load(str(path), load_external_data=False).graph.initializer)
    assert all(t.data_location != onnx.TensorProto.EXTERNAL
               for t in program.model_proto.graph.initializer)  # the program is unchanged
    with mt.no_grad():
        want = model(x).numpy()
    _close(_session(str(path)).run(None, {"input": x.numpy()})[0], want)
    with pytest.raises(mbtorch.onnx.OnnxExporterError, match="over 2 GB"):
        program.save(io.BytesIO())


def test_exported_program_is_accepted():
    model, x = build("example_cnn", mt), example_input("example_cnn", mt, 2)
    ep = mt.export.export(model, (x,))
    with mt.no_grad():
        want = model(x).numpy()
    got = _session(mbtorch.onnx.export(ep, (x,)).model_proto).run(None, {"input": x.numpy()})
    _close(got[0], want)


def test_import_mbtorch_does_not_import_onnx():
    import subprocess
    import sys

    code = ("import sys, mbtorch; mbtorch.ones(2) + 1; "
            "print('onnx' in sys.modules, 'onnxruntime' in sys.modules); "
            "import mbtorch.onnx; print('onnx' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "False", "True"]
