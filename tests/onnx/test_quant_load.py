"""``mbtorch.onnx.load`` of quantized ONNX models against onnxruntime: the models
onnxruntime's quantization tools write (``quantize_static`` in QDQ and QOperator format, with
its com.microsoft contrib operators; ``quantize_dynamic``), ``torch.onnx``'s exports of fake
quantization (both exporters, against torch), hand-built QuantizeLinear/DequantizeLinear
(per tensor and per axis), on ``cpu`` and another device; the loader's errors.

Agreement: within one quantization step of onnxruntime, most values exactly (mbtorch
multiplies by the scale's reciprocal where ONNX divides; onnxruntime's lookup tables and
fixed-point paths round their own way).
"""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

import mbtorch as mt
import mbtorch.onnx
from mbtorch.onnx.errors import UnsupportedOperatorError

from .quant_common import FloatCNN, session, within_one_step


@pytest.fixture(autouse=True)
def _seeded():
    mt.manual_seed(0)  # every test's random inputs are the same on every run


# -- models made by onnxruntime's quantization tools ---------------------------------------
def _float_model(tmp_path, bias: bool) -> str:
    mt.manual_seed(1)
    path = str(tmp_path / "float.onnx")
    mbtorch.onnx.export(FloatCNN(bias), (mt.randn(2, 3, 8, 8),), path, input_names=["x"],
                        dynamic_axes={"x": {0: "batch"}})
    return path


def _reader(rng):
    from onnxruntime.quantization import CalibrationDataReader

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.batches = iter([{"x": rng.standard_normal((4, 3, 8, 8)).astype(np.float32)}
                                 for _ in range(4)])

        def get_next(self):
            return next(self.batches, None)

    return Reader()


def _compare_with_onnxruntime(path: str, rng, device: str = "cpu") -> None:
    # literal: a QDQ model as defined (float math between the nodes), not onnxruntime's
    # integer fusions of it; the QOperator formats' integer operators run as they are
    sess, loaded = session(path, literal=True), mbtorch.onnx.load(path).to(device)
    for batch in (1, 3):
        x = rng.standard_normal((batch, 3, 8, 8)).astype(np.float32)
        want = sess.run(None, {"x": x})[0]
        got = loaded(mt.tensor(x, device=device)).cpu().numpy()
        out_scale = _output_scale(onnx.load(path))
        within_one_step(got, want, out_scale)


def _output_scale(proto) -> float:
    """The scale of the last DequantizeLinear before the output (its step), else the
    largest activation scale (for a float output computed from integers)."""
    inits = {t.name: onnx.numpy_helper.to_array(t) for t in proto.graph.initializer}
    scales = [float(inits[n.input[1]].max()) for n in proto.graph.node
              if n.op_type in ("DequantizeLinear", "QuantizeLinear") and n.input[1] in inits]
    return max(scales)


