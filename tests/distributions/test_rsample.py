"""Reparameterised sampling: gradients of ``rsample`` with respect to the parameters.

Location-scale families are checked against the derivative of their sampling map evaluated
on the sample itself, and by finite differences at a fixed seed (``gradcheck``); Gamma, Beta
and Dirichlet (implicit reparameterisation) against PyTorch's ``_standard_gamma_grad``, the
CDF-based definition and the gradient of the analytic mean."""

from __future__ import annotations

import numpy as np
import pytest

import mbtorch as mt
import mbtorch.distributions as D
from mbtorch.distributions._samplers import standard_gamma_grad

from ._specs import np_of

torch = pytest.importorskip("torch")
W = np.linspace(-1.0, 2.0, 12).reshape(4, 3)  # loss weights over (sample, batch)


def _leaves(*arrays):
    return [mt.tensor(np.asarray(a, dtype=np.float64), requires_grad=True) for a in arrays]


def _weighted_rsample(dist):
    x = dist.rsample((4,))
    (x * mt.tensor(W)).sum().backward()
    return np_of(x)


@pytest.mark.parametrize("name", ["Normal", "Laplace", "Cauchy", "Gumbel", "StudentT"])
def test_location_scale_gradients(name):
    mt.manual_seed(1)
    loc, scale = _leaves([0.5, -1.0, 2.0], [0.7, 1.5, 2.0])
    extra = (mt.tensor([4.0, 6.0, 9.0], dtype=mt.float64),) if name == "StudentT" else ()
    x = _weighted_rsample(getattr(D, name)(*extra, loc, scale))
    z = (x - np_of(loc)) / np_of(scale)
    np.testing.assert_allclose(np_of(loc.grad), W.sum(0), rtol=1e-10)
    np.testing.assert_allclose(np_of(scale.grad), (W * z).sum(0), rtol=1e-9)


def test_uniform_exponential_lognormal_halfnormal_gradients():
    mt.manual_seed(2)
    low, high = _leaves([-1.0, 0.0, 2.0], [1.0, 0.5, 5.0])
    x = _weighted_rsample(D.Uniform(low, high))
    width = np_of(high) - np_of(low)
    np.testing.assert_allclose(np_of(low.grad), (W * (np_of(high) - x) / width).sum(0))
    np.testing.assert_allclose(np_of(high.grad), (W * (x - np_of(low)) / width).sum(0))
    (rate,) = _leaves([0.5, 1.0, 3.0])
    x = _weighted_rsample(D.Exponential(rate))
    np.testing.assert_allclose(np_of(rate.grad), (W * -x / np_of(rate)).sum(0))
    loc, scale = _leaves([0.1, -0.5, 1.0], [0.3, 0.6, 0.9])
    x = _weighted_rsample(D.LogNormal(loc, scale))
    np.testing.assert_allclose(np_of(loc.grad), (W * x).sum(0))
    np.testing.assert_allclose(np_of(scale.grad),
                               (W * x * (np.log(x) - np_of(loc)) / np_of(scale)).sum(0))
    (scale,) = _leaves([0.3, 0.6, 0.9])
    x = _weighted_rsample(D.HalfNormal(scale))
    np.testing.assert_allclose(np_of(scale.grad), (W * x / np_of(scale)).sum(0))


@pytest.mark.parametrize("name", ["Normal", "Laplace", "Cauchy", "Uniform", "Gumbel",
                                  "LogNormal"])
def test_rsample_gradcheck_at_a_fixed_seed(name):
    a, b = _leaves([0.2, -0.4], [0.8, 1.3])

    def sample(a, b):
        mt.manual_seed(4)
        second = a + b if name == "Uniform" else b  # Uniform(low, high): high above low
        return getattr(D, name)(a, second).rsample((3,))

    assert mt.autograd.gradcheck(sample, (a, b))


