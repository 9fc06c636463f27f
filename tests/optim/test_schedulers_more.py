"""Every scheduler of ``torch.optim.lr_scheduler`` (PyTorch 2.13) against PyTorch's: the lr
(and cycled momentum) sequence over 100 epochs with two parameter groups, chained and
sequential compositions, the deprecated ``step(epoch)`` closed forms, state dicts, resuming
with ``last_epoch``, argument checks and the call-order warning."""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest

import mbtorch as mt
from mbtorch.optim import lr_scheduler as sched
from tests.optim.test_lr_scheduler import _opt

torch = pytest.importorskip("torch")

EPOCHS = 100


class Halving:
    """A callable object: its ``__dict__`` travels in the scheduler's state dict."""

    def __init__(self) -> None:
        self.rate = 0.5

    def __call__(self, epoch: int) -> float:
        return self.rate ** (epoch // 10)


def _trace(lib, make, opt_name="SGD", keys=("lr",), steps=EPOCHS):
    opt = _opt(lib, opt_name)
    s = make(lib.optim.lr_scheduler, opt)
    out = [[tuple(g[k] for k in keys) for g in opt.param_groups]]
    for _ in range(steps):
        opt.step()
        s.step()
        out.append([tuple(g[k] for k in keys) for g in opt.param_groups])
        assert s.get_last_lr() == [g["lr"] for g in opt.param_groups]
    return np.array(out, dtype=np.float64)


SCHEDULERS = {
    "constant": lambda S, o: S.ConstantLR(o),
    "constant_half": lambda S, o: S.ConstantLR(o, factor=0.5, total_iters=12),
    "polynomial": lambda S, o: S.PolynomialLR(o, total_iters=40),
    "polynomial_sq": lambda S, o: S.PolynomialLR(o, total_iters=60, power=2.0),
    "multiplicative": lambda S, o: S.MultiplicativeLR(o, lambda e: 0.97),
    "multiplicative_list": lambda S, o: S.MultiplicativeLR(o, [lambda e: 0.95,
                                                              lambda e: 1.0 + 0.01 * (e % 3)]),
    "lambda_object": lambda S, o: S.LambdaLR(o, Halving()),
    "cosine_past_tmax": lambda S, o: S.CosineAnnealingLR(o, T_max=15, eta_min=1e-3),
    "warm_restarts": lambda S, o: S.CosineAnnealingWarmRestarts(o, T_0=10),
    "warm_restarts_mult": lambda S, o: S.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2,
                                                                     eta_min=1e-4),
    "cyclic": lambda S, o: S.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=7),
    "cyclic2": lambda S, o: S.CyclicLR(o, base_lr=[0.01, 0.001], max_lr=[0.1, 0.05],
                                       step_size_up=5, step_size_down=9, mode="triangular2"),
    "cyclic_exp": lambda S, o: S.CyclicLR(o, 0.01, 0.1, step_size_up=6, mode="exp_range",
                                          gamma=0.98, cycle_momentum=False),
    "cyclic_custom": lambda S, o: S.CyclicLR(o, 0.01, 0.1, step_size_up=4,
                                             scale_fn=lambda x: 1 / (1 + 0.1 * x),
                                             scale_mode="iterations"),
    "chained": lambda S, o: S.ChainedScheduler([S.ConstantLR(o, factor=0.1, total_iters=4),
                                                S.ExponentialLR(o, gamma=0.95)]),
    "chained3": lambda S, o: S.ChainedScheduler([S.LinearLR(o, 0.2, total_iters=10),
                                                 S.StepLR(o, 7, 0.5),
                                                 S.MultiStepLR(o, [30, 30, 60], 0.8)],
                                                optimizer=o),
    "sequential_constant": lambda S, o: S.SequentialLR(
        o, [S.ConstantLR(o, 0.1, total_iters=20), S.PolynomialLR(o, 50, 1.5)], [10]),
    "sequential_cyclic_start": lambda S, o: S.SequentialLR(
        o, [S.LinearLR(o, 0.5, total_iters=4), S.CosineAnnealingWarmRestarts(o, T_0=6)], [8]),
    "multistep_repeated": lambda S, o: S.MultiStepLR(o, [5, 5, 20, 40], gamma=0.5),
}


