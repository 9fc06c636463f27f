"""Runs of in-place writes fused by the compiled replays' fusion pass
(mbtorch/graph/fusion_writes.py): an optimizer's update becomes one kernel per written tensor,
and what would change the values a write or a read sees keeps the writes apart. The test
backend's hook runs the cpu kernels step by step (tests/graph/test_fusion.py), so fused
replays must equal eager bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from mbtorch_conformance.derive import derive_backend, forget_backend

import mbtorch as mt
from mbtorch.core.fusion import PointwiseGroup
from tests.graph.test_fusion import _step_by_step
from tests.graph.twins import plans as _plans


@pytest.fixture
def fusing():
    name = derive_backend("cpu", "cpu_fusing_writes", fuse=_step_by_step)
    yield name
    forget_backend(name)
    mt.compiler.reset()


def _ops(group: PointwiseGroup) -> list[str]:
    return [st.op.name.lower() for st in group.steps]


def _run_twice(f, make):
    """``f`` eager on ``make()``'s tensors and compiled (traced, then replayed) on another
    ``make()``: equal results and equal final states."""
    eager_args, args = make(), make()
    want = [f(*eager_args) for _ in range(3)]
    cf = mt.compile(f)
    got = [cf(*args) for _ in range(3)]
    assert cf.stats["replays"] == 2
    for w, g in zip(want + list(eager_args), got + list(args)):
        assert np.array_equal(w.cpu().numpy(), g.cpu().numpy())
    return cf


def _tensors(device, *shapes):
    rng = np.random.default_rng(0)
    return [mt.tensor(rng.standard_normal(s).astype(np.float32), device=device)
            for s in shapes]


def test_a_momentum_update_is_one_kernel_per_written_tensor(fusing):
    def update(p, buf, x):
        with mt.no_grad():
            g = x * 2.0
            buf.mul_(0.9).add_(g)
            p.add_(buf, alpha=-0.1)
        return p.sum()

    cf = _run_twice(update, lambda: _tensors(fusing, (30, 20), (30, 20), (30, 20)))
    (plan,) = _plans(cf)
    into = [gr for gr in plan.fused if gr.into]
    assert [_ops(gr) for gr in into] == [["mul", "mul", "add"], ["mul", "add"]]
    assert all(gr.shape == (30, 20) for gr in into)
    assert "in0[...] = t2" in into[0].format()


def test_a_read_between_the_writes_sees_the_first_write(fusing):
    def view_made_inside(buf):
        v = buf[1:3]
        buf.mul_(2.0)
        seen = v * 3.0  # a view of buf read between the writes
        buf.add_(1.0)
        return seen

    def view_passed_in(buf, view):
        buf.mul_(2.0)
        seen = view * 3.0  # an input that is a view of buf, read between the writes
        buf.add_(1.0)
        return seen

    def make():
        (buf,) = _tensors(fusing, (8, 5))
        return buf, buf[1:3]

    for f, mk in ((view_made_inside, lambda: make()[:1]), (view_passed_in, make)):
        cf = _run_twice(f, mk)
        (plan,) = _plans(cf)
        assert not any(gr.into for gr in plan.fused)


def test_a_captured_input_read_after_the_first_write_keeps_the_writes_apart(fusing):
    def make():  # inputs may share memory (here they do not overlap, but the pass cannot know)
        (base,) = _tensors(fusing, (12, 6))
        return base[:6], base[6:]

    def f(buf, other):
        buf.mul_(0.5)
        buf.add_(other)
        return buf.sum()

    cf = _run_twice(f, make)
    (plan,) = _plans(cf)
    assert not any(gr.into for gr in plan.fused)


def test_a_write_elsewhere_in_between_ends_the_run(fusing):
    def f(a, b):
        a.mul_(2.0)
        b.add_(a)  # reads a after its first write, writes b
        a.add_(3.0)
        return a + b

    cf = _run_twice(f, lambda: _tensors(fusing, (10,), (10,)))
    (plan,) = _plans(cf)
    assert not any(gr.into for gr in plan.fused)
