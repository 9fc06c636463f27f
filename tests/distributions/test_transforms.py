"""Transforms (forward, inverse, log-abs-det-Jacobian, shapes), TransformedDistribution and
``biject_to``/``transform_to`` against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

import mbtorch as mt
import mbtorch.distributions as D
from mbtorch.distributions import constraints as C
from mbtorch.distributions import transforms as T

from ._specs import np_of

torch = pytest.importorskip("torch")
TD = torch.distributions
TT = torch.distributions.transforms
RNG = np.random.default_rng(8)


def _pair(name, *args, **kwargs):
    conv = [mt.tensor(a) if isinstance(a, np.ndarray) else a for a in args]
    tconv = [torch.tensor(a) if isinstance(a, np.ndarray) else a for a in args]
    return getattr(T, name)(*conv, **kwargs), getattr(TT, name)(*tconv, **kwargs)


CASES = {
    "ExpTransform": ((), RNG.normal(size=(2, 3))),
    "SigmoidTransform": ((), RNG.normal(size=(2, 3))),
    "TanhTransform": ((), RNG.normal(size=(2, 3))),
    "SoftplusTransform": ((), RNG.normal(size=(2, 3))),
    "AffineTransform": ((np.array([0.5, -1.0, 2.0]), np.array([2.0, -0.5, 3.0])),
                        RNG.normal(size=(2, 3))),
    "PowerTransform": ((np.array([0.5, 2.0, 3.0]),), RNG.uniform(0.2, 2, (2, 3))),
    "StickBreakingTransform": ((), RNG.normal(size=(2, 3))),
    "LowerCholeskyTransform": ((), np.tril(RNG.normal(size=(2, 3, 3)))),
    "CorrCholeskyTransform": ((), RNG.normal(size=(2, 6))),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_transform_matches_torch(name):
    args, x = CASES[name]
    m, t = _pair(name, *args)
    y = m(mt.tensor(x))
    ty = t(torch.tensor(x))
    np.testing.assert_allclose(np_of(y), ty.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(np_of(m.inv(y)), t.inv(ty).numpy(), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(np_of(m.inv(y)), x, rtol=1e-7, atol=1e-9)
    assert repr(m.domain) == repr(t.domain) and repr(m.codomain) == repr(t.codomain)
    assert m.bijective == t.bijective and m.inv.inv is m
    assert tuple(m.forward_shape(x.shape)) == tuple(t.forward_shape(torch.Size(x.shape)))
    try:
        expected = t.log_abs_det_jacobian(torch.tensor(x), ty)
    except NotImplementedError:
        return
    np.testing.assert_allclose(np_of(m.log_abs_det_jacobian(mt.tensor(x), y)), expected.numpy(),
                               rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(np_of(m.inv.log_abs_det_jacobian(y, mt.tensor(x))),
                               -expected.numpy(), rtol=1e-9, atol=1e-10)


def test_compose_independent_reshape_softmax_abs():
    x = RNG.normal(size=(2, 3, 4))
    parts = [T.AffineTransform(1.0, 2.0), T.ExpTransform()]
    m = T.ComposeTransform(parts)
    t = TT.ComposeTransform([TT.AffineTransform(1.0, 2.0), TT.ExpTransform()])
    y = m(mt.tensor(x))
    np.testing.assert_allclose(np_of(y), t(torch.tensor(x)).numpy())
    np.testing.assert_allclose(np_of(m.log_abs_det_jacobian(mt.tensor(x), y)),
                               t.log_abs_det_jacobian(torch.tensor(x), t(torch.tensor(x))))
    ind = T.IndependentTransform(T.ExpTransform(), 2)
    tind = TT.IndependentTransform(TT.ExpTransform(), 2)
    np.testing.assert_allclose(np_of(ind.log_abs_det_jacobian(mt.tensor(x), mt.tensor(x).exp())),
                               tind.log_abs_det_jacobian(torch.tensor(x), torch.tensor(x).exp()))
    r = T.ReshapeTransform((3, 4), (12,))
    assert tuple(r(mt.tensor(x)).shape) == (2, 12) and tuple(r.forward_shape((2, 3, 4))) == (2, 12)
    with pytest.raises(ValueError, match="different numbers of elements"):
        T.ReshapeTransform((3,), (4,))
    sm = T.SoftmaxTransform()
    np.testing.assert_allclose(np_of(sm(mt.tensor(x))), TT.SoftmaxTransform()(torch.tensor(x)))
    assert np_of(T.AbsTransform()(mt.tensor([-2.0, 3.0]))).tolist() == [2.0, 3.0]
    assert T.identity_transform(mt.tensor([1.0])).item() == 1.0
    assert T.ExpTransform() == T.ExpTransform() and T.ExpTransform() != T.SigmoidTransform()


def test_cache_returns_the_same_input_object():
    t = T.ExpTransform().with_cache(1)
    x = mt.tensor([0.5])
    y = t(x)
    assert t(x) is y and t.inv(y) is x
    with pytest.raises(ValueError, match="cache_size must be 0 or 1"):
        T.ExpTransform(cache_size=2)


def test_cat_and_stack_transforms_match_torch():
    x = RNG.normal(size=(3, 4))
    m = T.CatTransform([T.ExpTransform(), T.AffineTransform(0.0, 2.0)], dim=1, lengths=[2, 2])
    t = TT.CatTransform([TT.ExpTransform(), TT.AffineTransform(0.0, 2.0)], dim=1,
                        lengths=[2, 2])
    y, ty = m(mt.tensor(x)), t(torch.tensor(x))
    np.testing.assert_allclose(np_of(y), ty.numpy())
    np.testing.assert_allclose(np_of(m.log_abs_det_jacobian(mt.tensor(x), y)),
                               t.log_abs_det_jacobian(torch.tensor(x), ty).numpy())
    m = T.StackTransform([T.ExpTransform(), T.SigmoidTransform()], dim=1)
    t = TT.StackTransform([TT.ExpTransform(), TT.SigmoidTransform()], dim=1)
    x = RNG.normal(size=(3, 2))
    y, ty = m(mt.tensor(x)), t(torch.tensor(x))
    np.testing.assert_allclose(np_of(y), ty.numpy())
    np.testing.assert_allclose(np_of(m.inv(y)), x, rtol=1e-9)
    np.testing.assert_allclose(np_of(m.log_abs_det_jacobian(mt.tensor(x), y)),
                               t.log_abs_det_jacobian(torch.tensor(x), ty).numpy())


def test_positive_definite_transform_round_trips():
    x = RNG.normal(size=(2, 3, 3))
    m, t = T.PositiveDefiniteTransform(), TT.PositiveDefiniteTransform()
    y = m(mt.tensor(x))
    np.testing.assert_allclose(np_of(y), t(torch.tensor(x)).numpy(), rtol=1e-10)
    np.testing.assert_allclose(np_of(m.inv(y)), np.tril(x, -1) + np.eye(3) * np.diagonal(
        x, axis1=-2, axis2=-1)[..., None, :], rtol=1e-8, atol=1e-10)


def test_transformed_distribution_matches_torch():
    loc, scale = RNG.normal(size=3), RNG.uniform(0.5, 1.5, 3)
    chain = [T.AffineTransform(0.5, 2.0), T.SigmoidTransform()]
    tchain = [TT.AffineTransform(0.5, 2.0), TT.SigmoidTransform()]
    m = D.TransformedDistribution(D.Normal(mt.tensor(loc), mt.tensor(scale)), chain)
    t = TD.TransformedDistribution(TD.Normal(torch.tensor(loc), torch.tensor(scale)), tchain)
    v = RNG.uniform(0.1, 0.9, 3)
    np.testing.assert_allclose(np_of(m.log_prob(mt.tensor(v))), t.log_prob(torch.tensor(v)))
    np.testing.assert_allclose(np_of(m.cdf(mt.tensor(v))), t.cdf(torch.tensor(v)))
    np.testing.assert_allclose(np_of(m.icdf(mt.tensor(v))), t.icdf(torch.tensor(v)))
    assert repr(m.support) == repr(t.support) and m.has_rsample
    assert tuple(m.rsample((4,)).shape) == (4, 3)
    assert tuple(m.expand((2, 3)).batch_shape) == (2, 3)
    # a decreasing chain flips the cdf
    dec = D.TransformedDistribution(D.Normal(mt.tensor(loc), 1.0), T.AffineTransform(0.0, -1.0))
    tdec = TD.TransformedDistribution(TD.Normal(torch.tensor(loc), 1.0),
                                      TT.AffineTransform(0.0, -1.0))
    np.testing.assert_allclose(np_of(dec.cdf(mt.tensor(v))), tdec.cdf(torch.tensor(v)))
    # transforms that change the event shape
    sb = D.TransformedDistribution(D.Normal(mt.zeros(2, 3, dtype=mt.float64), 1.0),
                                   T.StickBreakingTransform())
    tsb = TD.TransformedDistribution(TD.Normal(torch.zeros(2, 3, dtype=torch.float64), 1.0),
                                     TT.StickBreakingTransform())
    assert tuple(sb.event_shape) == tuple(tsb.event_shape) == (4,)
    w = RNG.dirichlet(np.ones(4), size=2)
    np.testing.assert_allclose(np_of(sb.log_prob(mt.tensor(w))), tsb.log_prob(torch.tensor(w)))
    with pytest.raises(ValueError, match="transforms must be a Transform or list"):
        D.TransformedDistribution(D.Normal(0.0, 1.0), "exp")


@pytest.mark.parametrize("registry", ["biject_to", "transform_to"])
def test_constraint_registry_matches_torch(registry):
    mreg, treg = getattr(D, registry), getattr(TD, registry)
    x = RNG.normal(size=(2, 3))
    cases = [(C.real, TD.constraints.real), (C.positive, TD.constraints.positive),
             (C.unit_interval, TD.constraints.unit_interval),
             (C.interval(-1.0, 3.0), TD.constraints.interval(-1.0, 3.0)),
             (C.greater_than(2.0), TD.constraints.greater_than(2.0)),
             (C.less_than(1.0), TD.constraints.less_than(1.0)),
             (C.simplex, TD.constraints.simplex),
             (C.corr_cholesky, TD.constraints.corr_cholesky),
             (C.independent(C.positive, 1), TD.constraints.independent(TD.constraints.positive,
                                                                       1))]
    for mc, tc in cases:
        mt_t, t_t = mreg(mc), treg(tc)
        y = mt_t(mt.tensor(x))
        np.testing.assert_allclose(np_of(y), t_t(torch.tensor(x)).numpy(), rtol=1e-10)
        assert bool(mc.check(y).all())
    with pytest.raises(NotImplementedError, match="Cannot transform _Boolean constraints"):
        mreg(C.boolean)
    with pytest.raises(TypeError, match="Expected constraint to be either a Constraint"):
        mreg.register(int, lambda c: None)
