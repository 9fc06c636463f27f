"""gather / scatter / index_select / index_add / masked ops / take / nonzero against PyTorch
and NumPy, on strided and empty inputs, with the error paths."""

import numpy as np
import pytest

import mbtorch as mt
from tests.conftest import assert_close

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(0)
X = RNG.normal(size=(4, 5)).astype(np.float32)


def _pair(arr):
    return mt.tensor(arr), torch.tensor(arr)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_gather_matches_torch(dim):
    x, tx = _pair(X)
    idx = RNG.integers(0, X.shape[dim], size=(3, 4))
    i, ti = _pair(idx)
    assert_close(mt.gather(x, dim, i), torch.gather(tx, dim, ti))
    xs = mt.tensor(X.T.copy()).t()  # strided input and index, same values
    i_s = mt.tensor(np.ascontiguousarray(idx.T)).t()
    assert not xs.is_contiguous() and not i_s.is_contiguous()
    assert_close(xs.gather(dim, i_s), torch.gather(tx, dim, ti))
    ref = np.take_along_axis(X[:, :4] if dim == 0 else X[:3], idx, axis=dim)
    assert_close(mt.gather(x, dim, i), ref)


def test_gather_empty_and_zero_d():
    x = mt.tensor(X)
    assert mt.gather(x, 0, mt.zeros(0, 5, dtype=mt.int64)).shape == (0, 5)
    assert mt.gather(mt.tensor(3.0), 0, mt.tensor(0)).item() == 3.0


@pytest.mark.parametrize("args, exc, match", [
    ((0, [[5]]), RuntimeError, "index 5 is out of bounds for dimension 0 with size 4"),
    ((1, [[-1]]), IndexError, "index -1 is out of bounds for dimension 1 with size 5"),
    ((0, [1]), RuntimeError, "Index tensor must have the same number of dimensions as input"),
    ((0, np.zeros((2, 6), dtype=np.int64)), RuntimeError,
     r"Size does not match at dimension 1 expected index \[2, 6\] to be no larger than self "
     r"\[4, 5\] apart from dimension 0"),
    ((2, [[0]]), IndexError, "Dimension out of range"),
])
def test_gather_errors(args, exc, match):
    dim, idx = args
    with pytest.raises(exc, match=match):
        mt.gather(mt.tensor(X), dim, mt.tensor(idx))
    with pytest.raises(RuntimeError, match="Expected dtype int64 for index"):
        mt.gather(mt.tensor(X), 0, mt.tensor([[0]], dtype=mt.int32))


@pytest.mark.parametrize("reduce", [None, "add", "multiply"])
def test_scatter_matches_torch(reduce):
    x, tx = _pair(X)
    idx = np.array([[0, 1, 2, 3, 0], [3, 1, 1, 0, 0]])  # duplicates within columns
    src = RNG.normal(size=(3, 5)).astype(np.float32)
    if reduce is None:
        idx = np.array([[0, 1, 2, 3, 0], [3, 2, 1, 0, 1]])
    i, ti = _pair(idx)
    s, ts = _pair(src)
    kw = {} if reduce is None else {"reduce": reduce}
    assert_close(mt.scatter(x, 0, i, s, **kw), torch.scatter(tx, 0, ti, ts, **kw), rtol=1e-5)
    assert_close(mt.scatter(x, 1, i, 2.5, **kw), torch.scatter(tx, 1, ti, 2.5, **kw))
    y, ty = x.clone(), tx.clone()
    y.scatter_(0, i, s, **kw)
    ty.scatter_(0, ti, ts, **kw)
    assert_close(y, ty, rtol=1e-5)


def test_scatter_multiply_integers_exact():
    x = mt.tensor([[1, 2], [3, 4]])
    out = mt.scatter(x, 1, mt.tensor([[0, 0], [1, 1]]), mt.tensor([[5, 7], [2, 3]]),
                     reduce="multiply")
    assert out.tolist() == [[35, 2], [3, 24]]


def test_scatter_add_and_index_add_match_torch():
    x, tx = _pair(X)
    idx = np.array([[0, 0, 3, 3, 0], [1, 0, 0, 2, 2]])
    src = RNG.normal(size=(2, 5)).astype(np.float32)
    i, ti = _pair(idx)
    s, ts = _pair(src)
    assert_close(mt.scatter_add(x, 0, i, s), torch.scatter_add(tx, 0, ti, ts), rtol=1e-5)
    y, ty = x.clone(), tx.clone()
    y.scatter_add_(0, i, s)
    ty.scatter_add_(0, ti, ts)
    assert_close(y, ty, rtol=1e-5)
    sel = np.array([4, 0, 4])
    src2 = RNG.normal(size=(4, 3)).astype(np.float32)
    a, ta = _pair(src2)
    assert_close(mt.index_add(x, 1, mt.tensor(sel), a, alpha=2),
                 torch.index_add(tx, 1, torch.tensor(sel), ta, alpha=2), rtol=1e-5)
    z = x.clone()
    z.index_add_(0, mt.tensor([1]), mt.ones(1, 5))
    assert_close(z, X + np.array([[0], [1], [0], [0]], dtype=np.float32))


