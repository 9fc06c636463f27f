"""``kl_divergence`` against PyTorch's on identical parameters (values and gradients), and the
``register_kl`` registry's dispatch and errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import mbtorch as mt
import mbtorch.distributions as D

from ._specs import np_of

torch = pytest.importorskip("torch")
TD = torch.distributions
RNG = np.random.default_rng(5)


def _pos(lo=0.5, hi=2.0, shape=(3,)):
    return RNG.uniform(lo, hi, shape)


def _spd():
    a = RNG.normal(size=(2, 3, 3))
    return a @ np.swapaxes(a, -1, -2) + 3 * np.eye(3)


# (p class, p params, q class, q params)
PAIRS = {
    "normal": ("Normal", [RNG.normal(size=3), _pos()], "Normal", [RNG.normal(size=3), _pos()]),
    "bernoulli": ("Bernoulli", [_pos(0.1, 0.9)], "Bernoulli", [_pos(0.1, 0.9)]),
    "beta": ("Beta", [_pos(), _pos()], "Beta", [_pos(), _pos()]),
    "binomial": ("Binomial", [np.full(3, 7.0), _pos(0.1, 0.9)], "Binomial",
                 [np.full(3, 7.0), _pos(0.1, 0.9)]),
    "categorical": ("Categorical", [_pos(0.1, 1, (2, 4))], "Categorical", [_pos(0.1, 1, (2, 4))]),
    "onehot": ("OneHotCategorical", [_pos(0.1, 1, (2, 4))], "OneHotCategorical",
               [_pos(0.1, 1, (2, 4))]),
    "cauchy": ("Cauchy", [RNG.normal(size=3), _pos()], "Cauchy", [RNG.normal(size=3), _pos()]),
    "dirichlet": ("Dirichlet", [_pos(0.5, 3, (2, 4))], "Dirichlet", [_pos(0.5, 3, (2, 4))]),
    "exponential": ("Exponential", [_pos()], "Exponential", [_pos()]),
    "gamma": ("Gamma", [_pos(), _pos()], "Gamma", [_pos(), _pos()]),
    "gumbel": ("Gumbel", [RNG.normal(size=3), _pos()], "Gumbel", [RNG.normal(size=3), _pos()]),
    "geometric": ("Geometric", [_pos(0.1, 0.9)], "Geometric", [_pos(0.1, 0.9)]),
    "halfnormal": ("HalfNormal", [_pos()], "HalfNormal", [_pos()]),
    "laplace": ("Laplace", [RNG.normal(size=3), _pos()], "Laplace",
                [RNG.normal(size=3), _pos()]),
    "lognormal": ("LogNormal", [RNG.normal(size=3), _pos()], "LogNormal",
                  [RNG.normal(size=3), _pos()]),
    "poisson": ("Poisson", [_pos()], "Poisson", [_pos()]),
    "uniform": ("Uniform", [np.array([0.0, 0.5, 1.0]), np.array([1.0, 1.0, 2.0])], "Uniform",
                [np.array([-1.0, 0.0, 0.5]), np.array([2.0, 3.0, 2.5])]),
    "uniform_normal": ("Uniform", [np.array([0.0, 0.5]), np.array([1.0, 2.0])], "Normal",
                       [RNG.normal(size=2), _pos(shape=(2,))]),
    "exponential_gamma": ("Exponential", [_pos()], "Gamma", [_pos(), _pos()]),
    "normal_laplace": ("Normal", [RNG.normal(size=3), _pos()], "Laplace",
                       [RNG.normal(size=3), _pos()]),
    "mvn": ("MultivariateNormal", [RNG.normal(size=(2, 3)), _spd()], "MultivariateNormal",
            [RNG.normal(size=3), _spd()]),
    "chi2": ("Chi2", [_pos(1, 5)], "Chi2", [_pos(1, 5)]),
}


def _grad(leaf, name, i):
    return bool(leaf and (name != "Binomial" or i))  # total_count is not differentiable


def _make(lib, name, arrays, leaf):
    if lib is TD:
        tensors = [torch.tensor(a, requires_grad=_grad(leaf, name, i))
                   for i, a in enumerate(arrays)]
    else:
        tensors = [mt.tensor(a, requires_grad=_grad(leaf, name, i))
                   for i, a in enumerate(arrays)]
    if name == "MultivariateNormal":
        return getattr(lib, name)(tensors[0], covariance_matrix=tensors[1]), tensors
    return getattr(lib, name)(*tensors), tensors


@pytest.mark.parametrize("pair", sorted(PAIRS))
def test_kl_matches_torch_with_gradients(pair):
    pn, pa, qn, qa = PAIRS[pair]
    tp, tpt = _make(TD, pn, pa, True)
    tq, tqt = _make(TD, qn, qa, True)
    mp, mpt = _make(D, pn, pa, True)
    mq, mqt = _make(D, qn, qa, True)
    expected = TD.kl_divergence(tp, tq)
    got = D.kl_divergence(mp, mq)
    assert tuple(got.shape) == tuple(expected.shape)
    np.testing.assert_allclose(np_of(got), expected.detach().numpy(), rtol=1e-9, atol=1e-10)
    expected.sum().backward()
    got.sum().backward()
    for m, t in zip(mpt + mqt, tpt + tqt):
        if t.grad is not None:
            np.testing.assert_allclose(np_of(m.grad), t.grad.numpy(), rtol=1e-7, atol=1e-9)


def test_kl_infinite_where_supports_do_not_nest():
    p = D.Uniform(mt.tensor([0.0]), mt.tensor([2.0]))
    q = D.Uniform(mt.tensor([0.5]), mt.tensor([3.0]))
    assert np.isinf(np_of(D.kl_divergence(p, q))).all()
    p = D.Categorical(probs=mt.tensor([0.5, 0.5, 0.0]))
    q = D.Categorical(probs=mt.tensor([0.5, 0.0, 0.5]))
    assert np.isinf(np_of(D.kl_divergence(p, q)))
    np.testing.assert_allclose(np_of(D.kl_divergence(q, q)), 0.0, atol=1e-7)


def test_kl_of_independent_sums_the_reinterpreted_dims():
    loc = RNG.normal(size=(2, 3))
    p = D.Independent(D.Normal(mt.tensor(loc), 1.0), 1)
    q = D.Independent(D.Normal(mt.zeros(2, 3, dtype=mt.float64), 2.0), 1)
    tp = TD.Independent(TD.Normal(torch.tensor(loc), 1.0), 1)
    tq = TD.Independent(TD.Normal(torch.zeros(2, 3, dtype=torch.float64), 2.0), 1)
    np.testing.assert_allclose(np_of(D.kl_divergence(p, q)), TD.kl_divergence(tp, tq).numpy())


def test_expfamily_bregman_kl_matches_closed_form():
    from mbtorch.distributions.kl import _kl_expfamily_expfamily

    for cls, args in ((D.Gamma, ([1.5, 3.0], [2.0, 0.5])), (D.Normal, ([0.0, 1.0], [1.0, 2.0])),
                      (D.Poisson, ([2.0, 5.0],))):
        p = cls(*[mt.tensor(a, dtype=mt.float64) for a in args])
        q = cls(*[mt.tensor(a, dtype=mt.float64) * 1.3 for a in args])
        np.testing.assert_allclose(np_of(_kl_expfamily_expfamily(p, q)),
                                   np_of(D.kl_divergence(p, q)), rtol=1e-9)


def test_register_kl_dispatch_and_errors():
    class MyNormal(D.Normal):
        pass

    p = MyNormal(mt.tensor(0.0), mt.tensor(1.0))
    q = D.Normal(mt.tensor(1.0), mt.tensor(1.0))
    np.testing.assert_allclose(np_of(D.kl_divergence(p, q)), 0.5)  # inherits Normal-Normal

    @D.register_kl(MyNormal, D.Normal)
    def _kl(p, q):
        return mt.tensor(42.0)

    assert float(D.kl_divergence(p, q)) == 42.0
    with pytest.raises(NotImplementedError, match="No KL\\(p \\|\\| q\\) is implemented for p "
                                                  "type Poisson and q type Cauchy"):
        D.kl_divergence(D.Poisson(mt.tensor(1.0)), D.Cauchy(0.0, 1.0))
    with pytest.raises(TypeError, match="Expected type_p to be a Distribution subclass"):
        D.register_kl(int, D.Normal)
    with pytest.raises(NotImplementedError, match="cross KL-divergence"):
        D.kl_divergence(D.Poisson(mt.tensor(1.0)), D.Gamma(mt.tensor(1.0), mt.tensor(1.0)))


def test_ambiguous_kl_registration_warns():
    class A(D.Normal):
        pass

    class B(D.Normal):
        pass

    @D.register_kl(A, D.Normal)
    def _left(p, q):
        return mt.tensor(1.0)

    @D.register_kl(D.Normal, B)
    def _right(p, q):
        return mt.tensor(2.0)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        D.kl_divergence(A(0.0, 1.0), B(0.0, 1.0))
    assert any("Ambiguous kl_divergence(A, B)" in str(w.message) for w in caught)


def _factories():
    u = lambda lo, hi: RNG.uniform(lo, hi, 3)  # noqa: E731
    return {
        "Normal": lambda: [RNG.normal(size=3), u(0.5, 2)],
        "Laplace": lambda: [RNG.normal(size=3), u(0.5, 2)],
        "Gumbel": lambda: [RNG.normal(size=3), u(0.5, 2)],
        "Cauchy": lambda: [RNG.normal(size=3), u(0.5, 2)],
        "Exponential": lambda: [u(0.5, 2)],
        "Gamma": lambda: [u(0.5, 3), u(0.5, 2)],
        "Beta": lambda: [u(0.5, 3), u(0.5, 3)],
        "Uniform": lambda: [u(0.1, 0.3), u(0.6, 0.9)],
        "Pareto": lambda: [u(0.02, 0.05), u(2.5, 4)],
        "ContinuousBernoulli": lambda: [u(0.1, 0.9)],
        "Bernoulli": lambda: [u(0.1, 0.9)],
        "Poisson": lambda: [u(0.5, 3)],
        "Binomial": lambda: [np.full(3, 5.0), u(0.1, 0.9)],
        "Geometric": lambda: [u(0.1, 0.9)],
        "HalfNormal": lambda: [u(0.5, 2)],
        "LogNormal": lambda: [RNG.normal(size=3), u(0.5, 2)],
        "Chi2": lambda: [u(1, 4)],
    }


def _torch_pairs():
    from torch.distributions.kl import _KL_REGISTRY

    names = _factories()
    return sorted({(p.__name__, q.__name__) for p, q in _KL_REGISTRY
                   if p.__name__ in names and q.__name__ in names})


@pytest.mark.parametrize("pn,qn", _torch_pairs())
def test_every_registered_pair_of_torch_matches(pn, qn):
    fac = _factories()
    pa, qa = fac[pn](), fac[qn]()
    if pn == "Uniform" and qn in ("Normal", "Gumbel", "Laplace"):
        pa = [pa[0] - 1.0, pa[1] + 1.0]
    tp, tpt = _make(TD, pn, pa, True)
    tq, tqt = _make(TD, qn, qa, True)
    mp, mpt = _make(D, pn, pa, True)
    mq, mqt = _make(D, qn, qa, True)
    expected = TD.kl_divergence(tp, tq)
    got = D.kl_divergence(mp, mq)
    np.testing.assert_allclose(np_of(got), expected.detach().numpy(), rtol=1e-9, atol=1e-10)
    if np.isfinite(expected.detach().numpy()).all() and expected.requires_grad:
        expected.sum().backward()
        got.sum().backward()
        for m, t in zip(mpt + mqt, tpt + tqt):
            if t.grad is not None:
                np.testing.assert_allclose(np_of(m.grad), t.grad.numpy(), rtol=1e-7,
                                           atol=1e-9)