def test_multivariate_normal_rsample_gradient_matches_torch_on_the_same_noise():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(3, 3))
    cov = a @ a.T + 3 * np.eye(3)
    loc = rng.normal(size=3)
    mloc, mcov = _leaves(loc, cov)
    mt.manual_seed(9)
    x = D.MultivariateNormal(mloc, covariance_matrix=mcov).rsample((5,))
    w = rng.normal(size=(5, 3))
    (x * mt.tensor(w)).sum().backward()
    # the same noise through PyTorch's own Cholesky
    eps = np.linalg.solve(np.linalg.cholesky(cov), (np_of(x) - loc).T).T
    tloc = torch.tensor(loc, requires_grad=True)
    tcov = torch.tensor(cov, requires_grad=True)
    tx = tloc + (torch.linalg.cholesky(tcov) @ torch.tensor(eps).T).T
    (tx * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(np_of(mloc.grad), tloc.grad.numpy(), rtol=1e-9)
    np.testing.assert_allclose(np_of(mcov.grad), tcov.grad.numpy(), rtol=1e-8, atol=1e-10)


def test_standard_gamma_grad_matches_torch():
    alpha = np.repeat([0.05, 0.3, 0.9, 1.0, 2.5, 5.0, 8.5, 20.0, 150.0], 50)
    torch.manual_seed(0)
    x = torch._standard_gamma(torch.tensor(alpha))
    expected = torch._standard_gamma_grad(torch.tensor(alpha), x).numpy()
    got = np_of(standard_gamma_grad(mt.tensor(alpha), mt.tensor(x.numpy())))
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-300)


def test_standard_gamma_grad_is_the_implicit_cdf_derivative():
    # dx/dalpha = -(dF/dalpha) / pdf with F the regularised incomplete gamma function
    alpha = torch.tensor([0.4, 1.7, 3.0, 12.0], dtype=torch.float64)
    x = torch.tensor([0.3, 2.0, 2.5, 11.0], dtype=torch.float64)
    h = 1e-6
    dfda = (torch.special.gammainc(alpha + h, x) - torch.special.gammainc(alpha - h, x)) / (2 * h)
    pdf = torch.exp((alpha - 1) * x.log() - x - torch.lgamma(alpha))
    got = np_of(standard_gamma_grad(mt.tensor(alpha.numpy()), mt.tensor(x.numpy())))
    np.testing.assert_allclose(got, (-dfda / pdf).numpy(), rtol=2e-3)


def test_gamma_rsample_gradient_has_the_mean_gradient():
    mt.manual_seed(3)
    conc, rate = _leaves([0.5, 2.0, 7.0], [1.0, 2.0, 0.5])
    n = 40000
    D.Gamma(conc, rate).rsample((n,)).sum().backward()
    # d E[x] / d concentration = 1 / rate, d E[x] / d rate = -concentration / rate^2
    np.testing.assert_allclose(np_of(conc.grad) / n, 1 / np_of(rate), rtol=0.03)
    np.testing.assert_allclose(np_of(rate.grad) / n, -np_of(conc) / np_of(rate) ** 2, rtol=0.03)


def test_beta_and_dirichlet_rsample_gradients_have_the_mean_gradient():
    mt.manual_seed(4)
    a, b = _leaves([0.7, 2.0], [1.5, 3.0])
    n = 40000
    D.Beta(a, b).rsample((n,)).sum().backward()
    av, bv = np_of(a), np_of(b)
    np.testing.assert_allclose(np_of(a.grad) / n, bv / (av + bv) ** 2, rtol=0.05)
    np.testing.assert_allclose(np_of(b.grad) / n, -av / (av + bv) ** 2, rtol=0.05)
    (conc,) = _leaves([0.8, 1.5, 3.0])
    x = D.Dirichlet(conc).rsample((n,))
    x[:, 0].sum().backward()
    c = np_of(conc)
    total = c.sum()
    expected = -c[0] / total**2 * np.ones(3)
    expected[0] += 1 / total
    np.testing.assert_allclose(np_of(conc.grad) / n, expected, rtol=0.06, atol=2e-3)


def test_sample_has_no_gradient_and_rsample_only_where_supported():
    loc = mt.tensor([0.0, 1.0], requires_grad=True)
    assert not D.Normal(loc, 1.0).sample().requires_grad
    assert D.Normal(loc, 1.0).rsample().requires_grad
    with pytest.raises(NotImplementedError):
        D.Poisson(mt.tensor([1.0])).rsample()
    assert not D.Bernoulli(mt.tensor([0.3])).has_rsample


def test_manual_seed_makes_sampling_reproducible():
    d = D.Gamma(mt.tensor([0.5, 3.0]), mt.tensor(1.0))
    mt.manual_seed(21)
    first = np_of(d.sample((100,)))
    mt.manual_seed(21)
    np.testing.assert_array_equal(first, np_of(d.sample((100,))))
