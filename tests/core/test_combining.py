"""``broadcast_shapes``/``broadcast_tensors``, ``meshgrid``, ``cartesian_prod`` and
``combinations`` (``combining.py``) against PyTorch: shapes, views, dtypes, gradients, errors."""

import numpy as np
import pytest

import mbtorch as mt
from mbtorch.autograd import gradcheck
from tests.conftest import assert_close

torch = pytest.importorskip("torch")


def test_broadcast_shapes_matches_torch():
    for shapes in [((2, 1), (3,)), (2, (3, 1)), (), ((0, 1), (4,)), ([5, 1, 3], (1, 4, 1), 3)]:
        ours = mt.broadcast_shapes(*shapes)
        assert isinstance(ours, tuple) and ours == tuple(torch.broadcast_shapes(*shapes))
    with pytest.raises(RuntimeError, match="Mismatching argument at index 1"):
        mt.broadcast_shapes((2, 3), (4,))
    with pytest.raises(ValueError, match="negative length"):
        mt.broadcast_shapes((2, -1))


def test_broadcast_tensors_are_views_with_gradients():
    a = mt.tensor([[1.0], [2.0]], dtype=mt.float64, requires_grad=True)
    b = mt.tensor([10.0, 20.0, 30.0], dtype=mt.float64, requires_grad=True)
    x, y = mt.broadcast_tensors(a, b)
    tx, ty = torch.broadcast_tensors(torch.tensor([[1.0], [2.0]]), torch.tensor([10.0, 20, 30]))
    assert_close(x, tx)
    assert_close(y, ty)
    assert x.stride() == (1, 0) and y.stride() == (0, 1)
    assert gradcheck(lambda p, q: mt.broadcast_tensors(p, q)[0] * mt.broadcast_tensors(p, q)[1],
                     (a, b))
    assert mt.broadcast_tensors() == ()
    assert mt.broadcast_tensors([a])[0].shape == (2, 1)
    with pytest.raises(RuntimeError, match="must match"):
        mt.broadcast_tensors(mt.ones(2, 3), mt.ones(4))


@pytest.mark.parametrize("indexing", ["ij", "xy"])
def test_meshgrid_matches_torch(indexing):
    xs = [np.arange(2.0), np.arange(3.0) * 10, np.array(7.0), np.arange(4.0)]
    ours = mt.meshgrid(*[mt.tensor(x) for x in xs], indexing=indexing)
    theirs = torch.meshgrid(*[torch.tensor(x) for x in xs], indexing=indexing)
    assert len(ours) == 4
    for o, t in zip(ours, theirs):
        assert_close(o, t)
    pair = mt.meshgrid([mt.tensor([1, 2]), mt.tensor([3, 4, 5])], indexing=indexing)
    tpair = torch.meshgrid([torch.tensor([1, 2]), torch.tensor([3, 4, 5])], indexing=indexing)
    for o, t in zip(pair, tpair):
        assert_close(o, t, dtype=mt.int64)
    assert mt.meshgrid(mt.tensor([1.0]))[0].shape == (1,)
    a = mt.tensor([1.0, 2.0], dtype=mt.float64, requires_grad=True)
    b = mt.tensor([3.0, 4.0, 5.0], dtype=mt.float64, requires_grad=True)
    assert gradcheck(lambda p, q: mt.meshgrid(p, q, indexing=indexing)[0] *
                     mt.meshgrid(p, q, indexing=indexing)[1], (a, b))


def test_meshgrid_errors():
    with pytest.raises(RuntimeError, match="same dtype"):
        mt.meshgrid(mt.ones(2), mt.ones(3, dtype=mt.int64))
    with pytest.raises(RuntimeError, match="0D or 1D"):
        mt.meshgrid(mt.ones(2, 2))
    with pytest.raises(RuntimeError, match="non-empty"):
        mt.meshgrid()
    with pytest.raises(RuntimeError, match="indexing must be one of"):
        mt.meshgrid(mt.ones(2), indexing="foo")


def test_cartesian_prod_matches_torch():
    a, b, c = [1, 2], [3.0, 4.0, 5.0], [6, 7]
    assert_close(mt.cartesian_prod(mt.tensor(a), mt.tensor(c)),
                 torch.cartesian_prod(torch.tensor(a), torch.tensor(c)))
    t3 = torch.cartesian_prod(torch.tensor(b), torch.tensor(b), torch.tensor(b[:2]))
    assert_close(mt.cartesian_prod(mt.tensor(b), mt.tensor(b), mt.tensor(b[:2])), t3)
    assert_close(mt.cartesian_prod(mt.tensor(a)), torch.tensor(a))
    assert mt.cartesian_prod(mt.tensor(a), mt.zeros(0, dtype=mt.int64)).shape == (0, 2)
    with pytest.raises(RuntimeError, match="same dtype"):
        mt.cartesian_prod(mt.arange(2), mt.ones(2))
    with pytest.raises(RuntimeError, match="1D vector"):
        mt.cartesian_prod(mt.ones(2, 2))


@pytest.mark.parametrize("r", [0, 1, 2, 3, 5])
@pytest.mark.parametrize("with_replacement", [False, True])
def test_combinations_matches_torch(r, with_replacement):
    x = np.array([3.0, 1.0, 4.0, 1.5])
    ours = mt.combinations(mt.tensor(x), r, with_replacement)
    theirs = torch.combinations(torch.tensor(x), r, with_replacement)
    assert_close(ours, theirs, dtype=mt.float64)


def test_combinations_edges_and_gradient():
    assert mt.combinations(mt.arange(0)).shape == (0, 2)
    assert mt.combinations(mt.arange(5)[::2]).tolist() == [[0, 2], [0, 4], [2, 4]]
    x = mt.tensor([0.5, -1.0, 2.0], dtype=mt.float64, requires_grad=True)
    assert gradcheck(lambda t: mt.combinations(t, 2).prod(1), (x,))
    with pytest.raises(RuntimeError, match="non-negative"):
        mt.combinations(mt.arange(3), r=-1)
    with pytest.raises(RuntimeError, match="1D vector"):
        mt.combinations(mt.ones(2, 2))
