"""``optim.swa_utils`` (AveragedModel, update_bn, SWALR, the average functions) and
``optim.swap_in_optimizer_params_and_state`` against PyTorch 2.13."""

from __future__ import annotations

import numpy as np
import pytest

import mbtorch as mt
from mbtorch.optim import swa_utils
from tests.optim.test_lr_scheduler import _opt

torch = pytest.importorskip("torch")


def _model(lib):
    gen = np.random.default_rng(0)
    model = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.BatchNorm1d(4), lib.nn.Linear(4, 2))
    state = {k: lib.tensor(gen.standard_normal(tuple(v.shape)).astype("float32"))
             if v.is_floating_point() else v for k, v in model.state_dict().items()}
    model.load_state_dict(state)
    return model


def _perturb(lib, model, k):
    gen = np.random.default_rng(10 + k)
    with lib.no_grad():
        for p in model.parameters():
            p.add_(lib.tensor(gen.standard_normal(tuple(p.shape)).astype("float32")))
    model(lib.tensor(gen.standard_normal((5, 3)).astype("float32")))  # moves BN buffers


def _averaged(lib, kind):
    model = _model(lib)
    S = lib.optim.swa_utils  # noqa: N806
    make = {"swa": lambda: S.AveragedModel(model),
            "ema": lambda: S.AveragedModel(model, multi_avg_fn=S.get_ema_multi_avg_fn(0.9)),
            "ema_fn": lambda: S.AveragedModel(model, avg_fn=S.get_ema_avg_fn(0.8)),
            "swa_fn": lambda: S.AveragedModel(model, avg_fn=S.get_swa_avg_fn(),
                                              use_buffers=True)}[kind]
    avg = make()
    for k in range(4):
        _perturb(lib, model, k)
        avg.update_parameters(model)
    return {k: v.detach().numpy().astype(np.float64) for k, v in avg.state_dict().items()}


@pytest.mark.parametrize("kind", ["swa", "ema", "ema_fn", "swa_fn"])
def test_averaged_model_matches_torch(kind):
    expected, got = _averaged(torch, kind), _averaged(mt, kind)
    assert list(got) == list(expected)
    for key in expected:
        np.testing.assert_allclose(got[key], expected[key], rtol=1e-6, atol=1e-6, err_msg=key)
    assert got["n_averaged"] == 4


def test_update_bn_matches_torch():
    batches = [np.random.default_rng(k).standard_normal((6, 3)).astype("float32")
               for k in range(3)]
    stats = []
    for lib in (torch, mt):
        model = _model(lib)
        model.eval()
        loader = [(lib.tensor(b), lib.zeros(6)) for b in batches]
        lib.optim.swa_utils.update_bn(loader, model)
        bn = model[1]
        assert not model.training and bn.momentum == 0.1
        stats.append([bn.running_mean.numpy(), bn.running_var.numpy(),
                      int(bn.num_batches_tracked)])
    np.testing.assert_allclose(stats[1][0], stats[0][0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(stats[1][1], stats[0][1], rtol=1e-5, atol=1e-6)
    assert stats[1][2] == stats[0][2] == 3


@pytest.mark.parametrize("kwargs", [dict(swa_lr=0.05), dict(swa_lr=[0.05, 0.2],
                                                            anneal_epochs=4,
                                                            anneal_strategy="linear"),
                                    dict(swa_lr=0.01, anneal_epochs=0)], ids=str)
def test_swalr_matches_torch(kwargs):
    def run(lib):
        opt = _opt(lib)
        s = lib.optim.swa_utils.SWALR(opt, **kwargs)
        out = [[g["lr"] for g in opt.param_groups]]
        for _ in range(15):
            opt.step()
            s.step()
            out.append(s.get_last_lr())
        return np.array(out)

    np.testing.assert_allclose(run(mt), run(torch), rtol=1e-12)


def test_swa_argument_checks_match_torch():
    for make in (lambda S, o: S.SWALR(o, 0.1, anneal_strategy="exp"),
                 lambda S, o: S.SWALR(o, 0.1, anneal_epochs=-1),
                 lambda S, o: S.get_ema_avg_fn(1.5)):
        with pytest.raises(ValueError) as t_err:
            make(torch.optim.swa_utils, _opt(torch))
        with pytest.raises(ValueError) as m_err:
            make(swa_utils, _opt(mt))
        assert str(m_err.value) == str(t_err.value)


def test_swap_in_params_and_state_matches_torch():
    results = []
    for lib in (torch, mt):
        live = [lib.ones(3, requires_grad=True)]
        opt = lib.optim.Adam(live, lr=0.1)
        live[0].grad = lib.ones(3)
        opt.step()
        snapshot = opt.state_dict()
        other = {"w": lib.tensor([1.0, 2.0, 3.0], requires_grad=True)}
        other["w"].grad = lib.tensor([0.5, -1.0, 2.0])
        swap_state = {"state": {0: {"step": lib.tensor(4.0),
                                    "exp_avg": lib.zeros(3) + 0.1,
                                    "exp_avg_sq": lib.zeros(3) + 0.01}},
                      "param_groups": [dict(snapshot["param_groups"][0], lr=0.01)]}
        with lib.optim.swap_in_optimizer_params_and_state(opt, other, swap_state):
            assert opt.param_groups[0]["params"][0] is other["w"]
            opt.step()
        assert opt.param_groups[0]["params"][0] is live[0] and opt.param_groups[0]["lr"] == 0.1
        results.append((other["w"].detach().numpy().copy(), live[0].detach().numpy().copy(),
                        swap_state["state"][0]["exp_avg"].numpy().copy()))
        with pytest.raises(RuntimeError, match="different number of parameter groups"):
            with lib.optim.swap_in_optimizer_params_and_state(opt, other, {
                    "state": {}, "param_groups": []}):
                pass
    for t, m in zip(*results):
        np.testing.assert_allclose(m, t, rtol=1e-6)
