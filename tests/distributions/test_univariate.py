"""Univariate distributions against PyTorch on identical float64 parameters: log_prob, cdf,
icdf, entropy, moments, their gradients with respect to the parameters, and sample
statistics."""

from __future__ import annotations

import numpy as np
import pytest

import mbtorch as mt
import mbtorch.distributions as D

from ._specs import CONTINUOUS, KNOWN_GAPS, SPECS, build, np_of, value

torch = pytest.importorskip("torch")
TD = torch.distributions
NAMES = sorted(SPECS)
# PyTorch's GeneralizedPareto compares with a float32 constant and raises on float64
TORCH_FAILS_IN_FLOAT64 = {"GeneralizedPareto"}


def _call(dist, method, *args):
    attr = getattr(type(dist), method)
    if isinstance(attr, property):
        return getattr(dist, method)
    return getattr(dist, method)(*args)


def _close(a, b, what):
    np.testing.assert_allclose(np_of(a), np_of(b), rtol=1e-9, atol=1e-10, equal_nan=True,
                               err_msg=what)


@pytest.mark.parametrize("name", NAMES)
def test_shapes_and_support_match_torch(name):
    d, _ = build(D, name)
    t, _ = build(TD, name)
    assert tuple(d.batch_shape) == tuple(t.batch_shape)
    assert tuple(d.event_shape) == tuple(t.event_shape)
    assert d.has_rsample == t.has_rsample
    assert repr(d.support).replace("mbtorch.", "torch.") == repr(t.support)
    assert isinstance(d, D.Distribution)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("method", ["log_prob", "cdf", "icdf", "entropy", "mean", "mode",
                                    "variance", "stddev"])
def test_values_match_torch(name, method):
    t, _ = build(TD, name)
    d, _ = build(D, name)
    args = ()
    if method in ("log_prob", "cdf"):
        args = (value(TD, name),)
    elif method == "icdf":
        args = (torch.tensor(np.linspace(0.05, 0.95, 6).reshape(2, 3)),)
    try:
        expected = _call(t, method, *args)
    except NotImplementedError:
        pytest.skip(f"torch's {name} has no {method}")
    except RuntimeError as exc:  # GeneralizedPareto: float32 constant in PyTorch's code
        assert name in TORCH_FAILS_IN_FLOAT64, exc
        pytest.skip(f"torch's {name}.{method} fails in float64 (see the float32 test)")
    margs = tuple(mt.tensor(a.numpy()) for a in args)
    if (name, method) in KNOWN_GAPS:
        with pytest.raises(NotImplementedError):
            _call(d, method, *margs)
        return
    got = _call(d, method, *margs)
    assert got.dtype is mt.float64
    _close(got, expected, f"{name}.{method}")


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("method", ["log_prob", "entropy", "mean", "variance"])
def test_parameter_gradients_match_torch(name, method):
    t, tparams = build(TD, name, requires_grad=True)
    d, mparams = build(D, name, requires_grad=True)
    args = (value(TD, name),) if method == "log_prob" else ()
    try:
        expected = _call(t, method, *args)
    except NotImplementedError:
        pytest.skip(f"torch's {name} has no {method}")
    except RuntimeError as exc:
        assert name in TORCH_FAILS_IN_FLOAT64, exc
        pytest.skip(f"torch's {name}.{method} fails in float64 (see the float32 test)")
    if not expected.requires_grad:
        pytest.skip(f"torch's {name}.{method} does not depend on the parameters")
    weights = np.linspace(0.5, 1.5, 6).reshape(2, 3)
    (expected * torch.tensor(weights)).sum().backward()
    margs = tuple(mt.tensor(a.numpy()) for a in args)
    (_call(d, method, *margs) * mt.tensor(weights)).sum().backward()
    for key, tp in tparams.items():
        if tp.requires_grad and tp.grad is not None:
            assert mparams[key].grad is not None, f"{name}.{method}: no grad for {key}"
            np.testing.assert_allclose(np_of(mparams[key].grad), tp.grad.numpy(), rtol=1e-7,
                                       atol=1e-9, err_msg=f"{name}.{method} d/d{key}")


