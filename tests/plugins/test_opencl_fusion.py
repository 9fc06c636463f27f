"""The opencl ``fuse`` hook (mbtorch_opencl/fused.py): compiled replays run one kernel per
pointwise chain and give eager's values — float32 within the conformance tolerance (a fused
chain may use scalar math where the unfused kernel used vector math), integers exactly
(narrow integers wrap at every step as unfused) — and what it declines replays unfused."""

from __future__ import annotations

import numpy as np
import pytest

import mbtorch as mt
from mbtorch.core import plugins
from mbtorch.core.fusion import PointwiseGroup, Ref, Step
from mbtorch.core.op import Op
from tests.graph.twins import plans as _plans
from tests.graph.twins import train_twins
from tests.plugins.test_opencl import _OK, _WHY

pytestmark = pytest.mark.skipif(not _OK, reason=f"no usable OpenCL device: {_WHY}")


def _close(got: mt.Tensor, want: mt.Tensor) -> None:
    assert got.dtype is want.dtype and got.shape == want.shape
    np.testing.assert_allclose(got.cpu().numpy(), want.cpu().numpy(), rtol=1.3e-6, atol=1e-5)


def test_mul_add_is_one_fused_kernel():
    a, b, c = (mt.randn(1000, 37, device="opencl") for _ in range(3))
    cf = mt.compile(lambda a, b, c: a * b + c)
    cf(a, b, c)
    out = cf(a, b, c)
    (plan,) = _plans(cf)
    assert plan.n_kernels == 1 and [len(g.steps) for g in plan.fused] == [2]
    assert np.array_equal(out.cpu().numpy(), (a * b + c).cpu().numpy())  # same float ops


def test_broadcast_compare_cast_chain():
    x, bias = mt.randn(64, 10, device="opencl"), mt.randn(10, device="opencl")

    def f(x, bias):
        return (x + bias).sigmoid() * x - (x > 0.5).float()

    cf = mt.compile(f)
    cf(x, bias)
    out = cf(x, bias)
    (plan,) = _plans(cf)
    assert len(plan.fused) == 1 and len(plan.fused[0].steps) == 6
    _close(out, f(x, bias))


def test_narrow_integers_wrap_at_every_step():
    a = mt.tensor(np.arange(-60, 60, dtype=np.int8).reshape(8, 15), device="opencl")
    cf = mt.compile(lambda a: (a * a + 7) * 3)
    cf(a)
    out = cf(a)
    (plan,) = _plans(cf)
    assert plan.fused
    assert np.array_equal(out.cpu().numpy(), ((a * a + 7) * 3).cpu().numpy())


def test_float16_chains_are_declined_and_replay_unfused():
    a = mt.randn(50, device="opencl").half()
    cf = mt.compile(lambda a: (a * 3.0).exp() + 1.0)
    cf(a)
    out = cf(a)
    (plan,) = _plans(cf)
    assert plan.fused == [] and plan.n_kernels == 3
    assert np.array_equal(out.cpu().numpy(), ((a * 3.0).exp() + 1.0).cpu().numpy())


def test_fused_kernel_takes_strided_inputs_and_checks_the_group_shape():
    fuse = plugins.get_backend("opencl").fuse
    d = mt.float32
    group = PointwiseGroup((((4, 6), d), ((4, 6), d)), (
        Step(Op.SUB, (Ref("input", 0), Ref("input", 1)), d),
        Step(Op.ABS, (Ref("step", 0),), d)), (4, 6))
    kernel = fuse(group)
    x = mt.randn(6, 4, device="opencl")
    y = mt.randn(4, 6, device="opencl")
    got = plugins.get_backend("opencl").storage.to_numpy(kernel(x.t()._data, y._data))
    want = (x.t() - y).abs().cpu().numpy()
    assert np.array_equal(got, want)
    with pytest.raises(TypeError, match="expected 2 arrays"):
        kernel(y._data)


