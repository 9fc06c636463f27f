"""Quantized graphs to ONNX: ``mbtorch.onnx.export`` of explicit quantize/dequantize around
convolutions and linear layers (QDQ form), of fake quantization, of a model converted by
``mbtorch.ao.quantization.convert`` and of a ``convert_pt2e`` program; each checked by the
ONNX checker, run by onnxruntime (as defined, and fused into its integer kernels: QLinearConv,
QGemm) against mbtorch, and loaded back with ``mbtorch.onnx.load``.

Agreement: onnxruntime divides by the scale where mbtorch (as PyTorch) multiplies by its
reciprocal, so a value exactly halfway between two steps may round one step apart, and its
integer kernels requantize integer sums once; the tests allow one quantization step of the
output and check that most values agree exactly. Loading our own export back into mbtorch runs
mbtorch's own ops, so it must agree exactly.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto

import mbtorch as mt
import mbtorch.nn.functional as F
import mbtorch.onnx
from mbtorch import nn
from mbtorch.onnx.errors import UnsupportedOperatorError

from .quant_common import FloatCNN, session, within_one_step

OUT_SCALE = 0.05


@pytest.fixture(autouse=True)
def _seeded():
    mt.manual_seed(0)  # every test's random inputs are the same on every run


class QDQNet(nn.Module):
    """What a converted static-quantized CNN computes, written with the core functions:
    a per-channel qint8 convolution weight, a per-tensor qint8 linear weight, quint8
    activations, max pooling and flattening on the quantized values."""

    def __init__(self) -> None:
        super().__init__()
        w = mt.randn(8, 3, 3, 3) * 0.3
        scales = w.abs().amax((1, 2, 3)) / 127
        self.register_buffer("conv_w", mt.quantize_per_channel(
            w, scales, mt.zeros(8, dtype=mt.int64), 0, mt.qint8))
        self.conv_b = nn.Parameter(mt.randn(8) * 0.1)
        fw = mt.randn(10, 8 * 4 * 4) * 0.1
        self.register_buffer("fc_w", mt.quantize_per_tensor(fw, float(fw.abs().max()) / 127,
                                                            0, mt.qint8))
        self.fc_b = nn.Parameter(mt.randn(10) * 0.1)

    def forward(self, x):
        q = mt.quantize_per_tensor(x, 0.03, 128, mt.quint8)
        y = F.conv2d(q.dequantize(), self.conv_w.dequantize(), self.conv_b, padding=1)
        q = mt.quantize_per_tensor(F.relu(y), 0.02, 0, mt.quint8)
        q = F.max_pool2d(q, 2).flatten(1)
        y = F.linear(q.dequantize(), self.fc_w.dequantize(), self.fc_b)
        return mt.quantize_per_tensor(y, OUT_SCALE, 100, mt.quint8).dequantize()


@pytest.fixture(scope="module")
def qdq_export(tmp_path_factory):
    mt.manual_seed(0)
    model = QDQNet().eval()
    path = str(tmp_path_factory.mktemp("qdq") / "qdq.onnx")
    mbtorch.onnx.export(model, (mt.randn(2, 3, 8, 8),), path, input_names=["x"],
                        dynamic_axes={"x": {0: "batch"}})
    return model, path


def test_qdq_export_is_valid_and_matches_onnxruntime(qdq_export):
    model, path = qdq_export
    proto = onnx.load(path)
    onnx.checker.check_model(proto, full_check=True)
    ops = [n.op_type for n in proto.graph.node]
    assert ops.count("QuantizeLinear") == 3 and ops.count("DequantizeLinear") == 5
    inits = {t.name: t for t in proto.graph.initializer}
    assert inits["conv_w"].data_type == TensorProto.INT8  # weights stored as integers
    assert inits["fc_w"].data_type == TensorProto.INT8
    per_axis = [n for n in proto.graph.node if n.op_type == "DequantizeLinear"
                and n.input[0] == "conv_w"]
    assert [a.i for a in per_axis[0].attribute if a.name == "axis"] == [0]
    zero_points = [inits[n.input[2]] for n in proto.graph.node if n.op_type == "QuantizeLinear"]
    assert {z.data_type for z in zero_points} == {TensorProto.UINT8}
    sess = session(path, literal=True)
    for batch in (2, 5):
        x = mt.randn(batch, 3, 8, 8)
        want = model(x).numpy()
        within_one_step(sess.run(None, {"x": x.numpy()})[0], want, OUT_SCALE)


def test_onnxruntime_runs_the_export_with_integer_kernels(qdq_export, tmp_path):
    model, path = qdq_export
    optimized = str(tmp_path / "optimized.onnx")
    sess = session(path, optimized)
    ops = {n.op_type for n in onnx.load(optimized).graph.node}
    assert "QLinearConv" in ops and ops & {"QGemm", "QLinearMatMul"}, ops
    assert "Conv" not in ops  # no float convolution left
    # integer sums requantized once (not dequantized, summed in float and quantized): values
    # near a rounding tie land one step apart more often
    x = mt.randn(16, 3, 8, 8)
    within_one_step(sess.run(None, {"x": x.numpy()})[0], model(x).numpy(), OUT_SCALE, 0.9)


def test_loading_the_export_back_matches_mbtorch_exactly(qdq_export):
    model, path = qdq_export
    loaded = mbtorch.onnx.load(path)
    x = mt.randn(4, 3, 8, 8)
    np.testing.assert_array_equal(loaded(x).numpy(), model(x).numpy())


# -- element types of integer-valued ops ------------------------------------------------------
class IntegerOps(nn.Module):
    """Layout ops and max pooling on quantized values, per-channel (int8) and per-tensor."""

    def forward(self, x):
        a = mt.quantize_per_tensor(x, 0.1, 3, mt.qint8)
        b = mt.quantize_per_tensor(x * 2, 0.1, 3, mt.qint8)
        joined = mt.cat([a, b], 1).transpose(1, 2).reshape(2, -1)  # (2, 4*2*3)
        pooled = F.max_pool2d(mt.quantize_per_tensor(x, 0.05, 0, mt.quint8).unsqueeze(1), 2)
        c = mt.quantize_per_channel(x, mt.tensor([0.1, 0.2, 0.05, 0.4]),
                                    mt.tensor([0, 1, -2, 3]), 1, mt.qint8)
        return joined.dequantize(), pooled.dequantize(), c.dequantize()


def test_integer_views_cat_and_pooling_export_with_their_element_types(tmp_path):
    path = str(tmp_path / "ints.onnx")
    model = IntegerOps()
    x = mt.randn(2, 4, 6)
    mbtorch.onnx.export(model, (x,), path, input_names=["x"])
    proto = onnx.load(path)
    onnx.checker.check_model(proto, full_check=True)
    inferred = onnx.shape_inference.infer_shapes(proto, strict_mode=True)
    types = {v.name: v.type.tensor_type.elem_type for v in inferred.graph.value_info}
    by_op = {}
    for n in proto.graph.node:
        by_op.setdefault(n.op_type, []).append(types.get(n.output[0]))
    assert set(by_op["Concat"]) == {TensorProto.INT8}
    assert set(by_op["Transpose"]) == {TensorProto.INT8}
    assert set(by_op["MaxPool"]) == {TensorProto.UINT8}
    got = session(path, literal=True).run(None, {"x": x.numpy()})
    for g, w, step in zip(got, model(x), (0.1, 0.05, 0.4)):
        within_one_step(g, w.numpy(), step)
    for g, w in zip(mbtorch.onnx.load(path)(x), model(x)):
        np.testing.assert_array_equal(g.numpy(), w.numpy())


def test_a_quantized_output_is_its_integers(tmp_path):
    class M(nn.Module):
        def forward(self, x):
            return mt.quantize_per_tensor(x, 0.1, 3, mt.qint8).reshape(-1)

    x, path = mt.randn(2, 3), str(tmp_path / "q.onnx")
    mbtorch.onnx.export(M(), (x,), path, input_names=["x"])
    out = onnx.load(path).graph.output[0].type.tensor_type
    assert out.elem_type == TensorProto.INT8
    want = M()(x).int_repr().numpy()
    np.testing.assert_array_equal(session(path).run(None, {"x": x.numpy()})[0], want)
    np.testing.assert_array_equal(mbtorch.onnx.load(path)(x).numpy(), want)


# -- fake quantization --------------------------------------------------------------------
class FakeQuant(nn.Module):
    """Fake quantization with constant qparams (Python numbers, or tensors made from Python
    data in ``forward``: the core's fake_quantize reads a zero point tensor on the host to
    check it, which a graph capture of a buffer or of an op's result cannot do)."""

    def __init__(self, lo: int, hi: int, per_channel: bool) -> None:
        super().__init__()
        self.lo, self.hi, self.per_channel = lo, hi, per_channel
        self.zp = (lo + hi + 1) // 2 if lo < 0 or hi > 127 else 0

    def forward(self, x):
        if self.per_channel:
            scale = mt.tensor([0.02, 0.05, 0.1])
            zero_point = mt.tensor([self.zp] * 3, dtype=mt.int32)
            return mt.fake_quantize_per_channel_affine(x, scale, zero_point, 1, self.lo,
                                                       self.hi)
        return mt.fake_quantize_per_tensor_affine(x, 0.03, self.zp, self.lo, self.hi)


@pytest.mark.parametrize("per_channel", [False, True], ids=["per_tensor", "per_channel"])
@pytest.mark.parametrize("lo,hi,clip", [(-128, 127, False), (0, 255, False), (0, 127, True),
                                        (-64, 63, True)])
def test_fake_quantize_exports_as_quantize_dequantize(tmp_path, lo, hi, clip, per_channel):
    model = FakeQuant(lo, hi, per_channel)
    x = mt.randn(2, 3, 5) * 3
    path = str(tmp_path / "fq.onnx")
    mbtorch.onnx.export(model, (x,), path, input_names=["x"])
    proto = onnx.load(path)
    ops = [n.op_type for n in proto.graph.node]
    assert ops.count("QuantizeLinear") == 1 and ops.count("DequantizeLinear") == 1
    assert ("Clip" in ops) == clip  # a narrower range than the type's: the integers clipped
    got = session(path, literal=True).run(None, {"x": x.numpy()})[0]
    within_one_step(got, model(x).numpy(), 0.1 if per_channel else 0.03)
    np.testing.assert_array_equal(mbtorch.onnx.load(path)(x).numpy(), model(x).numpy())


def test_fake_quantize_to_16_bits_needs_opset_21(tmp_path):
    model = FakeQuant(0, 1023, False)
    x = mt.randn(2, 3, 5)
    with pytest.raises(UnsupportedOperatorError, match=r"fake_quantize \(node .*uint16.*"
                                                        r"opset 21"):
        mbtorch.onnx.export(model, (x,), str(tmp_path / "a.onnx"))
    path = str(tmp_path / "b.onnx")
    mbtorch.onnx.export(model, (x,), path, input_names=["x"], opset_version=21)
    got = session(path, literal=True).run(None, {"x": x.numpy()})[0]
    within_one_step(got, model(x).numpy(), 0.03)


def test_fake_quantize_beyond_16_bits_is_refused(tmp_path):
    with pytest.raises(UnsupportedOperatorError, match="fake_quantize.*at most 16 bits"):
        mbtorch.onnx.export(FakeQuant(-100000, 100000, False), (mt.randn(2, 3, 5),),
                            str(tmp_path / "a.onnx"))


class Int32Bias(nn.Module):
    def __init__(self, zero_point: int) -> None:
        super().__init__()
        self.register_buffer("bias", mt._make_per_tensor_quantized_tensor(
            mt.tensor([-300, 0, 7, 1000000], dtype=mt.int32), 0.001, zero_point))

    def forward(self, x):
        return x + self.bias.dequantize()


@pytest.mark.parametrize("zero_point", [0, 5])
def test_qint32_values_dequantize(tmp_path, zero_point):
    model = Int32Bias(zero_point)
    x = mt.randn(3, 4)
    path = str(tmp_path / "b.onnx")
    mbtorch.onnx.export(model, (x,), path, input_names=["x"])
    ops = [n.op_type for n in onnx.load(path).graph.node]
    assert ("DequantizeLinear" in ops) == (zero_point == 0)  # ONNX: int32 has zero point 0
    got = session(path, literal=True).run(None, {"x": x.numpy()})[0]
    np.testing.assert_allclose(got, model(x).numpy(), rtol=1e-6, atol=1e-6)


def test_quantizing_to_qint32_is_refused_naming_the_node(tmp_path):
    class M(nn.Module):
        def forward(self, x):
            return mt.quantize_per_tensor(x, 0.1, 0, mt.qint32).dequantize()

    with pytest.raises(UnsupportedOperatorError, match=r"op quantize \(node \d+.*no int32 "
                                                        "output"):
        mbtorch.onnx.export(M(), (mt.randn(3),), str(tmp_path / "a.onnx"))


# -- a model converted by mbtorch.ao.quantization ---------------------------------------------
class _StaticCNN(nn.Module):
    def __init__(self) -> None:
        from mbtorch.ao.quantization import DeQuantStub, QuantStub

        super().__init__()
        self.quant, self.dequant = QuantStub(), DeQuantStub()
        self.conv1, self.relu1 = nn.Conv2d(3, 8, 3, padding=1), nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.conv2, self.relu2 = nn.Conv2d(8, 8, 3), nn.ReLU()
        self.fc = nn.Linear(8 * 2 * 2, 10)

    def forward(self, x):
        x = self.pool(self.relu1(self.conv1(self.quant(x))))
        x = self.relu2(self.conv2(x))
        return self.dequant(self.fc(x.flatten(1)))


def _converted_cnn():
    import mbtorch.ao.quantization as tq

    mt.manual_seed(0)
    model = tq.fuse_modules(_StaticCNN().eval(), [["conv1", "relu1"], ["conv2", "relu2"]])
    model.qconfig = tq.get_default_qconfig("x86")
    prepared = tq.prepare(model)
    for _ in range(4):
        prepared(mt.randn(8, 3, 8, 8))
    return tq.convert(prepared)


@pytest.mark.filterwarnings("ignore:Please use quant_min and quant_max")  # as PyTorch warns
def test_converted_static_cnn_runs_on_onnxruntime_integer_kernels(tmp_path):
    model = _converted_cnn()
    path, optimized = str(tmp_path / "cnn.onnx"), str(tmp_path / "cnn.opt.onnx")
    mbtorch.onnx.export(model, (mt.randn(2, 3, 8, 8),), path, input_names=["x"],
                        dynamic_axes={"x": {0: "batch"}})
    onnx.checker.check_model(onnx.load(path), full_check=True)
    sess = session(path, optimized)
    ops = [n.op_type for n in onnx.load(optimized).graph.node]
    assert ops.count("QLinearConv") == 2 and {"QGemm", "QLinearMatMul"} & set(ops), ops
    assert "Conv" not in ops and "Gemm" not in ops and "MatMul" not in ops
    step = model.fc.scale  # the output's quantization step
    x = mt.randn(16, 3, 8, 8)
    within_one_step(sess.run(None, {"x": x.numpy()})[0], model(x).numpy(), step, 0.9)
    np.testing.assert_array_equal(mbtorch.onnx.load(path)(x).numpy(), model(x).numpy())


def test_pt2e_converted_program_runs_on_onnxruntime_integer_kernels(tmp_path):
    from mbtorch.ao.quantization.quantize_pt2e import convert_pt2e, prepare_pt2e
    from mbtorch.ao.quantization.quantizer import (
        X86InductorQuantizer,
        get_default_x86_inductor_quantization_config,
    )

    mt.manual_seed(0)
    program = mt.export.export(FloatCNN(True).eval(), (mt.randn(4, 3, 8, 8),))
    quantizer = X86InductorQuantizer().set_global(get_default_x86_inductor_quantization_config())
    prepared = prepare_pt2e(program.module(), quantizer)
    with mt.no_grad():
        for _ in range(4):
            prepared(mt.randn(4, 3, 8, 8))
        converted = convert_pt2e(prepared)
        path, optimized = str(tmp_path / "pt2e.onnx"), str(tmp_path / "pt2e.opt.onnx")
        x = mt.randn(4, 3, 8, 8)
        mbtorch.onnx.export(converted, (x,), path, input_names=["x"])
        want = converted(x).numpy()
    sess = session(path, optimized)
    ops = [n.op_type for n in onnx.load(optimized).graph.node]
    assert ops.count("QLinearConv") == 2 and "Conv" not in ops, ops
    # the output is float (x86's default leaves the last linear's output unquantized): int8
    # requantization inside onnxruntime moves activations by at most a step, which the
    # float layers after them carry on
    got = sess.run(None, {"x": x.numpy()})[0]
    assert np.abs(got - want).max() <= 0.02 * np.abs(want).max()
    np.testing.assert_array_equal(mbtorch.onnx.load(path)(x).numpy(), want)
