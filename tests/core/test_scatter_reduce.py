"""``scatter_reduce``, ``index_reduce`` and ``put`` (``scatter_reduce.py``) against PyTorch:
every reduction with and without the original values, integer means, in-place forms,
gradients, errors."""

import numpy as np
import pytest

import mbtorch as mt
from tests.core.torch_parity import grads_match, same

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(9)
REDUCES = ["sum", "prod", "mean", "amax", "amin"]

# PyTorch warns that its index_reduce is in beta; the warning is not under test
pytestmark = pytest.mark.filterwarnings("ignore:index_reduce")


@pytest.mark.parametrize("reduce", REDUCES)
@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("dtype", ["float64", "int64", "int32"])
@pytest.mark.parametrize("dim", [0, 1])
def test_scatter_reduce_matches_torch(reduce, include_self, dtype, dim):
    x = RNG.integers(-5, 6, (3, 4)).astype(dtype)
    src = RNG.integers(-5, 6, (4, 4)).astype(dtype)
    index = RNG.integers(0, 3, (4, 4)) if dim == 0 else RNG.integers(0, 4, (3, 2))
    ours = mt.tensor(x).scatter_reduce(dim, mt.tensor(index), mt.tensor(src), reduce,
                                       include_self=include_self)
    theirs = torch.tensor(x).scatter_reduce(dim, torch.tensor(index), torch.tensor(src), reduce,
                                            include_self=include_self)
    same(ours, theirs)


def test_scatter_reduce_top_level_inplace_and_aliases():
    x, src, index = np.zeros(3), np.array([1.0, 5.0, 2.0, 4.0]), np.array([0, 0, 2, 2])
    same(mt.scatter_reduce(mt.tensor(x), 0, mt.tensor(index), mt.tensor(src), "max"),
         torch.scatter_reduce(torch.tensor(x), 0, torch.tensor(index), torch.tensor(src), "max"))
    ours, theirs = mt.tensor(x), torch.tensor(x)
    assert ours.scatter_reduce_(0, mt.tensor(index), mt.tensor(src), "amin",
                                include_self=False) is ours
    theirs.scatter_reduce_(0, torch.tensor(index), torch.tensor(src), "amin", include_self=False)
    same(ours, theirs)


def test_scatter_reduce_zero_d_and_empty_index():
    same(mt.tensor(2.0).scatter_reduce(0, mt.tensor(0), mt.tensor(3.0), "prod"),
         torch.tensor(2.0).scatter_reduce(0, torch.tensor(0), torch.tensor(3.0), "prod"))
    same(mt.ones(3).scatter_reduce(0, mt.tensor([], dtype=mt.int64), mt.ones(0), "sum"),
         torch.ones(3).scatter_reduce(0, torch.tensor([], dtype=torch.int64), torch.ones(0),
                                      "sum"))


@pytest.mark.parametrize("reduce", ["sum", "mean", "amax", "amin", "prod"])
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_gradients(reduce, include_self):
    x = RNG.permutation(12).reshape(3, 4) + 0.5  # distinct values: no ties
    src = RNG.permutation(8).reshape(2, 4) + 0.25
    index = np.array([[0, 1, 2, 0], [2, 1, 0, 0]])
    grads_match(lambda m, a, b: a.scatter_reduce(0, m.tensor(index), b, reduce,
                                                 include_self=include_self), x, src)


