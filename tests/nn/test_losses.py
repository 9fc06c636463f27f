"""Every loss and every reduction against PyTorch: values and input gradients; bad inputs
raise."""

from __future__ import annotations

import numpy as np
import pytest

import mbtorch as mt
import mbtorch.nn.functional as F
from tests.nn._compare import close, randn, to_mt

REDUCTIONS = ["none", "mean", "sum"]


def compare_loss(torch, name, x, target, reduction, ctor=None, rtol=1e-5, atol=1e-6,
                 target_grad=True):
    """``nn.<name>(reduction=..., **ctor)`` in both libraries on the same input and target:
    loss values, and the gradients of the input (and of a floating target)."""
    ctor = dict(ctor or {})
    t_ctor = {k: v for k, v in ctor.items()}
    m_ctor = {k: (to_mt(v) if isinstance(v, torch.Tensor) else v) for k, v in ctor.items()}
    t_loss_fn = getattr(torch.nn, name)(reduction=reduction, **t_ctor)
    m_loss_fn = getattr(mt.nn, name)(reduction=reduction, **m_ctor)
    tx = x.detach().clone().requires_grad_()
    tt = target.detach().clone().requires_grad_(target_grad and target.is_floating_point())
    mx, mtgt = to_mt(tx), to_mt(tt)
    t_out, m_out = t_loss_fn(tx, tt), m_loss_fn(mx, mtgt)
    close(m_out, t_out, rtol, atol, f"{name} {reduction} value")
    w = np.random.default_rng(1).standard_normal(tuple(t_out.shape))
    (t_out * torch.from_numpy(w).to(t_out.dtype)).sum().backward()
    (m_out * mt.tensor(w).to(m_out.dtype)).sum().backward()
    close(mx.grad, tx.grad, rtol, atol, f"{name} {reduction} input grad")
    if tt.requires_grad:
        close(mtgt.grad, tt.grad, rtol, atol, f"{name} {reduction} target grad")


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name,ctor", [("MSELoss", {}), ("L1Loss", {}), ("SmoothL1Loss", {}),
                                       ("SmoothL1Loss", {"beta": 0.5}),
                                       ("SmoothL1Loss", {"beta": 0.0}), ("HuberLoss", {}),
                                       ("HuberLoss", {"delta": 0.3}),
                                       ("HuberLoss", {"delta": 2.5})], ids=str)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_regression_losses(name, ctor, reduction, dtype):
    torch = pytest.importorskip("torch")
    dt = getattr(torch, dtype)
    x, y = randn(torch, 4, 5, dtype=dt) * 2, randn(torch, 4, 5, dtype=dt, seed=1)
    compare_loss(torch, name, x, y, reduction, ctor)


def _logits_targets(torch, shape=(6, 5), seed=0):
    x = randn(torch, *shape, seed=seed) * 2
    c = shape[1]
    gen = np.random.default_rng(seed + 10)
    tshape = (shape[0],) + tuple(shape[2:])
    y = torch.from_numpy(gen.integers(0, c, tshape))
    return x, y


CE_CASES = [
    {}, {"weight": "w"}, {"ignore_index": 2}, {"label_smoothing": 0.2},
    {"weight": "w", "ignore_index": 1, "label_smoothing": 0.1},
    {"weight": "w", "label_smoothing": 0.3},
]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", CE_CASES, ids=str)
@pytest.mark.parametrize("shape", [(6, 5), (3, 5, 4), (2, 5, 3, 2)], ids=str)
def test_cross_entropy_class_indices(case, reduction, shape):
    torch = pytest.importorskip("torch")
    x, y = _logits_targets(torch, shape)
    if "ignore_index" in case:
        y.view(-1)[::3] = case["ignore_index"]
    ctor = {k: (torch.tensor([0.5, 2.0, 1.0, 0.1, 3.0]) if v == "w" else v)
            for k, v in case.items()}
    compare_loss(torch, "CrossEntropyLoss", x, y, reduction, ctor)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", [{}, {"label_smoothing": 0.25}, {"weight": "w"},
                                  {"weight": "w", "label_smoothing": 0.1}], ids=str)
@pytest.mark.parametrize("shape", [(6, 5), (2, 5, 3)], ids=str)
def test_cross_entropy_probability_targets(case, reduction, shape):
    torch = pytest.importorskip("torch")
    x = randn(torch, *shape)
    probs = torch.softmax(randn(torch, *shape, seed=4), 1)
    ctor = {k: (torch.tensor([0.5, 2.0, 1.0, 0.1, 3.0]) if v == "w" else v)
            for k, v in case.items()}
    compare_loss(torch, "CrossEntropyLoss", x, probs, reduction, ctor)


