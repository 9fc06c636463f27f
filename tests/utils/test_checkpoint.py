"""``mbtorch.utils.checkpoint``: recomputation in backward gives the gradients of the plain
run (PyTorch's too, on the same weights), replays the forward's random numbers, frees the
forward's activations, and keeps PyTorch's argument rules and warnings."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

import mbtorch as mt
from mbtorch import nn
from mbtorch.utils.checkpoint import CheckpointError, checkpoint, checkpoint_sequential

MODES = [True, False]


def _np(t):
    return t.detach().numpy(force=True)


def _model():
    mt.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Dropout(0.5), nn.Linear(16, 16),
                         nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 3))


def _grads(model, x):
    out = {name: _np(p.grad) for name, p in model.named_parameters()}
    out["x"] = _np(x.grad) if x.grad is not None else None
    model.zero_grad()
    x.grad = None
    return out


def _assert_same(a, b, rtol=1e-6):
    assert a.keys() == b.keys()
    for k in a:
        if a[k] is None or b[k] is None:
            assert a[k] is b[k], k
        else:
            np.testing.assert_allclose(a[k], b[k], rtol=rtol, atol=1e-7, err_msg=k)


@pytest.mark.parametrize("reentrant", MODES)
def test_gradients_equal_the_plain_run_with_dropout(reentrant):
    model = _model()
    x = mt.randn(5, 6, requires_grad=True)
    mt.manual_seed(42)
    plain_out = model(x)
    plain_out.square().sum().backward()
    plain = _grads(model, x)
    mt.manual_seed(42)
    out = checkpoint(model, x, use_reentrant=reentrant)
    np.testing.assert_allclose(_np(out), _np(plain_out), rtol=1e-6)
    mt.rand(100)  # move the generator on: the recomputation must replay the forward's draws
    out.square().sum().backward()
    _assert_same(_grads(model, x), plain)


@pytest.mark.parametrize("reentrant", MODES)
def test_backward_leaves_the_generator_where_it_was(reentrant):
    model = _model()
    x = mt.randn(4, 6, requires_grad=True)
    out = checkpoint(model, x, use_reentrant=reentrant)
    before = _np(mt.get_rng_state())
    out.sum().backward()
    np.testing.assert_array_equal(_np(mt.get_rng_state()), before)


def test_without_preserved_rng_state_the_masks_differ():
    model = _model()
    x = mt.randn(64, 6, requires_grad=True)
    mt.manual_seed(1)
    model(x).square().sum().backward()
    plain = _grads(model, x)
    mt.manual_seed(1)
    out = checkpoint(model, x, use_reentrant=False, preserve_rng_state=False)
    out.square().sum().backward()
    assert not np.allclose(_grads(model, x)["x"], plain["x"])


@pytest.mark.parametrize("reentrant", MODES)
def test_checkpoint_frees_the_forward_activations(reentrant):
    w = mt.randn(8, 8, requires_grad=True)
    refs = []

    def block(x):
        h = (x @ w).tanh()
        refs.append(weakref.ref(h))
        return h @ w

    x = mt.randn(3, 8, requires_grad=True)
    kept = block(x)
    gc.collect()
    assert refs[0]() is not None  # the plain graph holds its activation
    del kept
    out = checkpoint(block, x, use_reentrant=reentrant)
    gc.collect()
    assert refs[1]() is None
    out.sum().backward()
    assert w.grad is not None and x.grad is not None


def test_non_reentrant_inputs_without_grad_still_reach_the_parameters():
    model = _model()
    model.eval()
    x = mt.randn(4, 6)
    model(x).sum().backward()
    plain = _grads(model, x)
    checkpoint(model, x, use_reentrant=False).sum().backward()
    _assert_same(_grads(model, x), plain)


def test_reentrant_warns_when_no_input_requires_grad():
    model = _model()
    with pytest.warns(UserWarning, match="None of the inputs have requires_grad=True"):
        out = checkpoint(model, mt.randn(2, 6), use_reentrant=True)
    assert not out.requires_grad


def test_non_reentrant_with_autograd_grad_kwargs_and_nested_outputs():
    w = mt.randn(4, 4, requires_grad=True)

    def fn(x, scale=1.0):
        y = x @ w
        return {"y": y * scale, "parts": (y.sin(), 3, y.sum(-1).long())}

    x = mt.randn(2, 4, requires_grad=True)
    out = checkpoint(fn, x, use_reentrant=False, scale=2.0)
    assert out["parts"][1] == 3 and out["parts"][2].dtype is mt.int64
    assert not out["parts"][2].requires_grad
    loss = out["y"].sum() + out["parts"][0].square().sum()
    gx, gw = mt.autograd.grad(loss, [x, w])
    ref = fn(x, scale=2.0)
    rx, rw = mt.autograd.grad(ref["y"].sum() + ref["parts"][0].square().sum(), [x, w])
    np.testing.assert_allclose(_np(gx), _np(rx), rtol=1e-6)
    np.testing.assert_allclose(_np(gw), _np(rw), rtol=1e-6)


def test_non_reentrant_double_backward():
    w = mt.randn(3, 3, dtype=mt.float64, requires_grad=True)
    x = mt.randn(2, 3, dtype=mt.float64, requires_grad=True)

    def f(x, w):
        return checkpoint(lambda a, b: (a @ b).sin() @ b, x, w, use_reentrant=False)

    assert mt.autograd.gradcheck(f, (x, w))
    assert mt.autograd.gradgradcheck(f, (x, w))


def test_recomputation_that_changes_shape_is_an_error():
    calls = []

    def fn(x):
        calls.append(1)
        return x[: 3 - len(calls)] * 2

    out = checkpoint(fn, mt.randn(3, requires_grad=True), use_reentrant=False)
    with pytest.raises(CheckpointError, match="different metadata than during the forward"):
        out.sum().backward()


def test_argument_rules_match_torch():
    f = lambda x: x * 2  # noqa: E731
    x = mt.randn(2, requires_grad=True)
    with pytest.warns(UserWarning, match="the use_reentrant parameter should be passed"):
        checkpoint(f, x)
    with pytest.raises(ValueError, match="Unexpected keyword arguments: scale"):
        checkpoint(f, x, use_reentrant=True, scale=2)
    with pytest.raises(ValueError, match="Passing `context_fn` or `debug` is only supported"):
        checkpoint(f, x, use_reentrant=True, debug=True)
    with pytest.raises(ValueError, match="determinism_check should be one of"):
        checkpoint(f, x, use_reentrant=False, determinism_check="strict")
    with mt.no_grad():
        assert not checkpoint(f, x, use_reentrant=False).requires_grad
    assert mt.utils.checkpoint.checkpoint is checkpoint


@pytest.mark.parametrize("reentrant", MODES)
@pytest.mark.parametrize("segments", [1, 2, 3])
def test_checkpoint_sequential_equals_the_plain_model(reentrant, segments):
    model = _model()
    x = mt.randn(5, 6, requires_grad=True)
    mt.manual_seed(9)
    ref = model(x)
    ref.sum().backward()
    plain = _grads(model, x)
    mt.manual_seed(9)
    out = checkpoint_sequential(model, segments, x, use_reentrant=reentrant)
    np.testing.assert_allclose(_np(out), _np(ref), rtol=1e-6)
    out.sum().backward()
    _assert_same(_grads(model, x), plain)


def test_checkpoint_gradients_match_torch_on_the_same_weights():
    torch = pytest.importorskip("torch")
    tmodel = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    model = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 2))
    for (_, p), (_, tp) in zip(model.named_parameters(), tmodel.named_parameters()):
        with mt.no_grad():
            p.copy_(mt.tensor(tp.detach().numpy()))
    xv = np.random.default_rng(0).normal(size=(4, 6)).astype(np.float32)
    for reentrant in MODES:
        tx = torch.tensor(xv, requires_grad=True)
        torch.utils.checkpoint.checkpoint(tmodel, tx, use_reentrant=reentrant).square().sum()\
            .backward()
        x = mt.tensor(xv, requires_grad=True)
        checkpoint(model, x, use_reentrant=reentrant).square().sum().backward()
        np.testing.assert_allclose(_np(x.grad), tx.grad.numpy(), rtol=1e-5, atol=1e-6)
        for (_, p), (_, tp) in zip(model.named_parameters(), tmodel.named_parameters()):
            np.testing.assert_allclose(_np(p.grad), tp.grad.numpy(), rtol=1e-5, atol=1e-6)
        model.zero_grad()
        tmodel.zero_grad()


def test_returning_a_parameter_or_input_leaves_it_untouched():
    w = mt.randn(3, requires_grad=True)
    x = mt.randn(3, requires_grad=True)
    y, same_w, same_x = checkpoint(lambda a: (a * w, w, a), x, use_reentrant=False)
    assert w.requires_grad and w.grad_fn is None and x.requires_grad
    (y.sum() + same_w.sum() + same_x.sum()).backward()
    np.testing.assert_allclose(_np(w.grad), _np(x) + 1, rtol=1e-6)
    np.testing.assert_allclose(_np(x.grad), _np(w) + 1, rtol=1e-6)


@pytest.mark.parametrize("reentrant", MODES)
def test_checkpoint_on_another_backend(mini_device, reentrant):
    w = mt.randn(4, 4, device=mini_device, requires_grad=True)
    x = mt.randn(2, 4, device=mini_device, requires_grad=True)
    checkpoint(lambda a: (a @ w).tanh() @ w, x, use_reentrant=reentrant).sum().backward()
    got = (_np(w.grad), _np(x.grad))
    w.grad = x.grad = None
    ((x @ w).tanh() @ w).sum().backward()
    np.testing.assert_allclose(got[0], _np(w.grad), rtol=1e-6)
    np.testing.assert_allclose(got[1], _np(x.grad), rtol=1e-6)
    assert w.grad.device.type == "mini"
