"""sort / argsort / msort / topk / kthvalue / unique against PyTorch and NumPy: stability,
descending order, NaN placement, strided and empty inputs, error paths."""

import math

import numpy as np
import pytest

import mbtorch as mt
from tests.conftest import assert_close

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(1)


@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("descending", [False, True])
def test_sort_matches_torch_stable(dim, descending):
    arr = RNG.integers(0, 4, size=(5, 6)).astype(np.float32)  # many ties: stability shows
    x, tx = mt.tensor(arr), torch.tensor(arr)
    v, i = mt.sort(x, dim, descending)
    tv, ti = torch.sort(tx, stable=True, dim=dim, descending=descending)
    assert_close(v, tv)
    assert_close(i, ti, dtype=mt.int64)
    assert_close(mt.argsort(x, dim, descending), ti)
    xs = mt.tensor(arr.T.copy()).t()  # strided
    assert_close(xs.sort(dim=dim, descending=descending).indices, ti)


def test_sort_nan_inf_int_bool_and_empty():
    arr = np.array([3.0, math.nan, -math.inf, 1.0, math.inf, -0.0], dtype=np.float64)
    v, i = mt.sort(mt.tensor(arr))
    tv, ti = torch.sort(torch.tensor(arr), stable=True)
    assert_close(v, tv)
    assert_close(i, ti)
    assert_close(mt.sort(mt.tensor(arr), descending=True).values,
                 torch.sort(torch.tensor(arr), descending=True).values)
    ints = mt.tensor([5, -2, 7, -2], dtype=mt.int32)
    assert mt.sort(ints).values.tolist() == [-2, -2, 5, 7] and ints.sort()[0].dtype is mt.int32
    assert mt.sort(mt.tensor([True, False, True])).values.tolist() == [False, True, True]
    e = mt.sort(mt.zeros(2, 0))
    assert e.values.shape == (2, 0) and e.indices.dtype is mt.int64
    s = mt.sort(mt.tensor(2.0))
    assert s.values.item() == 2.0 and s.indices.item() == 0


def test_msort_matches_numpy():
    arr = RNG.normal(size=(4, 3))
    assert_close(mt.msort(mt.tensor(arr)), np.sort(arr, axis=0))


@pytest.mark.parametrize("largest", [True, False])
def test_topk_matches_torch(largest):
    arr = RNG.permutation(30).reshape(5, 6).astype(np.float32)  # distinct: order is defined
    x, tx = mt.tensor(arr), torch.tensor(arr)
    for dim, k in [(1, 3), (0, 5), (-1, 0)]:
        v, i = mt.topk(x, k, dim, largest)
        tv, ti = torch.topk(tx, k, dim, largest)
        assert_close(v, tv)
        assert_close(i, ti)
        assert v.is_contiguous()
    with pytest.raises(RuntimeError, match="selected index k out of range"):
        mt.topk(x, 7)


def test_kthvalue_matches_torch():
    arr = RNG.permutation(20).reshape(4, 5).astype(np.float64)
    x, tx = mt.tensor(arr), torch.tensor(arr)
    for k, dim, keep in [(1, 1, False), (3, 0, True), (5, -1, True)]:
        v, i = mt.kthvalue(x, k, dim, keep)
        tv, ti = torch.kthvalue(tx, k, dim, keep)
        assert_close(v, tv)
        assert_close(i, ti)
    with pytest.raises(RuntimeError, match="kthvalue\\(\\): selected number k out of range for "
                       "dimension 1"):
        mt.kthvalue(x, 6)
    with pytest.raises(RuntimeError, match="out of range"):
        mt.kthvalue(x, 0)


@pytest.mark.parametrize("arr", [
    np.array([3, 1, 3, 2, 1, 1]), np.array([[2.5, -1.0], [2.5, 0.0]]), np.array([], dtype=np.int64),
    np.array(7), np.array([True, False, True]),
])
def test_unique_matches_torch(arr):
    x, tx = mt.tensor(arr), torch.tensor(arr)
    u, inv, cnt = mt.unique(x, return_inverse=True, return_counts=True)
    tu, tinv, tcnt = torch.unique(tx, return_inverse=True, return_counts=True)
    assert_close(u, tu)
    assert u.dtype is x.dtype
    assert_close(inv, tinv)
    assert_close(cnt, tcnt)
    assert_close(mt.unique(x), np.unique(arr))
    assert_close(x.unique(return_counts=True)[1], tcnt)


def test_unique_dim_matches_torch():
    arr = np.array([[1, 2, 1, 2], [3, 0, 3, 0], [1, 2, 1, 2]])
    x, tx = mt.tensor(arr), torch.tensor(arr)
    for dim in (0, 1, -1):
        got = mt.unique(x, dim=dim, return_inverse=True, return_counts=True)
        ref = torch.unique(tx, dim=dim, return_inverse=True, return_counts=True)
        for a, b in zip(got, ref):
            assert_close(a, b)
    with pytest.raises(IndexError, match="Dimension out of range"):
        mt.unique(x, dim=2)
