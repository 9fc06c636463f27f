"""``mbtorch.autograd.functional`` against ``torch.autograd.functional``: the same functions
at the same points, Tensor and tuple inputs and outputs, ``create_graph``, ``strict``,
and the argument errors."""

import numpy as np
import pytest

import mbtorch as mt
from mbtorch.autograd import functional as AF
from tests.conftest import assert_close

torch = pytest.importorskip("torch")
TF = torch.autograd.functional

RNG = np.random.default_rng(21)


def pair(*shape):
    a = RNG.normal(size=shape)
    return mt.tensor(a), torch.tensor(a)


def compare(m, t):
    """Same nesting of tuples, same values."""
    if isinstance(t, tuple):
        assert isinstance(m, tuple) and len(m) == len(t)
        for a, b in zip(m, t):
            compare(a, b)
    else:
        assert isinstance(m, mt.Tensor) and tuple(m.shape) == tuple(t.shape)
        assert_close(m.detach(), t.detach(), 1e-10, 1e-10)


def run_both(name, func, inputs, *rest, **kw):
    """Call ``name`` of both libraries; ``func(lib, *xs)`` is written once for both."""
    pick = (lambda i, v: tuple(e[i] for e in v) if isinstance(v, list) else v[i])
    out_m = getattr(AF, name)(lambda *xs: func(mt, *xs), pick(0, inputs),
                              *(pick(0, r) for r in rest), **kw)
    out_t = getattr(TF, name)(lambda *xs: func(torch, *xs), pick(1, inputs),
                              *(pick(1, r) for r in rest), **kw)
    compare(out_m, out_t)
    return out_m


def f_vec(lib, x):
    return lib.sin(x) * x ** 2


def f_two_in(lib, x, y):
    return (x.exp() * y).sum(-1)


def f_two_out(lib, x, y):
    return x * y, (x ** 3).sum()


def f_scalar(lib, x):
    return (x.sin() * x.cos() * x ** 2).sum()


def f_scalar_two(lib, x, y):
    return (x.exp() * y ** 2).sum() + (x * y).sum() ** 2


def test_vjp_and_jvp_single_and_tuple():
    run_both("vjp", f_vec, pair(3, 2), pair(3, 2))
    run_both("jvp", f_vec, pair(3, 2), pair(3, 2))
    run_both("vjp", f_two_in, [pair(2, 3), pair(2, 3)], pair(2))
    run_both("jvp", f_two_in, [pair(2, 3), pair(2, 3)], [pair(2, 3), pair(2, 3)])
    run_both("vjp", f_two_out, [pair(4), pair(4)], [pair(4), pair()])
    run_both("jvp", f_two_out, [pair(4), pair(4)], [pair(4), pair(4)])
    run_both("vjp", f_scalar, pair(5))  # v may be None for a one-element output
    run_both("jvp", f_vec, pair(1))  # ... and for jvp with a one-element input


def test_jacobian_structures():
    run_both("jacobian", f_vec, pair(3, 2))
    run_both("jacobian", f_two_in, [pair(2, 3), pair(2, 3)])
    run_both("jacobian", f_two_out, [pair(4), pair(4)])
    run_both("jacobian", f_two_out, [pair(4), pair(4)], vectorize=True)
    run_both("jacobian", lambda lib, x: x.sum(), pair(3))


def test_hessian_vhp_hvp():
    run_both("hessian", f_scalar, pair(4))
    run_both("hessian", f_scalar_two, [pair(3), pair(2, 3)])
    run_both("vhp", f_scalar, pair(4), pair(4))
    run_both("hvp", f_scalar, pair(4), pair(4))
    run_both("vhp", f_scalar_two, [pair(3), pair(2, 3)], [pair(3), pair(2, 3)])
    run_both("hvp", f_scalar_two, [pair(3), pair(2, 3)], [pair(3), pair(2, 3)])


