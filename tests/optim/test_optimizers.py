"""Optimizers step for step against PyTorch: the same initial parameters and the same gradient
rule in both libraries, several steps, parameters equal to ~1e-6 relative; parameter groups;
state dicts that round trip and refuse a mismatched state."""

from __future__ import annotations

import numpy as np
import pytest

import mbtorch as mt
from mbtorch import optim

SHAPES = [(3, 4), (5,)]


def _init(dtype):
    gen = np.random.default_rng(0)
    return [gen.standard_normal(s).astype(dtype) for s in SHAPES]


def _grads(step, params_np):
    """Step ``step``'s gradient: a fixed random part plus one that depends on the parameter
    (so an update that goes wrong also changes the following gradients)."""
    gen = np.random.default_rng(100 + step)
    return [gen.standard_normal(p.shape).astype(p.dtype) + 0.5 * p for p in params_np]


def _run(lib, opt_cls, kwargs, steps, dtype, groups=None, params=None, opt=None):
    params = params or [lib.tensor(p.copy(), requires_grad=True) for p in _init(dtype)]
    if opt is None:
        spec = params if groups is None else [dict(g, params=[params[i] for i in g["params"]])
                                              for g in groups]
        opt = opt_cls(spec, **kwargs)
    history = []
    for k in range(steps):
        current = [p.detach().numpy().copy() for p in params]
        for p, g in zip(params, _grads(k, current)):
            p.grad = lib.tensor(g)
        opt.step()
        history.append([p.detach().numpy().copy() for p in params])
    return history, params, opt


def _assert_same(m_hist, t_hist, rtol, atol):
    for k, (m_step, t_step) in enumerate(zip(m_hist, t_hist)):
        for i, (a, b) in enumerate(zip(m_step, t_step)):
            np.testing.assert_allclose(a, b, rtol=rtol, atol=atol,
                                       err_msg=f"step {k + 1}, parameter {i}")


CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.5)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True)),
    ("SGD", dict(lr=0.1, weight_decay=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9, weight_decay=0.01, nesterov=True, maximize=True)),
    ("Adam", dict()),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6)),
    ("Adam", dict(lr=0.01, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("Adam", dict(lr=0.01, maximize=True, amsgrad=True, weight_decay=0.01)),
    ("AdamW", dict()),
    ("AdamW", dict(lr=0.01, weight_decay=0.3)),
    ("AdamW", dict(lr=0.01, amsgrad=True)),
    ("RMSprop", dict()),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.01, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, centered=True, momentum=0.5, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, maximize=True)),
    ("Adagrad", dict()),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05)),
    ("Adagrad", dict(lr=0.1, weight_decay=0.1, initial_accumulator_value=0.5, eps=1e-6)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, maximize=True)),
]


@pytest.mark.parametrize("dtype,rtol,atol", [("float32", 1e-6, 1e-6),
                                             ("float64", 1e-12, 1e-13)])
@pytest.mark.parametrize("name,kwargs", CASES, ids=str)
def test_steps_match_torch(name, kwargs, dtype, rtol, atol):
    torch = pytest.importorskip("torch")
    t_hist, t_params, t_opt = _run(torch, getattr(torch.optim, name), kwargs, 6, dtype)
    m_hist, m_params, m_opt = _run(mt, getattr(optim, name), kwargs, 6, dtype)
    _assert_same(m_hist, t_hist, rtol, atol)
    # the state holds what torch's holds, under the same names
    for tp, mp in zip(t_params, m_params):
        assert sorted(m_opt.state[mp]) == sorted(t_opt.state[tp])


def test_param_groups_with_their_own_settings():
    torch = pytest.importorskip("torch")
    groups = [{"params": [0], "lr": 0.1}, {"params": [1], "lr": 0.01, "momentum": 0.5}]
    t_hist, _, t_opt = _run(torch, torch.optim.SGD, dict(lr=1.0, momentum=0.9), 5,
                            "float32", groups)
    m_hist, _, m_opt = _run(mt, optim.SGD, dict(lr=1.0, momentum=0.9), 5, "float32", groups)
    _assert_same(m_hist, t_hist, 1e-6, 1e-6)
    assert [g["lr"] for g in m_opt.param_groups] == [0.1, 0.01]
    assert m_opt.param_groups[0]["momentum"] == 0.9  # the default fills what a group omits
    groups = [{"params": [0]}, {"params": [1], "lr": 0.1, "betas": (0.5, 0.9)}]
    t_hist, *_ = _run(torch, torch.optim.Adam, dict(lr=0.01), 5, "float32", groups)
    m_hist, *_ = _run(mt, optim.Adam, dict(lr=0.01), 5, "float32", groups)
    _assert_same(m_hist, t_hist, 1e-6, 1e-6)


