"""The optimizer API around the update rules, against PyTorch 2.13: every optimizer's
argument checks (same exception type and message), constructor defaults, the implementation
flags (foreach/fused accepted, capturable/differentiable refused clearly), step and
state-dict hooks, named parameters, ``add_param_group`` and ``zero_grad``."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import mbtorch as mt
from mbtorch import optim
from mbtorch.optim.optimizer import (
    register_optimizer_step_post_hook,
    register_optimizer_step_pre_hook,
)

torch = pytest.importorskip("torch")

ALL = ["ASGD", "Adadelta", "Adafactor", "Adagrad", "Adam", "AdamW", "Adamax", "LBFGS", "Muon",
       "NAdam", "RAdam", "RMSprop", "Rprop", "SGD", "SparseAdam"]


def test_every_torch_optimizer_exists_with_its_signature():
    names = sorted(n for n in dir(torch.optim) if isinstance(getattr(torch.optim, n), type)
                   and issubclass(getattr(torch.optim, n), torch.optim.Optimizer)
                   and n != "Optimizer")
    assert names == sorted(ALL)
    for name in names:
        t_sig = inspect.signature(getattr(torch.optim, name).__init__)
        m_sig = inspect.signature(getattr(optim, name).__init__)
        assert [(p.name, p.kind, p.default) for p in m_sig.parameters.values()] == \
            [(p.name, p.kind, p.default) for p in t_sig.parameters.values()], name


@pytest.mark.parametrize("name", ALL)
def test_defaults_match_torch(name):
    m_p = mt.zeros(2, 2, requires_grad=True)
    t_p = torch.zeros(2, 2, requires_grad=True)
    m_opt, t_opt = getattr(optim, name)([m_p]), getattr(torch.optim, name)([t_p])
    assert m_opt.defaults == t_opt.defaults
    assert m_opt.param_groups[0].keys() == t_opt.param_groups[0].keys()


BAD = [
    ("Adadelta", dict(lr=-1.0)), ("Adadelta", dict(rho=1.5)), ("Adadelta", dict(eps=-1.0)),
    ("Adadelta", dict(weight_decay=-0.1)),
    ("Adamax", dict(lr=-0.1)), ("Adamax", dict(betas=(1.0, 0.9))),
    ("Adamax", dict(betas=(0.9, -0.1))), ("Adamax", dict(eps=-1.0)),
    ("ASGD", dict(lr=-0.1)), ("ASGD", dict(weight_decay=-1.0)),
    ("NAdam", dict(lr=-0.1)), ("NAdam", dict(momentum_decay=-1.0)),
    ("NAdam", dict(betas=(0.9, 1.0))), ("NAdam", dict(weight_decay=-1.0)),
    ("RAdam", dict(lr=-0.1)), ("RAdam", dict(eps=-1.0)), ("RAdam", dict(betas=(-0.1, 0.9))),
    ("Rprop", dict(lr=-0.1)), ("Rprop", dict(etas=(1.5, 1.2))), ("Rprop", dict(etas=(0.5, 0.9))),
    ("Adafactor", dict(lr=-0.1)), ("Adafactor", dict(beta2_decay=0.5)),
    ("Adafactor", dict(eps=(-1.0, 1e-3))), ("Adafactor", dict(eps=(None, -1.0))),
    ("Adafactor", dict(d=0.5)), ("Adafactor", dict(weight_decay=-1.0)),
    ("Muon", dict(lr=-0.1)), ("Muon", dict(momentum=-0.1)), ("Muon", dict(weight_decay=-1.0)),
    ("Muon", dict(adjust_lr_fn="other")),
    ("SparseAdam", dict(lr=0.0)), ("SparseAdam", dict(eps=0.0)),
    ("SparseAdam", dict(betas=(0.9, 1.0))),
    ("LBFGS", dict(lr=-1.0)),
    ("Adam", dict(betas=(0, 0.9))), ("Adam", dict(fused=True, foreach=True)),
    ("SGD", dict(lr=-0.1)), ("SGD", dict(momentum=-0.1)), ("SGD", dict(nesterov=True)),
    ("SGD", dict(fused=True, foreach=True)), ("Adagrad", dict(lr_decay=-1.0)),
    ("Adagrad", dict(initial_accumulator_value=-1.0)), ("RMSprop", dict(alpha=-1.0)),
]


@pytest.mark.parametrize("name,kwargs", BAD, ids=str)
def test_invalid_arguments_raise_like_torch(name, kwargs):
    with pytest.raises(Exception) as t_err:
        getattr(torch.optim, name)([torch.zeros(2, 2, requires_grad=True)], **kwargs)
    with pytest.raises(type(t_err.value)) as m_err:
        getattr(optim, name)([mt.zeros(2, 2, requires_grad=True)], **kwargs)
    assert str(m_err.value) == str(t_err.value)


def test_muon_refuses_what_torch_refuses():
    for lib in (torch, mt):
        with pytest.raises(ValueError, match="Muon only supports 2D parameters"):
            lib.optim.Muon([lib.zeros(3, requires_grad=True)])


@pytest.mark.parametrize("name", ["Adam", "AdamW", "Adadelta", "Adamax", "ASGD", "NAdam",
                                  "RAdam", "RMSprop", "Rprop"])
@pytest.mark.parametrize("flag", ["capturable", "differentiable"])
def test_flags_we_cannot_honour_are_refused(name, flag):
    p = [mt.zeros(2, requires_grad=True)]
    if flag == "capturable" and name in ("Adam", "AdamW"):
        getattr(optim, name)(p, capturable=True)  # implemented (mbtorch.compile replays it)
        return
    with pytest.raises(ValueError, match=f"{name}: {flag}=True is not supported by "
                                         "(mbtorch|this mbtorch optimizer)"):
        getattr(optim, name)(p, **{flag: True})
    getattr(optim, name)(p, **{flag: False})  # the default value is fine


@pytest.mark.parametrize("amsgrad, decoupled", [(False, False), (True, True)])
def test_capturable_adam_follows_torch_with_a_tensor_step_and_lr(amsgrad, decoupled):
    import numpy as np
    import torch

    w = np.linspace(-1, 1, 6).astype(np.float32)
    ours = mt.nn.Parameter(mt.tensor(w))
    theirs = torch.nn.Parameter(torch.tensor(w))
    kw = dict(weight_decay=0.01, amsgrad=amsgrad, decoupled_weight_decay=decoupled)
    o = optim.Adam([ours], lr=mt.tensor(0.05), capturable=True, **kw)
    t = torch.optim.Adam([theirs], lr=0.05, **kw)  # torch's capturable needs a GPU
    for i in range(6):
        g = np.cos(np.arange(6) * (i + 1)).astype(np.float32)
        ours.grad, theirs.grad = mt.tensor(g), torch.tensor(g)
        o.step()
        t.step()
    assert isinstance(o.state[ours]["step"], mt.Tensor) and o.state[ours]["step"].item() == 6
    # the capturable formulas round differently (float32 step, lr / bias correction fused)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), atol=1e-5)


def test_fused_requires_floating_point_params():
    with pytest.raises(RuntimeError, match="`fused=True` requires all the params to be "
                                           "floating point"):
        optim.SGD([mt.zeros(2, dtype=mt.int64)], lr=0.1, fused=True)


# -- hooks, names, groups --------------------------------------------------------------------
def _step_once(opt, params):
    for p in params:
        p.grad = mt.ones_like(p)
    return opt.step()


def test_step_hooks_run_in_order_and_can_be_removed():
    params = [mt.zeros(2, requires_grad=True)]
    opt = optim.SGD(params, lr=0.5)
    calls = []
    pre = opt.register_step_pre_hook(lambda o, a, k: calls.append(("pre", o is opt, a, k)))
    post = opt.register_step_post_hook(lambda o, a, k: calls.append(("post", o is opt)))
    g_pre = register_optimizer_step_pre_hook(lambda o, a, k: calls.append(("gpre",)))
    g_post = register_optimizer_step_post_hook(lambda o, a, k: calls.append(("gpost",)))
    try:
        _step_once(opt, params)
    finally:
        g_pre.remove()
        g_post.remove()
    assert calls == [("gpre",), ("pre", True, (), {}), ("post", True), ("gpost",)]
    pre.remove()
    post.remove()
    _step_once(opt, params)
    assert len(calls) == 4
    np.testing.assert_allclose(params[0].detach().numpy(), [-1.0, -1.0])


def test_pre_hook_can_replace_the_arguments_and_hooks_fire_once_for_lbfgs():
    x = mt.tensor([3.0], requires_grad=True)
    opt = optim.LBFGS([x], max_iter=3)

    def closure():
        opt.zero_grad()
        loss = ((x - 1) ** 2).sum()
        loss.backward()
        return loss

    seen = []
    opt.register_step_pre_hook(lambda o, a, k: ((closure,), {}))
    opt.register_step_post_hook(lambda o, a, k: seen.append(a[0] is closure))
    opt.step(None)  # the hook supplies the closure
    assert seen == [True]
    np.testing.assert_allclose(x.detach().numpy(), [1.0], atol=1e-6)
    opt.register_step_pre_hook(lambda o, a, k: "bad")
    with pytest.raises(RuntimeError, match="must return None or a tuple"):
        opt.step(closure)


def test_state_dict_hooks():
    params = [mt.zeros(2, requires_grad=True)]
    opt = optim.Adam(params)
    _step_once(opt, params)
    log = []
    opt.register_state_dict_pre_hook(lambda o: log.append("pre"))
    opt.register_state_dict_post_hook(lambda o, sd: dict(sd, extra=1))
    opt.register_load_state_dict_pre_hook(lambda o, sd: {k: v for k, v in sd.items()
                                                         if k != "extra"})
    opt.register_load_state_dict_post_hook(lambda o: log.append("loaded"))
    sd = opt.state_dict()
    assert log == ["pre"] and sd["extra"] == 1
    opt.load_state_dict(sd)
    assert log == ["pre", "loaded"]


def test_named_parameters_as_torch():
    m_params = [("w", mt.zeros(2, requires_grad=True)), ("b", mt.zeros(1, requires_grad=True))]
    t_params = [("w", torch.zeros(2, requires_grad=True)),
                ("b", torch.zeros(1, requires_grad=True))]
    m_opt, t_opt = optim.AdamW(m_params), torch.optim.AdamW(t_params)
    assert m_opt.param_groups[0]["param_names"] == ["w", "b"]
    m_sd, t_sd = m_opt.state_dict(), t_opt.state_dict()
    assert m_sd["param_groups"][0].keys() == t_sd["param_groups"][0].keys()
    with pytest.raises(ValueError, match="Some param names are missing"):
        optim.SGD([("w", mt.zeros(1, requires_grad=True)), mt.zeros(1, requires_grad=True)])
    with pytest.raises(ValueError, match="cannot add param group without names"):
        m_opt.add_param_group({"params": [mt.zeros(1, requires_grad=True)]})


def test_add_param_group_then_steps_like_torch():
    traces = []
    for lib in (torch, mt):
        a = lib.ones(2, requires_grad=True)
        b = lib.ones(3, requires_grad=True)
        opt = lib.optim.NAdam([a], lr=0.1)
        trace = []
        for k in range(4):
            if k == 2:
                opt.add_param_group({"params": b, "lr": 0.01, "betas": (0.5, 0.9)})
            for p in (a, b):
                p.grad = p.detach() * 2 + k
            opt.step()
            trace.append(np.concatenate([a.detach().numpy(), b.detach().numpy()]))
        traces.append(np.array(trace))
        assert opt.param_groups[1]["momentum_decay"] == 4e-3
        with pytest.raises(ValueError, match="more than one parameter group"):
            opt.add_param_group({"params": [a]})
        with pytest.raises(TypeError, match="ordered collections"):
            opt.add_param_group({"params": {lib.zeros(1, requires_grad=True)}})
    np.testing.assert_allclose(traces[1], traces[0], rtol=1e-6)


def test_zero_grad_set_to_none_or_zeros():
    p = mt.ones(2, requires_grad=True)
    opt = optim.Rprop([p])
    p.grad = mt.ones(2)
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(p.grad.numpy(), [0.0, 0.0])
    assert not p.grad.requires_grad
    opt.zero_grad()
    assert p.grad is None


def _sign_sgd(lib):
    """A user's optimizer written the PyTorch way (subclass, defaults, own ``step``)."""

    class SignSGD(lib.optim.Optimizer):
        def __init__(self, params, lr=0.1):
            super().__init__(params, dict(lr=lr))

        @lib.no_grad()
        def step(self, closure=None):
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        self.state[p]["n"] = self.state[p].get("n", 0) + 1
                        p.add_(p.grad.sign(), alpha=-group["lr"])

    return SignSGD


