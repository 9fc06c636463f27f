"""Planned buffers of compiled replays on cpu: after the first replay (the probe) a replayed
training step writes its intermediates into buffers the plan keeps, allocates no new buffer
(``empty``) and far less memory, stays bit-identical to eager over many replays, and never
hands out or overwrites a tensor a replay returned; the cpu out kernels write exactly what the
plain kernels return; the plugin contract is validated."""

from __future__ import annotations

import copy
import dataclasses
import threading
import tracemalloc

import numpy as np
import pytest

import mbtorch as mt
import mbtorch.nn.functional as F
from mbtorch.core.backend import PluginError, validate
from mbtorch.core.op import Op
from mbtorch.core.plugins import get_backend


def _model_and_opt():
    mt.manual_seed(0)
    net = mt.nn.Sequential(mt.nn.Linear(32, 64), mt.nn.ReLU(), mt.nn.Linear(64, 10))
    return net, mt.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)


X, Y = mt.randn(128, 32), mt.randint(0, 10, (128,))


def step(net, opt, x=X, y=Y):
    opt.zero_grad(set_to_none=False)  # grads kept in place: nothing escapes but the loss
    loss = F.cross_entropy(net(x), y)
    loss.backward()
    opt.step()
    return loss


def _plan(f):
    return list(f._entries.values())[-1][-1].plan  # the latest trace


def _peak_bytes(call) -> int:
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        call()
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


def test_a_replayed_step_allocates_no_new_buffers_after_warm_up(monkeypatch):
    (net, opt), (twin, twin_opt) = _model_and_opt(), _model_and_opt()
    f = mt.compile(step)
    for _ in range(4):  # two traces (momentum buffers appear), the probe, one planned replay
        assert f(net, opt).item() == step(twin, twin_opt).item()
    plan = _plan(f)
    assert plan.buffers and f.stats == {"traces": 2, "replays": 2, "eager": 0}
    # every result an out kernel can write, and every new buffer, is planned but the loss
    slot, (loss,) = plan.buffer_plan.slot, plan.results
    writable = [n.outputs[0] for n in plan.body
                if id(n) in plan.out_kernels or n.kind == "alloc"]
    assert len(writable) > 20 and [v for v in writable if id(v) not in slot] == [loss]
    buffers = [id(b) for b in plan.buffers]
    storage = get_backend("cpu").storage
    calls = []
    monkeypatch.setattr(type(storage), "empty", lambda self, *a: calls.append(a) or
                        np.empty(a[0], np.float32))
    planned = _peak_bytes(lambda: f(net, opt))
    assert calls == [] and [id(b) for b in plan.buffers] == buffers
    monkeypatch.undo()
    plan._state = "plain"  # the same plan without its buffers, for comparison
    plain = _peak_bytes(lambda: f(net, opt))
    plan._state = "planned"
    assert planned < plain / 2, (planned, plain)  # what is left: kernels without out forms
    for _ in range(2):
        step(twin, twin_opt)
    for _ in range(10):  # many replays stay bit-identical to eager
        assert f(net, opt).item() == step(twin, twin_opt).item()
    for p, q in zip(net.parameters(), twin.parameters()):
        assert mt.equal(p, q) and mt.equal(p.grad, q.grad)
        assert mt.equal(opt.state[p]["momentum_buffer"], twin_opt.state[q]["momentum_buffer"])


def test_outputs_kept_from_earlier_replays_are_never_overwritten():
    w = mt.randn(8, 8)

    def g(x):
        h = (x @ w).relu()
        return h + 1, (x * 2 - 1)[1:], (h * 3).sum(0), (x - 1).t()

    f = mt.compile(g)
    kept = []
    for k in range(8):
        x = mt.randn(4, 8) + k
        got, want = f(x), g(x)
        assert all(mt.equal(a, b) for a, b in zip(got, want))
        kept.append((got, want))
    assert f.stats["replays"] == 7 and _plan(f).buffer_plan is not None
    for got, want in kept:
        assert all(mt.equal(a, b) for a, b in zip(got, want))


def test_a_view_keeps_its_buffer_alive():
    # a.t() is a view of a's buffer: b (same shape and dtype) must not take it while the
    # view is still to be read
    def g(x):
        a = x * 2
        v = a.t()
        b = x + 1
        c = b * b
        return (v @ c).sum(0)

    f = mt.compile(g)
    for k in range(5):
        x = mt.randn(6, 6) * (k + 1)
        assert mt.equal(f(x), g(x))
    plan = _plan(f)
    assert plan.buffer_plan is not None and len(plan.buffers) >= 2


