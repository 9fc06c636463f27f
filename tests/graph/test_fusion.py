"""The fusion pass of compiled replays (mbtorch/graph/fusion.py) and the backends' ``fuse``
hooks: which chains become one kernel, what stops a chain, and that fused replays give what
eager gives (bit for bit where the fused kernel runs the same arithmetic)."""

from __future__ import annotations

import numpy as np
import pytest
from mbtorch_conformance.derive import derive_backend, forget_backend

import mbtorch as mt
from mbtorch.core import plugins
from mbtorch.core.fusion import POINTWISE, PointwiseGroup, Reduction, Ref, Step
from mbtorch.core.op import Op
from tests.graph.twins import plans as _plans
from tests.graph.twins import train_twins

GROUPS: list[PointwiseGroup] = []


def _step_by_step(group: PointwiseGroup):
    """A ``fuse`` hook for tests: the group as the cpu kernels run one after another (the
    same arithmetic, so replays stay bit-identical), recording each group offered."""
    kernels = plugins.get_backend("cpu").kernels
    GROUPS.append(group)

    def kernel(*handles):
        vals = []
        for st in group.steps:
            args = [(handles if a.kind == "input" else vals)[a.index]
                    if isinstance(a, Ref) else a for a in st.args]
            vals.append(kernels[st.op](*args, *st.attrs))
        if group.into:  # written in place into the destination (input 0)
            kernels[Op.COPY_](handles[0], vals[-1])
            return None
        r = group.reduction
        return vals[-1] if r is None else kernels[r.op](vals[-1], r.dims, r.keepdim)

    return kernel


@pytest.fixture
def fusing():
    GROUPS.clear()
    name = derive_backend("cpu", "cpu_fusing", fuse=_step_by_step)
    yield name
    forget_backend(name)
    mt.compiler.reset()


def _ops(group: PointwiseGroup) -> list[str]:
    return [st.op.name.lower() for st in group.steps]


def test_a_pointwise_chain_becomes_one_kernel(fusing):
    a, b, c = (mt.randn(40, 30, device=fusing) for _ in range(3))

    def f(a, b, c):
        return (a * b + c).relu() * 2.0

    cf = mt.compile(f)
    cf(a, b, c)
    out = cf(a, b, c)
    (plan,) = _plans(cf)
    assert [_ops(g) for g in plan.fused] == [["mul", "add", "relu", "mul"]]
    assert plan.n_kernels == 1
    assert np.array_equal(out.cpu().numpy(), f(a, b, c).cpu().numpy())
    g = plan.fused[0]
    assert g.shape == (40, 30) and g.inputs == (((40, 30), mt.float32),) * 3
    assert g.steps[3].args == (Ref("step", 2), 2.0)


def test_broadcast_inputs_and_casts_join_the_group(fusing):
    x, bias = mt.randn(16, 8, device=fusing), mt.randn(8, device=fusing)

    def f(x, bias):
        return (x + bias).sigmoid() * x - (x > 0).float()

    cf = mt.compile(f)
    cf(x, bias)
    out = cf(x, bias)
    (plan,) = _plans(cf)
    (group,) = plan.fused
    assert ((8,), mt.float32) in group.inputs and "cast" in _ops(group)
    assert all(st.op in POINTWISE for st in group.steps)
    assert np.array_equal(out.cpu().numpy(), f(x, bias).cpu().numpy())


def test_a_value_returned_or_read_elsewhere_ends_the_chain(fusing):
    a, b = mt.randn(10, 10, device=fusing), mt.randn(10, 10, device=fusing)

    def f(a, b):
        t = a * b  # returned: computed once, in its own kernel
        return t, (t + 1.0).exp()

    cf = mt.compile(f)
    cf(a, b)
    t, u = cf(a, b)
    (plan,) = _plans(cf)
    assert [_ops(g) for g in plan.fused] == [["add", "exp"]]
    want = f(a, b)
    assert np.array_equal(t.cpu().numpy(), want[0].cpu().numpy())
    assert np.array_equal(u.cpu().numpy(), want[1].cpu().numpy())


def test_no_member_moves_past_an_in_place_write(fusing):
    a, b = mt.randn(6, 5, device=fusing), mt.randn(6, 5, device=fusing)

    def f(a, b):
        t = a * b
        a.mul_(3.0)  # the write must see t computed from the old a
        return (t + a).abs()

    cf = mt.compile(f)
    a0 = a.clone()
    cf(a, b)
    a.copy_(a0)
    out = cf(a, b)
    assert all(_ops(g) != ["mul", "add", "abs"] for p in _plans(cf) for g in p.fused)
    want = ((a0 * b) + a0 * 3.0).abs()
    assert np.array_equal(out.cpu().numpy(), want.cpu().numpy())
    assert np.array_equal(a.cpu().numpy(), (a0 * 3.0).cpu().numpy())


