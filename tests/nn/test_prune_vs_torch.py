"""``mbtorch.nn.utils.prune`` against ``torch.nn.utils.prune`` on copied weights: masks,
``<name>_orig`` / ``<name>_mask``, the pruned tensor, the forward pre-hook (values and
gradients), state-dict keys and round trips, composition in a ``PruningContainer`` (integer
and fractional amounts counted on what is still unpruned), global pruning, ``remove``,
``is_pruned`` and the error types. The random methods are compared exactly by handing both
libraries the same random draws, and by their counts and reproducibility otherwise."""

from __future__ import annotations

import os

import numpy as np
import pytest

import mbtorch as mt
from tests.nn._compare import check_module, close, np_of, randn, to_mt

torch = pytest.importorskip("torch")
pytest.importorskip("torch.nn.utils.prune")
TP, MP = torch.nn.utils.prune, mt.nn.utils.prune
INF = float("inf")


def _pair(kind="conv", seed=0, bias=True):
    """The same freshly built layer in both libraries, mbtorch's holding torch's values."""
    t = (torch.nn.Conv2d(3, 6, 3, bias=bias) if kind == "conv"
         else torch.nn.Linear(7, 5, bias=bias))
    with torch.no_grad():
        for i, p in enumerate(t.parameters()):
            p.copy_(randn(torch, *p.shape, seed=seed + i))
    m = mt.nn.Conv2d(3, 6, 3, bias=bias) if kind == "conv" else mt.nn.Linear(7, 5, bias=bias)
    m.load_state_dict({k: to_mt(v) for k, v in t.state_dict().items()})
    return t, m


def _input(kind):
    return randn(torch, 2, 3, 6, 6, seed=9) if kind == "conv" else randn(torch, 4, 7, seed=9)


def _same(t, m, kind="conv", forward=True, tol=0.0):
    """Same state-dict keys (in order) and values, same pruned tensors, hooks of the same
    classes, and the same forward values and gradients (``<name>_orig`` included)."""
    assert list(m.state_dict()) == list(t.state_dict())
    for key, value in t.state_dict().items():
        close(m.state_dict()[key], value, tol, tol, key)
    for name in ("weight", "bias"):
        if getattr(t, name, None) is not None:
            close(getattr(m, name), getattr(t, name), tol, tol, name)
    assert [type(h).__name__ for h in m._forward_pre_hooks.values()] == \
        [type(h).__name__ for h in t._forward_pre_hooks.values()]
    for mh, th in zip(m._forward_pre_hooks.values(), t._forward_pre_hooks.values()):
        if isinstance(th, TP.PruningContainer):
            assert [type(x).__name__ for x in mh] == [type(x).__name__ for x in th]
    assert MP.is_pruned(m) == TP.is_pruned(t)
    if forward:
        check_module(t, m, _input(kind), copy=False, rtol=1e-5, atol=1e-5)


def _both(t, m, fn, *args, **kwargs):
    """``fn`` of both libraries on the pair, tensors in ``kwargs`` converted for mbtorch."""
    getattr(TP, fn)(t, *args, **kwargs)
    mkw = {k: to_mt(v) if isinstance(v, torch.Tensor) else v for k, v in kwargs.items()}
    out = getattr(MP, fn)(m, *args, **mkw)
    assert out is m  # the functional forms return the module, as PyTorch's do


# ------------------------------------------------------------------ single methods


@pytest.mark.parametrize("kind", ["conv", "linear"])
@pytest.mark.parametrize("name", ["weight", "bias"])
@pytest.mark.parametrize("amount", [0, 0.0, 0.3, 0.5, 1.0, 1, 4])
def test_l1_unstructured(kind, name, amount):
    t, m = _pair(kind)
    _both(t, m, "l1_unstructured", name, amount=amount)
    pruned = int((np_of(getattr(m, name + "_mask")) == 0).sum())
    size = getattr(m, name + "_orig").numel()
    expected = amount if isinstance(amount, int) else round(amount * size)
    assert pruned == expected
    _same(t, m, kind)