def test_a_user_optimizer_subclass_works_with_hooks_and_schedulers():
    out = []
    for lib in (torch, mt):
        p = lib.tensor([1.0, -2.0, 0.5], requires_grad=True)
        opt = _sign_sgd(lib)([p], lr=0.5)
        calls = []
        opt.register_step_post_hook(lambda o, a, k, calls=calls: calls.append(1))
        sched = lib.optim.lr_scheduler.StepLR(opt, 2, 0.5)
        for _ in range(5):
            p.grad = p.detach() * 2
            opt.step()
            sched.step()
        assert calls == [1] * 5 and opt.state_dict()["state"][0] == {"n": 5}
        out.append(p.detach().numpy())
    np.testing.assert_allclose(out[1], out[0])
    with pytest.raises(NotImplementedError):
        optim.Optimizer([mt.zeros(1, requires_grad=True)], {}).step()


@pytest.mark.parametrize("name", ["SGD", "Adam", "NAdam", "RAdam", "Adadelta", "Adamax", "ASGD",
                                  "Rprop", "Adafactor", "RMSprop", "Adagrad"])
def test_a_one_element_tensor_lr_works_as_torch(name):
    out = []
    for lib in (torch, mt):
        q = lib.ones(3, requires_grad=True)
        opt = getattr(lib.optim, name)([q], lr=lib.tensor(0.1))
        for k in range(3):
            q.grad = q.detach() * 2 + k
            opt.step()
        out.append(q.detach().numpy())
        with pytest.raises(ValueError, match="Tensor lr must be 1-element"):
            getattr(lib.optim, name)([q], lr=lib.tensor([0.1, 0.2]))
    np.testing.assert_allclose(out[1], out[0], rtol=1e-6)
