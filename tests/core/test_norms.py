"""``cdist`` and ``dist`` (``norms.py``) against PyTorch: every p, both cdist formulations,
batch broadcasting, strided and empty inputs, gradients (finite at zero distance), errors."""

import math

import numpy as np
import pytest

import mbtorch as mt
from mbtorch.autograd import gradcheck
from tests.conftest import assert_close

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(9)


@pytest.mark.parametrize("p", [0.0, 1.0, 2.0, 3.0, 0.5, math.inf])
def test_cdist_matches_torch(p):
    a, b = RNG.normal(size=(2, 5, 3)), RNG.normal(size=(2, 4, 3))
    a[0, 1] = b[0, 2]  # a zero distance
    assert_close(mt.cdist(mt.tensor(a), mt.tensor(b), p),
                 torch.cdist(torch.tensor(a), torch.tensor(b), p), rtol=1e-12, atol=1e-12)
    ta, tb = torch.tensor(a).transpose(-1, -2), torch.tensor(b).transpose(-1, -2)
    ma, mb = mt.tensor(a).transpose(-1, -2), mt.tensor(b).transpose(-1, -2)
    assert_close(mt.cdist(ma.transpose(-1, -2), mb.transpose(-1, -2), p),
                 torch.cdist(ta.transpose(-1, -2), tb.transpose(-1, -2), p), rtol=1e-12)


@pytest.mark.parametrize("mode", ["use_mm_for_euclid_dist_if_necessary",
                                  "use_mm_for_euclid_dist", "donot_use_mm_for_euclid_dist"])
def test_cdist_euclidean_modes_and_broadcasting(mode):
    a = RNG.normal(size=(2, 1, 30, 3)).astype(np.float32)
    b = RNG.normal(size=(3, 27, 3)).astype(np.float32)
    out = mt.cdist(mt.tensor(a), mt.tensor(b), compute_mode=mode)
    assert out.shape == (2, 3, 30, 27) and out.dtype is mt.float32
    assert_close(out, torch.cdist(torch.tensor(a), torch.tensor(b), compute_mode=mode),
                 rtol=1e-5, atol=1e-5)


def test_cdist_empty_and_errors():
    assert mt.cdist(mt.zeros(0, 3), mt.ones(2, 3)).shape == (0, 2)
    assert mt.cdist(mt.ones(2, 0), mt.ones(3, 0)).tolist() == [[0.0] * 3] * 2
    with pytest.raises(RuntimeError, match="floating-point"):
        mt.cdist(mt.ones(2, 3, dtype=mt.int64), mt.ones(2, 3, dtype=mt.int64))
    with pytest.raises(RuntimeError, match="at least 2D"):
        mt.cdist(mt.ones(3), mt.ones(2, 3))
    with pytest.raises(RuntimeError, match="same number of columns"):
        mt.cdist(mt.ones(2, 3), mt.ones(2, 4))
    with pytest.raises(RuntimeError, match="non-negative"):
        mt.cdist(mt.ones(2, 3), mt.ones(2, 3), p=-1)
    with pytest.raises(ValueError, match="compute_mode"):
        mt.cdist(mt.ones(2, 3), mt.ones(2, 3), compute_mode="foo")
    with pytest.raises(RuntimeError, match="expected scalar type"):
        mt.cdist(mt.ones(2, 3), mt.ones(2, 3, dtype=mt.float64))
    with pytest.raises(RuntimeError, match="must match"):
        mt.cdist(mt.ones(2, 2, 3), mt.ones(3, 3, 3))


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0, math.inf])
def test_cdist_gradient(p):
    a = mt.tensor(RNG.normal(size=(3, 2)), requires_grad=True)
    b = mt.tensor(RNG.normal(size=(4, 2)), requires_grad=True)
    assert gradcheck(lambda x, y: mt.cdist(x, y, p), (a, b))


def test_cdist_gradient_is_zero_at_zero_distance():
    x = mt.tensor([[1.0, 2.0], [3.0, 5.0]], dtype=mt.float64, requires_grad=True)
    mt.cdist(x, x.detach()).sum().backward()
    tx = torch.tensor([[1.0, 2.0], [3.0, 5.0]], dtype=torch.float64, requires_grad=True)
    torch.cdist(tx, tx.detach()).sum().backward()
    assert_close(x.grad, tx.grad)


def test_dist_matches_torch():
    a, b = RNG.normal(size=(3, 4)), RNG.normal(size=(4,))
    for p in (0, 1, 2, 3.5, math.inf, -math.inf):
        assert_close(mt.dist(mt.tensor(a), mt.tensor(b), p),
                     torch.dist(torch.tensor(a), torch.tensor(b), p), rtol=1e-12)
    assert_close(mt.tensor(a).t().dist(mt.tensor(a).t(), 2), torch.tensor(0.0, dtype=torch.float64))
    mixed = mt.dist(mt.ones(2), mt.zeros(2, dtype=mt.float64))
    assert mixed.dtype is mt.float64 and mixed.shape == ()
    x = mt.tensor(a, requires_grad=True)
    assert gradcheck(lambda t: mt.dist(t, mt.tensor(b), 3), (x,))
    y = mt.tensor([1.0, 2.0], requires_grad=True)
    mt.dist(y, y.detach()).backward()  # PyTorch's subgradient at 0
    assert y.grad.tolist() == [0.0, 0.0]
    with pytest.raises(RuntimeError, match="floating point"):
        mt.dist(mt.ones(2, dtype=mt.int64), mt.zeros(2, dtype=mt.int64))
    with pytest.raises(RuntimeError, match="must match"):
        mt.dist(mt.ones(2), mt.zeros(3))


def test_vector_norm_ord0_counts_nonzeros_with_an_undefined_gradient():
    v = [float("nan"), 0.0, float("inf"), -0.0, -2.0]
    x, tx = mt.tensor(v, requires_grad=True), torch.tensor(v, requires_grad=True)
    y, ty = mt.linalg.vector_norm(x, ord=0), torch.linalg.vector_norm(tx, ord=0)
    assert y.item() == ty.item() == 3.0
    assert y.requires_grad and ty.requires_grad
    y.backward()  # differentiable, as in PyTorch, but no gradient reaches x
    ty.backward()
    assert x.grad is None and tx.grad is None
    got = mt.autograd.grad(mt.linalg.vector_norm(x, ord=0), x, allow_unused=True)
    want = torch.autograd.grad(torch.linalg.vector_norm(tx, ord=0), tx, allow_unused=True)
    assert got == want == (None,)
    with pytest.raises(RuntimeError, match="not have been used in the graph"):
        mt.autograd.grad(mt.linalg.vector_norm(x, ord=0), x)
    (mt.linalg.vector_norm(x, ord=0) + x.sum()).backward()  # other paths still reach x
    assert x.grad.tolist() == [1.0] * 5
