"""``index_fill``, ``index_copy`` and ``masked_scatter`` (+ in-place forms) from
``index_writes.py`` against PyTorch: dims, negative and 0-d indices, broadcasting, strided and
empty inputs, gradients, error types; ``mini`` runs the compositions."""

import numpy as np
import pytest

import mbtorch as mt
from mbtorch.autograd import gradcheck
from tests.conftest import assert_close

torch = pytest.importorskip("torch")

X = np.arange(12.0, dtype=np.float32).reshape(3, 4)


def _pair(arr=X):
    return mt.tensor(arr), torch.tensor(arr)


@pytest.mark.parametrize("dim, idx", [(0, [0, 2]), (1, [3, -4]), (-1, [1]), (1, 2), (0, [])])
def test_index_fill_matches_torch(dim, idx):
    m, t = _pair()
    mi, ti = mt.tensor(idx, dtype=mt.int64), torch.tensor(idx, dtype=torch.int64)
    for value in (-1.5, mt.tensor(7.0)):
        tv = torch.tensor(7.0) if isinstance(value, mt.Tensor) else value
        assert_close(m.index_fill(dim, mi, value), t.index_fill(dim, ti, tv))
        strided = mt.index_fill(m.t(), 0, mt.tensor([3, 0]), value)  # a transposed input
        assert_close(strided, t.t().index_fill(0, torch.tensor([3, 0]), tv))
    ints = mt.arange(6).index_fill(0, mt.tensor([0]), 2.7)
    assert ints.tolist() == torch.arange(6).index_fill(0, torch.tensor([0]), 2.7).tolist()


def test_index_fill_zero_d_inplace_gradient_and_errors():
    assert mt.tensor(5.0).index_fill(0, mt.tensor([0]), 1).item() == 1.0
    y = mt.tensor(X.copy())
    assert y.index_fill_(1, mt.tensor([1]), 0.0) is y
    assert y[:, 1].tolist() == [0.0, 0.0, 0.0]
    x = mt.tensor(X.astype(np.float64), requires_grad=True)
    v = mt.tensor(2.0, dtype=mt.float64, requires_grad=True)
    assert gradcheck(lambda a, b: mt.index_fill(a, 1, mt.tensor([0, 2]), b), (x, v))
    m = mt.tensor(X)
    with pytest.raises(IndexError, match="Expected dtype int64"):
        m.index_fill(1, mt.tensor([0], dtype=mt.int32), 1)
    with pytest.raises(RuntimeError, match="vector/scalar"):
        m.index_fill(1, mt.tensor([[0]]), 1)
    with pytest.raises(IndexError, match="out of bounds"):
        m.index_fill(1, mt.tensor([5]), 1)
    with pytest.raises(RuntimeError, match="0-dimensional value tensor"):
        m.index_fill(1, mt.tensor([0]), mt.tensor([1.0]))


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_index_copy_matches_torch(dim):
    m, t = _pair()
    d = dim % 2
    n = X.shape[d]
    perm = np.random.default_rng(1).permutation(n)[:2]
    src_shape = list(X.shape)
    src_shape[d] = 2
    src = np.arange(np.prod(src_shape), dtype=np.float32).reshape(src_shape) + 100
    out = m.index_copy(dim, mt.tensor(perm), mt.tensor(src))
    assert_close(out, t.index_copy(dim, torch.tensor(perm), torch.tensor(src)))
    assert_close(mt.index_copy(m, dim, mt.tensor(perm), mt.tensor(src.T.copy()).t()),
                 t.index_copy(dim, torch.tensor(perm), torch.tensor(src)))
    y = mt.tensor(X.copy())
    y.index_copy_(dim, mt.tensor(perm), mt.tensor(src))
    assert_close(y, out)