@pytest.mark.parametrize("n", [1, 2, INF, -INF, 3, "fro"])
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("amount", [0.5, 2, 0.0])
def test_ln_structured_conv(n, dim, amount):
    t, m = _pair("conv")
    if n == "fro":  # torch.norm's "fro" needs at most two reduced dims: both refuse alike
        with pytest.raises(RuntimeError) as te:
            TP.ln_structured(t, "weight", amount, n=n, dim=dim)
        with pytest.raises(type(te.value), match="dim must be a 2-tuple"):
            MP.ln_structured(m, "weight", amount, n=n, dim=dim)
        return
    _both(t, m, "ln_structured", "weight", amount, n=n, dim=dim)
    _same(t, m)


@pytest.mark.parametrize("n", [1, 2, INF, "fro"])
@pytest.mark.parametrize("dim", [0, 1, -1, -2])
def test_ln_structured_linear(n, dim):
    t, m = _pair("linear")
    _both(t, m, "ln_structured", "weight", 0.4, n=n, dim=dim)
    mask = np_of(m.weight_mask)
    axis = dim % 2
    whole = mask.sum(1 - axis)  # per slice along dim: all kept or all pruned
    assert set(np.unique(whole)) <= {0, mask.shape[1 - axis]}
    _same(t, m, "linear")


def test_ln_structured_with_importance_scores():
    t, m = _pair("conv")
    scores = randn(torch, 6, 3, 3, 3, seed=5)
    _both(t, m, "ln_structured", "weight", 3, n=1, dim=0, importance_scores=scores)
    _same(t, m)
    t, m = _pair("linear")
    scores = randn(torch, 5, 7, seed=6)
    _both(t, m, "l1_unstructured", "weight", 0.6, importance_scores=scores)
    _same(t, m, "linear")


def test_identity_and_custom_from_mask():
    t, m = _pair("conv")
    _both(t, m, "identity", "weight")
    assert np_of(m.weight_mask).all()
    _same(t, m)
    mask = torch.from_numpy(np.random.default_rng(2).random((6, 3, 3, 3)) > 0.4)
    _both(t, m, "custom_from_mask", "weight", mask=mask)  # a bool mask, on top of identity
    _both(t, m, "custom_from_mask", "bias", mask=(torch.arange(6) % 3 != 0).float())
    assert m.weight_mask.dtype == mt.float32 and m.bias_mask.dtype == mt.float32
    _same(t, m)


@pytest.mark.parametrize("method", ["random_unstructured", "random_structured"])
def test_random_methods_pick_like_torch_from_the_same_draws(monkeypatch, method):
    """With ``rand``/``rand_like`` returning the same numbers in both libraries, the random
    methods must prune exactly the same entries: the largest draws are the ones pruned
    (unstructured) or kept (structured), as in PyTorch."""
    draws = iter(np.random.default_rng(7).random((10, 200)).astype(np.float32))
    fixed = {}

    def fake(lib, key):
        def draw(*shape_or_tensor, **kwargs):
            ref = shape_or_tensor[0]
            shape = tuple(ref.shape) if hasattr(ref, "shape") else tuple(shape_or_tensor)
            if key not in fixed:
                fixed[key] = next(draws)
            n = int(np.prod(shape))
            return lib.tensor(fixed[key][:n].reshape(shape))
        return draw

    t, m = _pair("conv")
    steps = ([("random_unstructured", dict(amount=0.3)), ("random_unstructured", dict(amount=7))]
             if method == "random_unstructured" else
             [("random_structured", dict(amount=2, dim=0)),
              ("random_structured", dict(amount=0.5, dim=1))])
    for i, (fn, kw) in enumerate(steps):
        for lib in (torch, mt):
            monkeypatch.setattr(lib, "rand_like", fake(lib, ("like", i)))
            monkeypatch.setattr(lib, "rand", fake(lib, ("rand", i)))
        _both(t, m, fn, "weight", **kw)
    monkeypatch.undo()
    _same(t, m)


