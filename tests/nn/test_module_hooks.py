"""``Module`` API used by PyTorch programs beyond the basics: full backward (pre-)hooks,
forward hooks with keyword arguments / ``prepend`` / ``always_call``, ``get_buffer``,
``set_submodule``, ``bfloat16``/``type``/``to_empty``, and the missing-``forward`` error."""

from __future__ import annotations

import numpy as np
import pytest

import mbtorch as mt
from tests.nn._compare import close, to_mt

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _record(lib, lin, x_requires_grad):
    rec = []
    lin.register_full_backward_pre_hook(lambda m, go: rec.append(("pre", go)))
    lin.register_full_backward_hook(lambda m, gi, go: rec.append(("full", gi, go)))
    x = lib.tensor(np.arange(6.0, dtype=np.float32).reshape(2, 3),
                   requires_grad=x_requires_grad)
    (lin(x) * lib.tensor([[1.0, 2.0], [3.0, 4.0]])).sum().backward()
    return rec


@pytest.mark.parametrize("x_requires_grad", [True, False])
def test_full_backward_hooks_match_torch(x_requires_grad):
    t = torch.nn.Linear(3, 2)
    m = mt.nn.Linear(3, 2)
    m.load_state_dict({k: to_mt(v) for k, v in t.state_dict().items()})
    rt, rm = _record(torch, t, x_requires_grad), _record(mt, m, x_requires_grad)
    assert [r[0] for r in rm] == [r[0] for r in rt] == ["pre", "full"]
    close(rm[0][1][0], rt[0][1][0], 0, 0, "grad_output seen by the pre-hook")
    (gi_m,), (gi_t,) = rm[1][1], rt[1][1]
    assert (gi_m is None) == (gi_t is None)
    if gi_t is not None:
        close(gi_m, gi_t, 1e-6, 1e-6, "grad_input")


def test_backward_hooks_can_replace_gradients():
    lin = mt.nn.Linear(3, 2)
    lin.register_full_backward_hook(lambda m, gi, go: (gi[0] * 0 + 7.0,))
    x = mt.randn(2, 3, requires_grad=True)
    lin(x).sum().backward()
    assert np.all(x.grad.numpy() == 7.0)
    seq = mt.nn.Sequential(mt.nn.Linear(3, 3), mt.nn.ReLU())
    handle = seq[1].register_full_backward_pre_hook(lambda m, go: (go[0] * 0,))
    y = mt.randn(4, 3, requires_grad=True)
    seq(y).sum().backward()
    assert not y.grad.numpy().any() and not seq[0].weight.grad.numpy().any()
    handle.remove()
    y.grad = None
    seq(y).sum().backward()
    assert y.grad.numpy().any()
    with pytest.raises(RuntimeError, match="invalid number of grad_input"):
        bad = mt.nn.Linear(3, 2)
        bad.register_full_backward_hook(lambda m, gi, go: (gi[0], gi[0]))
        bad(mt.randn(1, 3, requires_grad=True)).sum().backward()


def test_forward_hook_options():
    calls = []
    lin = mt.nn.Linear(2, 2)
    lin.register_forward_hook(lambda m, a, o: calls.append("first"))
    lin.register_forward_hook(lambda m, a, o: calls.append("prepended"), prepend=True)
    lin.register_forward_pre_hook(lambda m, a, kw: ((a[0] * 0,), kw), with_kwargs=True)
    lin.register_forward_hook(lambda m, a, kw, o: o + 1, with_kwargs=True)
    out = lin(mt.randn(3, 2))
    assert calls == ["prepended", "first"]
    close(out, torch.from_numpy(lin.bias.detach().numpy() + 1).expand(3, 2), 1e-6, 1e-6)

    class Boom(mt.nn.Module):
        def forward(self, x):
            raise ValueError("boom")

    seen = []
    b = Boom()
    b.register_forward_hook(lambda m, a, o: seen.append(o), always_call=True)
    with pytest.raises(ValueError, match="boom"):
        b(mt.ones(1))
    assert seen == [None]
    with pytest.raises(RuntimeError, match="must return None or a tuple of"):
        c = mt.nn.Identity()
        c.register_forward_pre_hook(lambda m, a, kw: 3, with_kwargs=True)
        c(mt.ones(1))