@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_lr_sequence_matches_torch(name):
    expected = _trace(torch, SCHEDULERS[name])
    got = _trace(mt, SCHEDULERS[name])
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("opt_name,keys", [("SGD", ("lr", "momentum")),
                                           ("Adam", ("lr", "betas"))])
@pytest.mark.parametrize("name", ["cyclic", "cyclic2", "cyclic_custom"])
def test_cyclic_momentum_matches_torch(name, opt_name, keys):
    def flat(lib):
        arr = _trace(lib, SCHEDULERS[name], opt_name, keys=("lr",), steps=0)  # the start
        opt = _opt(lib, opt_name)
        s = SCHEDULERS[name](lib.optim.lr_scheduler, opt)
        rows = []
        for _ in range(40):
            rows.append([(g["lr"], *np.ravel(g[keys[1]])) for g in opt.param_groups])
            opt.step()
            s.step()
        return arr, np.array(rows, dtype=np.float64)

    (t_start, t_rows), (m_start, m_rows) = flat(torch), flat(mt)
    np.testing.assert_allclose(m_rows, t_rows, rtol=1e-12)
    np.testing.assert_allclose(m_start, t_start, rtol=1e-12)


CLOSED = {
    "step": lambda S, o: S.StepLR(o, 3, 0.5),
    "multistep": lambda S, o: S.MultiStepLR(o, [2, 5, 5], 0.5),
    "constant": lambda S, o: S.ConstantLR(o, 0.25, total_iters=4),
    "linear": lambda S, o: S.LinearLR(o, 0.2, 0.9, total_iters=6),
    "exponential": lambda S, o: S.ExponentialLR(o, 0.9),
    "polynomial": lambda S, o: S.PolynomialLR(o, 8, 2.0),
    "cosine": lambda S, o: S.CosineAnnealingLR(o, 7, 0.01),
    "warm_restarts": lambda S, o: S.CosineAnnealingWarmRestarts(o, 3, 2),
    "lambda": lambda S, o: S.LambdaLR(o, lambda e: 1 / (1 + e)),
}


@pytest.mark.parametrize("name", list(CLOSED))
def test_step_with_epoch_uses_the_closed_form_like_torch(name):
    epochs = [1, 2, 5, 3, 9, 0, 12, 4.5] if name == "warm_restarts" else [1, 2, 5, 3, 9, 0, 12]

    def run(lib):
        opt = _opt(lib)
        s = CLOSED[name](lib.optim.lr_scheduler, opt)
        out = []
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for e in epochs:
                opt.step()
                s.step(e)
                out.append([g["lr"] for g in opt.param_groups])
        if name != "warm_restarts":
            assert any("epoch parameter" in str(w.message) for w in caught)
        return np.array(out)

    np.testing.assert_allclose(run(mt), run(torch), rtol=1e-12)


@pytest.mark.parametrize("name", ["constant", "cyclic2", "warm_restarts_mult", "chained3",
                                  "sequential_constant", "lambda_object", "multiplicative"])
def test_state_dict_layout_and_resume_match_torch(name):
    def run(lib):
        opt = _opt(lib)
        s = SCHEDULERS[name](lib.optim.lr_scheduler, opt)
        for _ in range(13):
            opt.step()
            s.step()
        sd = s.state_dict()
        keys = sorted(sd)  # before loading: PyTorch's load_state_dict pops entries from it
        opt_sd = opt.state_dict()
        opt2 = _opt(lib)
        s2 = SCHEDULERS[name](lib.optim.lr_scheduler, opt2)
        s2.load_state_dict(sd)
        opt2.load_state_dict(opt_sd)
        lrs = []
        for _ in range(20):
            opt2.step()
            s2.step()
            lrs.append(s2.get_last_lr())
        return keys, np.array(lrs)

    (t_keys, t_lrs), (m_keys, m_lrs) = run(torch), run(mt)
    assert m_keys == t_keys
    np.testing.assert_allclose(m_lrs, t_lrs, rtol=1e-12)


