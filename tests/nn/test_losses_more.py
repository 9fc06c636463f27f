"""The margin, embedding, likelihood and CTC losses against PyTorch: every reduction, input
gradients, the legacy ``size_average``/``reduce`` arguments and the argument errors."""

from __future__ import annotations

import numpy as np
import pytest

import mbtorch as mt
from tests.nn._compare import check_module, close, randn, to_mt

torch = pytest.importorskip("torch")

REDUCTIONS = ["mean", "sum", "none"]


def _pair(name, *args, **kwargs):
    return getattr(torch.nn, name)(*args, **kwargs), getattr(mt.nn, name)(*args, **kwargs)


def _bound(t_loss, m_loss, *targets):
    """Both losses with their trailing (non-differentiable) target arguments fixed, so only
    the inputs are compared for gradients; the state dicts are the losses' own."""

    class T(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.loss = t_loss

        def forward(self, *x):
            return self.loss(*x, *targets)

    class M(mt.nn.Module):
        def __init__(self):
            super().__init__()
            self.loss = m_loss

        def forward(self, *x):
            return self.loss(*x, *(to_mt(v) for v in targets))

    return T(), M()


def _signs(*shape, seed=0):
    gen = np.random.default_rng(seed)
    return torch.from_numpy(gen.choice([-1.0, 1.0], size=shape)).float()


def _ints(high, *shape, seed=0):
    return torch.from_numpy(np.random.default_rng(seed).integers(0, high, size=shape))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_pairwise_inputs_losses(reduction):
    x1, x2 = randn(torch, 6), randn(torch, 6, seed=1)
    y = _signs(6)
    for name, kw in (("MarginRankingLoss", {"margin": 0.3}), ("MarginRankingLoss", {})):
        t, m = _pair(name, reduction=reduction, **kw)
        check_module(t, m, x1, x2, y)  # the target is differentiable here, as in PyTorch
    a, b = randn(torch, 5, 4), randn(torch, 5, 4, seed=1)
    for kw in ({}, {"margin": 0.2}):
        t, m = _pair("CosineEmbeddingLoss", reduction=reduction, **kw)
        check_module(*_bound(t, m, _signs(5)), a, b)
    t, m = _pair("CosineEmbeddingLoss", reduction=reduction)
    check_module(*_bound(t, m, torch.tensor(-1.0)), randn(torch, 4), randn(torch, 4, seed=2))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_sign_target_losses(reduction):
    x, y = randn(torch, 4, 5), _signs(4, 5)
    for name, kw in (("HingeEmbeddingLoss", {}), ("HingeEmbeddingLoss", {"margin": 0.5}),
                     ("SoftMarginLoss", {})):
        t, m = _pair(name, reduction=reduction, **kw)
        check_module(*_bound(t, m, y), x)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_multilabel_losses(reduction):
    x = randn(torch, 4, 5)
    probs = torch.from_numpy(np.random.default_rng(3).random((4, 5))).float()
    w = torch.rand(5)
    for kw in ({}, {"weight": w}):
        t = torch.nn.MultiLabelSoftMarginLoss(reduction=reduction, **kw)
        m = mt.nn.MultiLabelSoftMarginLoss(reduction=reduction,
                                           **{k: to_mt(v) for k, v in kw.items()})
        check_module(t, m, x, probs)
    target = torch.tensor([[3, 0, -1, 1, 2], [1, -1, 4, 4, 4], [0, 1, 2, 3, 4],
                           [-1, 2, 2, 2, 2]])
    t, m = _pair("MultiLabelMarginLoss", reduction=reduction)
    check_module(t, m, x, target)
    check_module(t, m, randn(torch, 5, seed=4), torch.tensor([4, 1, -1, 0, 0]))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("p", [1, 2])
def test_multi_margin(reduction, p):
    x, y = randn(torch, 6, 4), _ints(4, 6)
    t, m = _pair("MultiMarginLoss", p=p, margin=0.7, reduction=reduction)
    check_module(t, m, x, y)
    w = torch.rand(4)
    t = torch.nn.MultiMarginLoss(p=p, weight=w, reduction=reduction)
    m = mt.nn.MultiMarginLoss(p=p, weight=to_mt(w), reduction=reduction)
    check_module(t, m, x, y)
    check_module(t, m, randn(torch, 4, seed=2), torch.tensor(2))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_triplet_losses(reduction):
    a, p, n = randn(torch, 5, 4), randn(torch, 5, 4, seed=1), randn(torch, 5, 4, seed=2)
    for kw in ({}, {"margin": 0.5, "p": 1.0, "swap": True}, {"p": 3.0, "eps": 1e-3}):
        t, m = _pair("TripletMarginLoss", reduction=reduction, **kw)
        check_module(t, m, a, p, n)
    t, m = _pair("TripletMarginWithDistanceLoss", reduction=reduction, swap=True)
    check_module(t, m, a, p, n)
    t = torch.nn.TripletMarginWithDistanceLoss(
        distance_function=lambda x, y: 1 - torch.nn.functional.cosine_similarity(x, y),
        margin=0.4, reduction=reduction)
    m = mt.nn.TripletMarginWithDistanceLoss(
        distance_function=lambda x, y: 1 - mt.nn.functional.cosine_similarity(x, y),
        margin=0.4, reduction=reduction)
    check_module(t, m, a, p, n)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_poisson_and_gaussian_nll(reduction):
    target = torch.from_numpy(np.random.default_rng(1).poisson(2.0, (4, 5))).float()
    for kw in ({}, {"full": True}):
        t, m = _pair("PoissonNLLLoss", reduction=reduction, **kw)
        check_module(t, m, randn(torch, 4, 5), target)
    t, m = _pair("PoissonNLLLoss", log_input=False, reduction=reduction)
    check_module(t, m, randn(torch, 4, 5).abs() + 0.1, target)
    x, y = randn(torch, 4, 3), randn(torch, 4, 3, seed=1)
    for var in (randn(torch, 4, 3, seed=2).abs() + 0.05, randn(torch, 4, seed=2).abs(),
                randn(torch, 4, 1, seed=3).abs() * 1e-7):  # the last is clamped to eps
        for kw in ({}, {"full": True, "eps": 1e-4}):
            t, m = _pair("GaussianNLLLoss", reduction=reduction, **kw)
            check_module(t, m, x, y, var)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_linear_cross_entropy(reduction):
    t = torch.nn.LinearCrossEntropyLoss(6, 5, bias=True, reduction=reduction,
                                        label_smoothing=0.1)
    m = mt.nn.LinearCrossEntropyLoss(6, 5, bias=True, reduction=reduction, label_smoothing=0.1)
    assert list(m.state_dict()) == list(t.state_dict()) == ["linear.weight", "linear.bias"]
    target = _ints(5, 4)
    target[1] = 2
    check_module(t, m, randn(torch, 4, 6), target)
    t = torch.nn.LinearCrossEntropyLoss(6, 3, out_features=(2,), reduction=reduction,
                                        ignore_index=1)
    m = mt.nn.LinearCrossEntropyLoss(6, 3, out_features=(2,), reduction=reduction,
                                     ignore_index=1)
    check_module(t, m, randn(torch, 4, 6), _ints(3, 4, 2))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("zero_infinity", [False, True])
def test_ctc_loss(reduction, zero_infinity):
    # gradients are compared through log_softmax: PyTorch's CTC backward assumes normalised
    # log-probabilities (its gradient differs from the true one by a term softmax cancels)
    tm = torch.nn.Sequential(torch.nn.LogSoftmax(2))
    mm = mt.nn.Sequential(mt.nn.LogSoftmax(2))
    t_ctc = torch.nn.CTCLoss(blank=0, reduction=reduction, zero_infinity=zero_infinity)
    m_ctc = mt.nn.CTCLoss(blank=0, reduction=reduction, zero_infinity=zero_infinity)
    targets = torch.from_numpy(np.random.default_rng(2).integers(1, 6, (3, 4)))
    targets[1, 1] = targets[1, 0]  # a repeat needs a blank between the two labels
    in_len, tg_len = torch.tensor([12, 9, 6]), torch.tensor([4, 3, 4])
    if zero_infinity:
        in_len = torch.tensor([12, 9, 3])  # the third cannot align: its loss is zeroed

    class T(torch.nn.Module):
        def forward(self, x):
            return t_ctc(tm(x), targets, in_len, tg_len)

    class M(mt.nn.Module):
        def forward(self, x):
            return m_ctc(mm(x), to_mt(targets), to_mt(in_len), to_mt(tg_len))

    check_module(T(), M(), randn(torch, 12, 3, 6, dtype=torch.float64), copy=False)


def test_ctc_concatenated_targets_and_unbatched():
    lp = randn(torch, 8, 2, 5, dtype=torch.float64).log_softmax(2)
    flat = torch.tensor([1, 2, 2, 3, 4])
    lens = torch.tensor([3, 2])
    got = mt.nn.functional.ctc_loss(to_mt(lp), to_mt(flat), [8, 7], lens.tolist(),
                                    reduction="none")
    close(got, torch.nn.functional.ctc_loss(lp, flat, torch.tensor([8, 7]), lens,
                                            reduction="none"), 1e-10, 1e-10)
    single = lp[:, 0]
    got = mt.nn.functional.ctc_loss(to_mt(single), to_mt(flat[:3]), 8, 3)
    close(got, torch.nn.functional.ctc_loss(single, flat[:3], torch.tensor(8), torch.tensor(3)),
          1e-10, 1e-10)
    inf = mt.nn.functional.ctc_loss(to_mt(lp), to_mt(flat), [2, 7], [3, 2], reduction="none")
    assert np.isinf(inf.numpy()[0]) and np.isfinite(inf.numpy()[1])


def test_legacy_reduction_arguments():
    x, y = randn(torch, 4, 3), randn(torch, 4, 3, seed=1)
    for args in ((False, None), (None, False), (True, True), (False, True)):
        t = torch.nn.MSELoss(*args)
        m = mt.nn.MSELoss(*args)
        assert m.reduction == t.reduction
        check_module(t, m, x, y)
    t, m = torch.nn.SoftMarginLoss(None, False), mt.nn.SoftMarginLoss(None, False)
    assert m.reduction == "none"
    check_module(*_bound(t, m, _signs(4, 3)), x)
    got = mt.nn.functional.hinge_embedding_loss(to_mt(x), to_mt(_signs(4, 3)),
                                                size_average=False)
    close(got, torch.nn.functional.hinge_embedding_loss(x, _signs(4, 3), size_average=False),
          1e-6, 1e-6)


def test_errors():
    F = mt.nn.functional
    x = mt.randn(4, 3)
    with pytest.raises(ValueError, match="var is of incorrect size"):
        F.gaussian_nll_loss(x, x, mt.ones(2, 3))
    with pytest.raises(ValueError, match="var has negative entry"):
        F.gaussian_nll_loss(x, x, -mt.ones(4, 3))
    with pytest.raises(RuntimeError, match="margin_ranking_loss : All input tensors should"):
        F.margin_ranking_loss(mt.randn(3), mt.randn(3), mt.ones(3, 1))
    with pytest.raises(RuntimeError, match="1D target tensor expects 2D input tensors"):
        F.cosine_embedding_loss(mt.randn(3), mt.randn(3), mt.ones(3))
    with pytest.raises(ValueError, match="only p == 1 and p == 2 supported"):
        mt.nn.MultiMarginLoss(p=3)
    with pytest.raises(RuntimeError, match="multi_margin_loss.*target out of range"):
        F.multi_margin_loss(x, mt.tensor([0, 1, 2, 3]))
    with pytest.raises(RuntimeError, match="multilabel_margin_loss.*inconsistent target size"):
        F.multilabel_margin_loss(x, mt.tensor([0, 1, -1]))
    with pytest.raises(RuntimeError, match="same number of dimensions"):
        F.triplet_margin_loss(x, x, mt.randn(3))
    with pytest.raises(ValueError, match="expected margin to be greater than 0"):
        mt.nn.TripletMarginWithDistanceLoss(margin=0.0)
    with pytest.raises(RuntimeError, match="blank must be in label range"):
        F.ctc_loss(mt.randn(5, 2, 3), mt.ones(2, 2, dtype=mt.int64), [5, 5], [2, 2], blank=3)
    with pytest.raises(RuntimeError, match="expected weight shape to be"):
        mt.nn.LinearCrossEntropyLoss(4, 3, weight=mt.ones(4))
    with pytest.raises(NotImplementedError, match="options"):
        F.linear_cross_entropy(x, mt.randn(2, 3), mt.tensor([0, 1, 0, 1]), options=object())
    with pytest.raises(ValueError, match="avg is not a valid value for reduction"):
        mt.nn.HingeEmbeddingLoss(reduction="avg")


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_core_losses_take_torch_positional_and_legacy_arguments():
    F, TF = mt.nn.functional, torch.nn.functional
    x, y = randn(torch, 4, 3), randn(torch, 4, 3, seed=1)
    p = torch.sigmoid(x)
    t01 = (y > 0).float()
    logits, cls = randn(torch, 4, 5), _ints(5, 4)
    cases = [
        ("mse_loss", (x, y, None, None, "sum"), {}),
        ("l1_loss", (x, y), {"size_average": False}),
        ("smooth_l1_loss", (x, y, None, False), {"beta": 0.5}),
        ("binary_cross_entropy", (p, t01, None, None, False), {}),
        ("binary_cross_entropy_with_logits", (x, t01), {"reduce": False}),
        ("kl_div", (torch.log_softmax(x, 1), torch.softmax(y, 1), False), {}),
        ("nll_loss", (torch.log_softmax(logits, 1), cls, None, None, 2, None, "sum"), {}),
        ("cross_entropy", (logits, cls, None, False, 1), {}),
    ]
    for name, args, kw in cases:
        want = getattr(TF, name)(*args, **kw)
        margs = tuple(to_mt(a) if isinstance(a, torch.Tensor) else a for a in args)
        close(getattr(F, name)(*margs, **kw), want, 1e-5, 1e-6, name)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_elementwise_weighted_regression_losses(reduction):
    x, y = randn(torch, 4, 3), randn(torch, 4, 3, seed=1)
    w = torch.rand(4, 3)
    for name in ("mse_loss", "l1_loss", "huber_loss"):
        want = getattr(torch.nn.functional, name)(x, y, reduction=reduction, weight=w)
        got = getattr(mt.nn.functional, name)(to_mt(x), to_mt(y), reduction=reduction,
                                              weight=to_mt(w))
        close(got, want, 1e-5, 1e-6, name)
    with pytest.raises(ValueError, match="Weights and input must have the same size"):
        mt.nn.functional.mse_loss(to_mt(x), to_mt(y), weight=mt.ones(3))
