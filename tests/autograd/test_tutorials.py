"""Autograd code from PyTorch's tutorials and docs, run unchanged with ``torch`` bound to
mbtorch, and compared against PyTorch itself when it is installed."""

from __future__ import annotations

import math

import numpy as np
import pytest

import mbtorch


def polynomial_fit(torch, steps=300):
    """"Learning PyTorch with Examples": tensors and autograd, manual updates in no_grad."""
    dtype = torch.float
    x = torch.linspace(-math.pi, math.pi, 2000, dtype=dtype)
    y = torch.sin(x)
    a = torch.tensor(0.1, dtype=dtype, requires_grad=True)
    b = torch.tensor(-0.2, dtype=dtype, requires_grad=True)
    c = torch.tensor(0.3, dtype=dtype, requires_grad=True)
    d = torch.tensor(0.05, dtype=dtype, requires_grad=True)
    learning_rate = 1e-6
    for _ in range(steps):
        y_pred = a + b * x + c * x ** 2 + d * x ** 3
        loss = (y_pred - y).pow(2).sum()
        loss.backward()
        with torch.no_grad():
            a -= learning_rate * a.grad
            b -= learning_rate * b.grad
            c -= learning_rate * c.grad
            d -= learning_rate * d.grad
            a.grad = None
            b.grad = None
            c.grad = None
            d.grad = None
    return [loss.item(), a.item(), b.item(), c.item(), d.item()]


def legendre_fit(torch, steps=100):
    """"Defining new autograd functions": P3 as a custom Function."""

    class LegendrePolynomial3(torch.autograd.Function):
        @staticmethod
        def forward(ctx, input):
            ctx.save_for_backward(input)
            return 0.5 * (5 * input ** 3 - 3 * input)

        @staticmethod
        def backward(ctx, grad_output):
            (input,) = ctx.saved_tensors
            return grad_output * 1.5 * (5 * input ** 2 - 1)

    dtype = torch.float
    x = torch.linspace(-math.pi, math.pi, 2000, dtype=dtype)
    y = torch.sin(x)
    a = torch.full((), 0.0, dtype=dtype, requires_grad=True)
    b = torch.full((), -1.0, dtype=dtype, requires_grad=True)
    c = torch.full((), 0.0, dtype=dtype, requires_grad=True)
    d = torch.full((), 0.3, dtype=dtype, requires_grad=True)
    learning_rate = 5e-6
    for _ in range(steps):
        P3 = LegendrePolynomial3.apply
        y_pred = a + b * P3(c + d * x)
        loss = (y_pred - y).pow(2).sum()
        loss.backward()
        with torch.no_grad():
            for p in (a, b, c, d):
                p -= learning_rate * p.grad
                p.grad = None
    return [loss.item(), a.item(), b.item(), c.item(), d.item()]


def gradient_penalty(torch):
    """``autograd.grad`` with ``create_graph``: differentiate a gradient norm."""
    x = torch.tensor([[0.5, -1.0], [2.0, 0.25]], requires_grad=True)
    w = torch.tensor([[1.0, -0.5], [0.3, 2.0]], requires_grad=True)
    out = (torch.tanh(x @ w) ** 2).sum()
    (g,) = torch.autograd.grad(out, x, create_graph=True)
    penalty = (g.norm(2) - 1) ** 2
    penalty.backward()
    return [penalty.item(), *w.grad.flatten().tolist(), *x.grad.flatten().tolist()]


def hooks(torch):
    """Tensor hooks from the ``register_hook`` docs, plus retain_grad."""
    v = torch.tensor([0.0, 0.0, 0.0], requires_grad=True)
    h = v.register_hook(lambda grad: grad * 2)
    u = v * 3
    u.retain_grad()
    u.backward(torch.tensor([1.0, 2.0, 3.0]))
    h.remove()
    return [*v.grad.tolist(), *u.grad.tolist()]


def second_derivative(torch):
    """Higher order: d2/dx2 of x**3 + sin(x) via repeated autograd.grad."""
    x = torch.tensor(0.7, requires_grad=True)
    y = x ** 3 + torch.sin(x)
    (dy,) = torch.autograd.grad(y, x, create_graph=True)
    (d2y,) = torch.autograd.grad(dy, x)
    return [dy.item(), d2y.item()]


PROGRAMS = [polynomial_fit, legendre_fit, gradient_penalty, hooks, second_derivative]


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.__name__)
def test_runs_unchanged_and_matches_torch(program):
    ours = program(mbtorch)
    assert all(np.isfinite(ours))
    torch = pytest.importorskip("torch")
    np.testing.assert_allclose(ours, program(torch), rtol=2e-4, atol=1e-5)


def test_known_values_without_torch():
    assert hooks(mbtorch) == [6.0, 12.0, 18.0, 1.0, 2.0, 3.0]
    dy, d2y = second_derivative(mbtorch)
    assert dy == pytest.approx(3 * 0.49 + math.cos(0.7), rel=1e-6)
    assert d2y == pytest.approx(6 * 0.7 - math.sin(0.7), rel=1e-6)
