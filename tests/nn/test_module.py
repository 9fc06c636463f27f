"""``nn.Module``: registration, traversal order, buffers, state dicts, moves, hooks, modes,
repr (PyTorch's text) and the containers."""

from __future__ import annotations

import sys
from collections import OrderedDict

import numpy as np
import pytest

import mbtorch as mt


def build(nn):
    """A model with nesting, buffers, a shared module and a parameter-free layer."""
    lib = sys.modules[nn.__name__.rsplit(".", 1)[0]]  # torch or mbtorch

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(2, 3, 3, padding=1)
            self.bn = nn.BatchNorm2d(3)
            self.scale = nn.Parameter(lib.ones(3))
            self.register_buffer("steps", lib.zeros(()))
            self.register_buffer("cache", lib.zeros(2), persistent=False)

        def forward(self, x):
            return self.bn(self.conv(x)) * self.scale.reshape(1, -1, 1, 1)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(Block(), nn.ReLU(), nn.MaxPool2d(2))
            self.head = nn.Linear(12, 4)
            self.tied = self.head  # the same module twice: found once
            self.extra = nn.ModuleDict({"b": nn.Linear(4, 2), "a": nn.Identity()})

        def forward(self, x):
            return self.extra["b"](self.head(self.features(x).flatten(1)))

    return Net()


