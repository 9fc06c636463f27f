"""Sparse COO tensors (``mbtorch.sparse``) against PyTorch's on the same indices and values."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import mbtorch as mt

IDX = [[0, 1, 1, 0, 2], [2, 0, 2, 2, 1]]  # (0, 2) twice: coalescing sums it
VAL = [3.0, 4.0, 5.0, 1.0, -2.0]


def _pair(requires_grad=False, leaves=None):
    va = mt.tensor(VAL, requires_grad=requires_grad)
    vb = torch.tensor(VAL, requires_grad=requires_grad)
    if leaves is not None:
        leaves += [va, vb]
    a = mt.sparse_coo_tensor(mt.tensor(IDX), va, (3, 4))
    b = torch.sparse_coo_tensor(torch.tensor(IDX), vb, (3, 4), check_invariants=True)
    return a, b


def _np(t):
    return t.detach().numpy() if isinstance(t, torch.Tensor) else t.detach().numpy()


def test_metadata_and_to_dense():
    a, b = _pair()
    assert a.shape == tuple(b.shape) and a.is_sparse and a.layout is mt.sparse_coo
    assert repr(a.layout) == repr(b.layout) == "torch.sparse_coo"
    assert (a.sparse_dim(), a.dense_dim(), a._nnz()) == (b.sparse_dim(), b.dense_dim(), b._nnz())
    assert a.is_coalesced() == b.is_coalesced() is False
    np.testing.assert_array_equal(_np(a.to_dense()), _np(b.to_dense()))
    assert mt.ones(2).layout is mt.strided and not mt.ones(2).is_sparse


def test_coalesce_matches_torch():
    a, b = _pair()
    ac, bc = a.coalesce(), b.coalesce()
    assert ac.is_coalesced() and bc.is_coalesced()
    np.testing.assert_array_equal(_np(ac.indices()), _np(bc.indices()))
    np.testing.assert_array_equal(_np(ac.values()), _np(bc.values()))


def test_size_inferred_and_dense_dims():
    a = mt.sparse_coo_tensor([[0, 2], [1, 0]], [[1.0, 2.0], [3.0, 4.0]])
    b = torch.sparse_coo_tensor([[0, 2], [1, 0]], [[1.0, 2.0], [3.0, 4.0]])
    assert a.shape == tuple(b.shape) == (3, 2, 2)
    np.testing.assert_array_equal(_np(a.to_dense()), _np(b.to_dense()))


@pytest.mark.parametrize("sparse_dim", [None, 1])
def test_to_sparse_matches_torch(sparse_dim):
    x = np.array([[0.0, 2.0, 0.0], [0.0, 0.0, 0.0], [3.0, 0.0, 4.0]], np.float32)
    kw = {} if sparse_dim is None else {"sparse_dim": sparse_dim}
    a, b = mt.tensor(x).to_sparse(**kw), torch.tensor(x).to_sparse(**kw)
    assert a.is_coalesced() and b.is_coalesced()
    np.testing.assert_array_equal(_np(a.indices()), _np(b.indices()))
    np.testing.assert_array_equal(_np(a.values()), _np(b.values()))


def test_mm_values_and_gradients_match_torch():
    rng = np.random.default_rng(0)
    d = rng.standard_normal((4, 3)).astype(np.float32)
    leaves = []
    a, b = _pair(requires_grad=True, leaves=leaves)
    da, db = mt.tensor(d, requires_grad=True), torch.tensor(d, requires_grad=True)
    oa, ob = mt.sparse.mm(a, da), torch.sparse.mm(b, db)
    np.testing.assert_allclose(_np(oa), _np(ob), rtol=1e-6)
    w = rng.standard_normal((3, 3)).astype(np.float32)
    (oa * mt.tensor(w)).sum().backward()
    (ob * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(_np(da.grad), _np(db.grad), rtol=1e-5)
    np.testing.assert_allclose(_np(leaves[0].grad), _np(leaves[1].grad), rtol=1e-5)
    np.testing.assert_allclose(_np(mt.spmm(a, da)), _np(torch.spmm(b, db)), rtol=1e-6)
    np.testing.assert_allclose(_np(a @ da), _np(b @ db), rtol=1e-6)
    v = rng.standard_normal(4).astype(np.float32)
    np.testing.assert_allclose(_np(a @ mt.tensor(v)), _np(b @ torch.tensor(v)), rtol=1e-6)


def test_arithmetic_transpose_and_sum():
    a, b = _pair()
    np.testing.assert_array_equal(_np((a + a).to_dense()), _np((b + b).to_dense()))
    np.testing.assert_array_equal(_np((a * 2.0).to_dense()), _np((b * 2.0).to_dense()))
    np.testing.assert_array_equal(_np(a.t().to_dense()), _np(b.t().to_dense()))
    np.testing.assert_allclose(_np(mt.sparse.sum(a)), _np(torch.sparse.sum(b)))
    m = np.arange(12, dtype=np.float32).reshape(3, 4)
    with pytest.raises(RuntimeError, match=r"add\(sparse, dense\) is not supported"):
        b + torch.tensor(m)
    with pytest.raises(RuntimeError, match=r"add\(sparse, dense\) is not supported"):
        a + mt.tensor(m)
    np.testing.assert_allclose(
        _np(mt.sparse.addmm(mt.ones(3, 2), a, mt.ones(4, 2), beta=0.5, alpha=2.0)),
        _np(torch.sparse.addmm(torch.ones(3, 2), b, torch.ones(4, 2), beta=0.5, alpha=2.0)))


def test_errors_name_the_problem():
    with pytest.raises(RuntimeError, match="same nnz"):
        mt.sparse_coo_tensor([[0, 1]], [1.0])
    with pytest.raises(RuntimeError, match="negative index -1 for dim 0"):
        mt.sparse_coo_tensor([[-1]], [1.0], (2,))
    with pytest.raises(RuntimeError, match="for dim 0, size is 2 but found index 2"):
        mt.sparse_coo_tensor([[2]], [1.0], (2,))
    with pytest.raises(RuntimeError, match="uncoalesced"):
        _pair()[0].indices()
    with pytest.raises(RuntimeError, match="cannot be multiplied"):
        mt.sparse.mm(_pair()[0], mt.ones(3, 2))
    with pytest.raises(TypeError, match="argument 'mat1'"):
        mt.sparse.mm(mt.ones(2, 2), mt.ones(2, 2))
    with pytest.raises(RuntimeError, match="indices must be an int64"):
        mt.sparse_coo_tensor(mt.tensor([[0.0]]), [1.0])


# -- the dense side of the sparse API, sparse_mask, to_sparse_coo (issue 15) --------------------
def test_dense_tensor_sparse_methods_match_torch():
    a, b = mt.randn(2, 3), torch.randn(2, 3)
    assert a.to_dense() is a and b.to_dense() is b
    assert a.to_dense(dtype=mt.float64).dtype is mt.float64
    assert (a.sparse_dim(), a.dense_dim()) == (b.sparse_dim(), b.dense_dim()) == (0, 2)
    for name in ("coalesce", "is_coalesced", "indices", "values"):
        with pytest.raises(RuntimeError) as ours:
            getattr(a, name)()
        with pytest.raises(RuntimeError) as theirs:
            getattr(b, name)()
        assert str(ours.value) == str(theirs.value)


def test_to_sparse_coo_and_sparse_mask():
    d = [[0.0, 1.5, 0.0], [2.0, 0.0, -3.0]]
    a, b = mt.tensor(d).to_sparse_coo(), torch.tensor(d).to_sparse_coo()
    assert a.indices().tolist() == b.indices().tolist()
    assert a.values().tolist() == b.values().tolist() and a.to_sparse_coo() is a
    idx = [[0, 1, 1], [1, 2, 0]]
    m = mt.sparse_coo_tensor(idx, [1.0, 1.0, 1.0], (2, 3))
    mt_ = torch.sparse_coo_tensor(idx, [1.0, 1.0, 1.0], (2, 3))
    dense = mt.arange(6.0).reshape(2, 3).requires_grad_()
    out = dense.sparse_mask(m)
    ref = torch.arange(6.0).reshape(2, 3).sparse_mask(mt_)
    assert out._indices().tolist() == ref._indices().tolist()
    assert out._values().tolist() == ref._values().tolist()
    assert out.is_coalesced() == ref.is_coalesced()
    out._values().sum().backward()
    assert dense.grad.tolist() == [[0.0, 1.0, 0.0], [1.0, 0.0, 1.0]]
    with pytest.raises(RuntimeError, match="incompatible sizes"):
        mt.ones(3, 2).sparse_mask(m)
    with pytest.raises(NotImplementedError, match="sparse COO"):
        mt.ones(2, 3).sparse_mask(mt.ones(2, 3))
    assert m.sparse_mask(m.coalesce()).to_dense().tolist() == \
        mt_.sparse_mask(mt_.coalesce()).to_dense().tolist()
    with pytest.raises(RuntimeError, match="dtype argument is not supported"):
        m.to_dense(dtype=mt.float64)