def test_random_unstructured_counts_and_seed():
    masks = []
    for _ in range(2):
        mt.manual_seed(11)
        lin = mt.nn.Linear(10, 8)
        MP.random_unstructured(lin, "weight", amount=0.25)
        masks.append(np_of(lin.weight_mask))
        assert int((masks[-1] == 0).sum()) == 20
        MP.random_unstructured(lin, "weight", amount=10)  # 10 more, among the 60 left
        assert int((np_of(lin.weight_mask) == 0).sum()) == 30
        assert not np_of(lin.weight_mask)[masks[-1] == 0].any()  # pruned stays pruned
    np.testing.assert_array_equal(masks[0], masks[1])
    mt.manual_seed(12)
    other = mt.nn.Linear(10, 8)
    MP.random_unstructured(other, "weight", amount=0.25)
    assert not np.array_equal(np_of(other.weight_mask), masks[0])


@pytest.mark.parametrize("dim,amount,pruned", [(0, 3, 3), (1, 0.4, 1), (-1, 0.5, 2),
                                               (0, 0.0, 0)])
def test_random_structured_prunes_whole_channels(dim, amount, pruned):
    conv = mt.nn.Conv2d(3, 6, 3)
    MP.random_structured(conv, "weight", amount=amount, dim=dim)
    mask = np_of(conv.weight_mask)
    axis = dim % 4
    per_channel = mask.sum(tuple(d for d in range(4) if d != axis))
    full = mask.size // mask.shape[axis]
    assert sorted(set(per_channel.tolist())) in ([0.0, full], [full])
    assert int((per_channel == 0).sum()) == pruned
    assert not np_of(conv.weight)[np.broadcast_to(mask == 0, mask.shape)].any()


# ------------------------------------------------------------------ composition


SEQUENCES = {
    "l1 frac, l1 int": [("l1_unstructured", dict(name="weight", amount=0.3)),
                        ("l1_unstructured", dict(name="weight", amount=10))],
    "l1 int, l1 frac": [("l1_unstructured", dict(name="weight", amount=20)),
                        ("l1_unstructured", dict(name="weight", amount=0.5))],
    "ln dim0, ln dim1": [("ln_structured", dict(name="weight", amount=2, n=2, dim=0)),
                         ("ln_structured", dict(name="weight", amount=0.34, n=1, dim=1))],
    "l1, ln inf, l1": [("l1_unstructured", dict(name="weight", amount=0.2)),
                       ("ln_structured", dict(name="weight", amount=0.34, n=INF, dim=0)),
                       ("l1_unstructured", dict(name="weight", amount=5))],
    "ln, ln same dim": [("ln_structured", dict(name="weight", amount=0.5, n=1, dim=-1)),
                        ("ln_structured", dict(name="weight", amount=1, n=2, dim=-1))],
    "custom, l1, identity": [("custom_from_mask", dict(name="bias", mask="half")),
                             ("l1_unstructured", dict(name="bias", amount=0.34)),
                             ("identity", dict(name="bias"))],
    "weight and bias": [("l1_unstructured", dict(name="weight", amount=0.5)),
                        ("l1_unstructured", dict(name="bias", amount=2)),
                        ("ln_structured", dict(name="weight", amount=1, n=1, dim=0))],
}


@pytest.mark.parametrize("steps", list(SEQUENCES.values()), ids=list(SEQUENCES))
def test_pruning_twice_composes_like_torch(steps):
    t, m = _pair("conv")
    for fn, kw in steps:
        kw = dict(kw)
        if kw.get("mask") == "half":
            kw["mask"] = (torch.arange(6) < 3).float()
        _both(t, m, fn, **kw)
        _same(t, m, forward=False)
    _same(t, m)
    for name in {kw["name"] for _, kw in steps}:
        hook = next(h for h in m._forward_pre_hooks.values() if h._tensor_name == name)
        methods = list(hook) if isinstance(hook, MP.PruningContainer) else [hook]
        assert len(methods) == sum(kw["name"] == name for _, kw in steps)
        assert all(x._tensor_name == name for x in methods)
        TP.remove(t, name)
        MP.remove(m, name)
    _same(t, m)


def test_fraction_counts_only_the_unpruned_entries():
    lin = mt.nn.Linear(10, 10)
    MP.l1_unstructured(lin, "weight", amount=0.5)  # 50 left
    MP.l1_unstructured(lin, "weight", amount=0.5)  # half of those: 25 left
    assert int(np_of(lin.weight_mask).sum()) == 25
    with pytest.raises(ValueError, match="smaller than the number of parameters to prune=25"):
        MP.l1_unstructured(lin, "weight", amount=26)