@pytest.mark.parametrize("name", NAMES)
def test_sample_shapes_dtype_and_expand(name):
    d, _ = build(D, name)
    t, _ = build(TD, name)
    s = d.sample((4,))
    assert tuple(s.shape) == tuple(t.sample((4,)).shape) == (4, 2, 3)
    assert s.dtype is mt.float64 and not s.requires_grad
    assert tuple(d.sample().shape) == (2, 3)
    e = d.expand((5, 2, 3))
    assert tuple(e.batch_shape) == (5, 2, 3) and type(e) is type(d)
    assert tuple(e.sample((7,)).shape) == (7, 5, 2, 3)
    _close(e.log_prob(mt.tensor(SPECS[name][1])), d.log_prob(mt.tensor(SPECS[name][1]))
           .expand(5, 2, 3), f"{name}.expand().log_prob")


@pytest.mark.parametrize("name", [n for n in NAMES if n != "VonMises"])  # circular: below
def test_sample_statistics(name):
    mt.manual_seed(7)
    d, _ = build(D, name)
    n = 40000
    s = np_of(d.sample((n,)))
    assert np.all(np_of(d.support.check(mt.tensor(s))))
    if name in CONTINUOUS and name not in NO_CDF:
        # the probability integral transform of exact samples is uniform on [0, 1]
        u = np_of(d.cdf(mt.tensor(s)))
        np.testing.assert_allclose(u.mean(0), 0.5, atol=5 * (1 / 12 / n) ** 0.5 + 1e-3)
        np.testing.assert_allclose(u.var(0), 1 / 12, rtol=0.05)
    if name not in ("Cauchy", "HalfCauchy"):
        mean, var = np_of(d.mean), np_of(d.variance)
        np.testing.assert_allclose(s.mean(0), mean, atol=6 * np.sqrt(var / n).max())
        if name not in HEAVY_TAILS:
            np.testing.assert_allclose(s.var(0), var, rtol=0.1)


# no cdf in PyTorch (Beta, StudentT, ...) or here (KNOWN_GAPS): moments only
NO_CDF = {"Beta", "StudentT", "FisherSnedecor"} | {name for name, method in KNOWN_GAPS
                                                   if method == "cdf"}
# an infinite (or huge) fourth moment: the sample variance converges too slowly to test
HEAVY_TAILS = {"StudentT", "Pareto", "InverseGamma", "FisherSnedecor"}


@pytest.mark.parametrize("name", ["Gamma", "Chi2"])
def test_gamma_sample_skewness(name):
    mt.manual_seed(3)
    d, _ = build(D, name)
    s = np_of(d.sample((40000,)))
    third = ((s - s.mean(0)) ** 3).mean(0) / s.var(0) ** 1.5
    conc = np_of(d.concentration)
    np.testing.assert_allclose(third, 2 / np.sqrt(conc), rtol=0.25)  # gamma skewness


def test_enumerate_support_matches_torch():
    for name in ("Bernoulli", "Binomial"):
        d, _ = build(D, name)
        t, _ = build(TD, name)
        for expand in (True, False):
            _close(d.enumerate_support(expand), t.enumerate_support(expand),
                   f"{name}.enumerate_support({expand})")
        assert d.has_enumerate_support


def test_logits_parameterisation_matches_torch():
    logits = np.array([[-2.0, 0.3, 4.0]])
    for name in ("Bernoulli", "Geometric", "Binomial"):
        t = getattr(TD, name)(logits=torch.tensor(logits))
        d = getattr(D, name)(logits=mt.tensor(logits))
        _close(d.probs, t.probs, f"{name}.probs")
        v = np.array([[0.0, 1.0, 1.0]])
        _close(d.log_prob(mt.tensor(v)), t.log_prob(torch.tensor(v)), f"{name}(logits)")


