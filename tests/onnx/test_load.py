"""``mbtorch.onnx.load``: ONNX files written by ``torch.onnx.export`` (both of its exporters)
for the example models, the training program's CNN and the zoo's architectures (PyTorch
references with torchvision's names) run on ``cpu`` and ``mini`` and match PyTorch (and the
zoo's mbtorch models holding the same weights); our own exports load back; operators beyond
what the exporters emit are compared with onnxruntime on hand-built models; bad files, unknown
operators and wrong inputs are clear errors. (``opencl``: tests/plugins/test_opencl_onnx.py.)"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto, helper

import mbtorch as mt
import mbtorch.onnx
from mbtorch.onnx.errors import UnsupportedOperatorError

from .models import EXPORTED, MODELS, ZOO_INPUTS, ZOO_TORCH_ONLY, build, example_input


def _exporters(name: str) -> tuple[bool, ...]:
    """The ``dynamo`` flags a model is exported with. tiny_gpt: torch.export refuses it (a
    data-dependent causal-mask check). The zoo's CNNs: the TorchScript exporter only, to keep
    the tests short (torch.export's files of lenet5, resnet18 and mobilenet_v2 load and match
    too; checked when this was written); vgg11_bn: only torch.export, as the TorchScript
    exporter refuses its adaptive pooling from 1x1 to 7x7."""
    if name == "tiny_gpt":
        return (False,)
    if name in ZOO_TORCH_ONLY:
        return (True,)
    if name in ZOO_INPUTS and name != "vit_tiny":
        return (False,)
    return (False, True)


CASES = [(name, dynamo) for name in sorted(MODELS) for dynamo in _exporters(name)]
# the zoo models checked on the template plugin too (small ones: mini runs NumPy slowly)
ZOO_ON_MINI = {"lenet5", "vit_tiny"}


def torch_export(name: str, dynamo: bool, path: str) -> torch.nn.Module:
    model = build(name, torch)
    kw = ({"dynamic_shapes": ({0: torch.export.Dim("batch")},)} if dynamo
          else {"dynamic_axes": {"x": {0: "batch"}}})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.disable(logging.WARNING)
        try:
            torch.onnx.export(model, (example_input(name, torch, 3),), path, dynamo=dynamo,
                              input_names=["x"], verbose=False, **kw)
        finally:
            logging.disable(logging.NOTSET)
    return model


def check_against_torch(name: str, model: torch.nn.Module, loaded, device: str) -> None:
    loaded = loaded.to(device)
    for batch in (2, 5):
        x = example_input(name, torch, batch)
        with torch.no_grad():
            want = model(x).numpy()
        got = loaded(mt.tensor(x.numpy()).to(device)).numpy(force=True)
        assert got.shape == want.shape
        err = np.abs(got - want).max() / max(np.abs(want).max(), 1e-30)
        assert err <= 1e-5, f"{name} on {device}: max relative error {err:.3g}"


@pytest.mark.parametrize("name, dynamo", CASES)
def test_pytorch_exports_run_on_cpu(name, dynamo, tmp_path):
    path = str(tmp_path / "m.onnx")
    model = torch_export(name, dynamo, path)
    loaded = mbtorch.onnx.load(path)
    check_against_torch(name, model, loaded, "cpu")
    if name in ZOO_INPUTS and name not in ZOO_TORCH_ONLY:
        # mbtorch's zoo model, given the reference's state dict under torchvision's names,
        # computes what the file computes (the exporter folds batch norms into convolutions)
        ours, x = build(name, mt), example_input(name, mt, 2)
        with mt.no_grad():
            want = ours(x).numpy()
        np.testing.assert_allclose(loaded(x).numpy(), want, rtol=1e-5,
                                   atol=1e-5 * np.abs(want).max())


@pytest.mark.parametrize("name", ["fashion_cnn", "lstm", "tiny_gpt", "vit_tiny"])
def test_pytorch_exports_run_on_the_template_plugin(name, tmp_path, mini_device):
    path = str(tmp_path / "m.onnx")
    model = torch_export(name, False, path)
    check_against_torch(name, model, mbtorch.onnx.load(path), mini_device)


@pytest.mark.parametrize("name", EXPORTED)
def test_our_exports_load_back(name, tmp_path, mini_device):
    model = build(name, mt)
    path = str(tmp_path / "m.onnx")
    mbtorch.onnx.export(model, (example_input(name, mt, 3),), path, input_names=["x"],
                        dynamic_axes={"x": {0: "batch"}})
    loaded = mbtorch.onnx.load(path)
    devices = ("cpu",) if name in ZOO_INPUTS and name not in ZOO_ON_MINI else ("cpu", mini_device)
    for device in devices:
        x = example_input(name, mt, 4)
        with mt.no_grad():
            want = model(x).numpy()
        got = loaded.to(device)(x.to(device)).numpy(force=True)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * np.abs(want).max())


def _model(nodes, inputs, outputs, initializers=(), opset=18):
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(initializers))
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 10
    onnx.checker.check_model(m, full_check=True)
    return m


def _vi(name, shape, elem=TensorProto.FLOAT):
    """A value's type; an int ``shape`` is a rank of unnamed-size dims."""
    if isinstance(shape, int):
        shape = [f"d{i}" for i in range(shape)]
    return helper.make_tensor_value_info(name, elem, shape)