# ------------------------------------------------------------------ global pruning


def _nets():
    def build(lib):
        return lib.nn.Sequential(lib.nn.Conv2d(1, 4, 3), lib.nn.ReLU(), lib.nn.Flatten(),
                                 lib.nn.Linear(4 * 4 * 4, 10), lib.nn.ReLU(),
                                 lib.nn.Linear(10, 3))
    t = build(torch)
    with torch.no_grad():
        for i, p in enumerate(t.parameters()):
            p.copy_(randn(torch, *p.shape, seed=20 + i) * (1 + i))  # layers of unlike scales
    m = build(mt)
    m.load_state_dict({k: to_mt(v) for k, v in t.state_dict().items()})
    return t, m


def _targets(net):
    return [(net[0], "weight"), (net[3], "weight"), (net[5], "weight"), (net[5], "bias")]


def _same_net(t, m):
    assert list(m.state_dict()) == list(t.state_dict())
    for key, value in t.state_dict().items():
        close(m.state_dict()[key], value, 0, 0, key)
    assert MP.is_pruned(m) and TP.is_pruned(t)
    check_module(t, m, randn(torch, 2, 1, 6, 6, seed=4), copy=False, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("amount", [0.8, 0.25, 100, 0, 1.0])
def test_global_unstructured_l1(amount):
    t, m = _nets()
    TP.global_unstructured(_targets(t), pruning_method=TP.L1Unstructured, amount=amount)
    MP.global_unstructured(_targets(m), pruning_method=MP.L1Unstructured, amount=amount)
    _same_net(t, m)
    total = sum(getattr(mod, n + "_mask").numel() for mod, n in _targets(m))
    zeros = sum(int((np_of(getattr(mod, n + "_mask")) == 0).sum()) for mod, n in _targets(m))
    assert zeros == (amount if isinstance(amount, int) else round(amount * total))
    # one threshold for all: every kept magnitude is at least every pruned one
    kept, gone = [], []
    for mod, n in _targets(m):
        w, mask = np.abs(np_of(getattr(mod, n + "_orig"))), np_of(getattr(mod, n + "_mask"))
        kept.append(w[mask == 1])
        gone.append(w[mask == 0])
    kept, gone = np.concatenate(kept), np.concatenate(gone)
    if kept.size and gone.size:
        assert kept.min() >= gone.max()


def test_global_unstructured_on_top_of_earlier_pruning_and_with_scores():
    t, m = _nets()
    _both(t[3], m[3], "ln_structured", "weight", 0.3, n=2, dim=0)
    _both(t[0], m[0], "l1_unstructured", "weight", 5)
    scores = randn(torch, 3, 10, seed=30)
    TP.global_unstructured(_targets(t), pruning_method=TP.L1Unstructured, amount=0.5,
                           importance_scores={(t[5], "weight"): scores})
    MP.global_unstructured(_targets(m), pruning_method=MP.L1Unstructured, amount=0.5,
                           importance_scores={(m[5], "weight"): to_mt(scores)})
    _same_net(t, m)
    assert [type(h).__name__ for h in m[3]._forward_pre_hooks.values()] == ["PruningContainer"]
    TP.global_unstructured(_targets(t), pruning_method=TP.RandomUnstructured, amount=0)
    MP.global_unstructured(_targets(m), pruning_method=MP.RandomUnstructured, amount=0)
    _same_net(t, m)


def test_global_unstructured_with_a_user_method():
    """A user's own ``BasePruningMethod`` subclass goes through apply and global pruning."""
    def threshold(base):
        class Threshold(base):
            PRUNING_TYPE = "unstructured"

            def __init__(self, threshold):
                self.threshold = threshold

            def compute_mask(self, tensor, default_mask):
                return default_mask * (tensor.abs() > self.threshold).to(default_mask.dtype)
        return Threshold

    t, m = _nets()
    TP.global_unstructured(_targets(t), pruning_method=threshold(TP.BasePruningMethod),
                           threshold=0.9)
    MP.global_unstructured(_targets(m), pruning_method=threshold(MP.BasePruningMethod),
                           threshold=0.9)
    _same_net(t, m)
    threshold(TP.BasePruningMethod).apply(t[5], "bias", threshold=0.2)
    threshold(MP.BasePruningMethod).apply(m[5], "bias", threshold=0.2)
    _same_net(t, m)


# ------------------------------------------------------------------ hooks, remove, state


def test_forward_pre_hook_recomputes_after_orig_changes():
    t, m = _pair("linear")
    _both(t, m, "l1_unstructured", "weight", amount=0.4)
    opt_t = torch.optim.SGD(t.parameters(), lr=0.1)
    opt_m = mt.optim.SGD(m.parameters(), lr=0.1)
    x = _input("linear")
    for _ in range(3):  # training with the mask in place: pruned entries stay zero
        for mod, opt, xx in ((t, opt_t, x), (m, opt_m, to_mt(x))):
            opt.zero_grad()
            (mod(xx) ** 2).sum().backward()
            opt.step()
    _same(t, m, "linear", tol=1e-5)  # three SGD steps: rounding differs a little
    assert not np_of(m.weight)[np_of(m.weight_mask) == 0].any()
    assert np_of(m.weight_orig)[np_of(m.weight_mask) == 0].any()  # orig itself still moves
    assert "weight" not in dict(m.named_parameters())
    assert not isinstance(m.weight, mt.nn.Parameter) and m.weight.requires_grad


def test_remove_makes_it_permanent_and_keeps_the_parameter_object():
    t, m = _pair("conv")
    _both(t, m, "l1_unstructured", "weight", amount=0.5)
    _both(t, m, "ln_structured", "weight", amount=2, n=1, dim=0)
    orig_t, orig_m = t.weight_orig, m.weight_orig
    TP.remove(t, "weight")
    assert MP.remove(m, "weight") is m
    assert m.weight is orig_m and t.weight is orig_t
    assert isinstance(m.weight, mt.nn.Parameter) and m.weight.requires_grad
    assert not hasattr(m, "weight_orig") and not hasattr(m, "weight_mask")
    assert not MP.is_pruned(m) and not m._forward_pre_hooks
    _same(t, m)
    with pytest.raises(ValueError, match="has to be pruned before pruning can be removed"):
        MP.remove(m, "weight")


def test_is_pruned_sees_submodules():
    t, m = _nets()
    assert not MP.is_pruned(m)
    MP.identity(m[5], "bias")
    assert MP.is_pruned(m) and MP.is_pruned(m[5]) and not MP.is_pruned(m[0])
    MP.remove(m[5], "bias")
    assert not MP.is_pruned(m)


def test_state_dict_round_trips_into_a_freshly_pruned_module(tmp_path):
    t, m = _pair("conv")
    _both(t, m, "l1_unstructured", "weight", amount=0.6)
    _both(t, m, "l1_unstructured", "bias", amount=2)
    # torch's pruned state dict into a fresh mbtorch module pruned the same way (any amount)
    fresh_t, fresh_m = _pair("conv", seed=40)
    for mod, lib in ((fresh_t, TP), (fresh_m, MP)):
        lib.identity(mod, "weight")
        lib.l1_unstructured(mod, "bias", amount=1)
    fresh_m.load_state_dict({k: to_mt(v) for k, v in t.state_dict().items()})
    fresh_t.load_state_dict(t.state_dict())
    _same(fresh_t, fresh_m)  # the forward's pre-hook recomputes weight from the loaded pair
    # and mbtorch's own file format: save, load into another pruned module
    path = os.path.join(tmp_path, "pruned.pt")
    mt.save(m.state_dict(), path)
    again = mt.nn.Conv2d(3, 6, 3)
    MP.identity(again, "weight")
    MP.identity(again, "bias")
    again.load_state_dict(mt.load(path))
    x = to_mt(_input("conv"))
    close(again(x), m(x), 0, 0, "output after the round trip")
    # an unpruned module does not take a pruned state dict (strict keys)
    with pytest.raises(RuntimeError, match="weight_orig"):
        mt.nn.Conv2d(3, 6, 3).load_state_dict(mt.load(path))


def test_pruning_method_prune_and_container_api():
    t = randn(torch, 4, 5, seed=3)
    scores, default = randn(torch, 4, 5, seed=4), (randn(torch, 4, 5, seed=5) > -1).float()
    for method_t, method_m in ((TP.L1Unstructured(0.4), MP.L1Unstructured(0.4)),
                               (TP.LnStructured(2, n=1, dim=1), MP.LnStructured(2, n=1, dim=1))):
        close(method_m.prune(to_mt(t)), method_t.prune(t), 0, 0, "prune")
        close(method_m.prune(to_mt(t), importance_scores=to_mt(scores)),
              method_t.prune(t, importance_scores=scores), 0, 0, "prune with scores")
        close(method_m.prune(to_mt(t), default_mask=to_mt(default)),
              method_t.prune(t, default_mask=default), 0, 0, "prune with default mask")
    a, b = MP.L1Unstructured(0.2), MP.Identity()
    a._tensor_name = b._tensor_name = "weight"
    box = MP.PruningContainer(a, b)
    assert len(box) == 2 and list(box) == [a, b] and box[1] is b
    other = MP.Identity()
    other._tensor_name = "bias"
    with pytest.raises(ValueError, match="Can only add pruning methods acting on"):
        box.add_pruning_method(other)
    with pytest.raises(TypeError, match="is not a BasePruningMethod subclass"):
        box.add_pruning_method(object())


def test_double_precision_module():
    t, m = _pair("linear")
    t, m = t.double(), m.double()
    _both(t, m, "l1_unstructured", "weight", amount=0.5)
    _both(t, m, "ln_structured", "weight", amount=1, n=2, dim=0)
    _both(t, m, "custom_from_mask", "bias", mask=torch.tensor([1, 0, 1, 1, 0]).bool())
    assert m.weight_mask.dtype == mt.float64 == getattr(mt, str(t.weight_mask.dtype)[6:])
    _same(t, m, "linear", forward=False)
    check_module(t, m, _input("linear").double(), copy=False)


# ------------------------------------------------------------------ errors


def _linear(lib):
    return lib.nn.Linear(3, 2)


ERRORS = {
    "amount above 1": lambda lib, P: P.l1_unstructured(_linear(lib), "weight", amount=1.5),
    "negative fraction": lambda lib, P: P.random_unstructured(_linear(lib), "weight", -0.1),
    "negative int": lambda lib, P: P.ln_structured(_linear(lib), "weight", -1, n=2, dim=0),
    "int above size": lambda lib, P: P.l1_unstructured(_linear(lib), "weight", amount=7),
    "int above channels": lambda lib, P: P.ln_structured(_linear(lib), "weight", 3, 2, 0),
    "random int above channels": lambda lib, P: P.random_structured(_linear(lib), "weight",
                                                                    4, dim=1),
    "amount a string": lambda lib, P: P.l1_unstructured(_linear(lib), "weight", "0.3"),
    "amount None": lambda lib, P: P.random_unstructured(_linear(lib), "weight", None),
    "amount a list": lambda lib, P: P.ln_structured(_linear(lib), "weight", [1], 2, 0),
    "missing parameter": lambda lib, P: P.l1_unstructured(_linear(lib), "foo", 1),
    "absent bias": lambda lib, P: P.l1_unstructured(lib.nn.Linear(3, 2, bias=False),
                                                    "bias", 1),
    "buffer": lambda lib, P: P.l1_unstructured(lib.nn.BatchNorm1d(4), "running_mean", 2),
    "structured 1-d": lambda lib, P: P.ln_structured(_linear(lib), "bias", 1, n=2, dim=0),
    "dim too large": lambda lib, P: P.ln_structured(_linear(lib), "weight", 1, n=2, dim=2),
    "dim too small": lambda lib, P: P.random_structured(_linear(lib), "weight", 1, dim=-3),
    "remove unpruned": lambda lib, P: P.remove(_linear(lib), "weight"),
    "remove other name": lambda lib, P: P.remove(P.identity(_linear(lib), "bias"), "weight"),
    "global structured": lambda lib, P: P.global_unstructured(
        [(_linear(lib), "weight")], pruning_method=P.LnStructured, amount=1, n=2),
    "global not iterable": lambda lib, P: P.global_unstructured(
        5, pruning_method=P.L1Unstructured, amount=0.2),
    "global scores not dict": lambda lib, P: P.global_unstructured(
        [(_linear(lib), "weight")], P.L1Unstructured, importance_scores=[1], amount=0.2),
    "global empty": lambda lib, P: P.global_unstructured([], P.L1Unstructured, amount=0.2),
    "global amount": lambda lib, P: P.global_unstructured(
        [(_linear(lib), "weight"), (_linear(lib), "bias")], P.L1Unstructured, amount=9),
}


@pytest.mark.parametrize("case", list(ERRORS), ids=list(ERRORS))
def test_errors_have_torchs_exception_types(case):
    with pytest.raises(Exception) as te:
        ERRORS[case](torch, TP)
    with pytest.raises(Exception) as me:
        ERRORS[case](mt, MP)
    assert type(me.value).__name__ == type(te.value).__name__, (me.value, te.value)
    if case.startswith("amount a "):
        assert str(me.value).startswith("Invalid type for amount")
    elif "above" in case or "negative" in case:
        assert "amount=" in str(me.value)


@pytest.mark.parametrize("case", ["scores shape", "custom mask shape"])
def test_shape_mismatches_are_value_errors(case):
    """PyTorch checks these with ``assert`` (AssertionError, gone under ``python -O``);
    mbtorch raises ValueError naming the shapes, and leaves the module unpruned."""
    lin = mt.nn.Linear(3, 2)
    with pytest.raises(ValueError, match=r"\(3,\)"):
        if case == "scores shape":
            MP.l1_unstructured(lin, "weight", 1, importance_scores=mt.ones(3))
        else:
            MP.custom_from_mask(lin, "weight", mt.ones(3))
    assert not MP.is_pruned(lin) and list(lin.state_dict()) == ["weight", "bias"]


def test_a_failed_pruning_leaves_the_module_as_it_was():
    lin = mt.nn.Linear(3, 2)
    before = {k: np_of(v).copy() for k, v in lin.state_dict().items()}
    with pytest.raises(ValueError):
        MP.l1_unstructured(lin, "weight", amount=7)
    assert not MP.is_pruned(lin) and list(lin.state_dict()) == list(before)
    assert isinstance(lin.weight, mt.nn.Parameter)
    # a failed second pruning keeps the first one working (PyTorch drops its hook)
    MP.l1_unstructured(lin, "weight", amount=2)
    MP.l1_unstructured(lin, "weight", amount=1)
    mask = np_of(lin.weight_mask).copy()
    with pytest.raises(IndexError):
        MP.ln_structured(lin, "weight", amount=1, n=2, dim=3)
    hooks = list(lin._forward_pre_hooks.values())
    assert len(hooks) == 1 and len(hooks[0]) == 2
    np.testing.assert_array_equal(np_of(lin.weight_mask), mask)
    with mt.no_grad():
        lin.weight_orig.add_(1.0)
    lin(mt.ones(1, 3))
    assert not np_of(lin.weight)[mask == 0].any() and np_of(lin.weight)[mask == 1].all()
    MP.remove(lin, "weight")
    assert list(lin.state_dict()) == ["bias", "weight"]


def test_deepcopy_like_torch():
    """A pruned module holds a computed (non-leaf) ``weight``, which neither library deep-copies;
    after ``remove`` the module copies and the copy is independent."""
    import copy

    t, m = _pair("linear")
    _both(t, m, "l1_unstructured", "weight", amount=0.5)
    with pytest.raises(RuntimeError) as te:
        copy.deepcopy(t)
    with pytest.raises(type(te.value), match="graph leaves"):
        copy.deepcopy(m)
    MP.remove(m, "weight")
    c = copy.deepcopy(m)
    with mt.no_grad():
        c.weight.add_(1.0)
    assert int((np_of(m.weight) == 0).sum()) == 18 and not (np_of(c.weight) == 0).any()