@pytest.mark.parametrize("per_channel", [False, True], ids=["per_tensor", "per_channel"])
def test_quantize_static_qdq_model_loads_and_matches_onnxruntime(tmp_path, per_channel):
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static

    rng = np.random.default_rng(0)
    out = str(tmp_path / "qdq.onnx")
    quantize_static(_float_model(tmp_path, True), out, _reader(rng),
                    quant_format=QuantFormat.QDQ, per_channel=per_channel,
                    activation_type=QuantType.QInt8, weight_type=QuantType.QInt8)
    ops = {n.op_type for n in onnx.load(out).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    _compare_with_onnxruntime(out, rng)


@pytest.mark.parametrize("per_channel", [False, True], ids=["per_tensor", "per_channel"])
def test_quantize_static_qoperator_model_loads_and_matches_onnxruntime(tmp_path, per_channel):
    # without biases: onnxruntime writes a separate bias Add as com.microsoft's QLinearAdd,
    # a contrib operator mbtorch.onnx.load does not read
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static

    rng = np.random.default_rng(0)
    out = str(tmp_path / "qop.onnx")
    quantize_static(_float_model(tmp_path, False), out, _reader(rng),
                    quant_format=QuantFormat.QOperator, per_channel=per_channel,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    ops = {n.op_type for n in onnx.load(out).graph.node}
    assert {"QLinearConv", "QLinearMatMul"} <= ops
    _compare_with_onnxruntime(out, rng)


def test_onnxruntime_quantized_models_run_on_another_device(tmp_path, mini_device):
    # the template plugin's device: quantizing and the integer operators through the
    # registry on a backend that is not NumPy's
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static

    rng = np.random.default_rng(0)
    for fmt, name in ((QuantFormat.QDQ, "qdq"), (QuantFormat.QOperator, "qop")):
        out = str(tmp_path / f"{name}.onnx")
        quantize_static(_float_model(tmp_path, False), out, _reader(rng), quant_format=fmt,
                        per_channel=True, activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8)
        _compare_with_onnxruntime(out, rng, mini_device)


def _float_contrib_model(path: str) -> None:
    """A float model of the operators onnxruntime's QOperator format turns into its
    com.microsoft contrib operators (QLinearAdd, QLinearConcat, QGemm, ...)."""
    rng = np.random.default_rng(4)

    def weight(name, *shape):
        return onnx.numpy_helper.from_array(
            (rng.standard_normal(shape) * 0.3).astype(np.float32), name)

    node = helper.make_node
    nodes = [node("Conv", ["x", "wa", "ba"], ["a"], pads=[1, 1, 1, 1]),
             node("LeakyRelu", ["a"], ["a2"], alpha=0.1),
             node("Conv", ["x", "wb", "bb"], ["b"]), node("Sigmoid", ["b"], ["b2"]),
             node("Concat", ["a2", "b2"], ["c"], axis=1),
             node("AveragePool", ["c"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
             node("Mul", ["p", "p"], ["m"]), node("Add", ["m", "p"], ["s"]),
             node("GlobalAveragePool", ["s"], ["g"]), node("Flatten", ["g"], ["f"]),
             node("Gemm", ["f", "wf", "bf"], ["y"], transB=1)]
    graph = helper.make_graph(
        nodes, "contrib", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                         ["n", 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 5])],
        [weight("wa", 4, 3, 3, 3), weight("ba", 4), weight("wb", 4, 3, 1, 1), weight("bb", 4),
         weight("wf", 5, 8), weight("bf", 5)])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)


@pytest.mark.parametrize("per_channel", [False, True], ids=["per_tensor", "per_channel"])
def test_onnxruntime_contrib_quantized_operators_load(tmp_path, per_channel):
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static

    rng = np.random.default_rng(0)
    src, out = str(tmp_path / "float.onnx"), str(tmp_path / "contrib.onnx")
    _float_contrib_model(src)
    quantize_static(src, out, _reader(rng), quant_format=QuantFormat.QOperator,
                    per_channel=per_channel, activation_type=QuantType.QUInt8,
                    weight_type=QuantType.QInt8)
    contrib = {n.op_type for n in onnx.load(out).graph.node if n.domain == "com.microsoft"}
    assert contrib == {"QGemm", "QLinearAdd", "QLinearMul", "QLinearConcat", "QLinearSigmoid",
                       "QLinearAveragePool", "QLinearGlobalAveragePool", "QLinearLeakyRelu"}
    _compare_with_onnxruntime(out, rng)


def test_other_contrib_operators_are_refused_at_load():
    node = helper.make_node("FusedGemm", ["a", "a"], ["y"], domain="com.microsoft")
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info(
        "a", TensorProto.FLOAT, [2, 2])], [helper.make_tensor_value_info(
            "y", TensorProto.FLOAT, [2, 2])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid("com.microsoft", 1)])
    with pytest.raises(UnsupportedOperatorError, match="domain 'com.microsoft'.*QGemm"):
        mbtorch.onnx.load(model)


def test_quantize_dynamic_model_loads_and_matches_onnxruntime(tmp_path):
    from onnxruntime.quantization import QuantType, quantize_dynamic

    rng = np.random.default_rng(0)
    out = str(tmp_path / "dyn.onnx")
    quantize_dynamic(_float_model(tmp_path, True), out, weight_type=QuantType.QInt8)
    ops = {n.op_type for n in onnx.load(out).graph.node}
    assert {"DynamicQuantizeLinear", "ConvInteger"} <= ops
    sess, loaded = session(out), mbtorch.onnx.load(out)
    x = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
    np.testing.assert_allclose(loaded(mt.tensor(x)).numpy(), sess.run(None, {"x": x})[0],
                               rtol=1e-5, atol=1e-5)