def test_scalar_parameters_give_empty_batch_shape_and_default_dtype():
    d = D.Normal(0.0, 1.0)
    assert tuple(d.batch_shape) == () and d.loc.dtype is mt.float32
    assert tuple(d.sample((3,)).shape) == (3,)
    _close(d.log_prob(mt.tensor(0.5)), TD.Normal(0.0, 1.0).log_prob(torch.tensor(0.5)),
           "scalar Normal")
    b = D.Beta(2.0, 3.0)
    assert tuple(b.batch_shape) == () and tuple(b.sample((5,)).shape) == (5,)


def test_float32_parameters_stay_float32():
    for name in ("Normal", "Gamma", "Beta", "Poisson", "StudentT"):
        kwargs, v = SPECS[name]
        d = getattr(D, name)(**{k: mt.tensor(a, dtype=mt.float32) for k, a in kwargs.items()})
        t = getattr(TD, name)(**{k: torch.tensor(a, dtype=torch.float32)
                                 for k, a in kwargs.items()})
        lp = d.log_prob(mt.tensor(v, dtype=mt.float32))
        assert lp.dtype is mt.float32 and d.sample().dtype is mt.float32
        np.testing.assert_allclose(np_of(lp), t.log_prob(torch.tensor(v, dtype=torch.float32))
                                   .numpy(), rtol=1e-5, atol=1e-5)


def test_generalized_pareto_matches_torch_in_float32():
    kwargs, v = SPECS["GeneralizedPareto"]
    mp = {k: mt.tensor(a, dtype=mt.float32, requires_grad=True) for k, a in kwargs.items()}
    tp = {k: torch.tensor(a, dtype=torch.float32, requires_grad=True) for k, a in kwargs.items()}
    d, t = D.GeneralizedPareto(**mp), TD.GeneralizedPareto(**tp)
    mv, tv = mt.tensor(v, dtype=mt.float32), torch.tensor(v, dtype=torch.float32)
    for method in ("log_prob", "cdf"):
        np.testing.assert_allclose(np_of(getattr(d, method)(mv)),
                                   getattr(t, method)(tv).detach().numpy(), rtol=2e-5,
                                   atol=2e-6, err_msg=method)
    d.log_prob(mv).sum().backward()
    t.log_prob(tv).sum().backward()
    for k in kwargs:
        np.testing.assert_allclose(np_of(mp[k].grad), tp[k].grad.numpy(), rtol=2e-5, atol=2e-6)


def test_von_mises_samples_have_the_circular_moments():
    mt.manual_seed(6)
    loc, conc = np.array([0.5, -2.5, 3.0]), np.array([0.3, 2.0, 10.0])
    d = D.VonMises(mt.tensor(loc), mt.tensor(conc))
    s = np_of(d.sample((40000,)))
    assert s.shape == (40000, 3) and s.min() >= -np.pi and s.max() < np.pi
    circular_mean = np.arctan2(np.sin(s).mean(0), np.cos(s).mean(0))
    np.testing.assert_allclose(np.angle(np.exp(1j * (circular_mean - loc))), 0, atol=0.05)
    # PyTorch's variance is the circular variance 1 - I1(k)/I0(k)
    np.testing.assert_allclose(1 - np.cos(s - loc).mean(0), np_of(d.variance), atol=0.01)


def test_parameter_gradients_at_integer_concentrations():
    for cls, args, v in ((D.Gamma, ([1.0, 2.0], [1.5, 1.5]), [0.5, 1.0]),
                         (D.Beta, ([1.0, 2.0], [2.0, 1.0]), [0.3, 0.6]),
                         (D.Dirichlet, ([[1.0, 1.0, 1.0]],), [[0.2, 0.3, 0.5]])):
        mp = [mt.tensor(a, dtype=mt.float64, requires_grad=True) for a in args]
        tp = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in args]
        cls(*mp).log_prob(mt.tensor(v, dtype=mt.float64)).sum().backward()
        getattr(TD, cls.__name__)(*tp).log_prob(torch.tensor(v, dtype=torch.float64)).sum()\
            .backward()
        for m, t in zip(mp, tp):
            np.testing.assert_allclose(np_of(m.grad), t.grad.numpy(), rtol=1e-9)
