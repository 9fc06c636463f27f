"""``cov`` and ``corrcoef`` (``covariance.py``) against PyTorch: weights, corrections,
integer and 1-d inputs, zero degrees of freedom, gradients, errors."""

import numpy as np
import pytest

import mbtorch as mt
from tests.core.torch_parity import grads_match, same, same_error

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(7)
X = RNG.normal(size=(3, 6))
FW = np.array([1, 2, 0, 3, 1, 1])
AW = RNG.random(6)


def _args(lib, kwargs):
    return {k: (lib.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in kwargs.items()}


@pytest.mark.parametrize("kwargs", [{}, {"correction": 0}, {"correction": 2}, {"fweights": FW},
                                    {"aweights": AW},
                                    {"fweights": FW, "aweights": AW, "correction": 2},
                                    {"fweights": FW, "aweights": AW, "correction": 0}])
def test_cov_matches_torch(kwargs):
    same(mt.cov(mt.tensor(X), **_args(mt, kwargs)), torch.cov(torch.tensor(X),
                                                               **_args(torch, kwargs)),
         rtol=1e-12)
    same(mt.tensor(X).cov(**_args(mt, kwargs)), torch.tensor(X).cov(**_args(torch, kwargs)),
         rtol=1e-12)


def test_cov_integer_vector_and_float32():
    same(mt.cov(mt.tensor([1, 2, 4])), torch.cov(torch.tensor([1, 2, 4])))
    x = X.astype(np.float32)
    same(mt.cov(mt.tensor(x)), torch.cov(torch.tensor(x)), rtol=1e-5)


def test_cov_without_degrees_of_freedom_warns_and_gives_inf_or_nan():
    with pytest.warns(UserWarning, match="degrees of freedom"):
        ours = mt.cov(mt.tensor([1.0]))
    with pytest.warns(UserWarning):
        theirs = torch.cov(torch.tensor([1.0]))
    same(ours, theirs)


def test_corrcoef_matches_torch():
    same(mt.corrcoef(mt.tensor(X)), torch.corrcoef(torch.tensor(X)), rtol=1e-12)
    same(mt.tensor(X.astype(np.float32)).corrcoef(),
         torch.tensor(X.astype(np.float32)).corrcoef(), rtol=1e-5, atol=1e-6)
    same(mt.corrcoef(mt.tensor([1, 2, 4])), torch.corrcoef(torch.tensor([1, 2, 4])))
    same(mt.corrcoef(mt.tensor([2.0, 2.0, 2.0])), torch.corrcoef(torch.tensor([2.0, 2.0, 2.0])))


def test_gradients_match_torch():
    grads_match(lambda m, t: m.cov(t), X)
    grads_match(lambda m, t: m.cov(t, aweights=m.tensor(AW)), X)
    grads_match(lambda m, t: m.corrcoef(t), X)


@pytest.mark.parametrize("call", [
    lambda m: m.cov(m.zeros(2, 2, 2)),
    lambda m: m.cov(m.tensor([True, False])),
    lambda m: m.cov(m.zeros(2, 3), fweights=m.tensor([1.0, 1.0, 1.0])),
    lambda m: m.cov(m.zeros(2, 3), fweights=m.tensor([1, 1])),
    lambda m: m.cov(m.zeros(2, 3), fweights=m.tensor([1, -1, 1])),
    lambda m: m.cov(m.zeros(2, 3), aweights=m.tensor([1, 1, 1])),
    lambda m: m.cov(m.zeros(2, 3), aweights=m.tensor([0.0, 0.0, 0.0])),
    lambda m: m.corrcoef(m.zeros(2, 2, 2)),
])
def test_errors_match_torch(call):
    same_error(call, RuntimeError)
