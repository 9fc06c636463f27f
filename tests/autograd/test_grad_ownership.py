"""A fresh ``.grad`` takes the engine's own gradient without a copy (PyTorch's AccumulateGrad),
and never one that anything else can reach: hooks, the user's gradient, a saved output, or
another leaf's ``.grad``."""

from __future__ import annotations

import numpy as np

import mbtorch as mt
from mbtorch.autograd import engine


def test_linear_layer_grads_are_not_copied(monkeypatch):
    w = mt.ones(2, 3, requires_grad=True)
    b = mt.ones(2, requires_grad=True)
    x = mt.ones(4, 3)
    loss = (x @ w.t() + b).sum()
    copies = []
    clone = engine.clone
    monkeypatch.setattr(engine, "clone", lambda g: copies.append(g) or clone(g))
    loss.backward()
    assert copies == []
    np.testing.assert_array_equal(w.grad.numpy(), np.full((2, 3), 4.0))
    np.testing.assert_array_equal(b.grad.numpy(), np.full(2, 4.0))


def test_gradient_seen_by_a_hook_is_copied():
    kept = []
    a = mt.ones(3, requires_grad=True)
    b = mt.ones(3, requires_grad=True)
    h = a * 2
    h.register_hook(kept.append)
    (h + b).sum().backward()
    b.grad.add_(10)
    a.grad.add_(1)
    np.testing.assert_array_equal(kept[0].numpy(), np.ones(3))
    np.testing.assert_array_equal(a.grad.numpy(), np.full(3, 3.0))


def test_one_gradient_for_two_leaves_is_not_shared():
    d = mt.ones(3, requires_grad=True)
    e = mt.ones(3, requires_grad=True)
    (d + e).sum().backward()
    d.grad.add_(5)
    np.testing.assert_array_equal(e.grad.numpy(), np.ones(3))


def test_user_gradient_and_saved_output_are_not_taken():
    w = mt.ones(2, 3, requires_grad=True)
    g0 = mt.ones(4, 2)
    (mt.ones(4, 3) @ w.t()).backward(g0)
    w.grad.add_(1)
    np.testing.assert_array_equal(g0.numpy(), np.ones((4, 2)))
    y = mt.ones(3, requires_grad=True)
    z = y.exp()
    z.backward(mt.ones(3), retain_graph=True)
    y.grad.add_(100)
    np.testing.assert_allclose(z.detach().numpy(), np.full(3, np.e), rtol=1e-6)
    z.backward(mt.ones(3))
    np.testing.assert_allclose(y.grad.numpy(), np.full(3, 100 + 2 * np.e), rtol=1e-6)