def test_a_replay_entered_while_the_plan_runs_uses_the_plain_code():
    w = mt.randn(5, 5)

    def g(x):
        return ((x @ w).exp() * 2).sum()

    f = mt.compile(g)
    x = mt.randn(3, 5)
    for _ in range(3):
        f(x)
    plan = _plan(f)
    with plan._lock:  # as if another thread were inside this plan's replay
        assert mt.equal(f(x), g(x))
    out = []
    threads = [threading.Thread(target=lambda: out.append(mt.equal(f(x), g(x))))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert out == [True] * 4


def test_a_backend_without_out_kernels_replays_as_before():
    net, opt = _model_and_opt()
    net.to("mini")
    x, y = X.to("mini"), Y.to("mini")
    f = mt.compile(step)
    for _ in range(4):
        f(net, opt, x, y)
    plan = _plan(f)
    assert plan.buffers == [] and plan.buffer_plan is None and f.stats["replays"] == 2


def test_out_kernels_are_validated():
    spec = get_backend("cpu").spec
    validate(spec, "cpu-copy")
    with pytest.raises(PluginError, match="out kernel for 'add'.*maps mbtorch Op members"):
        validate(dataclasses.replace(spec, out_kernels={"add": np.add}), "bad")
    with pytest.raises(PluginError, match="out kernel for .*Op.ADD.*maps"):
        validate(dataclasses.replace(spec, out_kernels={Op.ADD: 3}), "bad")
    kernels = dict(spec.kernels)
    del kernels[Op.SOFTMAX]
    with pytest.raises(PluginError, match="out kernel for SOFTMAX without a kernel for "
                                          "SOFTMAX"):
        validate(dataclasses.replace(spec, kernels=kernels,
                                     out_kernels={Op.SOFTMAX: lambda out, x, d: None}), "bad")


# -- the cpu out kernels write what the plain kernels return, bit for bit -------------------
_RNG = np.random.default_rng(0)
_FLOATS = ("float32", "float64", "float16")


def _arr(shape, dtype):
    if dtype == "bool":
        return _RNG.random(shape) < 0.5
    a = _RNG.standard_normal(shape) * 3
    a.flat[::7] = 0.0
    a.flat[::11] = -0.0
    if dtype.startswith("float"):
        a.flat[5::13] = np.nan
        a.flat[6::17] = -np.inf
    return a.astype(dtype)


def _cases():
    x2, b1 = (4, 6), (6,)
    for op in (Op.ADD, Op.SUB, Op.MUL, Op.DIV, Op.ATAN2, Op.MAXIMUM, Op.MINIMUM, Op.EQ,
               Op.NE, Op.LT, Op.LE, Op.GT, Op.GE):
        for d in _FLOATS + ("int32",):
            if op in (Op.ATAN2, Op.DIV) and d == "int32":
                continue
            yield op, (_arr(x2, d), _arr(b1, d))
            yield op, (_arr(x2, d), 0.0 if d != "int32" else 2)
    for op in (Op.EXP, Op.LOG, Op.LOG1P, Op.EXPM1, Op.SQRT, Op.SIN, Op.COS, Op.TANH,
               Op.FLOOR, Op.EXP2, Op.LOG2, Op.LOG10, Op.TAN, Op.ASIN, Op.ACOS, Op.ATAN,
               Op.SINH, Op.COSH, Op.CEIL, Op.TRUNC, Op.SQUARE, Op.ABS, Op.NEG, Op.ISNAN,
               Op.ISINF, Op.ISFINITE, Op.RELU):
        for d in _FLOATS:
            yield op, (_arr(x2, d)[:, ::2],)  # a non-contiguous argument
            yield op, (_arr((), d),)
        yield op, (np.array([-0.0, np.nan, -np.inf, -2.0], np.float32),)
    yield Op.LOGICAL_NOT, (_arr(x2, "bool"),)
    yield Op.BITWISE_NOT, (_arr(x2, "int32"),)
    for d in _FLOATS + ("int64",):
        x = _arr((3, 4, 5), d)
        for op in (Op.SUM, Op.PROD, Op.AMAX):
            yield op, (x, (1,), True)
            yield op, (x, (0, 2), False)
            yield op, (x, (0, 1, 2), False)
        yield Op.CAST, (x, mt.float32)
        yield Op.CAST, (x, mt.int16)
    for d in _FLOATS:
        yield Op.MATMUL, (_arr((2, 3, 4), d), _arr((4, 5), d).T.copy().T)
        yield Op.MATMUL, (_arr((3, 4), d), _arr((4,), d))
        cond = _arr((4, 6), "bool")
        yield Op.WHERE, (cond, _arr((4, 6), d), 0.0)
        yield Op.WHERE, (cond, 0.0, _arr((4, 6), d))
        yield Op.WHERE, (cond, _arr((4, 6), d), _arr((6,), d))
        yield Op.LOG_SOFTMAX, (_arr((5, 7), d), 1)
        yield Op.LOG_SOFTMAX, (_arr((5, 7), d), 0)
        yield Op.IM2COL, (_arr((2, 3, 7, 6), d), (3, 2), (1, 2), (2, 1))
        x = _arr((3, 4, 6), d)
        rows = _RNG.integers(0, 6, (3, 4, 2))
        yield Op.SCATTER, (x, 2, rows, _arr((3, 4, 2), d), "none")  # full rows: max pooling
        yield Op.SCATTER, (x, 2, rows[..., :1], _arr((3, 4, 1), d), "add")
        yield Op.SCATTER, (x, 1, _RNG.integers(0, 4, (2, 3, 2)), _arr((2, 3, 2), d), "add")
        yield Op.SCATTER, (x, 0, _RNG.integers(0, 3, (2, 4, 6)), 1.5, "none")


@pytest.mark.parametrize("op,args", list(_cases()), ids=lambda v: getattr(v, "name", ""))
def test_cpu_out_kernels_match_the_plain_kernels_bit_for_bit(op, args):
    be = get_backend("cpu")
    want = np.asarray(be.kernels[op](*args))
    out = np.empty(want.shape, want.dtype)
    with np.errstate(all="raise"):  # and they stay quiet, as the plain kernels
        assert be.out[op](out, *args) is None
    assert out.tobytes() == want.tobytes()


def test_a_deep_copy_of_a_compiled_module_replays_its_own_parameters():
    m = mt.nn.Sequential(mt.nn.Linear(3, 4), mt.nn.ReLU(), mt.nn.Linear(4, 2))
    c = mt.compile(m)
    x = mt.randn(5, 3)
    with mt.no_grad():
        for _ in range(3):
            c(x)
        assert _plan(c._compiled).buffers
        d = copy.deepcopy(c)
        for p in d.parameters():
            p.mul_(2)
        for _ in range(3):
            assert mt.equal(d(x), d._orig_mod(x)) and mt.equal(c(x), m(x))


def test_a_compiled_cnn_step_on_planned_buffers_matches_eager_bit_for_bit():
    def cnn():
        mt.manual_seed(0)
        net = mt.nn.Sequential(mt.nn.Conv2d(1, 4, 3), mt.nn.ReLU(), mt.nn.MaxPool2d(2),
                               mt.nn.Conv2d(4, 6, 3), mt.nn.ReLU(), mt.nn.MaxPool2d(2),
                               mt.nn.Flatten(), mt.nn.Linear(6 * 2 * 2, 3))
        return net, mt.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)

    x, y = mt.randn(5, 1, 14, 14), mt.tensor([0, 1, 2, 1, 0])

    def cnn_step(net, opt):
        opt.zero_grad()
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
        return loss

    (net, opt), (twin, twin_opt) = cnn(), cnn()
    f = mt.compile(cnn_step)
    losses = [(f(net, opt), cnn_step(twin, twin_opt)) for _ in range(6)]
    assert all(a.item() == b.item() for a, b in losses)
    assert len(_plan(f).buffers) > 5 and f.stats["replays"] == 4
    for p, q in zip(net.parameters(), twin.parameters()):
        assert mt.equal(p, q) and mt.equal(p.grad, q.grad)


def test_out_kernels_without_a_quiet_context_use_errstate():
    from mbtorch_numpy.xp import out_kernels

    be = get_backend("cpu")
    table = out_kernels(np, be.spec.kernels, None)
    a, b = np.array([1.0, 0.0, -1.0], np.float32), np.zeros(3, np.float32)
    special = np.array([np.inf, np.nan, -np.inf], np.float32)
    for op, args in [(Op.DIV, (a, b)), (Op.LOG, (b - 1,)), (Op.CAST, (special, mt.int32))]:
        with np.errstate(all="ignore"):
            want = np.asarray(be.kernels[op](*args))
        out = np.empty(want.shape, want.dtype)
        with np.errstate(all="raise"):
            table[op](out, *args)
        assert out.tobytes() == want.tobytes()
