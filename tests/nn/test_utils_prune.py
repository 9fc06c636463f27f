"""``nn.utils.prune`` against PyTorch: masks, state-dict keys, forward values and gradients,
iterative pruning (masks combined), global pruning, removal; the random methods by counts."""

from __future__ import annotations

import numpy as np
import pytest

import mbtorch as mt
from tests.nn._compare import check_module, close, randn, to_mt

torch = pytest.importorskip("torch")
pytest.importorskip("torch.nn.utils.prune")
TP, MP = torch.nn.utils.prune, mt.nn.utils.prune


def _pair():
    t, m = torch.nn.Conv2d(3, 6, 3), mt.nn.Conv2d(3, 6, 3)
    m.load_state_dict({k: to_mt(v) for k, v in t.state_dict().items()})
    return t, m


def _same(t, m):
    assert list(m.state_dict()) == list(t.state_dict())
    for key, value in t.state_dict().items():
        close(m.state_dict()[key], value, 1e-6, 1e-6, key)
    check_module(t, m, randn(torch, 2, 3, 6, 6), copy=False, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("steps", [
    [("l1_unstructured", dict(name="weight", amount=0.3))],
    [("l1_unstructured", dict(name="bias", amount=2))],
    [("ln_structured", dict(name="weight", amount=0.5, n=2, dim=0))],
    [("ln_structured", dict(name="weight", amount=1, n=1, dim=1))],
    [("l1_unstructured", dict(name="weight", amount=0.2)),
     ("ln_structured", dict(name="weight", amount=0.34, n=float("inf"), dim=0)),
     ("l1_unstructured", dict(name="weight", amount=5))],
    [("identity", dict(name="weight"))],
], ids=lambda s: "+".join(f"{n}" for n, _ in s))
def test_pruning_matches_torch(steps):
    t, m = _pair()
    for fn, kw in steps:
        getattr(TP, fn)(t, **kw)
        getattr(MP, fn)(m, **kw)
    assert MP.is_pruned(m)
    _same(t, m)
    names = {kw["name"] for _, kw in steps}
    for name in names:
        TP.remove(t, name)
        MP.remove(m, name)
    assert not MP.is_pruned(m)
    _same(t, m)


def test_custom_mask_and_importance_scores():
    t, m = _pair()
    mask = (torch.arange(6) % 2).float()
    TP.custom_from_mask(t, "bias", mask)
    MP.custom_from_mask(m, "bias", to_mt(mask))
    scores = randn(torch, 6, 3, 3, 3, seed=3).abs()
    TP.l1_unstructured(t, "weight", 0.4, importance_scores=scores)
    MP.l1_unstructured(m, "weight", 0.4, importance_scores=to_mt(scores))
    _same(t, m)


def test_global_unstructured():
    nets = []
    for lib in (torch, mt):
        net = lib.nn.Sequential(lib.nn.Linear(4, 5), lib.nn.ReLU(), lib.nn.Linear(5, 3))
        nets.append(net)
    nets[1].load_state_dict({k: to_mt(v) for k, v in nets[0].state_dict().items()})
    TP.global_unstructured([(nets[0][0], "weight"), (nets[0][2], "weight")],
                           pruning_method=TP.L1Unstructured, amount=0.4)
    MP.global_unstructured([(nets[1][0], "weight"), (nets[1][2], "weight")],
                           pruning_method=MP.L1Unstructured, amount=0.4)
    assert list(nets[1].state_dict()) == list(nets[0].state_dict())
    for key, value in nets[0].state_dict().items():
        close(nets[1].state_dict()[key], value, 0, 0, key)
    check_module(nets[0], nets[1], randn(torch, 3, 4), copy=False)
    with pytest.raises(TypeError, match='Only "unstructured" PRUNING_TYPE'):
        MP.global_unstructured([(nets[1][0], "bias")], pruning_method=MP.LnStructured,
                               amount=1, n=2)


def test_random_methods_prune_the_right_amount():
    m = mt.nn.Linear(10, 8)
    MP.random_unstructured(m, "weight", amount=0.25)
    assert int((m.weight_mask.numpy() == 0).sum()) == 20
    MP.random_structured(m, "weight", amount=3, dim=0)
    rows = m.weight_mask.numpy().sum(1)
    assert int((rows == 0).sum()) >= 3
    assert np.all(m.weight.detach().numpy()[rows == 0] == 0)
    out = m(mt.randn(2, 10))
    out.sum().backward()
    assert np.all(m.weight_orig.grad.numpy()[m.weight_mask.numpy() == 0] == 0)


def test_errors():
    m = mt.nn.Linear(3, 2)
    with pytest.raises(ValueError, match="should either be a float in the range"):
        MP.l1_unstructured(m, "weight", amount=1.5)
    with pytest.raises(ValueError, match="should be smaller than the number of parameters"):
        MP.l1_unstructured(m, "weight", amount=7)
    with pytest.raises(ValueError, match="Structured pruning can only be applied"):
        MP.ln_structured(mt.nn.Linear(3, 2), "bias", amount=1, n=2, dim=0)
    with pytest.raises(ValueError, match="has to be pruned before pruning can be removed"):
        MP.remove(mt.nn.Linear(3, 2), "weight")
