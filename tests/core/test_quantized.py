"""Quantized tensors (mbtorch/core/quantized.py, core/ops/quantize.py) against PyTorch: the
integer representations bit-exact (ties included), dequantized values, fake quantization and
its straight-through gradient, layout ops, repr, and PyTorch's refusals."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import mbtorch as mt

torch = pytest.importorskip("torch")
warnings.filterwarnings("ignore", message=".*quantized tensor creation functions.*")

RNG = np.random.default_rng(20)
QDTYPES = [("qint8", -128, 127), ("quint8", 0, 255), ("qint32", -(2 ** 31), 2 ** 31 - 1)]


def _values(n: int = 257, scale: float = 0.05) -> np.ndarray:
    """Random values plus exact ties (k + 0.5 steps) and values past both ends of int8."""
    ties = (np.arange(-20, 20) + 0.5).astype(np.float32) * np.float32(scale)
    rand = RNG.normal(0, 4, n).astype(np.float32)
    return np.concatenate([rand, ties, np.float32([300, -300, 0, -0.0])])


def _pair(arr: np.ndarray):
    return mt.tensor(arr), torch.tensor(arr)


@pytest.mark.parametrize("name,lo,hi", QDTYPES)
@pytest.mark.parametrize("scale,zero_point", [(0.05, 0), (0.05, 3), (0.1, -7), (1e-3, 1)])
def test_quantize_per_tensor_int_repr_is_torchs(name, lo, hi, scale, zero_point):
    if name == "quint8" and zero_point < 0:
        zero_point = 9
    m, t = _pair(_values(scale=scale))
    q = mt.quantize_per_tensor(m, scale, zero_point, getattr(mt, name))
    ref = torch.quantize_per_tensor(t, scale, zero_point, getattr(torch, name))
    assert q.dtype is getattr(mt, name) and q.is_quantized and not m.is_quantized
    np.testing.assert_array_equal(q.int_repr().numpy(), ref.int_repr().numpy())
    assert str(q.int_repr().dtype).split(".")[1] == str(ref.int_repr().dtype).split(".")[1]
    np.testing.assert_array_equal(q.dequantize().numpy(), ref.dequantize().numpy())
    assert q.q_scale() == ref.q_scale() and q.q_zero_point() == ref.q_zero_point()
    assert q.qscheme() is mt.per_tensor_affine and repr(q.qscheme()) == "mbtorch.per_tensor_affine"


def test_scale_and_zero_point_as_tensors_and_lists_of_tensors():
    m, t = _pair(_values())
    q = mt.quantize_per_tensor(m, mt.tensor(0.1), mt.tensor(4), mt.quint8)
    ref = torch.quantize_per_tensor(t, torch.tensor(0.1), torch.tensor(4), torch.quint8)
    np.testing.assert_array_equal(q.int_repr().numpy(), ref.int_repr().numpy())
    qs = mt.quantize_per_tensor([m, m * 2], mt.tensor([0.1, 0.2]), mt.tensor([1, 2]), mt.qint8)
    refs = torch.quantize_per_tensor([t, t * 2], torch.tensor([0.1, 0.2]),
                                     torch.tensor([1, 2]), torch.qint8)
    for a, b in zip(qs, refs):
        np.testing.assert_array_equal(a.int_repr().numpy(), b.int_repr().numpy())
    assert [d.numpy().tolist() for d in mt.dequantize(qs)] == \
        [d.numpy().tolist() for d in torch.dequantize(refs)]


@pytest.mark.parametrize("axis", [0, 1, 2])
@pytest.mark.parametrize("name", ["qint8", "quint8"])
def test_quantize_per_channel_is_torchs(axis, name):
    arr = RNG.normal(0, 2, (4, 5, 6)).astype(np.float32)
    n = arr.shape[axis]
    scales = np.linspace(0.01, 0.2, n)
    points = np.arange(n) + (0 if name == "qint8" else 100)
    q = mt.quantize_per_channel(mt.tensor(arr), mt.tensor(scales), mt.tensor(points), axis,
                                getattr(mt, name))
    ref = torch.quantize_per_channel(torch.tensor(arr), torch.tensor(scales),
                                     torch.tensor(points), axis, getattr(torch, name))
    np.testing.assert_array_equal(q.int_repr().numpy(), ref.int_repr().numpy())
    np.testing.assert_array_equal(q.dequantize().numpy(), ref.dequantize().numpy())
    assert q.qscheme() is mt.per_channel_affine
    assert q.q_per_channel_axis() == ref.q_per_channel_axis()
    assert q.q_per_channel_scales().dtype is mt.float64
    np.testing.assert_array_equal(q.q_per_channel_scales().numpy(),
                                  ref.q_per_channel_scales().numpy())
    np.testing.assert_array_equal(q.q_per_channel_zero_points().numpy(),
                                  ref.q_per_channel_zero_points().numpy())


@pytest.mark.parametrize("reduce_range", [False, True])
@pytest.mark.parametrize("name", ["qint8", "quint8"])
@pytest.mark.parametrize("shift", [0.0, 3.0, -5.0])
def test_quantize_per_tensor_dynamic_is_torchs(reduce_range, name, shift):
    m, t = _pair(RNG.normal(shift, 2, (8, 9)).astype(np.float32))
    q = mt.quantize_per_tensor_dynamic(m, getattr(mt, name), reduce_range)
    ref = torch.quantize_per_tensor_dynamic(t, getattr(torch, name), reduce_range)
    assert q.q_scale() == pytest.approx(ref.q_scale(), rel=1e-7)
    assert q.q_zero_point() == ref.q_zero_point()
    np.testing.assert_array_equal(q.int_repr().numpy(), ref.int_repr().numpy())


def test_make_quantized_tensors_from_integers():
    ints = np.arange(-6, 6, dtype=np.int8).reshape(3, 4)
    q = mt._make_per_tensor_quantized_tensor(mt.tensor(ints), 0.5, 2)
    ref = torch._make_per_tensor_quantized_tensor(torch.tensor(ints), 0.5, 2)
    assert q.dtype is mt.qint8
    np.testing.assert_array_equal(q.dequantize().numpy(), ref.dequantize().numpy())
    qc = mt._make_per_channel_quantized_tensor(mt.tensor(ints.astype(np.uint8) + 10),
                                               mt.tensor([0.1, 0.2, 0.3]), mt.tensor([1, 2, 3]), 0)
    refc = torch._make_per_channel_quantized_tensor(
        torch.tensor(ints.astype(np.uint8) + 10), torch.tensor([0.1, 0.2, 0.3]),
        torch.tensor([1, 2, 3]), 0)
    assert qc.dtype is mt.quint8
    np.testing.assert_array_equal(qc.dequantize().numpy(), refc.dequantize().numpy())


@pytest.mark.parametrize("scale,zp,qmin,qmax", [(0.1, 3, -128, 127), (0.1, 3, 0, 5),
                                                (0.02, 0, 0, 255), (0.5, -2, -8, 7)])
def test_fake_quantize_per_tensor_and_its_gradient_are_torchs(scale, zp, qmin, qmax):
    arr = np.concatenate([_values(64, scale), np.float32([0.35, 0.45, -0.05])])
    m = mt.tensor(arr, requires_grad=True)
    t = torch.tensor(arr, requires_grad=True)
    out = mt.fake_quantize_per_tensor_affine(m, scale, zp, qmin, qmax)
    ref = torch.fake_quantize_per_tensor_affine(t, scale, zp, qmin, qmax)
    np.testing.assert_array_equal(out.detach().numpy(), ref.detach().numpy())
    g = RNG.normal(size=arr.shape).astype(np.float32)
    out.backward(mt.tensor(g))
    ref.backward(torch.tensor(g))
    np.testing.assert_array_equal(m.grad.numpy(), t.grad.numpy())


def test_fake_quantize_per_channel_and_its_gradient_are_torchs():
    arr = RNG.normal(0, 1, (3, 4, 5)).astype(np.float32)
    scale, zp = np.float32([0.05, 0.1, 0.2, 0.3]), np.int32([0, 3, -2, 10])
    m, t = mt.tensor(arr, requires_grad=True), torch.tensor(arr, requires_grad=True)
    out = mt.fake_quantize_per_channel_affine(m, mt.tensor(scale), mt.tensor(zp), 1, -16, 15)
    ref = torch.fake_quantize_per_channel_affine(t, torch.tensor(scale), torch.tensor(zp), 1,
                                                 -16, 15)
    np.testing.assert_array_equal(out.detach().numpy(), ref.detach().numpy())
    out.sum().backward()
    ref.sum().backward()
    np.testing.assert_array_equal(m.grad.numpy(), t.grad.numpy())


def test_fake_quantize_is_one_graph_node_and_compiles():
    def f(x):
        return mt.fake_quantize_per_tensor_affine(x, 0.1, 0, -128, 127) * 2

    ep = mt.export.export(_Fn(f), (mt.randn(3, 4),))
    assert [n.op for n in ep.graph.nodes].count(mt.core.op.Op.FAKE_QUANTIZE) == 1
    x = mt.randn(3, 4)
    np.testing.assert_array_equal(mt.compile(f)(x).numpy(), f(x).numpy())


class _Fn(mt.nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


def _torch_twin(q):
    return torch.quantize_per_tensor(torch.tensor(q.dequantize().numpy()), q.q_scale(),
                                     q.q_zero_point(), getattr(torch, q.dtype.name))


LAYOUT = [
    ("t", lambda x: x.t()), ("reshape", lambda x: x.reshape(3, 2)),
    ("select", lambda x: x[1]), ("slice", lambda x: x[:, 1:]),
    ("clone", lambda x: x.clone()), ("contiguous", lambda x: x.t().contiguous()),
    ("detach", lambda x: x.detach()), ("unsqueeze", lambda x: x.unsqueeze(0)),
    ("flatten", lambda x: x.flatten()), ("permute", lambda x: x.permute(1, 0)),
]


@pytest.mark.parametrize("name,fn", LAYOUT, ids=[n for n, _ in LAYOUT])
def test_layout_ops_keep_the_quantization(name, fn):
    m = mt.quantize_per_tensor(mt.tensor(_values(0)[:6].reshape(2, 3)), 0.1, 3, mt.qint8)
    out, ref = fn(m), fn(_torch_twin(m))
    assert out.is_quantized and out.q_scale() == ref.q_scale()
    assert tuple(out.shape) == tuple(ref.shape)
    np.testing.assert_array_equal(out.int_repr().numpy(), ref.int_repr().numpy())


def test_cat_max_pool_and_relu_on_quantized_tensors_are_torchs():
    arr = RNG.normal(0, 1, (2, 3, 4, 4)).astype(np.float32)
    q = mt.quantize_per_tensor(mt.tensor(arr), 0.05, 10, mt.quint8)
    tq = _torch_twin(q)
    pairs = [(mt.cat([q, q], 1), torch.cat([tq, tq], 1)),
             (mt.nn.functional.max_pool2d(q, 2), torch.nn.functional.max_pool2d(tq, 2)),
             (mt.nn.functional.relu(q), torch.nn.functional.relu(tq)),
             (mt.nn.ReLU(inplace=True)(q.clone()), torch.nn.ReLU(inplace=True)(tq.clone()))]
    for out, ref in pairs:
        assert out.is_quantized and out.q_zero_point() == ref.q_zero_point()
        np.testing.assert_array_equal(out.int_repr().numpy(), ref.int_repr().numpy())


def test_repr_is_torchs():
    arr = np.float32([[1.04, -2.5, 300.0], [0.05, 0.15, 0.25]])
    q = mt.quantize_per_tensor(mt.tensor(arr), 0.1, 3, mt.qint8)
    ref = torch.quantize_per_tensor(torch.tensor(arr), 0.1, 3, torch.qint8)
    assert repr(q).replace("mbtorch", "torch") == repr(ref)
    qc = mt.quantize_per_channel(mt.tensor(arr), mt.tensor([0.1, 0.2]), mt.tensor([0, 1]), 0,
                                 mt.quint8)
    refc = torch.quantize_per_channel(torch.tensor(arr), torch.tensor([0.1, 0.2]),
                                      torch.tensor([0, 1]), 0, torch.quint8)
    assert repr(qc).replace("mbtorch", "torch") == repr(refc)


def test_values_move_between_devices():
    q = mt.quantize_per_tensor(mt.tensor(_values(20)), 0.05, 3, mt.qint8)
    there = q.to("mini")
    assert there.is_quantized and there.device.type == "mini" and there.q_scale() == 0.05
    np.testing.assert_array_equal(there.dequantize().cpu().numpy(), q.dequantize().numpy())
    back = there.cpu()
    np.testing.assert_array_equal(back.int_repr().numpy(), q.int_repr().numpy())
    assert back.dtype is mt.qint8 and back._be is q._be


def test_math_on_quantized_tensors_is_refused_as_torch_does():
    q = mt.quantize_per_tensor(mt.tensor([1.0, 2.0]), 0.1, 0, mt.qint8)
    other = mt.quantize_per_tensor(mt.tensor([1.0, 2.0]), 0.2, 0, mt.qint8)
    for fn in (lambda: q + q, lambda: mt.exp(q), lambda: q.sum(), lambda: q.float(),
               lambda: mt.matmul(q, q)):
        with pytest.raises(NotImplementedError, match="QuantizedCPU"):
            fn()
    for fn in (lambda: q + mt.ones(2), lambda: mt.ones(2) * q, lambda: mt.cat([q, other])):
        with pytest.raises(RuntimeError, match="promoteTypes with quantized numbers"):
            fn()
    with pytest.raises(TypeError, match="quantized tensor has no NumPy"):
        q.numpy()
    with pytest.raises(RuntimeError, match="floating point"):
        q.requires_grad_()
    assert q[1].item() == pytest.approx(2.0)


def test_per_channel_tensors_take_no_strided_views():
    q = mt.quantize_per_channel(mt.randn(2, 3), mt.tensor([0.1, 0.2]), mt.tensor([0, 0]), 0,
                                mt.qint8)
    with pytest.raises(RuntimeError, match="only on uniformly quantized tensor"):
        q.t()
    assert q.detach().q_per_channel_axis() == 0 and q.clone().is_quantized


@pytest.mark.parametrize("call,exc,match", [
    (lambda: mt.quantize_per_tensor(mt.ones(2, dtype=mt.float64), 0.1, 0, mt.qint8),
     RuntimeError, "Quantize only works on Float Tensor, got Double"),
    (lambda: mt.quantize_per_tensor(mt.ones(2), 0.1, 0, mt.float32), RuntimeError,
     "argument 'dtype' must be a quantized dtype"),
    (lambda: mt.quantize_per_tensor(mt.ones(2), -0.1, 0, mt.qint8), RuntimeError,
     "scale must be a positive"),
    (lambda: mt.quantize_per_tensor(mt.ones(2), 0.1, 300, mt.qint8), RuntimeError,
     "zero_point 300 is out of the range"),
    (lambda: mt.quantize_per_tensor(mt.ones(2), "a", 0, mt.qint8), TypeError,
     "argument 'scale' must be float"),
    (lambda: mt.quantize_per_channel(mt.ones(2, 3), mt.tensor([0.1]), mt.tensor([0]), 0,
                                     mt.qint8), RuntimeError, "length of scales"),
    (lambda: mt.quantize_per_channel(mt.ones(2, 3), mt.tensor([0.1] * 3), mt.tensor([0] * 3),
                                     -1, mt.qint8), RuntimeError, "Channel axis out of range"),
    (lambda: mt.fake_quantize_per_tensor_affine(mt.ones(2), 0.1, 0, 5, 1), RuntimeError,
     "quant_min"),
    (lambda: mt.fake_quantize_per_tensor_affine(mt.ones(2), 0.1, 9, 0, 5), RuntimeError,
     "zero_point"),
    (lambda: mt.ones(2).q_scale(), RuntimeError, "expected a quantized tensor"),
    (lambda: mt.ones(2).int_repr(), RuntimeError, "expected a quantized tensor"),
    (lambda: mt.promote_types(mt.qint8, mt.float32), RuntimeError, "quantized"),
])
def test_bad_input_is_named(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_dequantize_of_a_float_tensor_is_itself():
    x = mt.ones(2)
    assert x.dequantize() is x and mt.dequantize(x) is x