def test_mlp_training_step_compiled_matches_eager():
    losses, params, compiled = train_twins("opencl", (20, 32, 4), batch=16, steps=3, lr=0.05)
    for lc, le in losses:
        assert abs(lc - le) <= 1e-5 * max(1.0, abs(le))
    for p, q in params:
        _close(p.detach(), q.detach())
    assert any(p.fused for p in _plans(compiled))


def test_a_chain_ending_in_a_reduction_is_one_kernel():
    x, g = mt.randn(128, 256, device="opencl"), mt.randn(128, 256, device="opencl")

    def f(x, g):  # ReLU's backward, then the bias gradient
        return mt.where(x > 0, g, 0.0).sum(0)

    cf = mt.compile(f)
    cf(x, g)
    out = cf(x, g)
    (plan,) = _plans(cf)
    assert plan.n_kernels == 1 and plan.fused[0].reduction.dims == (0,)
    _close(out, f(x, g))
    xi = mt.randint(-100, 100, (64, 40), device="opencl", dtype=mt.int32)
    ci = mt.compile(lambda x: (x * 3).amax(0, keepdim=True))
    ci(xi)
    got = ci(xi)
    assert got.shape == (1, 40)
    assert np.array_equal(got.cpu().numpy(), (xi * 3).amax(0, keepdim=True).cpu().numpy())


def test_a_long_reduction_keeps_its_own_kernel():
    x = mt.randn(100000, device="opencl")
    cf = mt.compile(lambda x: (x * x).sum())
    cf(x)
    out = cf(x)
    (plan,) = _plans(cf)
    assert all(g.reduction is None for g in plan.fused) and plan.n_kernels == 2
    _close(out, (x * x).sum())


def _momentum_group(d: mt.dtype, shape: tuple) -> PointwiseGroup:
    """``dst.mul_(0.9).add_(x)``, as the fusion pass offers it (``into``)."""
    return PointwiseGroup(((shape, d), (shape, d)), (
        Step(Op.MUL, (Ref("input", 0), 0.9), d),
        Step(Op.ADD, (Ref("step", 0), Ref("input", 1)), d)), shape, into=True)


def test_a_group_written_in_place_updates_its_destination():
    kernel = plugins.get_backend("opencl").fuse(_momentum_group(mt.float32, (5, 7)))
    buf, g = mt.randn(5, 7, device="opencl"), mt.randn(5, 7, device="opencl")
    want = buf * 0.9 + g
    view = buf.t().t()[1:]  # a strided destination: only its rows are written
    kernel2 = plugins.get_backend("opencl").fuse(_momentum_group(mt.float32, (4, 7)))
    assert kernel(buf._data, g._data) is None
    _close(buf, want)
    before = buf.clone()
    kernel2(view._data, g[:4]._data)
    _close(buf[1:], before[1:] * 0.9 + g[:4])
    _close(buf[:1], before[:1])


def test_an_input_sharing_the_destination_is_read_before_it_is_written():
    kernel = plugins.get_backend("opencl").fuse(_momentum_group(mt.float32, (6, 6)))
    buf = mt.randn(6, 6, device="opencl")
    want = buf * 0.9 + buf.t()  # every element of the transpose as it was
    kernel(buf._data, buf.t()._data)
    _close(buf, want)


def test_the_momentum_update_is_one_kernel_per_tensor_and_matches_eager():
    def make():
        rng = np.random.default_rng(1)
        return [mt.tensor(rng.standard_normal((33, 65)).astype(np.float32), device="opencl")
                for _ in range(3)]

    def update(p, buf, x):
        with mt.no_grad():
            g = x * 2.0
            buf.mul_(0.9).add_(g)
            p.add_(buf, alpha=-0.1)
        return p.sum()

    eager, args = make(), make()
    cf = mt.compile(update)
    for _ in range(3):
        update(*eager)
        cf(*args)
    (plan,) = _plans(cf)
    assert [len(g.steps) for g in plan.fused if g.into] == [3, 2]
    for got, want in zip(args, eager):
        _close(got, want)