@pytest.mark.parametrize("name,kwargs", [("SGD", dict(lr=0.1, momentum=0.9)),
                                         ("Adam", dict(lr=0.01, amsgrad=True)),
                                         ("AdamW", dict(lr=0.01)),
                                         ("RMSprop", dict(centered=True, momentum=0.5)),
                                         ("Adagrad", dict(lr_decay=0.1))], ids=str)
def test_state_dict_round_trip_continues_identically(name, kwargs, tmp_path):
    cls = getattr(optim, name)
    full, *_ = _run(mt, cls, kwargs, 6, "float32")
    first, params, opt = _run(mt, cls, kwargs, 3, "float32")
    path = tmp_path / "opt.safetensors"
    mt.save({"opt": opt.state_dict(), "params": [p.detach() for p in params]}, path)
    saved = mt.load(path)
    fresh = [mt.tensor(p.numpy(), requires_grad=True) for p in saved["params"]]
    opt2 = cls(fresh, **kwargs)
    opt2.load_state_dict(saved["opt"])
    rest = []
    for k in range(3, 6):  # the same gradient rule, continued from step 3
        current = [p.detach().numpy().copy() for p in fresh]
        for p, g in zip(fresh, _grads(k, current)):
            p.grad = mt.tensor(g)
        opt2.step()
        rest.append([p.detach().numpy().copy() for p in fresh])
    _assert_same(first + rest, full, 0, 0)


def test_load_state_dict_refuses_a_mismatched_state():
    p = [mt.zeros(3, requires_grad=True), mt.zeros(2, requires_grad=True)]
    opt = optim.Adam(p)
    for q in p:
        q.grad = mt.ones_like(q)
    opt.step()
    state = opt.state_dict()
    with pytest.raises(ValueError, match="number of parameter groups"):
        optim.Adam([{"params": [p[0]]}, {"params": [p[1]]}]).load_state_dict(state)
    with pytest.raises(ValueError, match="doesn't match the size"):
        optim.Adam([p[0]]).load_state_dict(state)
    other = [mt.zeros(4, requires_grad=True), mt.zeros(2, requires_grad=True)]
    with pytest.raises(ValueError, match="shape"):
        optim.Adam(other).load_state_dict(state)
    with pytest.raises(ValueError):
        optim.Adam(p).load_state_dict({"state": {}})


def test_state_dict_layout_matches_torch():
    torch = pytest.importorskip("torch")
    _, _, t_opt = _run(torch, torch.optim.Adam, dict(lr=0.01), 2, "float32")
    _, _, m_opt = _run(mt, optim.Adam, dict(lr=0.01), 2, "float32")
    t_sd, m_sd = t_opt.state_dict(), m_opt.state_dict()
    assert sorted(m_sd) == sorted(t_sd)
    assert [g["params"] for g in m_sd["param_groups"]] == [g["params"] for g in
                                                           t_sd["param_groups"]]
    assert set(m_sd["param_groups"][0]) <= set(t_sd["param_groups"][0])
    assert sorted(m_sd["state"]) == sorted(t_sd["state"])
    assert float(m_sd["state"][0]["step"]) == float(t_sd["state"][0]["step"]) == 2


def test_argument_checks_and_closure():
    p = [mt.zeros(2, requires_grad=True)]
    with pytest.raises(ValueError, match="Invalid learning rate"):
        optim.SGD(p, lr=-1)
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD(p, lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="beta parameter at index 1"):
        optim.Adam(p, betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.Adam([])
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": p}, {"params": p}], lr=0.1)
    with pytest.raises(TypeError):
        optim.SGD(p[0], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([p[0] * 2], lr=0.1)
    opt = optim.SGD(p, lr=0.5)

    def closure():
        opt.zero_grad()
        loss = ((p[0] - 1) ** 2).sum()
        loss.backward()
        return loss

    assert float(opt.step(closure)) == 2.0
    np.testing.assert_allclose(p[0].detach().numpy(), [1.0, 1.0])
    q = mt.zeros(2, requires_grad=True)  # no gradient: left alone
    optim.Adam([q]).step()
    np.testing.assert_array_equal(q.detach().numpy(), [0, 0])