def test_scatter_errors():
    x = mt.tensor(X)
    with pytest.raises(RuntimeError, match="index 4 is out of bounds for dimension 0"):
        mt.scatter(x, 0, mt.tensor([[4]]), 1.0)
    with pytest.raises(RuntimeError, match="Expected self.dtype to be equal to src.dtype"):
        mt.scatter(x, 0, mt.tensor([[1]]), mt.ones(1, 1, dtype=mt.int64))
    with pytest.raises(RuntimeError, match="reduce argument must be either add or multiply"):
        mt.scatter(x, 0, mt.tensor([[1]]), mt.ones(1, 1), reduce="max")
    with pytest.raises(RuntimeError, match="same number of dimensions as self"):
        mt.scatter(x, 0, mt.tensor([1]), mt.ones(1, 1))
    with pytest.raises(RuntimeError, match="to be no larger than self"):
        mt.scatter(x, 0, mt.zeros(1, 6, dtype=mt.int64), mt.ones(1, 6))
    with pytest.raises(RuntimeError, match="index_add_\\(\\): Number of indices \\(1\\)"):
        mt.index_add(x, 0, mt.tensor([0]), mt.ones(2, 5))


def test_index_select_matches_torch():
    x, tx = _pair(X)
    for dim, idx in [(0, [3, 0, 3]), (1, [4]), (-1, []), (0, 2)]:
        i = mt.tensor(idx, dtype=mt.int64)
        ti = torch.tensor(idx, dtype=torch.int64)
        assert_close(mt.index_select(x, dim, i), torch.index_select(tx, dim, ti))
        xs = mt.tensor(X.T.copy()).t()
        assert_close(xs.index_select(dim, i), tx.index_select(dim, ti))
    assert_close(x.index_select(0, mt.tensor([1, 2], dtype=mt.int32)), X[[1, 2]])
    with pytest.raises(IndexError, match="index out of range in self"):
        mt.index_select(x, 0, mt.tensor([4]))
    with pytest.raises(IndexError, match="Index is supposed to be a vector"):
        mt.index_select(x, 0, mt.tensor([[1]]))
    with pytest.raises(RuntimeError, match="Expected dtype int32 or int64 for index"):
        mt.index_select(x, 0, mt.tensor([1.0]))


def test_masked_fill_and_select_match_torch():
    x, tx = _pair(X)
    mask = X > 0.3
    m, tm = _pair(mask)
    assert_close(mt.masked_fill(x, m, -1.0), torch.masked_fill(tx, tm, -1.0))
    assert_close(x.masked_fill(m[0], mt.tensor(2.0)), tx.masked_fill(tm[0], torch.tensor(2.0)))
    y = x.t().clone().t()  # strided target
    y.masked_fill_(m, 0.0)
    assert_close(y, np.where(mask, 0.0, X))
    xi = mt.tensor([1, 2, 3])
    assert mt.masked_fill(xi, mt.tensor([True, False, True]), 7.9).tolist() == [7, 2, 7]
    assert_close(mt.masked_select(x, m), torch.masked_select(tx, tm))
    assert_close(mt.masked_select(x, m[0]), torch.masked_select(tx, tm[0]))  # broadcast mask
    assert mt.masked_select(x, m & False).shape == (0,)


def test_masked_errors():
    x = mt.tensor(X)
    with pytest.raises(RuntimeError, match="masked_fill_ only supports boolean masks"):
        x.masked_fill(mt.ones(4, 5, dtype=mt.int64), 1.0)
    with pytest.raises(RuntimeError, match="only supports a 0-dimensional value tensor"):
        x.masked_fill(mt.ones(4, 5, dtype=mt.bool), mt.ones(2))
    with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
        x.masked_fill_(mt.ones(2, 4, 5, dtype=mt.bool), 1.0)
    with pytest.raises(RuntimeError, match="masked_select: expected BoolTensor for mask"):
        mt.masked_select(x, mt.ones(4, 5))


def test_take_and_take_along_dim_match_torch():
    x, tx = _pair(X)
    idx = np.array([[0, 19], [-1, 7]])
    assert_close(mt.take(x, mt.tensor(idx)), torch.take(tx, torch.tensor(idx)))
    order = np.argsort(X, axis=1)
    o, to = _pair(order)
    assert_close(mt.take_along_dim(x, o, dim=1), torch.take_along_dim(tx, to, dim=1))
    assert_close(mt.take_along_dim(x, o[:, :1], 1), np.take_along_axis(X, order[:, :1], 1))
    b = mt.tensor([[0], [1]])  # broadcasts against (4, 5) outside dim 0
    assert_close(mt.take_along_dim(x, b, 0), torch.take_along_dim(tx, torch.tensor([[0], [1]]),
                                                                  0))
    assert_close(mt.take_along_dim(x, mt.tensor([0, 7])), X.reshape(-1)[[0, 7]])
    with pytest.raises(RuntimeError, match="should have the same number of dimensions"):
        mt.take_along_dim(x, mt.tensor([1]), dim=0)
    with pytest.raises(IndexError, match="out of bounds"):
        mt.take(x, mt.tensor([20]))


@pytest.mark.parametrize("arr", [
    np.array([[0, 1, 0], [2, 0, 3]]), np.zeros((2, 0)), np.array(3.0), np.array(0.0),
    np.array([True, False, True]), np.zeros((2, 3, 2)),
])
def test_nonzero_argwhere_match_torch(arr):
    x, tx = _pair(arr)
    assert_close(mt.nonzero(x), torch.nonzero(tx), dtype=mt.int64)
    assert_close(mt.argwhere(x), torch.argwhere(tx))
    for a, b in zip(mt.nonzero(x, as_tuple=True), torch.nonzero(tx, as_tuple=True)):
        assert_close(a, b)
    assert len(mt.nonzero(x, as_tuple=True)) == len(torch.nonzero(tx, as_tuple=True))
    if arr.ndim:
        assert_close(mt.where(x != 0)[0], np.nonzero(arr)[0])
