"""Custom ``autograd.Function``: ctx, saved tensors, needs_input_grad, non-tensor args."""

from __future__ import annotations

import numpy as np
import pytest

import mbtorch as mt
from mbtorch.autograd import Function, gradcheck, gradgradcheck


class Exp(Function):
    @staticmethod
    def forward(ctx, x):
        y = x.exp()
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return grad * y


class ScaledMul(Function):
    """A non-tensor argument, needs_input_grad and two outputs, one non-differentiable."""

    @staticmethod
    def forward(ctx, a, b, scale):
        ctx.save_for_backward(a, b)
        ctx.scale = scale
        out = a * b * scale
        mask = out > 0
        ctx.mark_non_differentiable(mask)
        return out, mask

    @staticmethod
    def backward(ctx, grad, grad_mask):
        a, b = ctx.saved_tensors
        ga = grad * b * ctx.scale if ctx.needs_input_grad[0] else None
        gb = grad * a * ctx.scale if ctx.needs_input_grad[1] else None
        return ga, gb, None


def f64(values, grad=True):
    return mt.tensor(values, dtype=mt.float64, requires_grad=grad)


def test_custom_exp():
    x = f64([0.0, 1.0])
    y = Exp.apply(x)
    assert y.grad_fn.name() == "ExpBackward" and y.requires_grad
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.exp([0.0, 1.0]))
    assert gradcheck(Exp.apply, (f64([0.3, -0.2]),))
    assert gradgradcheck(Exp.apply, (f64([0.3, -0.2]),))  # saved output carries history


def test_needs_input_grad_and_non_differentiable_output():
    a, b = f64([1.0, -2.0]), f64([3.0, 4.0], grad=False)
    out, mask = ScaledMul.apply(a, b, 0.5)
    assert out.requires_grad and not mask.requires_grad
    assert out.grad_fn.needs_input_grad == (True, False, False)
    out.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), [1.5, 2.0])


def test_saved_tensors_are_freed_and_version_checked():
    x = f64([1.0])
    y = Exp.apply(x)
    y.sum().backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        _ = y.grad_fn.saved_tensors
    h = x * 1
    z = ScaledMul.apply(h, h, 2.0)[0]
    h.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


def test_wrong_number_of_gradients():
    class Bad(Function):
        @staticmethod
        def forward(ctx, x, y):
            return x + y

        @staticmethod
        def backward(ctx, g):
            return g

    with pytest.raises(RuntimeError, match="returned an incorrect number of gradients"):
        Bad.apply(f64([1.0]), f64([2.0])).sum().backward()


def test_no_graph_without_grad():
    with mt.no_grad():
        y = Exp.apply(f64([1.0]))
    assert not y.requires_grad and y.grad_fn is None


def test_setup_context_style():
    class Square(Function):
        @staticmethod
        def forward(x):
            return x * x

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(inputs[0])

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

    assert gradcheck(Square.apply, (f64([0.5, -1.5]),))
