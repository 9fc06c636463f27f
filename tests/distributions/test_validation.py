"""Argument and sample validation (PyTorch's ValueError messages), constraints' checks and
reprs, ``lazy_property``, and the package's public names."""

from __future__ import annotations

import re

import numpy as np
import pytest

import mbtorch as mt
import mbtorch.distributions as D
from mbtorch.distributions import constraints as C

from ._specs import np_of

torch = pytest.importorskip("torch")
TD = torch.distributions
TC = torch.distributions.constraints


def _same_error(make_m, make_t, exc=ValueError):
    with pytest.raises(exc) as want:
        make_t()
    with pytest.raises(exc) as got:
        make_m()
    # the messages agree up to the library name in dtype/repr text
    norm = re.compile(r"\b(mb)?torch\.")
    first = lambda e: norm.sub("", str(e.value)).split(":\n")[0]  # noqa: E731
    assert first(got) == first(want)


def test_parameter_validation_messages_match_torch():
    _same_error(lambda: D.Normal(mt.tensor([0.0]), mt.tensor([-1.0])),
                lambda: TD.Normal(torch.tensor([0.0]), torch.tensor([-1.0])))
    _same_error(lambda: D.Bernoulli(probs=mt.tensor([1.5])),
                lambda: TD.Bernoulli(probs=torch.tensor([1.5])))
    _same_error(lambda: D.Gamma(mt.tensor([1.0]), mt.tensor([0.0])),
                lambda: TD.Gamma(torch.tensor([1.0]), torch.tensor([0.0])))
    _same_error(lambda: D.Categorical(probs=mt.tensor([0.5, -0.1])),
                lambda: TD.Categorical(probs=torch.tensor([0.5, -0.1])))
    _same_error(lambda: D.Bernoulli(), lambda: TD.Bernoulli())
    _same_error(lambda: D.Bernoulli(0.3, 0.1), lambda: TD.Bernoulli(0.3, 0.1))
    _same_error(lambda: D.Categorical(probs=mt.tensor(0.3)),
                lambda: TD.Categorical(probs=torch.tensor(0.3)))


def test_sample_validation_messages_match_torch():
    m, t = D.Normal(mt.zeros(3), 1.0), TD.Normal(torch.zeros(3), 1.0)
    _same_error(lambda: m.log_prob(mt.zeros(2)), lambda: t.log_prob(torch.zeros(2)))
    _same_error(lambda: m.log_prob([0.0]), lambda: t.log_prob([0.0]))
    m, t = D.Exponential(mt.ones(2)), TD.Exponential(torch.ones(2))
    _same_error(lambda: m.log_prob(mt.tensor([-1.0, 1.0])),
                lambda: t.log_prob(torch.tensor([-1.0, 1.0])))
    m, t = D.Dirichlet(mt.ones(3)), TD.Dirichlet(torch.ones(3))
    _same_error(lambda: m.log_prob(mt.ones(2)), lambda: t.log_prob(torch.ones(2)))


def test_validation_can_be_switched_off():
    d = D.Normal(mt.tensor([0.0]), mt.tensor([-1.0]), validate_args=False)
    assert np.isnan(np_of(d.log_prob(mt.tensor([0.0])))).all()
    D.Distribution.set_default_validate_args(False)
    try:
        D.Exponential(mt.tensor([-1.0])).log_prob(mt.tensor([-2.0]))
    finally:
        D.Distribution.set_default_validate_args(True)
    with pytest.raises(ValueError):
        D.Distribution.set_default_validate_args("yes")


@pytest.mark.parametrize("name", ["real", "positive", "nonnegative", "unit_interval", "boolean",
                                  "nonnegative_integer", "positive_integer", "simplex",
                                  "lower_triangular", "lower_cholesky", "positive_definite",
                                  "symmetric", "real_vector", "one_hot", "square"])
def test_constraint_checks_and_reprs_match_torch(name):
    rng = np.random.default_rng(3)
    values = [rng.normal(size=(4, 3, 3)), np.abs(rng.normal(size=(4, 3, 3))),
              np.round(rng.uniform(-1, 3, (4, 3, 3))), rng.uniform(0, 1, (4, 3, 3)),
              np.broadcast_to(np.eye(3), (4, 3, 3)).copy(),
              np.stack([np.eye(3) * 2, np.tril(np.ones((3, 3))), -np.eye(3),
                        np.array([[2.0, 1, 0], [1, 2, 1], [0, 1, 2]])])]
    values.append(values[-2] / values[-2].sum(-1, keepdims=True))
    mc, tc = getattr(C, name), getattr(TC, name)
    assert repr(mc) == repr(tc)
    assert mc.event_dim == tc.event_dim and mc.is_discrete == tc.is_discrete
    for v in values:
        np.testing.assert_array_equal(np_of(mc.check(mt.tensor(v))),
                                      tc.check(torch.tensor(v)).numpy(), err_msg=name)


