"""Learning-rate schedulers: the lr sequence of each against PyTorch's, 25+ steps, two
parameter groups with different base lrs."""

from __future__ import annotations

import math

import numpy as np
import pytest

import mbtorch as mt
from mbtorch.optim import lr_scheduler as sched

STEPS = 30


def _opt(lib, opt_name="SGD", **kw):
    a = lib.zeros(2, requires_grad=True)
    b = lib.zeros(3, requires_grad=True)
    groups = [{"params": [a]}, {"params": [b], "lr": 0.02}]
    defaults = {"SGD": dict(lr=0.1, momentum=0.9), "Adam": dict(lr=0.1)}[opt_name]
    return getattr(lib.optim, opt_name)(groups, **dict(defaults, **kw))


def _trace(lib, make, steps=STEPS, opt_name="SGD", metrics=None, keys=("lr",)):
    """Group settings after construction and after each ``opt.step(); sched.step()``."""
    opt = _opt(lib, opt_name)
    s = make(lib.optim.lr_scheduler, opt)
    out = [[tuple(g[k] for k in keys) for g in opt.param_groups]]
    for i in range(steps):
        opt.step()
        if metrics is None:
            s.step()
        else:
            s.step(metrics[i])
        out.append([tuple(g[k] for k in keys) for g in opt.param_groups])
    if metrics is None:
        assert s.get_last_lr() == [g["lr"] for g in opt.param_groups]
    return np.array(out, dtype=np.float64)


SCHEDULERS = {
    "step": lambda S, o: S.StepLR(o, step_size=4, gamma=0.5),
    "multistep": lambda S, o: S.MultiStepLR(o, milestones=[9, 3, 15], gamma=0.3),
    "exponential": lambda S, o: S.ExponentialLR(o, gamma=0.9),
    "cosine": lambda S, o: S.CosineAnnealingLR(o, T_max=10, eta_min=0.001),
    "lambda": lambda S, o: S.LambdaLR(o, lambda e: 0.95 ** e),
    "lambda_list": lambda S, o: S.LambdaLR(o, [lambda e: 1 / (1 + e), lambda e: e % 3 + 1]),
    "linear": lambda S, o: S.LinearLR(o, start_factor=0.25, total_iters=6),
    "linear_down": lambda S, o: S.LinearLR(o, start_factor=1.0, end_factor=0.1,
                                           total_iters=12),
    "onecycle_cos": lambda S, o: S.OneCycleLR(o, max_lr=[1.0, 0.5], total_steps=STEPS + 1),
    "onecycle_linear": lambda S, o: S.OneCycleLR(o, max_lr=0.8, epochs=4, steps_per_epoch=8,
                                                 anneal_strategy="linear", pct_start=0.25),
    "onecycle_three": lambda S, o: S.OneCycleLR(o, max_lr=0.5, total_steps=STEPS + 2,
                                                three_phase=True, div_factor=10,
                                                final_div_factor=100),
    "onecycle_three_linear": lambda S, o: S.OneCycleLR(o, max_lr=0.5, total_steps=STEPS + 5,
                                                       three_phase=True,
                                                       anneal_strategy="linear"),
    "sequential": lambda S, o: S.SequentialLR(o, [S.LinearLR(o, 0.1, total_iters=5),
                                                  S.ExponentialLR(o, 0.8)], milestones=[5]),
    "sequential3": lambda S, o: S.SequentialLR(o, [S.ExponentialLR(o, 0.5),
                                                   S.StepLR(o, 3, 0.5),
                                                   S.CosineAnnealingLR(o, 6)],
                                               milestones=[4, 12]),
}


@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_lr_sequence_matches_torch(name):
    torch = pytest.importorskip("torch")
    expected = _trace(torch, SCHEDULERS[name])
    got = _trace(mt, SCHEDULERS[name])
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", ["onecycle_cos", "onecycle_three_linear"])
@pytest.mark.parametrize("opt_name", ["SGD", "Adam"])
def test_one_cycle_cycles_momentum_like_torch(name, opt_name):
    torch = pytest.importorskip("torch")
    expected = _momentum_trace(torch, SCHEDULERS[name], opt_name)
    np.testing.assert_allclose(_momentum_trace(mt, SCHEDULERS[name], opt_name), expected,
                               rtol=1e-9, atol=1e-12)