def test_cross_entropy_unbatched_and_functional():
    torch = pytest.importorskip("torch")
    x = randn(torch, 5)
    close(F.cross_entropy(to_mt(x), mt.tensor(3)),
          torch.nn.functional.cross_entropy(x, torch.tensor(3)), 1e-6, 1e-6)
    x, y = _logits_targets(torch)
    close(F.cross_entropy(to_mt(x), to_mt(y), label_smoothing=0.1, reduction="sum"),
          torch.nn.functional.cross_entropy(x, y, label_smoothing=0.1, reduction="sum"),
          1e-5, 1e-6)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", [{}, {"weight": "w"}, {"ignore_index": 0},
                                  {"weight": "w", "ignore_index": 4}], ids=str)
@pytest.mark.parametrize("shape", [(6, 5), (3, 5, 2, 2)], ids=str)
def test_nll_loss(case, reduction, shape):
    torch = pytest.importorskip("torch")
    x, y = _logits_targets(torch, shape)
    x = torch.log_softmax(x, 1)
    if "ignore_index" in case:
        y.view(-1)[1::2] = case["ignore_index"]
    ctor = {k: (torch.tensor([0.5, 2.0, 1.0, 0.1, 3.0]) if v == "w" else v)
            for k, v in case.items()}
    compare_loss(torch, "NLLLoss", x, y, reduction, ctor)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_bce(reduction, weighted):
    torch = pytest.importorskip("torch")
    p = torch.sigmoid(randn(torch, 4, 3) * 2)
    y = torch.sigmoid(randn(torch, 4, 3, seed=2) * 3)  # soft targets get a gradient too
    ctor = {"weight": torch.tensor([0.2, 1.0, 3.0])} if weighted else {}
    compare_loss(torch, "BCELoss", p, y, reduction, ctor)


def test_bce_clamps_log_at_minus_100():
    torch = pytest.importorskip("torch")
    p, y = torch.tensor([0.0, 1.0, 0.5]), torch.tensor([1.0, 0.0, 1.0])
    close(F.binary_cross_entropy(to_mt(p), to_mt(y), reduction="none"),
          torch.nn.functional.binary_cross_entropy(p, y, reduction="none"), 1e-6, 1e-6)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", [{}, {"weight": "w"}, {"pos_weight": "pw"},
                                  {"weight": "w", "pos_weight": "pw"}], ids=str)
def test_bce_with_logits(case, reduction):
    torch = pytest.importorskip("torch")
    x = randn(torch, 4, 3) * 5
    x[0, 0] = 40.0  # far in the tails the stable form must not overflow
    x[1, 1] = -40.0
    y = torch.sigmoid(randn(torch, 4, 3, seed=2) * 3)
    vals = {"w": torch.tensor([0.2, 1.0, 3.0]), "pw": torch.tensor([2.0, 0.5, 1.0])}
    compare_loss(torch, "BCEWithLogitsLoss", x, y, reduction,
                 {k: vals[v] for k, v in case.items()})


@pytest.mark.parametrize("reduction", REDUCTIONS + ["batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(reduction, log_target):
    torch = pytest.importorskip("torch")
    x = torch.log_softmax(randn(torch, 4, 5), 1)
    make = torch.log_softmax if log_target else torch.softmax
    target = make(randn(torch, 4, 5, seed=3), 1)
    compare_loss(torch, "KLDivLoss", x, target, reduction, {"log_target": log_target})
    if not log_target:
        # 0 * log 0 counts as 0 (torch's target gradient there is NaN: not compared)
        target[0, 1] = 0.0
        compare_loss(torch, "KLDivLoss", x, target, reduction, {"log_target": False},
                     target_grad=False)


def test_bad_inputs_raise():
    x = mt.randn(4, 3)
    with pytest.raises(ValueError, match="target size"):
        F.mse_loss(x, mt.randn(4, 2))
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        mt.nn.MSELoss(reduction="avg")
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        F.l1_loss(x, x, reduction="avg")
    with pytest.raises(IndexError, match="out of bounds"):
        F.cross_entropy(x, mt.tensor([0, 1, 3, 2]))
    with pytest.raises(ValueError, match="batch_size"):
        F.nll_loss(x, mt.tensor([0, 1]))
    with pytest.raises(RuntimeError, match="Long"):
        F.nll_loss(x, mt.tensor([0.0, 1.0, 2.0, 1.0]))
    with pytest.raises(ValueError, match="label_smoothing"):
        F.cross_entropy(x, mt.tensor([0, 1, 2, 1]), label_smoothing=1.5)
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        F.binary_cross_entropy(x, mt.rand(4, 3))
    with pytest.raises(ValueError, match="target size"):
        F.binary_cross_entropy_with_logits(x, mt.rand(3))
    with pytest.raises(RuntimeError, match="non-negative"):
        F.smooth_l1_loss(x, x, beta=-1.0)


def test_loss_modules_register_weights_as_buffers():
    w = mt.tensor([1.0, 2.0])
    ce = mt.nn.CrossEntropyLoss(weight=w)
    assert list(ce.state_dict()) == ["weight"]
    bce = mt.nn.BCEWithLogitsLoss(pos_weight=w)
    assert list(bce.state_dict()) == ["pos_weight"]
    assert repr(mt.nn.MSELoss()) == "MSELoss()"
