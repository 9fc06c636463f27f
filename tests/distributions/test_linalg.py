"""The package-private compositions the distributions rely on (Cholesky and triangular
solves) and the exponential-family entropy, against PyTorch and NumPy."""

from __future__ import annotations

import numpy as np
import pytest

import mbtorch as mt
import mbtorch.distributions as D
from mbtorch.distributions._linalg import cholesky, is_positive_definite, solve_lower, tri_inverse

from ._specs import np_of

torch = pytest.importorskip("torch")


def test_cholesky_and_solves_match_numpy():
    rng = np.random.default_rng(0)
    r = rng.normal(size=(2, 4, 4))
    a = r @ np.swapaxes(r, -1, -2) + np.eye(4)
    lower = cholesky(mt.tensor(a))
    np.testing.assert_allclose(np_of(lower), np.linalg.cholesky(a), rtol=1e-12, atol=1e-14)
    b = rng.normal(size=(2, 4, 3))
    np.testing.assert_allclose(np_of(solve_lower(lower, mt.tensor(b))),
                               np.linalg.solve(np.linalg.cholesky(a), b), rtol=1e-10)
    np.testing.assert_allclose(np_of(tri_inverse(lower)),
                               np.linalg.inv(np.linalg.cholesky(a)), rtol=1e-10, atol=1e-12)
    assert np_of(is_positive_definite(mt.tensor(np.stack([a[0], -a[1]])))).tolist() == [True,
                                                                                           False]
    with pytest.raises(RuntimeError, match="not positive-definite"):
        cholesky(mt.tensor(-a))
    with pytest.raises(ValueError, match="square matrices"):
        cholesky(mt.ones(2, 3))


def test_cholesky_gradient_matches_torch():
    rng = np.random.default_rng(1)
    r = rng.normal(size=(3, 3))
    a = r @ r.T + np.eye(3)
    w = rng.normal(size=(3, 3))
    ma = mt.tensor(a, requires_grad=True)
    (cholesky(ma) * mt.tensor(w)).sum().backward()
    ta = torch.tensor(a, requires_grad=True)
    (torch.linalg.cholesky(ta) * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(np_of(ma.grad), ta.grad.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("cls,args", [
    (D.Normal, ([0.3, -1.0], [0.5, 2.0])), (D.Exponential, ([0.5, 3.0],)),
    (D.Gamma, ([0.7, 4.0], [1.0, 2.5])), (D.Bernoulli, ([0.2, 0.7],)),
])
def test_exponential_family_entropy_from_the_log_normaliser(cls, args):
    d = cls(*[mt.tensor(a, dtype=mt.float64) for a in args])
    np.testing.assert_allclose(np_of(D.ExponentialFamily.entropy(d)), np_of(d.entropy()),
                               rtol=1e-9, atol=1e-12)
