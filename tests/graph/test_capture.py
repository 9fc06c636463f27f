"""Graph capture (mbtorch/graph): the dispatcher's tracing mode records the registry ops a
call runs, in order, and the interpreter replays them to the same values — a forward pass,
and a whole training step (forward, backward, SGD with momentum in place)."""

from __future__ import annotations

import copy

import pytest

import mbtorch as mt
import mbtorch.nn.functional as F
from mbtorch.core import dispatch
from mbtorch.core.op import Op
from mbtorch.graph.capture import GraphBreak, Tracer
from mbtorch.graph.interpret import interpret
from mbtorch.graph.ir import OP, WRITE


def _mlp() -> mt.nn.Module:
    mt.manual_seed(0)
    return mt.nn.Sequential(mt.nn.Linear(4, 3), mt.nn.ReLU(), mt.nn.Linear(3, 2))


def _feeds(tr: Tracer, tensors: list) -> dict:
    return {node.outputs[0]: t for node, t in zip(tr.graph.placeholders(), tensors)}


def test_forward_is_recorded_op_by_op_and_replays_to_the_same_values():
    net, x = _mlp(), mt.randn(5, 4)
    params = list(net.parameters())
    with mt.no_grad(), Tracer() as tr:
        tr.placeholder(x, "input", "x")
        for name, p in net.named_parameters():
            tr.placeholder(p, "parameter", name)
        y = net(x).softmax(-1)
        tr.set_outputs([y])
    ops = [n.op for n in tr.graph.op_nodes()]
    assert ops == [Op.PERMUTE, Op.MATMUL, Op.ADD, Op.RELU, Op.PERMUTE, Op.MATMUL, Op.ADD,
                   Op.SOFTMAX]
    text = str(tr.graph)
    assert "%x: float32[5, 4] = input['x']" in text
    assert "%softmax: float32[5, 2] = softmax(%add_1, 1)" in text
    assert not tr.graph.placeholders("constant")
    with mt.no_grad():
        (out,) = interpret(tr.graph, _feeds(tr, [x, *params]))
    assert mt.equal(out, y)
    x2 = mt.randn(5, 4)  # new values, same graph
    with mt.no_grad():
        (out2,) = interpret(tr.graph, _feeds(tr, [x2, *params]))
        assert mt.equal(out2, net(x2).softmax(-1))
    assert dispatch.TRACING == 0


def test_in_place_writes_views_and_constants_are_nodes():
    x = mt.zeros(2, 3)
    with Tracer() as tr:
        tr.placeholder(x, "input", "x")
        x[0].add_(1.0)          # a write through a view
        z = x.detach() * mt.tensor([1.0, 2.0, 3.0])  # a constant made from Python data
        tr.set_outputs([z])
    kinds = [(n.kind, n.op) for n in tr.graph.op_nodes()]
    assert (WRITE, Op.ADD) in kinds and (OP, Op.SELECT) in kinds
    assert (OP, Op.AS_STRIDED) in kinds  # detach's alias
    assert [n.target for n in tr.graph.placeholders("constant")] == ["c0"]
    fresh = mt.zeros(2, 3)
    feeds = {tr.graph.placeholders("input")[0].outputs[0]: fresh,
             tr.graph.placeholders("constant")[0].outputs[0]: mt.tensor([1.0, 2.0, 3.0])}
    (out,) = interpret(tr.graph, feeds)
    assert fresh.tolist() == [[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]]
    assert out.tolist() == [[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]


@pytest.mark.parametrize("call, what", [
    (lambda t: t.sum().item(), "item()"), (lambda t: bool(t.sum() > 0), "bool()"),
    (lambda t: t.tolist(), "tolist()"), (lambda t: t.numpy(), "numpy()"),
    (lambda t: float(t.sum()), "float()"), (lambda t: int(t.argmax()), "int()"),
])
def test_a_host_read_of_a_traced_value_raises_naming_the_call_and_line(call, what):
    x = mt.randn(3)
    with pytest.raises(GraphBreak, match=rf"{what.replace('(', '[(]').replace(')', '[)]')} "
                                         r"reads a traced tensor's value on the host "
                                         r"\(at .*test_capture.py:\d+\)"):
        with Tracer() as tr:
            tr.placeholder(x, "input", "x")
            call(x * 2)
    assert dispatch.TRACING == 0 and mt.core.state.STATE.tracer is None


def test_break_mode_notes_the_first_reason_and_the_call_finishes_eagerly():
    x = mt.tensor([1.0, -2.0, 3.0])
    with Tracer(on_host_read="break") as tr:
        tr.placeholder(x, "input", "x")
        n = int((x > 0).sum())
        picked = x[x > 0]  # data-dependent shape
    assert n == 2 and picked.tolist() == [1.0, 3.0]
    assert tr.broken.startswith("int() reads a traced tensor's value")
    with Tracer(on_host_read="raise") as tr2:
        tr2.placeholder(x, "input", "x")
        with pytest.raises(GraphBreak, match="shape depends on the data"):
            x.nonzero()


def test_index_bounds_are_checked_on_traced_values_without_a_break():
    x = mt.randn(4, 3)
    with Tracer() as tr:
        tr.placeholder(x, "input", "x")
        with pytest.raises(IndexError, match="out of bounds"):
            F.cross_entropy(x, mt.tensor([0, 1, 3, 2]))
        loss = F.cross_entropy(x, mt.tensor([0, 1, 2, 2]))
        tr.set_outputs([loss])
    assert tr.broken is None and Op.GATHER in [n.op for n in tr.graph.op_nodes()]


def test_a_whole_training_step_replays_like_eager():
    net = _mlp()
    twin = copy.deepcopy(net)
    opts = [mt.optim.SGD(m.parameters(), lr=0.1, momentum=0.9) for m in (net, twin)]
    x, y = mt.randn(5, 4), mt.tensor([0, 1, 1, 0, 1])

    def step(model, opt):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    for m, o in zip((net, twin), opts):
        step(m, o)  # creates the momentum buffers
    params = list(net.parameters())
    state = [opts[0].state[p]["momentum_buffer"] for p in params]
    with Tracer() as tr:
        tr.placeholder(x, "input", "x")
        tr.placeholder(y, "input", "y")
        for name, p in net.named_parameters():
            tr.placeholder(p, "parameter", name)
        for i, s in enumerate(state):
            tr.placeholder(s, "state", f"momentum_buffer.{i}")
        loss = step(net, opts[0])
        tr.set_outputs([loss])
    assert tr.broken is None and not tr.graph.placeholders("constant")
    eager_losses = [step(twin, opts[1]).item() for _ in range(2)]
    assert loss.item() == eager_losses[0]
    (replayed,) = interpret(tr.graph, _feeds(tr, [x, y, *params, *state]))
    assert replayed.item() == eager_losses[1]
    for p, q in zip(net.parameters(), twin.parameters()):
        assert mt.equal(p, q)  # updated in place, bit for bit
    for s, q in zip(state, twin.parameters()):
        assert mt.equal(s, opts[1].state[q]["momentum_buffer"])