def test_parameterised_constraints():
    v = np.array([-1.0, 0.0, 0.5, 1.0, 3.0])
    for mc, tc in ((C.interval(0.0, 1.0), TC.interval(0.0, 1.0)),
                   (C.half_open_interval(0.0, 1.0), TC.half_open_interval(0.0, 1.0)),
                   (C.greater_than(0.5), TC.greater_than(0.5)),
                   (C.greater_than_eq(0.0), TC.greater_than_eq(0.0)),
                   (C.less_than(1.0), TC.less_than(1.0)),
                   (C.integer_interval(0, 2), TC.integer_interval(0, 2)),
                   (C.independent(C.real, 1), TC.independent(TC.real, 1))):
        assert repr(mc) == repr(tc)
        np.testing.assert_array_equal(np_of(mc.check(mt.tensor(v))),
                                      tc.check(torch.tensor(v)).numpy())
    assert C.is_dependent(C.dependent) and not C.is_dependent(C.real)
    with pytest.raises(ValueError, match="Cannot determine validity of dependent constraint"):
        C.dependent.check(mt.zeros(1))
    with pytest.raises(NotImplementedError, match="cannot be determined statically"):
        C.dependent.event_dim  # noqa: B018
    assert C.dependent(is_discrete=True, event_dim=1).event_dim == 1
    cat = C.cat([C.positive, C.real], dim=0, lengths=[2, 1])
    np.testing.assert_array_equal(np_of(cat.check(mt.tensor([1.0, -1.0, -5.0]))),
                                  [True, False, True])
    stack = C.stack([C.positive, C.real], dim=-1)
    np.testing.assert_array_equal(np_of(stack.check(mt.tensor([[1.0, -1.0], [-1.0, 2.0]]))),
                                  [[True, True], [False, True]])


def test_lazy_parameters_are_computed_once_and_cached():
    d = D.Bernoulli(logits=mt.tensor([0.0, 2.0]))
    assert "probs" not in d.__dict__
    p = d.probs
    assert d.__dict__["probs"] is p and d.probs is p
    assert isinstance(D.Bernoulli.__dict__["probs"], D.utils.lazy_property)


def test_public_names_cover_sixty_percent_of_torch_distributions():
    names = set(TD.__all__)
    present = {n for n in names if hasattr(D, n)}
    assert len(present) / len(names) >= 0.6, sorted(names - present)
    assert set(D.__all__) - {"constraints", "transforms"} <= names
    assert mt.distributions is D


def test_utils_conversions_match_torch():
    from torch.distributions import utils as tu

    from mbtorch.distributions import utils as mu

    p = np.array([[0.0, 0.25, 0.75], [0.5, 0.5, 1.0]])
    np.testing.assert_allclose(np_of(mu.probs_to_logits(mt.tensor(p))),
                               tu.probs_to_logits(torch.tensor(p)).numpy())
    np.testing.assert_allclose(np_of(mu.probs_to_logits(mt.tensor(p), True)),
                               tu.probs_to_logits(torch.tensor(p), True).numpy())
    np.testing.assert_allclose(np_of(mu.clamp_probs(mt.tensor(p))),
                               tu.clamp_probs(torch.tensor(p)).numpy())
    m = np.arange(16.0).reshape(4, 4)
    vec = mu.tril_matrix_to_vec(mt.tensor(m))
    np.testing.assert_array_equal(np_of(vec), tu.tril_matrix_to_vec(torch.tensor(m)).numpy())
    np.testing.assert_array_equal(np_of(mu.vec_to_tril_matrix(vec)),
                                  tu.vec_to_tril_matrix(torch.tensor(np_of(vec))).numpy())
    a, b = mu.broadcast_all(mt.ones(2, 1), 3.0)
    assert tuple(a.shape) == tuple(b.shape) == (2, 1)
    with pytest.raises(ValueError, match="Input arguments must all be instances of Number"):
        mu.broadcast_all("x", mt.ones(1))