def test_index_copy_scalars_gradient_and_errors():
    assert mt.tensor(5.0).index_copy(0, mt.tensor([0]), mt.tensor(2.0)).item() == 2.0
    assert mt.tensor(5.0).index_copy(0, mt.tensor(0), mt.tensor([2.0])).item() == 2.0
    assert_close(mt.tensor(X).index_copy(0, mt.zeros(0, dtype=mt.int64), mt.zeros(0, 4)), X)
    x = mt.tensor(X.astype(np.float64), requires_grad=True)
    s = mt.tensor(np.ones((3, 2)), requires_grad=True)
    assert gradcheck(lambda a, b: mt.index_copy(a, 1, mt.tensor([3, 0]), b), (x, s))
    m = mt.tensor(X[:2, :3].copy())
    with pytest.raises(RuntimeError, match="Expected a long tensor"):
        m.index_copy(1, mt.tensor([2, 0], dtype=mt.int32), mt.ones(2, 2))
    with pytest.raises(RuntimeError, match="same dtype"):
        m.index_copy(1, mt.tensor([2, 0]), mt.ones(2, 2, dtype=mt.float64))
    with pytest.raises(IndexError, match="Number of indices"):
        m.index_copy(1, mt.tensor([2, 0]), mt.ones(2, 3))
    with pytest.raises(IndexError, match="out of bounds"):
        m.index_copy(1, mt.tensor([2, -1]), mt.ones(2, 2))
    with pytest.raises(RuntimeError, match="same slice shapes"):
        m.index_copy(1, mt.tensor([2]), mt.ones(3, 1))
    with pytest.raises(IndexError, match="dimensionality must match"):
        m.index_copy(0, mt.tensor([1]), mt.ones(3))


def test_masked_scatter_matches_torch():
    m, t = _pair()
    mask = np.array([True, False, True, True])
    src = np.arange(100.0, 120.0, dtype=np.float32)
    assert_close(m.masked_scatter(mt.tensor(mask), mt.tensor(src)),
                 t.masked_scatter(torch.tensor(mask), torch.tensor(src)))
    assert_close(mt.masked_scatter(m.t(), mt.tensor(mask[:3]), mt.tensor(src).reshape(4, 5)),
                 torch.masked_scatter(t.t(), torch.tensor(mask[:3]), torch.tensor(src)))
    col = np.array([[True], [False]])
    assert_close(mt.masked_scatter(mt.tensor([1.0, 2.0]), mt.tensor(col), mt.tensor(src)),
                 torch.masked_scatter(torch.tensor([1.0, 2.0]), torch.tensor(col),
                                      torch.tensor(src)))
    none = mt.zeros(3, 4, dtype=mt.bool)
    assert_close(m.masked_scatter(none, mt.zeros(0)), X)
    y = mt.tensor(X.copy())
    y.masked_scatter_(mt.tensor(mask), mt.tensor(src))
    assert_close(y, t.masked_scatter(torch.tensor(mask), torch.tensor(src)))


def test_masked_scatter_gradient_errors_and_mini(mini_device):
    x = mt.tensor(X.astype(np.float64), requires_grad=True)
    s = mt.tensor(np.linspace(0, 1, 10), requires_grad=True)
    mask = mt.tensor([True, False, False, True])
    assert gradcheck(lambda a, b: mt.masked_scatter(a, mask, b), (x, s))
    m = mt.tensor(X)
    with pytest.raises(RuntimeError, match="boolean masks"):
        m.masked_scatter(mt.tensor([1, 0, 1, 0]), mt.ones(12))
    with pytest.raises(RuntimeError, match="same dtypes"):
        m.masked_scatter(mask, mt.ones(12, dtype=mt.float64))
    with pytest.raises(RuntimeError, match="Number of elements of source"):
        m.masked_scatter(mask, mt.ones(5))
    with pytest.raises(RuntimeError, match="broadcast shape"):
        mt.ones(2).masked_scatter_(mt.tensor([[True], [False]]), mt.ones(5))
    dev = mt.tensor([1.0, 2.0, 3.0], device=mini_device)
    out = dev.masked_scatter(mt.tensor([True, False, True], device=mini_device),
                             mt.tensor([9.0, 8.0], device=mini_device))
    assert out.cpu().tolist() == [9.0, 2.0, 8.0]
    filled = dev.index_fill(0, mt.tensor([-1], device=mini_device), 0.0)
    assert filled.cpu().tolist() == [1.0, 2.0, 0.0]
    copied = dev.index_copy(0, mt.tensor([0], device=mini_device),
                            mt.tensor([5.0], device=mini_device))
    assert copied.cpu().tolist() == [5.0, 2.0, 3.0]