def _i64(name, values):
    return helper.make_tensor(name, TensorProto.INT64, [len(values)], values)


def _hand_built():
    x = _vi("x", [2, 3, 6, 6])
    def y(rank):
        return _vi("y", rank)
    w = onnx.numpy_helper.from_array(
        np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32), "w")
    rnn_w = onnx.numpy_helper.from_array(
        np.random.default_rng(1).standard_normal((2, 9, 6)).astype(np.float32) * 0.3, "W")
    rnn_r = onnx.numpy_helper.from_array(
        np.random.default_rng(2).standard_normal((2, 9, 3)).astype(np.float32) * 0.3, "R")
    rnn_b = onnx.numpy_helper.from_array(
        np.random.default_rng(3).standard_normal((2, 18)).astype(np.float32) * 0.1, "B")
    seq = _vi("x", [4, 2, 6])
    return {
        "gemm_trans": _model([helper.make_node("Gemm", ["x", "w"], ["y"], alpha=0.5,
                                               transB=1)], [_vi("x", [5, 3])], [y(2)], [w]),
        "slice_negative_steps": _model([helper.make_node(
            "Slice", ["x", "s", "e", "a", "st"], ["y"])], [x], [y(4)],
            [_i64("s", [-1, 5]), _i64("e", [-100, 0]), _i64("a", [1, 3]),
             _i64("st", [-2, -2])]),
        "expand_both_ways": _model([helper.make_node("Expand", ["x", "s"], ["y"])],
                                   [_vi("x", [3, 1])], [y(3)], [_i64("s", [2, 1, 4])]),
        "split_pad_concat": _model([
            helper.make_node("Split", ["x"], ["a", "b"], axis=2, num_outputs=2),
            helper.make_node("Pad", ["a", "p"], ["pa"], mode="reflect"),
            helper.make_node("Pad", ["b", "p"], ["pb"], mode="edge"),
            helper.make_node("Concat", ["pa", "pb"], ["y"], axis=0)],
            [x], [y(4)], [_i64("p", [0, 0, 1, 2, 0, 0, 1, 2])]),
        "pools_and_norms": _model([
            helper.make_node("AveragePool", ["x"], ["a"], kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                             strides=[2, 2], count_include_pad=0),
            helper.make_node("GlobalMaxPool", ["x"], ["g"]),
            helper.make_node("Add", ["a", "g"], ["s"]),
            helper.make_node("LeakyRelu", ["s"], ["y"], alpha=0.2)], [x], [y(4)]),
        "reductions_and_args": _model([
            helper.make_node("ReduceL2", ["x", "ax"], ["r"], keepdims=0),
            helper.make_node("ArgMax", ["r"], ["i"], axis=1, select_last_index=1),
            helper.make_node("Cast", ["i"], ["y"], to=TensorProto.FLOAT)],
            [x], [y(3)], [_i64("ax", [3])]),
        "gru_bidirectional": _model([
            helper.make_node("GRU", ["x", "W", "R", "B"], ["y", "h"], hidden_size=3,
                             direction="bidirectional", linear_before_reset=1)],
            [seq], [y(4), _vi("h", 3)], [rnn_w, rnn_r, rnn_b]),
        "topk_where_mod": _model([
            helper.make_node("TopK", ["x", "k"], ["v", "i"], axis=-1, largest=0),
            helper.make_node("Mod", ["v", "two"], ["m"], fmod=1),
            helper.make_node("Greater", ["m", "zero"], ["c"]),
            helper.make_node("Where", ["c", "m", "v"], ["y"])],
            [x], [y(4)], [_i64("k", [2]), helper.make_tensor("two", TensorProto.FLOAT, [], [2.0]),
                       helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0])]),
    }


HAND = _hand_built()


@pytest.mark.parametrize("case", sorted(HAND))
def test_operators_match_onnxruntime(case):
    proto = HAND[case]
    shape = [d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim]
    x = np.random.default_rng(5).standard_normal(shape).astype(np.float32)
    sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    want = sess.run(None, {"x": x})
    got = mbtorch.onnx.load(proto)(mt.tensor(x))
    got = got if isinstance(got, tuple) else (got,)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g.numpy(force=True), w, rtol=1e-5, atol=1e-6)


def test_bad_files_are_clear_errors(tmp_path):
    model = build("mlp", mt)
    path = tmp_path / "m.onnx"
    mbtorch.onnx.export(model, (example_input("mlp", mt, 2),), str(path))
    data = path.read_bytes()
    (tmp_path / "cut.onnx").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="cut.onnx.*not a readable ONNX model"):
        mbtorch.onnx.load(str(tmp_path / "cut.onnx"))
    with pytest.raises(ValueError, match="not a readable ONNX model|not a valid ONNX model"):
        mbtorch.onnx.load(b"\x08\x07garbage" + bytes(range(256)))
    with pytest.raises(FileNotFoundError, match="no such file"):
        mbtorch.onnx.load(str(tmp_path / "missing.onnx"))
    with pytest.raises(TypeError, match="expected a path"):
        mbtorch.onnx.load(12)