def test_module_extras():
    net = mt.nn.Sequential(mt.nn.Linear(2, 3), mt.nn.BatchNorm1d(3))
    assert net.get_buffer("1.running_mean") is net[1].running_mean
    with pytest.raises(AttributeError, match="has no buffer `nope`"):
        net.get_buffer("1.nope")
    net.set_submodule("0", mt.nn.Linear(2, 3, bias=False))
    assert net[0].bias is None
    with pytest.raises(AttributeError):
        net.set_submodule("5", mt.nn.ReLU(), strict=True)
    net.bfloat16()
    assert net[0].weight.dtype == mt.bfloat16
    assert net[1].num_batches_tracked.dtype == mt.int64
    net.type(mt.float64)
    assert net[1].num_batches_tracked.dtype == mt.float64  # type() casts every tensor
    lin = mt.nn.Linear(2, 2)
    w = lin.weight
    lin.to_empty(device="cpu")
    assert lin.weight is w and lin.weight.shape == (2, 2)
    assert net._get_name() == "Sequential"
    with pytest.raises(NotImplementedError, match='missing the required "forward" function'):
        mt.nn.Module()(mt.ones(1))


def _with_extra(lib):
    class Counter(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = lib.nn.Linear(2, 2)
            self.steps = 0

        def get_extra_state(self):
            return {"steps": self.steps}

        def set_extra_state(self, state):
            self.steps = state["steps"]

    return Counter()


def test_extra_state_matches_torch():
    t, m = _with_extra(torch), _with_extra(mt)
    t.steps = 5
    # own entries, then the extra state, then the children's: PyTorch's order
    assert list(m.state_dict()) == list(t.state_dict()) == ["_extra_state", "lin.weight",
                                                            "lin.bias"]
    sd = {k: (to_mt(v) if isinstance(v, torch.Tensor) else v) for k, v in t.state_dict().items()}
    m.load_state_dict(sd)
    assert m.steps == 5
    close(m.lin.weight, t.lin.weight, 0, 0)
    with pytest.raises(RuntimeError, match="get_extra_state\\(\\) that should never be called"):
        mt.nn.Linear(1, 1).get_extra_state()


def test_state_dict_hooks():
    m = mt.nn.Sequential(mt.nn.Linear(2, 2))
    calls = []
    m[0].register_state_dict_pre_hook(lambda mod, prefix, keep: calls.append(("pre", prefix)))

    def drop_bias(mod, sd, prefix, meta):
        del sd[prefix + "bias"]

    m[0].register_state_dict_post_hook(drop_bias)
    sd = m.state_dict()
    assert calls == [("pre", "0.")] and list(sd) == ["0.weight"]

    def rename(mod, sd, prefix, meta, strict, missing, unexpected, errors):
        if prefix + "w" in sd:
            sd[prefix + "weight"] = sd.pop(prefix + "w")

    target = mt.nn.Sequential(mt.nn.Linear(2, 2))
    target[0].register_load_state_dict_pre_hook(rename)
    seen = []
    handle = target.register_load_state_dict_post_hook(
        lambda mod, keys: seen.append(list(keys.missing_keys)))
    given = {"0.w": mt.ones(2, 2)}
    result = target.load_state_dict(given, strict=False)
    assert list(given) == ["0.w"]  # the caller's dict is not changed by the hooks
    assert np.all(target[0].weight.detach().numpy() == 1.0)
    assert result.missing_keys == ["0.bias"] and seen == [["0.bias"]]
    handle.remove()

    def forgive(mod, keys):
        keys.missing_keys.clear()

    target.register_load_state_dict_post_hook(forgive)
    target.load_state_dict({"0.w": mt.ones(2, 2)})  # strict, but the hook cleared the miss
