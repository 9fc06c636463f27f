"""The cpu plugin's ``fuse`` hook (``mbtorch_numpy/jit/fused.py``): a fused chain gives the
unfused cpu kernels' values bit for bit, NaNs as NaNs (special values, broadcast, strided and
aliased operands, in-place groups, 1/0), declines what it cannot give exactly, and a compiled CNN
step with fused groups stays bit-identical to eager execution."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import mbtorch as mt
from mbtorch.core import dtypes as dt
from mbtorch.core.fusion import PointwiseGroup, Reduction, Ref, Step
from mbtorch.core.op import Op
from mbtorch.core.plugins import get_backend
from tests.graph.twins import plans, training_step

fused = pytest.importorskip("mbtorch_numpy.jit.fused")
BE = get_backend("cpu")
RNG = np.random.default_rng(0)
SHAPE = (8, 16, 9, 13)


def _in(i):
    return Ref("input", i)


def _t(i):
    return Ref("step", i)


def _unfused(group, arrays):
    vals = []
    for st in group.steps:
        args = [(arrays if a.kind == "input" else vals)[a.index] if isinstance(a, Ref) else a
                for a in st.args]
        vals.append(BE.kernels[st.op](*args, *st.attrs))
    return vals[-1]


def _values(shape, dtype):
    a = np.asarray(RNG.standard_normal(shape)).astype(dtype)
    if a.size < 20:
        return a
    flat = a.reshape(-1)
    special = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-45, -1e-45, 3e38, -3e38, 1.0],
                       dtype)
    flat[:special.size] = special
    flat[-special.size:] = special[::-1]
    return a


def _same_bits(got, want):
    """The same bits, but for a NaN's sign and payload (which operand's NaN an operation
    passes on is the instruction order's choice, in NumPy's loops as in these)."""
    assert got.dtype == want.dtype and got.shape == want.shape
    nan = np.isnan(want)
    np.testing.assert_array_equal(np.isnan(got), nan)
    u = f"u{got.itemsize}"
    np.testing.assert_array_equal(got.view(u)[~nan], want.view(u)[~nan])


D = {np.float32: dt.float32, np.float64: dt.float64}
CHAINS = {
    "bias add, relu": ([SHAPE, (1, 16, 1, 1)], lambda d: [
        Step(Op.ADD, (_in(0), _in(1)), d), Step(Op.RELU, (_t(0),), d)]),
    "relu backward": ([SHAPE, SHAPE], lambda d: [
        Step(Op.GT, (_in(0), 0.0), dt.bool), Step(Op.WHERE, (_t(0), _in(1), 0.0), d)]),
    "arithmetic, a row and a 0-d input": ([SHAPE, (13,), ()], lambda d: [
        Step(Op.MUL, (_in(0), _in(1)), d), Step(Op.SUB, (_t(0), _in(2)), d),
        Step(Op.DIV, (_t(1), 3.0), d), Step(Op.NEG, (_t(2),), d), Step(Op.ABS, (_in(0),), d),
        Step(Op.ADD, (_t(3), _t(4)), d), Step(Op.DIV, (_t(5), _in(1)), d)]),
    "comparisons and logic": ([SHAPE, SHAPE], lambda d: [
        Step(Op.LE, (_in(0), _in(1)), dt.bool), Step(Op.NE, (_in(0), _in(0)), dt.bool),
        Step(Op.LOGICAL_OR, (_t(0), _t(1)), dt.bool), Step(Op.LOGICAL_NOT, (_t(2),), dt.bool),
        Step(Op.EQ, (_in(1), -0.0), dt.bool), Step(Op.LOGICAL_XOR, (_t(3), _t(4)), dt.bool),
        Step(Op.WHERE, (_t(5), _in(0), _in(1)), d), Step(Op.GE, (_t(6), 0.5), dt.bool),
        Step(Op.LT, (_in(0), 1.0), dt.bool), Step(Op.LOGICAL_AND, (_t(7), _t(8)), dt.bool)]),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", list(CHAINS))
def test_fused_chains_equal_the_unfused_kernels_bit_for_bit(name, dtype):
    shapes, steps = CHAINS[name]
    d = D[dtype]
    arrays = [_values(s, dtype) for s in shapes]
    group = PointwiseGroup(tuple((a.shape, d) for a in arrays), tuple(steps(d)), SHAPE)
    kernel = fused.fuse(group)
    assert kernel is not None
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # 1/0 and NaN compare: no warning, no exception
        got = kernel(*arrays)
    _same_bits(got, _unfused(group, arrays))
    # strided operands: a transposed copy, an expanded (stride 0) view, a sliced view
    strided = [np.asfortranarray(arrays[0])] + arrays[1:]
    if len(shapes[1]) == len(SHAPE):
        strided[1] = np.broadcast_to(arrays[1][:, :1], SHAPE) if name == "relu backward" \
            else strided[1]
    _same_bits(kernel(*strided), _unfused(group, strided))
    big = _values((8, 16, 9, 26), dtype)[..., ::2]
    _same_bits(kernel(big, *arrays[1:]), _unfused(group, [big] + arrays[1:]))


@pytest.mark.parametrize("layout", ["contiguous", "transposed", "aliased"])
def test_an_in_place_group_writes_what_the_unfused_writes_would(layout):
    # SGD momentum's buffer update, buf = buf * 0.9 + g, as a compiled replay fuses it
    d = dt.float32
    buf = _values((128, 256), np.float32)
    if layout == "transposed":
        buf = np.ascontiguousarray(buf.T).T
    g = buf.copy() if layout != "aliased" else buf  # aliased: the gradient is the buffer
    g[...] = _values(buf.shape, np.float32) if layout != "aliased" else buf
    steps = (Step(Op.MUL, (_in(0), 0.9), d), Step(Op.ADD, (_t(0), _in(1)), d))
    group = PointwiseGroup(((buf.shape, d), (g.shape, d)), steps, buf.shape, into=True)
    want = _unfused(group, [buf.copy(), g.copy()])
    kernel = fused.fuse(group)
    assert kernel(buf, g) is None
    _same_bits(np.ascontiguousarray(buf), want)  # no fused multiply-add: two roundings


@pytest.mark.parametrize("case", ["reduction", "exp", "cast", "int64", "float16", "small"])
def test_what_would_not_be_bit_exact_or_would_not_pay_is_declined(case):
    d = {"int64": dt.int64, "float16": dt.float16}.get(case, dt.float32)
    shape = (4, 4) if case == "small" else SHAPE
    steps = [Step(Op.ADD, (_in(0), _in(0)), d)]
    if case == "exp":
        steps.append(Step(Op.EXP, (_t(0),), d))
    if case == "cast":
        steps.append(Step(Op.CAST, (_t(0),), dt.float64, (dt.float64,)))
    red = Reduction(Op.SUM, (0,), False) if case == "reduction" else None
    group = PointwiseGroup(((shape, d),), tuple(steps), shape, red)
    assert fused.fuse(group) is None


def test_a_compiled_cnn_step_fuses_and_stays_bit_identical_to_eager():
    def build():
        mt.manual_seed(0)
        model = mt.nn.Sequential(mt.nn.Conv2d(1, 8, 3), mt.nn.ReLU(), mt.nn.MaxPool2d(2),
                                 mt.nn.Conv2d(8, 16, 3), mt.nn.ReLU(), mt.nn.Flatten(),
                                 mt.nn.Linear(16 * 11 * 11, 10))
        return model, mt.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)

    step = training_step(mt.randn(32, 1, 28, 28), mt.arange(32) % 10)
    results = []
    for compiled in (False, True):
        model, opt = build()
        fn = mt.compile(step) if compiled else step
        losses = [fn(model, opt).item() for _ in range(4)]
        results.append((losses, [p.detach().numpy().copy() for p in model.parameters()]))
    assert results[0][0] == results[1][0]
    for a, b in zip(results[0][1], results[1][1]):
        _same_bits(a, b)
    fused_ops = [[st.op.name.lower() for st in g.steps] for p in plans(fn) for g in p.fused]
    assert ["add", "relu"] in fused_ops and ["gt", "where"] in fused_ops