def test_lambda_state_dict_carries_callable_objects():
    opt = _opt(mt)
    s = sched.LambdaLR(opt, [Halving(), lambda e: 1.0])
    s.lr_lambdas[0].rate = 0.25
    sd = s.state_dict()
    assert sd["lr_lambdas"] == [{"rate": 0.25}, None]
    s2 = sched.LambdaLR(_opt(mt), [Halving(), lambda e: 1.0])
    s2.load_state_dict(sd)
    assert s2.lr_lambdas[0].rate == 0.25


def test_resuming_with_last_epoch_matches_torch():
    def run(lib):
        opt = _opt(lib)
        for g in opt.param_groups:
            g["initial_lr"] = g["lr"] * 2
        s = lib.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10, last_epoch=4)
        out = [[g["lr"] for g in opt.param_groups]]
        for _ in range(8):
            opt.step()
            s.step()
            out.append(s.get_last_lr())
        return np.array(out), s.last_epoch

    (t_out, t_last), (m_out, m_last) = run(torch), run(mt)
    np.testing.assert_allclose(m_out, t_out, rtol=1e-12)
    assert m_last == t_last == 13
    with pytest.raises(KeyError, match="initial_lr"):
        sched.StepLR(_opt(mt), 3, last_epoch=5)


def test_warns_when_stepped_before_the_optimizer():
    for lib in (torch, mt):
        opt = _opt(lib)
        s = lib.optim.lr_scheduler.StepLR(opt, 2)
        with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
            s.step()


BAD = [
    lambda S, o: S.ConstantLR(o, factor=1.5),
    lambda S, o: S.LinearLR(o, start_factor=0),
    lambda S, o: S.LinearLR(o, end_factor=1.5),
    lambda S, o: S.CosineAnnealingWarmRestarts(o, T_0=0),
    lambda S, o: S.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=0),
    lambda S, o: S.CosineAnnealingWarmRestarts(o, T_0=2, eta_min="x"),
    lambda S, o: S.CyclicLR(o, 0.1, 1.0, mode="zigzag"),
    lambda S, o: S.CyclicLR(o, [0.1], 1.0),
    lambda S, o: S.CyclicLR("not an optimizer", 0.1, 1.0),
    lambda S, o: S.MultiplicativeLR(o, 0.9),
    lambda S, o: S.LambdaLR(o, [lambda e: 1.0]),
    lambda S, o: S.ChainedScheduler([]),
    lambda S, o: S.ChainedScheduler([S.StepLR(o, 2), S.ReduceLROnPlateau(o)]),
    lambda S, o: S.SequentialLR(o, [], []),
    lambda S, o: S.ReduceLROnPlateau(o, factor=1.0),
    lambda S, o: S.ReduceLROnPlateau(o, mode="up"),
    lambda S, o: S.ReduceLROnPlateau(o, threshold_mode="pct"),
    lambda S, o: S.ReduceLROnPlateau(o, min_lr=[0.1]),
    lambda S, o: S.OneCycleLR(o, 1.0, total_steps=10, pct_start=2.0),
    lambda S, o: S.OneCycleLR(o, 1.0, epochs=0, steps_per_epoch=3),
]


@pytest.mark.parametrize("make", BAD, ids=range(len(BAD)))
def test_invalid_arguments_raise_like_torch(make):
    with pytest.raises(Exception) as t_err:
        make(torch.optim.lr_scheduler, _opt(torch))
    with pytest.raises(type(t_err.value)) as m_err:
        make(sched, _opt(mt))
    assert str(m_err.value).replace("mbtorch", "torch") == str(t_err.value)


def test_every_torch_scheduler_exists_with_its_signature():
    t_mod = torch.optim.lr_scheduler
    names = sorted(n for n in dir(t_mod) if isinstance(getattr(t_mod, n), type)
                   and issubclass(getattr(t_mod, n), t_mod.LRScheduler)
                   and not n.startswith("_"))
    assert names == sorted(sched.__all__) == sorted(t_mod.__all__)
    for name in names:
        t_sig = inspect.signature(getattr(t_mod, name).__init__)
        m_sig = inspect.signature(getattr(sched, name).__init__)
        assert [(p.name, p.default) for p in m_sig.parameters.values()] == \
            [(p.name, p.default) for p in t_sig.parameters.values()], name
    assert sched.EPOCH_DEPRECATION_WARNING == t_mod.EPOCH_DEPRECATION_WARNING
