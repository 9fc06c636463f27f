"""``tensor_split``, ``hsplit``, ``vsplit``, ``dsplit`` and ``split_with_sizes``
(``splitting.py``) against PyTorch: sections, index lists with Python slice rules, tensor
arguments, views, gradients and errors."""

import numpy as np
import pytest

import mbtorch as mt
from tests.core.torch_parity import same, same_error

torch = pytest.importorskip("torch")

X = np.arange(24.0).reshape(2, 3, 4)


@pytest.mark.parametrize("arg", [1, 2, 3, 5, [1], [1, 3], [5, 2], [-2, 8], (0, 0, 4), []])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_tensor_split_matches_torch(arg, dim):
    same(mt.tensor_split(mt.tensor(X), arg, dim), torch.tensor_split(torch.tensor(X), arg, dim))
    same(mt.tensor(X).tensor_split(arg, dim=dim), torch.tensor(X).tensor_split(arg, dim=dim))


def test_tensor_split_tensor_arguments_and_views():
    x = mt.arange(7)
    same(mt.tensor_split(x, mt.tensor(3)), torch.tensor_split(torch.arange(7), torch.tensor(3)))
    same(mt.tensor_split(x, mt.tensor([1, 4])),
         torch.tensor_split(torch.arange(7), torch.tensor([1, 4])))
    parts = mt.tensor_split(x, 2)
    parts[1][0] = 100  # a view: the write shows in the input
    assert x.tolist()[4] == 100


@pytest.mark.parametrize("name,arg", [("hsplit", 2), ("hsplit", [1, 3]), ("vsplit", 2),
                                      ("vsplit", [1]), ("dsplit", 2), ("dsplit", [3])])
def test_numpy_style_splits(name, arg):
    x = np.arange(48.0).reshape(2, 4, 6)
    same(getattr(mt, name)(mt.tensor(x), arg), getattr(torch, name)(torch.tensor(x), arg))
    same(getattr(mt.tensor(x), name)(arg), getattr(torch.tensor(x), name)(arg))


def test_hsplit_of_a_vector_splits_dim_0():
    same(mt.hsplit(mt.arange(6), 3), torch.hsplit(torch.arange(6), 3))


def test_split_with_sizes_top_level():
    same(mt.split_with_sizes(mt.tensor(X), [1, 2], 1),
         torch.split_with_sizes(torch.tensor(X), [1, 2], 1))


def test_gradient_flows_through_pieces():
    x = mt.tensor(X, requires_grad=True)
    a, b = mt.tensor_split(x, [1], dim=2)
    (a.sum() * 2 + b.sum()).backward()
    tx = torch.tensor(X, requires_grad=True)
    ta, tb = torch.tensor_split(tx, [1], dim=2)
    (ta.sum() * 2 + tb.sum()).backward()
    same(x.grad, tx.grad)


@pytest.mark.parametrize("call", [
    lambda m: m.tensor_split(m.zeros(4), 0),
    lambda m: m.tensor_split(m.zeros(4), m.tensor([1.0])),
    lambda m: m.tensor_split(m.zeros(4), m.tensor([[1]])),
    lambda m: m.tensor_split(m.tensor(1.0), 2),
    lambda m: m.hsplit(m.zeros(2, 4), 3),
    lambda m: m.vsplit(m.zeros(4), 2),
    lambda m: m.dsplit(m.zeros(4, 2), 2),
])
def test_errors_match_torch(call):
    same_error(call, RuntimeError)


def test_dim_out_of_range_is_an_index_error():
    with pytest.raises(IndexError):
        mt.tensor_split(mt.zeros(2, 2), 2, dim=2)
    with pytest.raises(TypeError, match="indices_or_sections"):
        mt.tensor_split(mt.zeros(4), 2.0)
