"""``fmax``, ``fmin``, ``frexp``, ``ldexp``, ``nextafter`` and ``rsub`` (``float_math.py``)
against PyTorch, bit for bit: NaN, signed zeros, subnormals, infinities, the largest finite
values, promotion, gradients, errors."""

import numpy as np
import pytest

import mbtorch as mt
from tests.core.torch_parity import grads_match, same

torch = pytest.importorskip("torch")

NAN, INF = float("nan"), float("inf")
XS = [0.0, -0.0, 1.0, -3.5, 1e-40, INF, -INF, NAN, 3.4e38, 0.75, 1 - 2**-24, 2**-149,
      -(2**-126), 5e-324, 2.0**-1022, -1.7e308, 1.5]
YS = [1.0, -1.0, 0.0, -3.5, 0.0, 0.0, 0.0, 1.0, INF, -1.0, 2.0, 0.0, 0.0, 1.0, -INF, -INF,
      NAN]
SPREAD = np.random.default_rng(23).normal(size=64) * 10.0 ** np.random.default_rng(29).integers(
    -300, 300, 64)


def _as(values, dtype):
    with np.errstate(over="ignore"):  # float64 values past float32's range become inf
        return np.asarray(values).astype(dtype)


@pytest.mark.parametrize("name", ["fmax", "fmin"])
def test_fmax_fmin(name):
    a, b = [1.0, NAN, NAN, 2.0, -0.0], [NAN, 3.0, NAN, 1.0, 0.0]
    same(getattr(mt, name)(mt.tensor(a), mt.tensor(b)),
         getattr(torch, name)(torch.tensor(a), torch.tensor(b)), exact=True)
    same(getattr(mt.tensor([1, 5]), name)(mt.tensor([2.0, NAN])),
         getattr(torch.tensor([1, 5]), name)(torch.tensor([2.0, NAN])))
    same(getattr(mt, name)(mt.tensor([1, 5]), mt.tensor([[2], [3]], dtype=mt.int8)),
         getattr(torch, name)(torch.tensor([1, 5]), torch.tensor([[2], [3]], dtype=torch.int8)))
    ties = np.array([1.0, 2.0, 3.0])  # ties: the gradient goes to input, as PyTorch's
    grads_match(lambda m, a, b: getattr(m, name)(a, b), ties, np.array([1.0, 5.0, NAN]))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_frexp_bit_exact(dtype):
    for values in (XS, SPREAD):
        x = _as(values, dtype)
        same(mt.frexp(mt.tensor(x)), torch.frexp(torch.tensor(x)), exact=True)
    res = mt.tensor([8.0]).frexp()
    assert type(res).__name__ == "frexp" and res.exponent.tolist() == [4]


def test_frexp_gradient_and_half():
    # exponents inside float32's range: PyTorch divides by exp2 of the int32 exponent, which
    # it evaluates in float32
    grads_match(lambda m, t: m.frexp(t).mantissa, [3.0, -0.2, 1e20, 5e-25, 0.75])
    x = np.array([0.1, -3.0, 1000.0, 6e-5], np.float16)
    same(mt.frexp(mt.tensor(x)), torch.frexp(torch.tensor(x)), exact=True)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_nextafter_bit_exact(dtype):
    x, y = _as(XS, dtype), _as(YS, dtype)
    same(mt.nextafter(mt.tensor(x), mt.tensor(y)), torch.nextafter(torch.tensor(x),
                                                                  torch.tensor(y)), exact=True)
    same(mt.tensor(y).nextafter(mt.tensor(x)), torch.tensor(y).nextafter(torch.tensor(x)),
         exact=True)
    s = _as(SPREAD, dtype)
    same(mt.nextafter(mt.tensor(s), mt.tensor(-s)), torch.nextafter(torch.tensor(s),
                                                                    torch.tensor(-s)),
         exact=True)
    ours, theirs = mt.tensor(s), torch.tensor(s)
    ours.nextafter_(mt.tensor(s * 2))
    theirs.nextafter_(torch.tensor(s * 2))
    same(ours, theirs, exact=True)


@pytest.mark.parametrize("a,b", [([1, 2], [3, 4]), ([1.0, 2.0], [3.5, -4.0]),
                                 (np.array([1.0, 2.0]), [3, 4]), ([[1.0], [2.0]], [[1], [-2]])])
def test_ldexp(a, b):
    same(mt.ldexp(mt.tensor(a), mt.tensor(b)), torch.ldexp(torch.tensor(a), torch.tensor(b)))


def test_ldexp_gradient():
    # non-negative integer exponents: PyTorch's derivative takes 2 ** other in integers
    grads_match(lambda m, t: m.ldexp(t, m.tensor([3, 0])), [1.5, -2.0])
    grads_match(lambda m, t, e: m.ldexp(t, e), [1.5, -2.0], [0.5, -1.25])


def test_ldexp_inplace():
    ours, theirs = mt.tensor([1.0, 2.0]), torch.tensor([1.0, 2.0])
    mt.ldexp_(ours, mt.tensor([1, 2]))
    torch.ldexp_(theirs, torch.tensor([1, 2]))
    same(ours, theirs)
    with pytest.raises(RuntimeError, match="can't be cast"):
        mt.tensor([1, 2]).ldexp_(mt.tensor([1, 2]))


@pytest.mark.parametrize("expr", [
    lambda m: m.rsub(m.tensor([1, 2]), 5),
    lambda m: m.rsub(m.tensor([1, 2]), m.tensor([1.0, 1.0]), alpha=2),
    lambda m: m.rsub(m.tensor([1.5, 2.0]), 1),
])
def test_rsub(expr):
    same(expr(mt), expr(torch))


@pytest.mark.parametrize("call,exc", [
    (lambda m: m.frexp(m.tensor([1, 2])), RuntimeError),
    (lambda m: m.nextafter(m.tensor([1]), m.tensor([2])), NotImplementedError),
    (lambda m: m.rsub(m.tensor([True]), m.tensor([True])), RuntimeError),
])
def test_errors_match_torch(call, exc):
    with pytest.raises(exc) as theirs:
        call(torch)
    with pytest.raises(exc) as ours:
        call(mt)
    assert str(theirs.value) in str(ours.value)


def test_tensor_arguments_required():
    with pytest.raises(TypeError, match="fmax"):
        mt.fmax(mt.tensor([1.0]), 2.0)
    with pytest.raises(TypeError, match="ldexp"):
        mt.ldexp(mt.tensor([1.0]), 3)