def test_traversal_order_matches_torch():
    torch = pytest.importorskip("torch")
    t, m = build(torch.nn), build(mt.nn)
    assert [n for n, _ in m.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert [n for n, _ in m.named_buffers()] == [n for n, _ in t.named_buffers()]
    assert [n for n, _ in m.named_modules()] == [n for n, _ in t.named_modules()]
    assert [n for n, _ in m.named_children()] == [n for n, _ in t.named_children()]
    assert list(m.state_dict()) == list(t.state_dict())
    assert [n for n, _ in m.named_parameters(prefix="p", recurse=False)] == []
    names = [n for n, _ in m.named_parameters(remove_duplicate=False)]
    assert names == [n for n, _ in t.named_parameters(remove_duplicate=False)]
    visited_t, visited_m = [], []
    t.apply(lambda mod: visited_t.append(type(mod).__name__))
    m.apply(lambda mod: visited_m.append(type(mod).__name__))
    assert visited_m == visited_t


def test_registration_rules():
    m = mt.nn.Module()
    m.w = mt.nn.Parameter(mt.zeros(2))
    m.sub = mt.nn.Linear(2, 2)
    m.plain = mt.zeros(2)  # a plain tensor is neither parameter nor buffer
    assert [n for n, _ in m.named_parameters()] == ["w", "sub.weight", "sub.bias"]
    assert list(m.state_dict()) == ["w", "sub.weight", "sub.bias"]
    with pytest.raises(TypeError, match="Parameter or None"):
        m.w = mt.zeros(2)
    m.w = None
    assert "w" not in dict(m.named_parameters()) and m.w is None
    m.b = mt.nn.Buffer(mt.ones(3))
    m.nb = mt.nn.Buffer(mt.ones(1), persistent=False)
    assert [n for n, _ in m.named_buffers()] == ["b", "nb"]
    assert "b" in m.state_dict() and "nb" not in m.state_dict()
    with pytest.raises(KeyError, match="contain"):
        m.register_buffer("a.b", mt.zeros(1))
    with pytest.raises(KeyError, match="already exists"):
        m.register_parameter("plain", mt.nn.Parameter(mt.zeros(1)))
    with pytest.raises(TypeError):
        m.register_buffer("x", 3.0)
    with pytest.raises(TypeError):
        m.add_module("y", "not a module")
    del m.sub
    assert "sub.weight" not in m.state_dict()
    with pytest.raises(AttributeError, match="no attribute 'missing'"):
        _ = m.missing
    assert m.get_submodule("") is m
    net = build(mt.nn)
    assert net.get_parameter("features.0.conv.weight") is net.features[0].conv.weight


def test_parameter_is_a_leaf_sharing_storage():
    data = mt.zeros(3)
    p = mt.nn.Parameter(data)
    assert p.requires_grad and p.is_leaf and isinstance(p, mt.Tensor)
    with mt.no_grad():
        p.add_(1)
    np.testing.assert_array_equal(data.numpy(), [1, 1, 1])
    assert not mt.nn.Parameter(mt.zeros(1), requires_grad=False).requires_grad
    assert repr(p).startswith("Parameter containing:\n")


def _state(torch, net):
    return {k: mt.tensor(v.detach().numpy().copy()) for k, v in net.state_dict().items()}


def test_state_dict_round_trip_and_strictness():
    torch = pytest.importorskip("torch")
    t, m = build(torch.nn), build(mt.nn)
    state = _state(torch, t)
    result = m.load_state_dict(state)
    assert result == ([], []) and repr(result) == repr(t.load_state_dict(t.state_dict()))
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), t.state_dict()[k].numpy())
    x = np.random.default_rng(0).standard_normal((2, 2, 4, 4)).astype(np.float32)
    t.eval()
    m.eval()
    np.testing.assert_allclose(m(mt.tensor(x)).detach().numpy(),
                               t(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)
    assert not m.state_dict()["head.weight"].requires_grad
    assert m.state_dict(keep_vars=True)["head.weight"] is m.head.weight


def test_load_state_dict_messages_match_torch():
    torch = pytest.importorskip("torch")
    tl, ml = torch.nn.Linear(3, 2), mt.nn.Linear(3, 2)
    cases = [
        ({"weight": torch.zeros(2, 3)}, "missing"),
        ({"weight": torch.zeros(2, 3), "bias": torch.zeros(2), "extra": torch.zeros(1)},
         "unexpected"),
        ({"weight": torch.zeros(2, 3), "bias": torch.zeros(5)}, "shape"),
        ({"weight": torch.zeros(2, 3), "extra": torch.zeros(1)}, "both"),
    ]
    for state, _ in cases:
        with pytest.raises(RuntimeError) as t_err:
            tl.load_state_dict(state)
        with pytest.raises(RuntimeError) as m_err:
            ml.load_state_dict({k: mt.tensor(v.numpy()) for k, v in state.items()})
        assert str(m_err.value) == str(t_err.value).replace("torch.Size", "mbtorch.Size")
    missing, unexpected = ml.load_state_dict({"weight": mt.ones(2, 3), "zz": mt.ones(1)},
                                             strict=False)
    assert missing == ["bias"] and unexpected == ["zz"]
    np.testing.assert_array_equal(ml.weight.detach().numpy(), np.ones((2, 3)))
    weight = mt.full((2, 3), 2.0)
    ml.load_state_dict({"weight": weight, "bias": mt.zeros(2)}, assign=True)
    assert isinstance(ml.weight, mt.nn.Parameter) and ml.weight.requires_grad
    with mt.no_grad():
        weight.add_(1)  # assign=True takes the tensor itself, not a copy
    np.testing.assert_array_equal(ml.weight.detach().numpy(), np.full((2, 3), 3.0))


def test_to_dtype_keeps_parameters_and_integer_buffers():
    net = build(mt.nn)
    weight = net.head.weight
    opt = mt.optim.SGD(net.parameters(), lr=0.1)
    assert net.double() is net
    assert net.head.weight is weight and weight.dtype is mt.float64
    assert all(p.dtype is mt.float64 for p in net.parameters())
    bn = net.features[0].bn
    assert bn.running_mean.dtype is mt.float64 and bn.num_batches_tracked.dtype is mt.int64
    assert opt.param_groups[0]["params"][-1].dtype is mt.float64
    net.to(dtype=mt.float32)
    assert weight.dtype is mt.float32
    net.to("cpu")
    assert weight.device.type == "cpu"
    with pytest.raises(TypeError, match="floating point"):
        net.to(mt.int32)


def test_train_eval_and_requires_grad():
    net = build(mt.nn)
    assert all(m.training for m in net.modules())
    assert net.eval() is net and not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    net.features.train(False)
    assert not net.features[0].bn.training and net.head.training
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())
    net.head.requires_grad_()
    assert net.head.weight.requires_grad and not net.features[0].conv.weight.requires_grad


def test_zero_grad():
    lin = mt.nn.Linear(3, 2)
    lin(mt.randn(4, 3)).sum().backward()
    assert lin.weight.grad is not None
    lin.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(lin.weight.grad.numpy(), 0)
    lin(mt.randn(4, 3)).sum().backward()
    lin.zero_grad()
    assert lin.weight.grad is None and lin.bias.grad is None


def test_forward_hooks():
    lin = mt.nn.Linear(2, 2)
    calls = []

    def pre(mod, args):
        calls.append("pre")
        return (args[0] * 0,)

    def post(mod, args, out):
        calls.append("post")
        return out + 1

    h1 = lin.register_forward_pre_hook(pre)
    h2 = lin.register_forward_hook(post)
    out = lin(mt.randn(3, 2))
    expected = lin.bias.detach().numpy() + 1
    np.testing.assert_allclose(out.detach().numpy(), np.broadcast_to(expected, (3, 2)))
    assert calls == ["pre", "post"]
    h1.remove()
    h2.remove()
    x = mt.randn(3, 2)
    np.testing.assert_allclose(lin(x).detach().numpy(), mt.nn.functional.linear(
        x, lin.weight, lin.bias).detach().numpy())
    assert calls == ["pre", "post"]
    with lin.register_forward_hook(lambda m, a, o: None):
        lin(x)  # a hook returning None leaves the output alone