def test_external_data_pointing_past_its_file_is_refused(tmp_path, monkeypatch):
    from mbtorch.onnx import _export

    monkeypatch.setattr(_export, "EXTERNAL_DATA_THRESHOLD", 1000)
    path = tmp_path / "m.onnx"
    mbtorch.onnx.export(build("mlp", mt), (example_input("mlp", mt, 2),), str(path))
    for key, value, message in (("offset", str(10 ** 12), "offset"),
                                ("length", str(10 ** 12), "length"),
                                ("location", "../../etc/passwd", "outside the directory"),
                                ("location", "gone.data", "not regular file")):
        proto = onnx.load(str(path), load_external_data=False)
        tensor = next(t for t in proto.graph.initializer
                      if t.data_location == TensorProto.EXTERNAL)
        next(e for e in tensor.external_data if e.key == key).value = value
        bad = tmp_path / f"bad_{key}.onnx"
        onnx.save(proto, str(bad))
        with pytest.raises(ValueError, match=f"bad_{key}.onnx.*{message}"):
            mbtorch.onnx.load(str(bad))


def test_weights_whose_shape_does_not_match_their_data_are_refused():
    proto = HAND["gemm_trans"]
    bad = onnx.ModelProto()
    bad.CopyFrom(proto)
    bad.graph.initializer[0].dims[0] = 1 << 40  # claims 2^40 rows, holds 4
    with pytest.raises(ValueError, match=r"<ModelProto>.*(tensor name: w|'w' declares)"):
        mbtorch.onnx.load(bad)  # the ONNX checker's words, or ours where it says nothing
    from mbtorch.onnx._load import tensor_from_proto

    with pytest.raises(ValueError, match=r"'w' declares shape \[1099511627776, 3\] "
                                         r"\(3298534883328 elements\) but holds 48 bytes"):
        tensor_from_proto(bad.graph.initializer[0])


@pytest.mark.fuzz
def test_damaged_files_load_or_fail_clearly(tmp_path):
    import random

    path = tmp_path / "m.onnx"
    mbtorch.onnx.export(build("fashion_cnn", mt), (example_input("fashion_cnn", mt, 2),),
                        str(path))
    data = path.read_bytes()
    rng, outcomes = random.Random(18), {"loaded": 0, "refused": 0}
    x = example_input("fashion_cnn", mt, 2)
    for i in range(120):
        damaged = bytearray(data)
        if i % 2:
            damaged = damaged[:rng.randrange(len(damaged))]
        else:
            for _ in range(4):
                damaged[rng.randrange(len(damaged))] ^= 1 << rng.randrange(8)
        try:
            module = mbtorch.onnx.load(bytes(damaged))
        except (ValueError, UnsupportedOperatorError):
            outcomes["refused"] += 1
            continue
        outcomes["loaded"] += 1
        try:
            module(x)
        except (RuntimeError, ValueError, TypeError, IndexError):
            pass  # a damaged graph may fail when run: with one of mbtorch's error types
    assert outcomes["loaded"] and outcomes["refused"]


def test_unknown_operators_and_domains_fail_at_load():
    unknown = _model([helper.make_node("Relu", ["x"], ["r"]),
                      helper.make_node("DFT", ["r"], ["y"])], [_vi("x", [2, 3, 2])],
                     [_vi("y", 3)], opset=20)
    with pytest.raises(UnsupportedOperatorError, match="'DFT' \\(node 'y'\\)"):
        mbtorch.onnx.load(unknown)
    custom = helper.make_model(
        helper.make_graph([helper.make_node("Foo", ["x"], ["y"], domain="com.example")], "g",
                          [_vi("x", [2])], [_vi("y", [2])]),
        opset_imports=[helper.make_opsetid("", 18), helper.make_opsetid("com.example", 1)])
    with pytest.raises(UnsupportedOperatorError, match="domain 'com.example'"):
        mbtorch.onnx.load(custom)


def test_wrong_inputs_at_run_time_are_clear_errors(tmp_path):
    model = build("fashion_cnn", mt)
    path = str(tmp_path / "m.onnx")
    mbtorch.onnx.export(model, (example_input("fashion_cnn", mt, 2),), path,
                        input_names=["x"], dynamic_axes={"x": {0: "batch"}})
    loaded = mbtorch.onnx.load(path)
    with pytest.raises(RuntimeError, match=r"input 'x' must be float32\[batch, 1, 28, 28\], "
                                           r"got float32\[2, 1, 27, 28\]"):
        loaded(mt.zeros(2, 1, 27, 28))
    with pytest.raises(RuntimeError, match="got float64"):
        loaded(mt.zeros(2, 1, 28, 28, dtype=mt.float64))
    with pytest.raises(TypeError, match="takes 1 inputs"):
        loaded()
    with pytest.raises(TypeError, match="must be a Tensor"):
        loaded(np.zeros((2, 1, 28, 28), np.float32))
