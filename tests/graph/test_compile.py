"""mbtorch.compile: a call is traced once per signature and replayed after; compiled and eager
give the same values bit for bit on cpu (the same kernels in the same order), parameters,
gradients, optimizer state and buffers are updated in place as eager would, guards retrace,
and what cannot be captured runs eagerly and says why."""

from __future__ import annotations

import copy
import warnings

import pytest

import mbtorch as mt
import mbtorch.nn.functional as F
from mbtorch.graph.capture import GraphBreak


def _net(bn: bool = False, dropout: float = 0.0) -> mt.nn.Module:
    mt.manual_seed(0)
    layers = [mt.nn.Linear(6, 8)]
    if bn:
        layers.append(mt.nn.BatchNorm1d(8))
    layers += [mt.nn.ReLU(), mt.nn.Dropout(dropout), mt.nn.Linear(8, 3)]
    return mt.nn.Sequential(*layers)


def _pair(**kw):
    net = _net(**kw)
    twin = copy.deepcopy(net)
    return (net, mt.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)), \
        (twin, mt.optim.SGD(twin.parameters(), lr=0.1, momentum=0.9))


X, Y = mt.randn(10, 6), mt.tensor([0, 1, 2, 1, 0, 2, 2, 1, 0, 1])


def train_step(model, opt, x=X, y=Y):
    opt.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    return loss


def _same_state(a, b):
    (m1, o1), (m2, o2) = a, b
    for p, q in zip(m1.parameters(), m2.parameters()):
        assert mt.equal(p, q) and mt.equal(p.grad, q.grad)
        s1, s2 = o1.state[p], o2.state[q]
        assert s1.keys() == s2.keys()
        assert all(mt.equal(s1[k], s2[k]) for k in s1)
    for p, q in zip(m1.buffers(), m2.buffers()):
        assert mt.equal(p, q)


@pytest.mark.parametrize("kw", [{}, {"bn": True}, {"dropout": 0.5}])
def test_a_whole_training_step_replays_bit_identical_to_eager(kw):
    compiled, eager = _pair(**kw)
    step = mt.compile(train_step)
    mt.manual_seed(1)
    a = [step(*compiled).item() for _ in range(5)]
    mt.manual_seed(1)
    b = [train_step(*eager).item() for _ in range(5)]
    assert a == b
    _same_state(compiled, eager)
    # the first step makes the momentum buffers: the second traces again, then replays
    assert step.stats == {"traces": 2, "replays": 3, "eager": 0}


def test_dropout_draws_the_eager_numbers_and_advances_the_generator():
    net = _net(dropout=0.5)

    def forward(x):
        return net(x)

    f = mt.compile(forward)
    mt.manual_seed(3)
    with mt.no_grad():
        compiled = [f(X) for _ in range(3)]
    after = mt.default_generator.get_offset()
    mt.manual_seed(3)
    with mt.no_grad():
        eager = [forward(X) for _ in range(3)]
    assert after == mt.default_generator.get_offset()
    assert f.stats["replays"] == 2
    for c, e in zip(compiled, eager):
        assert mt.equal(c, e)


def test_gradient_accumulation_and_no_grad_regions():
    net = _net()
    twin = copy.deepcopy(net)

    def accumulate(model, x):
        loss = model(x).pow(2).mean()
        loss.backward()  # no zero_grad: .grad accumulates in place across calls
        with mt.no_grad():
            for p in model.parameters():
                p.mul_(0.99)
        return loss.detach()

    f = mt.compile(accumulate)
    for _ in range(4):
        assert mt.equal(f(net, X), accumulate(twin, X))
    for p, q in zip(net.parameters(), twin.parameters()):
        assert mt.equal(p, q) and mt.equal(p.grad, q.grad)
    assert f.stats["replays"] >= 2


def test_guards_retrace_on_mode_hyperparameters_and_python_values():
    (net, opt), _ = _pair(bn=True)
    step = mt.compile(train_step)
    for _ in range(3):
        step(net, opt)
    traces = step.stats["traces"]
    net.eval()  # BatchNorm now uses running statistics: a different graph
    step(net, opt)
    assert step.stats["traces"] == traces + 1
    opt.param_groups[0]["lr"] = 0.05
    step(net, opt)
    assert step.stats["traces"] == traces + 2
    step(net, opt, X[:4], Y[:4])  # a new shape
    assert step.stats["traces"] == traces + 3


SCALE = 2.0


def scaled(x):
    return x * SCALE


def test_a_global_python_value_is_guarded():
    global SCALE
    f = mt.compile(scaled)
    x = mt.ones(3)
    assert f(x).tolist() == [2.0] * 3 and f(x).tolist() == [2.0] * 3
    SCALE = 3.0
    try:
        assert f(x).tolist() == [3.0] * 3
    finally:
        SCALE = 2.0
    assert f.stats["traces"] == 2