def test_a_training_step_fuses_and_matches_eager(fusing):
    losses, params, compiled = train_twins(fusing)
    assert all(lc == le for lc, le in losses)
    for p, q in params:
        assert np.array_equal(p.detach().cpu().numpy(), q.detach().cpu().numpy())
    assert any(p.fused for p in _plans(compiled))


def test_a_backend_without_the_hook_replays_unfused():
    a, b = mt.randn(4, 4), mt.randn(4, 4)
    cf = mt.compile(lambda a, b: (a * b).exp())
    cf(a, b)
    cf(a, b)
    (plan,) = _plans(cf)
    assert plan.fused == [] and plan.n_kernels == 2


def test_a_declined_group_replays_unfused():
    name = derive_backend("cpu", "cpu_declining", fuse=lambda group: None)
    try:
        a = mt.randn(5, 5, device=name)
        cf = mt.compile(lambda a: (a * 2.0).exp() + 1.0)
        cf(a)
        out = cf(a)
        (plan,) = _plans(cf)
        assert plan.fused == [] and plan.n_kernels == 3
        assert np.array_equal(out.cpu().numpy(), ((a * 2.0).exp() + 1.0).cpu().numpy())
    finally:
        forget_backend(name)


def test_a_non_callable_fuse_is_refused():
    with pytest.raises(RuntimeError, match="fuse must be a callable"):
        derive_backend("cpu", "cpu_bad_fuse", fuse=42)


def test_group_format_names_every_step():
    g = PointwiseGroup((((3,), mt.float32),),
                       (Step(Op.MUL, (Ref("input", 0), 2.0), mt.float32),), (3,))
    assert g.format() == "inputs: float32[3]\nt0: float32 = mul(in0, 2.0)"


def test_a_trailing_reduction_joins_the_group(fusing):
    x, g = mt.randn(12, 7, device=fusing), mt.randn(12, 7, device=fusing)

    def f(x, g):
        return mt.where(x > 0, g, 0.0).sum(0, keepdim=True)

    cf = mt.compile(f)
    cf(x, g)
    out = cf(x, g)
    (plan,) = _plans(cf)
    (group,) = plan.fused
    assert group.reduction == Reduction(Op.SUM, (0,), True) and group.out_shape == (1, 7)
    assert plan.n_kernels == 1
    assert np.array_equal(out.cpu().numpy(), f(x, g).cpu().numpy())


def test_a_declined_reduction_is_offered_again_without_it():
    def no_reductions(group):
        return None if group.reduction is not None else _step_by_step(group)

    GROUPS.clear()
    name = derive_backend("cpu", "cpu_no_reductions", fuse=no_reductions)
    try:
        x = mt.randn(6, 4, device=name)
        cf = mt.compile(lambda x: (x * 2.0 + 1.0).sum(1))
        cf(x)
        out = cf(x)
        (plan,) = _plans(cf)
        assert [(_ops(g), g.reduction) for g in plan.fused] == [(["mul", "add"], None)]
        assert plan.n_kernels == 2
        assert np.array_equal(out.cpu().numpy(), (x * 2.0 + 1.0).sum(1).cpu().numpy())
    finally:
        forget_backend(name)


def test_a_fused_kernels_out_form_keeps_its_result_in_a_planned_buffer():
    written = []

    def with_out(group):
        kernel = _step_by_step(group)

        def out(dst, *handles):
            written.append(dst)
            np.copyto(dst, kernel(*handles))

        kernel.out = out
        return kernel

    name = derive_backend("cpu", "cpu_fusing_out", fuse=with_out)
    try:
        a, b, c, w = (mt.randn(*s, device=name) for s in ((40, 30),) * 3 + ((30, 20),))

        def f(a, b, c, w):
            return (a * b + c).relu() @ w  # the chain's value is an intermediate

        cf = mt.compile(f)
        outs = [cf(a, b, c, w) for _ in range(3)]  # trace, probe, planned replay
        (plan,) = _plans(cf)
        (node,) = [n for n in plan.body if n.op is None and n.outputs]
        assert id(node.outputs[0]) in plan.buffer_plan.slot
        assert written and written[-1] is plan.buffers[plan.buffer_plan.slot[id(node.outputs[0])]]
        for out in outs:
            np.testing.assert_array_equal(out.cpu().numpy(), f(a, b, c, w).cpu().numpy())
    finally:
        forget_backend(name)
        mt.compiler.reset()
