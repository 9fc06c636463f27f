"""mbtorch.export: a module traced into an ExportedProgram — a printable op-level graph with
its signature and state — that runs through module() on any device, lowers to primitives,
and saves as a readable JSON graph plus safetensors weights (no pickle)."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

import mbtorch as mt
from mbtorch.core.op import PRIMITIVES
from mbtorch.export import Dim, GraphBreak


def _cnn(train: bool = False) -> mt.nn.Module:
    mt.manual_seed(0)
    net = mt.nn.Sequential(mt.nn.Conv2d(1, 4, 3, padding=1), mt.nn.BatchNorm2d(4), mt.nn.ReLU(),
                           mt.nn.MaxPool2d(2), mt.nn.Flatten(), mt.nn.Linear(4 * 4 * 4, 3))
    return net.train(train)


X = mt.randn(2, 1, 8, 8)


def test_export_records_the_graph_signature_and_state():
    net = _cnn()
    ep = mt.export.export(net, (X,))
    sig = ep.graph_signature
    assert sig.parameters == [k for k, _ in net.named_parameters()]
    assert sig.buffers == [k for k, _ in net.named_buffers()]
    assert sig.user_inputs == ["x"] and [s.kind for s in sig.output_specs] == ["USER_OUTPUT"]
    assert set(ep.state_dict) == set(net.state_dict())
    text = str(ep.graph)
    assert "%x: float32[2, 1, 8, 8] = input['x']" in text and "convolution(" in text
    assert not ep.constants
    with mt.no_grad():
        for x in (X, mt.randn(2, 1, 8, 8)):
            assert mt.equal(ep.module()(x), net(x))


def test_run_decompositions_leaves_only_primitives_and_the_same_values():
    net = _cnn()
    ep = mt.export.export(net, (X,)).run_decompositions()
    ops = {n.op for n in ep.graph.op_nodes() if n.op is not None}
    assert ops <= set(PRIMITIVES) and mt.core.op.Op.MATMUL in ops
    with mt.no_grad():
        assert mt.allclose(ep.module()(X), net(X), atol=1e-6)


def test_save_and_load_round_trip_without_pickle(tmp_path):
    net = _cnn()
    ep = mt.export.export(net, (X,))
    path = tmp_path / "net.mbtorch-export"
    mt.export.save(ep, path, extra_files={"note.txt": "hello"})
    with zipfile.ZipFile(path) as z:
        assert sorted(z.namelist()) == ["extra/note.txt", "graph.json", "weights.safetensors"]
        doc = json.loads(z.read("graph.json"))
    assert doc["format"] == "mbtorch.export" and len(doc["nodes"]) == len(ep.graph.nodes)
    extra = {"note.txt": ""}
    back = mt.export.load(path, extra_files=extra)
    assert extra["note.txt"] == "hello"
    assert str(back.graph) == str(ep.graph)
    with mt.no_grad():
        assert mt.equal(back.module()(X), net(X))
    bad = io.BytesIO()
    with zipfile.ZipFile(bad, "w") as z:
        z.writestr("graph.json", json.dumps({**doc, "version": 99}))
        z.writestr("weights.safetensors", b"")
    bad.seek(0)
    with pytest.raises(ValueError, match="format version"):
        mt.export.load(bad)


def test_a_train_mode_program_updates_its_own_buffers():
    net = _cnn(train=True)
    twin = _cnn(train=True)
    ep = mt.export.export(twin, (X,))
    assert mt.equal(twin[1].running_mean, mt.zeros(4))  # exporting leaves the module as it was
    m = ep.module()
    with mt.no_grad():
        eager = net(X)
        assert mt.allclose(m(X), eager)
    assert mt.allclose(m.get_buffer("1.running_mean"), net[1].running_mean)


def test_the_program_runs_on_another_device():
    net = _cnn()
    ep = mt.export.export(net, (X,))
    m = ep.module().to("mini")
    with mt.no_grad():
        out = m(X.to("mini"))
        assert out.device.type == "mini"
        assert mt.allclose(out.cpu(), net(X), atol=1e-5)


class _Branchy(mt.nn.Module):
    def forward(self, x):
        if x.sum() > 0:  # data-dependent control flow
            return x * 2
        return x


def test_data_dependent_control_flow_is_refused_and_dynamic_shapes_accepted():
    with pytest.raises(GraphBreak, match=r"bool\(\) reads a traced tensor's value.*"
                                         r"test_export.py:\d+"):
        mt.export.export(_Branchy(), (X,), dynamic_shapes=({0: Dim("batch")},))
    ep = mt.export.export(_cnn(), (X,), dynamic_shapes={"input": {0: Dim("batch")}})
    assert "%x: float32[s0, 1, 8, 8] = input['x']" in str(ep.graph)  # more: test_export_dynamic
    with pytest.raises(TypeError, match="expected an nn.Module"):
        mt.export.export(lambda x: x, (X,))