# -- PyTorch's exports of fake-quantized models ---------------------------------------------
def _torch_fake_quantized():
    import torch

    class FakeQuantized(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 4, 3)

        def forward(self, x):
            x = torch.fake_quantize_per_tensor_affine(x, 0.05, 128, 0, 255)
            w = torch.fake_quantize_per_channel_affine(
                self.conv.weight, torch.full((4,), 0.01), torch.zeros(4, dtype=torch.int32),
                0, -128, 127)
            y = torch.nn.functional.conv2d(x, w, self.conv.bias)
            return torch.fake_quantize_per_tensor_affine(y, 0.02, 0, 0, 127)  # reduce_range

    torch.manual_seed(0)
    return FakeQuantized().eval()


@pytest.mark.parametrize("dynamo", [False, True], ids=["torchscript", "dynamo"])
def test_torch_onnx_export_of_fake_quantization_loads_and_matches_torch(tmp_path, dynamo):
    import logging
    import warnings

    import torch

    model, path = _torch_fake_quantized(), str(tmp_path / "fq.onnx")
    x = torch.randn(2, 3, 8, 8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.disable(logging.WARNING)
        try:
            torch.onnx.export(model, (x,), path, dynamo=dynamo, input_names=["x"],
                              opset_version=18 if dynamo else 17, verbose=False)
        finally:
            logging.disable(logging.NOTSET)
    ops = {n.op_type for n in onnx.load(path).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear", "Clip"} <= ops
    with torch.no_grad():
        want = model(x).numpy()
    np.testing.assert_array_equal(mbtorch.onnx.load(path)(mt.tensor(x.numpy())).numpy(), want)


# -- hand-built QDQ models and the loader's errors -------------------------------------------
def _qdq_model(zero_point: np.ndarray, scale: np.ndarray, axis: int = 1, **extra):
    init = [onnx.numpy_helper.from_array(scale.astype(np.float32), "s"),
            onnx.numpy_helper.from_array(zero_point, "z")]
    nodes = [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"], name="quant",
                              axis=axis, **extra),
             helper.make_node("DequantizeLinear", ["q", "s", "z"], ["y"], name="dequant",
                              axis=axis)]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info(
        "x", TensorProto.FLOAT, [2, 3, 4])], [helper.make_tensor_value_info(
            "y", TensorProto.FLOAT, [2, 3, 4]), helper.make_tensor_value_info(
            "q", zero_point.dtype == np.int8 and TensorProto.INT8 or TensorProto.UINT8,
            [2, 3, 4])], init)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])


@pytest.mark.parametrize("case", ["per_tensor_uint8", "per_tensor_int8", "per_axis_int8",
                                  "per_axis_uint8_last"])
def test_hand_built_qdq_matches_onnxruntime(case):
    rng = np.random.default_rng(3)
    if case.startswith("per_tensor"):
        dtype = np.uint8 if "uint8" in case else np.int8
        proto = _qdq_model(np.array(7, dtype), np.array(0.05), 1)
        step = 0.05
    else:
        axis = 1 if case == "per_axis_int8" else 2
        n = 3 if axis == 1 else 4
        dtype = np.int8 if "int8" in case and "uint8" not in case else np.uint8
        proto = _qdq_model(np.arange(n).astype(dtype), np.linspace(0.02, 0.1, n), axis)
        step = 0.1
    x = rng.standard_normal((2, 3, 4)).astype(np.float32) * 3
    want_y, want_q = ort.InferenceSession(proto.SerializeToString(),
                                          providers=["CPUExecutionProvider"]).run(None, {"x": x})
    got_y, got_q = mbtorch.onnx.load(proto)(mt.tensor(x))
    assert got_q.dtype is mt.from_numpy(want_q).dtype  # plain int8/uint8 values, as ONNX
    assert np.abs(got_q.numpy().astype(int) - want_q).max() <= 1
    within_one_step(got_y.numpy(), want_y, step)


def test_loader_refuses_16_bit_and_blocked_quantization_naming_the_node():
    proto = _qdq_model(np.array(0, np.int16), np.array(0.1))
    with pytest.raises(RuntimeError, match=r"QuantizeLinear \(node 'quant'\).*int16"):
        mbtorch.onnx.load(proto)(mt.randn(2, 3, 4))
    scale = np.full((2, 3, 2), 0.1, np.float32)
    blocked = _qdq_model(np.zeros((2, 3, 2), np.int8), scale, 2, block_size=2)
    with pytest.raises(RuntimeError, match=r"QuantizeLinear \(node 'quant'\).*block_size=2"):
        mbtorch.onnx.load(blocked)(mt.randn(2, 3, 4))
