"""``searchsorted``, ``bucketize``, ``isin`` and ``histc`` (``searching.py``) against PyTorch:
sides, sorters, N-d boundaries, NaN, scalars, empty and strided inputs, dtypes, errors."""

import numpy as np
import pytest

import mbtorch as mt
from tests.conftest import assert_close

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(11)


@pytest.mark.parametrize("n", [0, 1, 2, 5, 8, 33])
@pytest.mark.parametrize("right", [False, True])
def test_searchsorted_1d_matches_torch(n, right):
    seq = np.sort(RNG.integers(0, 10, n)).astype(np.float32)  # with repeats
    q = RNG.integers(-1, 12, (4, 6)).astype(np.float32)
    q[0, :2] = [np.nan, np.inf]
    ours = mt.searchsorted(mt.tensor(seq), mt.tensor(q), right=right)
    theirs = torch.searchsorted(torch.tensor(seq), torch.tensor(q), right=right)
    assert_close(ours, theirs, dtype=mt.int64)
    side = "right" if right else "left"
    assert_close(mt.searchsorted(mt.tensor(seq), mt.tensor(q).t(), side=side),
                 torch.searchsorted(torch.tensor(seq), torch.tensor(q).t(), side=side))


def test_searchsorted_nd_sorter_scalars_and_dtypes():
    seq = np.sort(RNG.normal(size=(2, 3, 7)), axis=-1)
    q = RNG.normal(size=(2, 3, 4))
    assert_close(mt.searchsorted(mt.tensor(seq), mt.tensor(q)),
                 torch.searchsorted(torch.tensor(seq), torch.tensor(q)))
    unsorted = np.array([3.0, 1.0, 2.0, 5.0])
    sorter = np.argsort(unsorted)
    args = (torch.tensor(unsorted), torch.tensor([2.0, 4.0, 0.0]))
    assert_close(mt.searchsorted(mt.tensor(unsorted), mt.tensor([2.0, 4.0, 0.0]),
                                 sorter=mt.tensor(sorter), right=True),
                 torch.searchsorted(*args, sorter=torch.tensor(sorter), right=True))
    out = mt.searchsorted(mt.tensor([1.0, 2.0, 3.0]), 2)
    assert out.shape == () and out.item() == 1
    mixed = mt.searchsorted(mt.tensor([1, 2, 3]), mt.tensor([2.5]))  # compared as floats
    assert mixed.tolist() == [2]
    i32 = mt.searchsorted(mt.tensor([1, 2, 3]), mt.tensor([0, 4]), out_int32=True)
    assert i32.dtype is mt.int32 and i32.tolist() == [0, 3]
    assert mt.searchsorted(mt.tensor([1.0]), mt.zeros(0, 2)).shape == (0, 2)


def test_searchsorted_errors():
    with pytest.raises(RuntimeError, match="scalar only"):
        mt.searchsorted(mt.ones(2, 3), 2.0)
    with pytest.raises(RuntimeError, match="first N-1 dimensions"):
        mt.searchsorted(mt.ones(2, 3), mt.ones(3, 3))
    with pytest.raises(RuntimeError, match="opposites"):
        mt.searchsorted(mt.ones(3), mt.ones(3), side="left", right=True)
    with pytest.raises(RuntimeError, match="side can only be"):
        mt.searchsorted(mt.ones(3), mt.ones(3), side="up")
    with pytest.raises(RuntimeError, match="long dtype"):
        mt.searchsorted(mt.ones(3), mt.ones(1), sorter=mt.tensor([0, 1, 2], dtype=mt.int32))
    with pytest.raises(RuntimeError, match="same size"):
        mt.searchsorted(mt.ones(3), mt.ones(1), sorter=mt.tensor([0, 1]))