REPR_MODELS = [
    lambda nn: nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                             nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.25),
                             nn.Linear(16, 3)),
    lambda nn: nn.Sequential(nn.Conv1d(2, 4, 3, stride=2, padding=1, dilation=2, groups=2,
                                       bias=False, padding_mode="reflect"),
                             nn.LeakyReLU(0.2), nn.GELU(approximate="tanh"), nn.Softmax(dim=1),
                             nn.AvgPool1d(3), nn.AdaptiveAvgPool2d((2, 3)), nn.LayerNorm(5),
                             nn.GroupNorm(2, 4), nn.Embedding(10, 3, padding_idx=0),
                             nn.Upsample(scale_factor=2, mode="bilinear"),
                             nn.ConvTranspose2d(2, 3, 3, stride=2, output_padding=1),
                             nn.Conv2d(2, 4, 3, padding="same"), nn.Unflatten(1, (2, 3))),
    lambda nn: nn.LSTM(3, 5, num_layers=2, batch_first=True, bidirectional=True),
    lambda nn: nn.ModuleDict({"a": nn.Linear(2, 2), "b": nn.ModuleList([nn.ReLU(),
                                                                        nn.Identity()])}),
    lambda nn: nn.TransformerEncoderLayer(8, 2, 16),
    lambda nn: nn.Sequential(nn.ReLU(inplace=True), nn.GRU(2, 3), nn.CrossEntropyLoss(),
                             nn.BatchNorm1d(3, momentum=None), nn.Bilinear(2, 3, 4)),
]


@pytest.mark.parametrize("i", range(len(REPR_MODELS)))
def test_repr_matches_torch(i):
    torch = pytest.importorskip("torch")
    assert repr(REPR_MODELS[i](mt.nn)) == repr(REPR_MODELS[i](torch.nn))


def test_sequential_indexing():
    layers = [mt.nn.Linear(2, 3), mt.nn.ReLU(), mt.nn.Linear(3, 1)]
    seq = mt.nn.Sequential(*layers)
    assert len(seq) == 3 and seq[0] is layers[0] and seq[-1] is layers[2]
    assert list(seq) == layers
    sub = seq[1:]
    assert isinstance(sub, mt.nn.Sequential) and list(sub) == layers[1:]
    assert list(sub._modules) == ["1", "2"]  # slicing keeps the names, as PyTorch
    with pytest.raises(IndexError):
        seq[3]
    x = mt.randn(4, 2)
    np.testing.assert_allclose(seq(x).detach().numpy(),
                               layers[2](layers[1](layers[0](x))).detach().numpy())
    seq[1] = mt.nn.Tanh()
    assert isinstance(seq[1], mt.nn.Tanh)
    seq.append(mt.nn.Sigmoid())
    del seq[0]
    assert [type(m).__name__ for m in seq] == ["Tanh", "Linear", "Sigmoid"]
    named = mt.nn.Sequential(OrderedDict([("fc", mt.nn.Linear(2, 2)), ("act", mt.nn.ReLU())]))
    assert named.fc is named[0] and list(named.state_dict()) == ["fc.weight", "fc.bias"]


def test_module_list_and_dict():
    ml = mt.nn.ModuleList([mt.nn.Linear(2, 2) for _ in range(3)])
    assert len(ml) == 3 and len(list(ml.parameters())) == 6
    ml.append(mt.nn.ReLU())
    ml.insert(0, mt.nn.Tanh())
    assert [type(m).__name__ for m in ml] == ["Tanh", "Linear", "Linear", "Linear", "ReLU"]
    assert list(ml.state_dict())[:2] == ["1.weight", "1.bias"]
    assert isinstance(ml[1:3], mt.nn.ModuleList) and len(ml[1:3]) == 2
    del ml[0]
    assert type(ml[0]).__name__ == "Linear" and ml[-1] is list(ml)[-1]
    ml.extend([mt.nn.Identity()])
    assert len(ml) == 5
    md = mt.nn.ModuleDict({"b": mt.nn.Linear(1, 1), "a": mt.nn.ReLU()})
    assert list(md.keys()) == ["b", "a"] and "a" in md and len(md) == 2
    md["c"] = mt.nn.Linear(1, 2)
    assert list(md.state_dict()) == ["b.weight", "b.bias", "c.weight", "c.bias"]
    assert isinstance(md.pop("a"), mt.nn.ReLU) and list(md) == ["b", "c"]
    md.update([("d", mt.nn.Identity())])
    assert [k for k, _ in md.items()] == ["b", "c", "d"]
    ident = mt.nn.Identity(3, some=4)
    x = mt.randn(2)
    assert ident(x) is x