def test_a_graph_break_runs_eagerly_and_says_why_once():
    def with_item(x):
        return x * (x.sum().item() > 0)

    f = mt.compile(with_item)
    x = mt.ones(3)
    with pytest.warns(UserWarning, match=r"item\(\) reads a traced tensor's value.*eagerly"):
        assert f(x).tolist() == [1.0, 1.0, 1.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert f(x).tolist() == [1.0, 1.0, 1.0]
    assert f.stats == {"traces": 1, "replays": 0, "eager": 1}
    strict = mt.compile(with_item, fullgraph=True)
    with pytest.raises(GraphBreak, match=r"item\(\).*test_compile.py"):
        strict(x)


def test_forward_with_autograd_outside_runs_eagerly_with_the_reason():
    net = _net()
    f = mt.compile(net)
    with pytest.warns(UserWarning, match="compile the whole training step"):
        out = f(X)
    out.sum().backward()  # eager: autograd works
    assert net[0].weight.grad is not None
    with mt.no_grad():
        a, b = f(X), f(X)
        assert mt.equal(a, net(X)) and mt.equal(a, b)


def test_compiled_module_wraps_the_original():
    net = _net()
    f = mt.compile(net)
    assert f._orig_mod is net
    assert list(f.state_dict()) == [f"_orig_mod.{k}" for k in net.state_dict()]
    f.eval()
    assert not net.training


def test_reset_recompile_limit_explain_and_bad_arguments():
    f = mt.compile(lambda x: x + 1, recompile_limit=2)
    for n in (1, 2):
        f(mt.ones(n))
    with pytest.warns(UserWarning, match="recompile limit"):
        f(mt.ones(3))
    mt.compiler.reset()
    f(mt.ones(3))
    assert f.stats["traces"] == 3
    report = mt.compiler.explain(lambda x: x.exp().sum().item(), mt.ones(2))
    assert report.graph_break_count == 1 and "item()" in report.break_reasons[0]
    assert report.ops_per_graph[0][:2] == ["exp", "sum"] and "Graph Count: 1" in str(report)
    with pytest.raises(RuntimeError, match="unrecognized mode"):
        mt.compile(train_step, mode="fastest")
    with pytest.raises(NotImplementedError, match="dynamic=True"):
        mt.compile(train_step, dynamic=True)
    with pytest.raises(TypeError, match="unexpected keyword"):
        mt.compile(train_step, colour="blue")
    assert mt.compile(disable=True)(train_step) is train_step
    assert not mt.compiler.is_compiling()


def test_view_arguments_replay_on_their_own_storage():
    f = mt.compile(lambda x: (x * 2).sum(0))
    for k in range(4):  # views with the same geometry of different storages
        base = mt.arange(12.0).reshape(3, 4) + 100 * k
        x = base[:, 1:3]
        assert mt.equal(f(x), (x * 2).sum(0))
    assert f.stats == {"traces": 1, "replays": 3, "eager": 0}
    assert mt.equal(f(base[:, 2:4]), (base[:, 2:4] * 2).sum(0))  # another offset: traced
    assert f.stats["traces"] == 2


def test_returned_views_and_detached_outputs():
    w = mt.arange(6.0).reshape(2, 3)
    f = mt.compile(lambda x: ((x + 1)[0], w[1], (x * 2).detach()))
    for _ in range(3):
        a, b, c = f(mt.ones(2, 3))
    assert a.tolist() == [2.0] * 3 and b.tolist() == [3.0, 4.0, 5.0] and c.tolist()[0] == [2.0] * 3
    b.add_(1)  # a view of the captured w, as in eager
    assert w[1].tolist() == [4.0, 5.0, 6.0]
    assert f.stats["replays"] == 2


def test_capturable_adam_with_a_tensor_lr_schedule_replays():
    nets = [_net(bn=True) for _ in range(2)]
    opts = [mt.optim.Adam(n.parameters(), lr=mt.tensor(0.01), capturable=True) for n in nets]
    step = mt.compile(train_step)
    for i in range(6):
        for o in opts:  # a schedule writes the lr tensor in place: replays read it
            o.param_groups[0]["lr"].fill_(0.01 / (i + 1))
        assert step(nets[0], opts[0]).item() == train_step(nets[1], opts[1]).item()
    _same_state((nets[0], opts[0]), (nets[1], opts[1]))
    assert step.stats == {"traces": 2, "replays": 4, "eager": 0}


def test_a_training_step_compiles_on_a_primitives_only_backend():
    # the template plugin runs every composite decomposed: the replay is its primitive kernels
    compiled, eager = _pair(bn=True)
    for model, _ in (compiled, eager):
        model.to("mini")
    x, y = X.to("mini"), Y.to("mini")
    step = mt.compile(train_step)
    a = [step(*compiled, x, y).item() for _ in range(4)]
    b = [train_step(*eager, x, y).item() for _ in range(4)]
    assert a == b and step.stats["replays"] == 2
    for p, q in zip(compiled[0].parameters(), eager[0].parameters()):
        assert p.device.type == "mini" and mt.equal(p.cpu(), q.cpu())