def test_bucketize_matches_torch():
    b = np.array([1.0, 3.0, 5.0, 7.0])
    x = RNG.integers(0, 9, (3, 4)).astype(np.float64)
    for right in (False, True):
        assert_close(mt.bucketize(mt.tensor(x), mt.tensor(b), right=right),
                     torch.bucketize(torch.tensor(x), torch.tensor(b), right=right))
    assert mt.bucketize(3, mt.tensor([1, 5])).item() == 1
    out = mt.bucketize(mt.tensor([1, 5]), mt.tensor([1.0, 5.0]), right=True, out_int32=True)
    assert out.dtype is mt.int32 and out.tolist() == [1, 2]
    with pytest.raises(RuntimeError, match="1 dimension"):
        mt.bucketize(mt.tensor([1.0]), mt.ones(2, 2))


def test_bucketize_runs_on_mini(mini_device):
    b = mt.tensor([1.0, 3.0, 5.0], device=mini_device)
    x = mt.tensor([0.0, 3.0, 4.0, 9.0], device=mini_device)
    assert mt.bucketize(x, b).cpu().tolist() == [0, 1, 2, 3]
    assert mt.isin(x, b).cpu().tolist() == [False, True, False, False]


def test_isin_matches_torch():
    e = RNG.integers(0, 10, (3, 5))
    t = RNG.integers(0, 10, 6)
    for invert in (False, True):
        assert_close(mt.isin(mt.tensor(e), mt.tensor(t), invert=invert),
                     torch.isin(torch.tensor(e), torch.tensor(t), invert=invert))
    assert_close(mt.isin(mt.tensor(e).t(), mt.tensor(t)),
                 torch.isin(torch.tensor(e).t(), torch.tensor(t)))
    assert mt.isin(mt.tensor([1, 2, 3]), mt.tensor([2.0])).tolist() == [False, True, False]
    assert mt.isin(2, mt.tensor([2])).item() is True
    assert mt.isin(mt.tensor([1, 2]), 2).tolist() == [False, True]
    nan = float("nan")
    assert mt.isin(mt.tensor([1.0, nan]), mt.tensor([nan, 1.0])).tolist() == [True, False]
    assert mt.isin(mt.tensor([1, 2]), mt.zeros(0, dtype=mt.int64)).tolist() == [False, False]
    assert mt.isin(mt.zeros(0, 2), mt.tensor([1.0])).shape == (0, 2)
    with pytest.raises(RuntimeError, match="Bool"):
        mt.isin(mt.tensor([True]), mt.tensor([1]))


def test_histc_matches_torch():
    x = RNG.normal(size=(50,)).astype(np.float32)
    for kw in ({}, {"bins": 7}, {"bins": 5, "min": -1, "max": 1}, {"bins": 4, "min": 0.5,
                                                                   "max": 0.5}):
        assert_close(mt.histc(mt.tensor(x), **kw), torch.histc(torch.tensor(x), **kw))
    edges = np.array([0.0, 1.0, 2.0, 3.0, 3.0, -1.0, np.nan], np.float32)
    assert_close(mt.tensor(edges).histc(bins=3, min=0, max=3),
                 torch.tensor(edges).histc(bins=3, min=0, max=3))
    assert_close(mt.histc(mt.tensor([2.0, 2.0]), bins=4), torch.histc(torch.tensor([2.0, 2.0]),
                                                                      bins=4))
    x64 = mt.tensor(x.astype(np.float64)).reshape(5, 10).t()
    out = mt.histc(x64, bins=6)
    assert out.dtype is mt.float64
    assert_close(out, torch.histc(torch.tensor(x.astype(np.float64)), bins=6))
    assert mt.histc(mt.zeros(0), bins=3).tolist() == [0.0, 0.0, 0.0]
    with pytest.raises(NotImplementedError):
        mt.histc(mt.tensor([1, 2]))
    with pytest.raises(RuntimeError, match="bins must be > 0"):
        mt.histc(mt.tensor([1.0]), bins=0)
    with pytest.raises(RuntimeError, match="max must be larger than min"):
        mt.histc(mt.tensor([1.0]), bins=3, min=2, max=1)
    with pytest.raises(RuntimeError, match="not finite"):
        mt.histc(mt.tensor([float("inf"), 1.0]), bins=3)
