"""``logcumsumexp`` (``log_cumulative.py``) against PyTorch: wide ranges of values, infinities,
dims, 0-d and empty inputs, low precision, gradients, errors."""

import numpy as np
import pytest

import mbtorch as mt
from tests.core.torch_parity import grads_match, same

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(37)


@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_matches_torch(dim, dtype):
    x = (RNG.normal(size=(5, 7)) * 30).astype(dtype)
    same(mt.logcumsumexp(mt.tensor(x), dim), torch.logcumsumexp(torch.tensor(x), dim),
         rtol=1e-6 if dtype == "float32" else 1e-12)
    same(mt.tensor(x).logcumsumexp(dim), torch.tensor(x).logcumsumexp(dim),
         rtol=1e-6 if dtype == "float32" else 1e-12)


def test_extremes_and_shapes():
    x = np.array([-1000.0, 0.0, -np.inf, 3.0, 2.0, np.inf, 1.0])
    same(mt.logcumsumexp(mt.tensor(x), 0), torch.logcumsumexp(torch.tensor(x), 0))
    same(mt.logcumsumexp(mt.tensor(1.5), 0), torch.logcumsumexp(torch.tensor(1.5), 0))
    same(mt.logcumsumexp(mt.zeros(2, 0), 1), torch.logcumsumexp(torch.zeros(2, 0), 1))
    h = np.array([0.5, 1.0, -2.0, 3.0], np.float16)
    same(mt.logcumsumexp(mt.tensor(h), 0), torch.logcumsumexp(torch.tensor(h), 0), rtol=1e-3)


def test_gradient():
    grads_match(lambda m, t: m.logcumsumexp(t, 1), RNG.normal(size=(3, 6)))


def test_errors():
    with pytest.raises(NotImplementedError) as theirs:
        torch.logcumsumexp(torch.tensor([1, 2]), 0)
    with pytest.raises(NotImplementedError) as ours:
        mt.logcumsumexp(mt.tensor([1, 2]), 0)
    assert str(ours.value) == str(theirs.value)
    with pytest.raises(IndexError):
        mt.logcumsumexp(mt.zeros(3), 1)
