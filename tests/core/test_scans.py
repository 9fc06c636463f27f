"""``cummax``/``cummin`` and ``diff`` (``scans.py``) against PyTorch: ties, NaN, bool and
integer dtypes, 0-d, empty and strided inputs, gradients, errors; ``mini`` decomposes."""

import numpy as np
import pytest

import mbtorch as mt
from mbtorch.autograd import gradcheck
from tests.conftest import assert_close

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(5)


@pytest.mark.parametrize("name", ["cummax", "cummin"])
def test_cummax_cummin_match_torch(name):
    x = RNG.integers(0, 4, (5, 9)).astype(np.float32)  # many ties
    x[1, 3] = np.nan
    x[2, 0] = np.nan
    x[2, 5] = np.nan
    for dim in (0, 1, -1):
        ours = getattr(mt, name)(mt.tensor(x), dim)
        theirs = getattr(torch, name)(torch.tensor(x), dim)
        assert_close(ours.values, theirs.values)
        assert_close(ours.indices, theirs.indices, dtype=mt.int64)
    ours = getattr(mt.tensor(x).t(), name)(1)  # strided input, method form
    theirs = getattr(torch.tensor(x).t(), name)(1)
    assert_close(ours[0], theirs[0])
    assert_close(ours[1], theirs[1])
    for arr in (RNG.integers(-5, 5, 11), np.array([True, False, True, False])):
        o, t = getattr(mt, name)(mt.tensor(arr), 0), getattr(torch, name)(torch.tensor(arr), 0)
        assert o.values.dtype is mt.tensor(arr).dtype
        assert_close(o.values, t.values)
        assert_close(o.indices, t.indices)
    zero_d = getattr(mt, name)(mt.tensor(3.0), 0)
    assert zero_d.values.shape == () and zero_d.indices.item() == 0
    empty = getattr(mt, name)(mt.zeros(0, 3), 1)
    assert empty.values.shape == (0, 3) and empty.indices.dtype is mt.int64


def test_cummax_gradient_and_mini(mini_device):
    x = mt.tensor(RNG.permutation(12).reshape(3, 4) * 0.5, dtype=mt.float64,
                  requires_grad=True)
    assert gradcheck(lambda a: mt.cummax(a, 1).values, (x,))
    assert gradcheck(lambda a: mt.cummin(a, 0).values, (x,))
    v = np.array([1.0, 3.0, 2.0, 3.0, 0.0])
    m = mt.cummax(mt.tensor(v, device=mini_device), 0)
    assert m.indices.cpu().tolist() == [0, 1, 1, 3, 3]
    with pytest.raises(IndexError):
        mt.cummax(mt.ones(3), 1)


def test_diff_matches_torch():
    x = RNG.normal(size=(4, 6))
    tx = torch.tensor(x)
    for kw in ({}, {"n": 2}, {"dim": 0}, {"n": 3, "dim": 0}, {"n": 0}, {"n": 9}):
        assert_close(mt.diff(mt.tensor(x), **kw), torch.diff(tx, **kw))
    assert_close(mt.tensor(x).t().diff(), tx.t().diff())
    pre, app = RNG.normal(size=(4, 2)), RNG.normal(size=(4, 1))
    assert_close(mt.diff(mt.tensor(x), prepend=mt.tensor(pre), append=mt.tensor(app)),
                 torch.diff(tx, prepend=torch.tensor(pre), append=torch.tensor(app)))
    assert_close(mt.diff(mt.tensor([1, 2, 4]), prepend=mt.tensor([0.5])),
                 torch.diff(torch.tensor([1, 2, 4]), prepend=torch.tensor([0.5])))
    b = mt.diff(mt.tensor([True, False, False]))
    assert b.dtype is mt.bool and b.tolist() == [True, False]
    u = mt.diff(mt.tensor([1, 2, 4], dtype=mt.uint8))
    assert u.dtype is mt.uint8 and u.tolist() == [1, 2]
    assert mt.diff(mt.zeros(0, 3)).shape == (0, 2)
    a = mt.tensor(x, requires_grad=True)
    assert gradcheck(lambda t: mt.diff(t, n=2, dim=0), (a,))


def test_diff_errors():
    with pytest.raises(RuntimeError, match="at least one-dimensional"):
        mt.diff(mt.tensor(1.0))
    with pytest.raises(RuntimeError, match="non-negative"):
        mt.diff(mt.tensor([1, 2]), n=-1)
    with pytest.raises(RuntimeError, match="same dimension"):
        mt.diff(mt.tensor([1, 2, 4]), prepend=mt.tensor([[0]]))
    with pytest.raises(RuntimeError, match="except along the differencing dimension"):
        mt.diff(mt.ones(2, 3), dim=0, prepend=mt.ones(2, 2))