def test_non_strict_zeros_and_strict_errors():
    def independent(lib, x, y):
        return x * 2.0

    run_both("jacobian", independent, [pair(3), pair(2)])
    run_both("vjp", independent, [pair(3), pair(2)], pair(3))
    run_both("jvp", independent, [pair(3), pair(2)], [pair(3), pair(2)])
    x, y = mt.ones(3), mt.ones(2)
    with pytest.raises(RuntimeError, match="Output 0 of the user-provided function is "
                                           "independent of input 1"):
        AF.jacobian(lambda a, b: a * 2.0, (x, y), strict=True)
    with pytest.raises(RuntimeError, match="independent of input 1"):
        AF.vjp(lambda a, b: a * 2.0, (x, y), mt.ones(3), strict=True)
    with pytest.raises(RuntimeError, match="does not require gradients"):
        AF.vjp(lambda a: mt.ones(3), x, mt.ones(3), strict=True)
    with pytest.raises(RuntimeError, match="jacobian of the user-provided function with "
                                           "respect to input 0 is independent"):
        AF.hessian(lambda a: (a * 2.0).sum(), x, strict=True)  # linear: the Hessian is 0
    compare(AF.hessian(lambda a: (a * 2.0).sum(), x), torch.zeros(3, 3))


def test_create_graph_keeps_a_graph():
    xm, xt = pair(3)
    xm.requires_grad_(True)
    xt.requires_grad_(True)
    _, gm = AF.vjp(lambda a: (a ** 3).sum(), xm, create_graph=True)
    _, gt = TF.vjp(lambda a: (a ** 3).sum(), xt, create_graph=True)
    assert gm.requires_grad and gt.requires_grad
    gm.sum().backward()
    gt.sum().backward()
    assert_close(xm.grad, xt.grad, 1e-10, 1e-10)
    hm = AF.hessian(lambda a: (a ** 3).sum(), xm.detach(), create_graph=False)
    assert not hm.requires_grad
    _, jm = AF.jvp(lambda a: a ** 3, xm.detach(), mt.ones(3, dtype=mt.float64))
    assert not jm.requires_grad


def test_argument_errors_match_torch():
    x = mt.ones(3)
    cases = [
        (lambda: AF.vjp(f_scalar, 3), TypeError, "The inputs given to vjp must be either a "
                                                 "Tensor or a tuple of Tensors"),
        (lambda: AF.vjp(lambda a: 3, x), TypeError, "The outputs of the user-provided function "
                                                    "given to vjp must be"),
        (lambda: AF.vjp(lambda a: a * 2, x), RuntimeError, "v can only be None"),
        (lambda: AF.jvp(lambda a: a * 2, x), RuntimeError, "v can only be None"),
        (lambda: AF.vjp(lambda a: a * 2, x, mt.ones(2)), RuntimeError,
         r"v has invalid size: should be mbtorch.Size\(\[3\]\)"),
        (lambda: AF.jvp(lambda a, b: a, (x, x), (x,)), RuntimeError,
         "v is a tuple of invalid length: should be 2 but got 1"),
        (lambda: AF.hessian(lambda a: a * 2, x), RuntimeError, "should contain a single element"),
        (lambda: AF.hessian(lambda a: (a.sum(), a.sum()), x), RuntimeError,
         "should return a single Tensor"),
        (lambda: AF.hvp(lambda a: a, x, x), RuntimeError, "should contain a single element"),
        (lambda: AF.jacobian(f_scalar, x, strategy="sideways"), ValueError,
         "forward-mode\" or \"reverse-mode"),
        (lambda: AF.jacobian(f_scalar, x, strategy="forward-mode"), ValueError,
         "only implemented for `vectorize=True`"),
    ]
    for call, kind, message in cases:
        with pytest.raises(kind, match=message):
            call()


def test_multithreading_flag():
    assert mt.autograd.is_multithreading_enabled() is torch.autograd.is_multithreading_enabled()
    with mt.autograd.set_multithreading_enabled(False):
        assert mt.autograd.is_multithreading_enabled() is False
        x = mt.tensor([2.0], requires_grad=True)
        (x ** 2).sum().backward()  # backward still runs, on this thread
        assert x.grad.item() == 4.0
    assert mt.autograd.is_multithreading_enabled() is True

    @mt.autograd.set_multithreading_enabled(False)
    def inside():
        return mt.autograd.is_multithreading_enabled()

    assert mt.autograd.is_multithreading_enabled() is True
    assert inside() is False
