"""``diag``, ``diag_embed``, ``block_diag``, ``triu_indices``/``tril_indices``
(``matrices.py``) against PyTorch: offsets, dims, dtypes, strided/empty inputs, gradients,
errors; ``mini`` runs the decompositions."""

import numpy as np
import pytest

import mbtorch as mt
from mbtorch.autograd import gradcheck
from tests.conftest import assert_close

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(3)


@pytest.mark.parametrize("k", [0, 1, 2, -1, -3])
def test_diag_matches_torch(k):
    v = RNG.integers(-5, 5, 4)
    assert_close(mt.diag(mt.tensor(v), k), torch.diag(torch.tensor(v), k), dtype=mt.int64)
    m = RNG.normal(size=(3, 5)).astype(np.float32)
    out = mt.tensor(m).diag(k)
    assert_close(out, torch.tensor(m).diag(k))
    assert out._base is None  # a copy, as torch.diag
    assert_close(mt.tensor(m).t().diag(k), torch.tensor(m).t().diag(k))
    b = mt.diag(mt.tensor([True, False]), k)
    assert_close(b, torch.diag(torch.tensor([True, False]), k), dtype=mt.bool)


def test_diag_edges_and_errors():
    assert mt.diag(mt.ones(2, 3), 5).shape == (0,)
    assert mt.diag(mt.zeros(0)).shape == (0, 0)
    with pytest.raises(RuntimeError, match="Supports 1D or 2D tensors. Got 3D"):
        mt.diag(mt.ones(2, 2, 2))
    with pytest.raises(RuntimeError, match="Got 0D"):
        mt.diag(mt.tensor(1.0))
    x = mt.tensor([1.0, -2.0, 3.0], dtype=mt.float64, requires_grad=True)
    assert gradcheck(lambda t: mt.diag(t, 1), (x,))
    m = mt.tensor(RNG.normal(size=(3, 3)), requires_grad=True)
    assert gradcheck(lambda t: mt.diag(t, -1), (m,))


@pytest.mark.parametrize("args", [(0, -2, -1), (1, 0, 2), (-2, 2, 0), (2, -1, 1)])
def test_diag_embed_matches_torch(args):
    x = RNG.normal(size=(2, 3)).astype(np.float32)
    assert_close(mt.diag_embed(mt.tensor(x), *args), torch.diag_embed(torch.tensor(x), *args))
    assert_close(mt.tensor(x).t().diag_embed(*args), torch.tensor(x).t().diag_embed(*args))


def test_diag_embed_errors_gradient_and_mini(mini_device):
    with pytest.raises(RuntimeError, match="cannot be identical"):
        mt.diag_embed(mt.ones(2), dim1=0, dim2=0)
    with pytest.raises(IndexError):
        mt.diag_embed(mt.ones(2), dim1=3)
    x = mt.tensor(RNG.normal(size=(2, 3)), requires_grad=True)
    assert gradcheck(lambda t: mt.diag_embed(t, 1, 0, 2), (x,))
    out = mt.diag_embed(mt.tensor([1, 2], device=mini_device), -1)
    assert out.cpu().tolist() == [[0, 0, 0], [1, 0, 0], [0, 2, 0]]


def test_block_diag_matches_torch():
    parts = [np.array(2.0), np.array([1.0, 2.0]), np.ones((2, 1)), np.arange(6.0).reshape(2, 3)]
    assert_close(mt.block_diag(*[mt.tensor(p) for p in parts]),
                 torch.block_diag(*[torch.tensor(p) for p in parts]))
    mixed = mt.block_diag(mt.tensor([[1, 2]]), mt.tensor([[0.5]]))
    assert mixed.dtype is mt.float32
    assert_close(mixed, torch.block_diag(torch.tensor([[1, 2]]), torch.tensor([[0.5]])))
    assert_close(mt.block_diag(mt.zeros(0, 2), mt.ones(1, 0)),
                 torch.block_diag(torch.zeros(0, 2), torch.ones(1, 0)))
    assert mt.block_diag().shape == (1, 0)
    a = mt.tensor(RNG.normal(size=(2, 2)), requires_grad=True)
    b = mt.tensor(RNG.normal(size=(1, 3)), requires_grad=True)
    assert gradcheck(mt.block_diag, (a, b))
    with pytest.raises(RuntimeError, match="2 or fewer dimensions"):
        mt.block_diag(mt.ones(2, 2, 2))


@pytest.mark.parametrize("row, col, offset", [(3, 4, 0), (3, 4, 1), (4, 3, -1), (3, 4, 10),
                                              (3, 4, -10), (0, 3, 0), (1, 1, 0)])
def test_tri_indices_match_torch(row, col, offset):
    for name in ("triu_indices", "tril_indices"):
        ours = getattr(mt, name)(row, col, offset)
        assert_close(ours, getattr(torch, name)(row, col, offset), dtype=mt.int64)
    out = mt.tril_indices(row, col, offset, dtype=mt.int32)
    assert out.dtype is mt.int32
    with pytest.raises(NotImplementedError):
        mt.triu_indices(3, 3, dtype=mt.float32)
    with pytest.raises(RuntimeError, match="row must be non-negative"):
        mt.tril_indices(-1, 3)