def _momentum_trace(lib, make, opt_name):
    """lr, and SGD's momentum or Adam's two betas, of each group at each step."""
    opt = _opt(lib, opt_name)
    s = make(lib.optim.lr_scheduler, opt)
    out = []
    for _ in range(STEPS):
        out.append([(g["lr"], *g["betas"]) if opt_name == "Adam" else (g["lr"], g["momentum"])
                    for g in opt.param_groups])
        opt.step()
        s.step()
    return np.array(out)


def test_one_cycle_errors():
    opt = _opt(mt)
    with pytest.raises(ValueError, match="total_steps"):
        sched.OneCycleLR(opt, max_lr=1.0)
    with pytest.raises(ValueError, match="anneal_strategy"):
        sched.OneCycleLR(opt, max_lr=1.0, total_steps=5, anneal_strategy="exp")
    with pytest.raises(ValueError, match="support momentum"):
        sched.OneCycleLR(mt.optim.Adagrad([mt.zeros(1, requires_grad=True)]), 1.0, 5)
    fixed = sched.OneCycleLR(opt, max_lr=1.0, total_steps=5, cycle_momentum=False)
    assert fixed.optimizer.param_groups[0]["momentum"] == 0.9
    s = sched.OneCycleLR(opt, max_lr=1.0, total_steps=3)
    for _ in range(3):
        opt.step()
        s.step()
    with pytest.raises(ValueError, match="Tried to step"):
        s.step()


PLATEAU_METRICS = [1.0, 0.9, 0.9, 0.95, 0.91, 0.9, 0.89, 0.9, 0.9, 0.9, 0.9, 0.9, 0.5, 0.5,
                   0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.49999, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5,
                   0.5, 0.5]

PLATEAU = {
    "min": lambda S, o: S.ReduceLROnPlateau(o, patience=2),
    "max": lambda S, o: S.ReduceLROnPlateau(o, mode="max", factor=0.5, patience=1),
    "abs_cooldown": lambda S, o: S.ReduceLROnPlateau(o, patience=1, threshold=0.05,
                                                     threshold_mode="abs", cooldown=2),
    "min_lr": lambda S, o: S.ReduceLROnPlateau(o, factor=0.2, patience=0,
                                               min_lr=[0.01, 0.001]),
    "eps": lambda S, o: S.ReduceLROnPlateau(o, factor=0.5, patience=0, eps=0.03),
}


@pytest.mark.parametrize("name", list(PLATEAU))
def test_reduce_on_plateau_matches_torch(name):
    torch = pytest.importorskip("torch")
    metrics = PLATEAU_METRICS if name != "max" else [-m for m in PLATEAU_METRICS]
    expected = _trace(torch, PLATEAU[name], metrics=metrics)
    got = _trace(mt, PLATEAU[name], metrics=metrics)
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert got[-1, 0, 0] < got[0, 0, 0]  # the schedule did reduce


def test_closed_forms_without_torch():
    opt = _opt(mt)
    s = sched.CosineAnnealingLR(opt, T_max=8, eta_min=0.0)
    lrs = []
    for _ in range(8):
        opt.step()
        s.step()
        lrs.append(opt.param_groups[0]["lr"])
    np.testing.assert_allclose(lrs, [0.05 * (1 + math.cos(math.pi * k / 8))
                                     for k in range(1, 9)], atol=1e-15)
    with pytest.raises(ValueError, match="number of milestone"):
        sched.SequentialLR(opt, [sched.StepLR(opt, 2)], milestones=[3])
    with pytest.raises(TypeError):
        sched.StepLR("not an optimizer", 2)


def test_scheduler_state_dict_round_trip():
    opt = _opt(mt)
    s = sched.StepLR(opt, step_size=2, gamma=0.5)
    for _ in range(3):
        opt.step()
        s.step()
    state = s.state_dict()
    opt2 = _opt(mt)
    s2 = sched.StepLR(opt2, step_size=7, gamma=0.9)
    s2.load_state_dict(state)
    # the current lr lives in the optimizer's state (PyTorch's schedulers are chainable: the
    # next lr is computed from it), so a resume loads both, as under PyTorch
    opt2.load_state_dict(opt.state_dict())
    assert (s2.last_epoch, s2.step_size, s2.gamma) == (3, 2, 0.5)
    opt.step()
    s.step()
    opt2.step()
    s2.step()
    assert s2.get_last_lr() == s.get_last_lr()