@pytest.mark.parametrize("reduce", ["prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_index_reduce_matches_torch(reduce, include_self, dim):
    x = RNG.normal(size=(4, 3))
    index = np.array([2, 0, 2])
    src = RNG.normal(size=(3, 3)) if dim == 0 else RNG.normal(size=(4, 3))
    theirs = torch.tensor(x).index_reduce(dim, torch.tensor(index), torch.tensor(src),
                                          reduce, include_self=include_self)
    same(mt.tensor(x).index_reduce(dim, mt.tensor(index), mt.tensor(src), reduce,
                                   include_self=include_self), theirs)
    same(mt.index_reduce(mt.tensor(x), dim, mt.tensor(index), mt.tensor(src), reduce,
                         include_self=include_self), theirs)
    ours = mt.tensor(x)
    ours.index_reduce_(dim, mt.tensor(index), mt.tensor(src), reduce, include_self=include_self)
    same(ours, theirs)


def test_index_reduce_gradient():
    x = RNG.permutation(12).reshape(4, 3) + 0.5
    src = RNG.permutation(6).reshape(2, 3) + 0.25
    grads_match(lambda m, a, b: a.index_reduce(0, m.tensor([3, 1]), b, "amax"), x, src)


@pytest.mark.parametrize("accumulate", [False, True])
def test_put_matches_torch(accumulate):
    x = RNG.normal(size=(2, 3))
    index, src = np.array([-1, 0, 4]), np.array([1.0, 2.0, 3.0])
    same(mt.put(mt.tensor(x), mt.tensor(index), mt.tensor(src), accumulate),
         torch.put(torch.tensor(x), torch.tensor(index), torch.tensor(src), accumulate))
    ours, theirs = mt.tensor(x), torch.tensor(x)
    ours.put_(mt.tensor([[1, 1]]), mt.tensor([5.0, 6.0], dtype=mt.float64), accumulate=True)
    theirs.put_(torch.tensor([[1, 1]]), torch.tensor([5.0, 6.0], dtype=torch.float64),
                accumulate=True)
    same(ours, theirs)
    grads_match(lambda m, a, b: a.put(m.tensor([0, 5]), b, accumulate), x, [2.0, 3.0])


@pytest.mark.parametrize("call,exc", [
    (lambda m: m.zeros(2, 3).scatter_reduce(0, m.tensor([[0, 1, 0]]), m.ones(1, 3), "foo"),
     RuntimeError),
    (lambda m: m.zeros(2, 3).scatter_reduce(0, m.tensor([[0, 1, 0]]), 2.0, "sum"), TypeError),
    (lambda m: m.zeros(2, 3).index_reduce(0, m.tensor([0]), m.ones(1, 3), "sum"), RuntimeError),
    (lambda m: m.zeros(2, 3).index_reduce(0, m.tensor([[0]]), m.ones(1, 3), "prod"),
     IndexError),
    (lambda m: m.zeros(2, 3).index_reduce(0, m.tensor([0, 1]), m.ones(1, 3), "prod"),
     RuntimeError),
    (lambda m: m.zeros(2, 3).put(m.tensor([7]), m.ones(1)), IndexError),
    (lambda m: m.zeros(2, 3).put(m.tensor([1, 2]), m.ones(1)), IndexError),
    (lambda m: m.zeros(2, 3).put(m.tensor([1]), m.ones(1, dtype=m.float64)), RuntimeError),
    (lambda m: m.zeros(2, 3).put(m.tensor([1], dtype=m.int32), m.ones(1)), RuntimeError),
])
def test_errors_match_torch(call, exc):
    with pytest.raises(exc) as theirs:
        call(torch)
    with pytest.raises(exc) as ours:
        call(mt)
    if exc is not TypeError:
        assert str(ours.value) == str(theirs.value)


def test_scatter_reduce_index_out_of_bounds():
    with pytest.raises(RuntimeError, match="out of bounds"):
        mt.zeros(2, 3).scatter_reduce(0, mt.tensor([[0, 3, 0]]), mt.ones(1, 3), "sum")


@pytest.mark.parametrize("reduce", ["amax", "amin", "prod"])
@pytest.mark.parametrize("include_self", [True, False])
def test_gradients_with_ties_and_zeros(reduce, include_self):
    # ties between src values and with the input share the gradient as PyTorch's rule says
    x = np.array([1.0, 3.0, 3.0, 0.0, 2.0])
    src = np.array([3.0, 3.0, 1.0, 0.0, 5.0, 2.0, 0.0])
    index = np.array([1, 1, 2, 3, 3, 4, 4])
    grads_match(lambda m, a, b: a.scatter_reduce(0, m.tensor(index), b, reduce,
                                                 include_self=include_self), x, src)
    grads_match(lambda m, a, b: a.index_reduce(0, m.tensor(index), b, reduce,
                                               include_self=include_self), x, src)


def test_tie_gradient_keeps_values_exact():
    x = mt.tensor([-0.0, float("inf"), 2.0], requires_grad=True)
    src = mt.tensor([-0.0, 1.0, float("nan")])
    out = x.scatter_reduce(0, mt.tensor([0, 1, 2]), src, "amax")
    ref = torch.tensor([-0.0, float("inf"), 2.0]).scatter_reduce(
        0, torch.tensor([0, 1, 2]), torch.tensor([-0.0, 1.0, float("nan")]), "amax")
    same(out, ref, exact=True)
    assert np.signbit(out.detach().numpy()[0])
