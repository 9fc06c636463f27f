"""``slice_scatter``, ``select_scatter``, ``diagonal_scatter``, ``as_strided_scatter`` and
``diagflat`` (``view_scatter.py``) against PyTorch: values, dtypes, gradients to both
operands, errors."""

import numpy as np
import pytest

import mbtorch as mt
from tests.core.torch_parity import grads_match, same, same_error

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(13)
X = RNG.normal(size=(3, 4))

CASES = [
    ("slice_scatter", (3, 2), (1, 0, 4, 2)),
    ("slice_scatter", (1, 4), (0, -1)),
    ("slice_scatter", (3, 4), (1, None, None, 1)),
    ("slice_scatter", (3, 0), (1, 5, 9)),
    ("select_scatter", (3,), (1, -1)),
    ("select_scatter", (4,), (0, 2)),
    ("diagonal_scatter", (3,), ()),
    ("diagonal_scatter", (3,), (1,)),
    ("diagonal_scatter", (3,), (-1, 1, 0)),
    ("diagonal_scatter", (2,), (-1,)),
    ("as_strided_scatter", (2, 2), ((2, 2), (1, 2), 3)),
    ("as_strided_scatter", (2, 3), ((2, 3), (4, 1))),
]


@pytest.mark.parametrize("name,src_shape,args", CASES)
def test_matches_torch(name, src_shape, args):
    src = RNG.normal(size=src_shape)
    same(getattr(mt, name)(mt.tensor(X), mt.tensor(src), *args),
         getattr(torch, name)(torch.tensor(X), torch.tensor(src), *args))
    same(getattr(mt.tensor(X), name)(mt.tensor(src), *args),
         getattr(torch.tensor(X), name)(torch.tensor(src), *args))


@pytest.mark.parametrize("name,src_shape,args",
                         [c for c in CASES if 0 not in c[1] and c[0] != "as_strided_scatter"])
def test_gradients_reach_input_and_src(name, src_shape, args):
    src = RNG.normal(size=src_shape)
    grads_match(lambda m, a, b: getattr(m, name)(a, b, *args), X, src)


def test_as_strided_scatter_gradient():
    # PyTorch 2.13's own derivative of as_strided_scatter fails its gradcheck (it sends the
    # input's gradient to the overwritten places), so the reference here is the definition:
    # the input gets the gradient where it survives, src where it was written
    x = mt.tensor(X, requires_grad=True)
    src = mt.tensor(RNG.normal(size=(2, 2)), requires_grad=True)
    weights = np.linspace(0.5, 1.5, 12).reshape(3, 4)
    (mt.as_strided_scatter(x, src, (2, 2), (1, 2), 3) * mt.tensor(weights)).sum().backward()
    flat = weights.reshape(-1)
    written = np.array([[3, 5], [4, 6]])
    expected = flat.copy()
    expected[written.reshape(-1)] = 0
    np.testing.assert_allclose(x.grad.numpy().reshape(-1), expected)
    np.testing.assert_allclose(src.grad.numpy(), flat[written])


def test_int_input_and_a_3d_diagonal():
    x = np.arange(24).reshape(2, 3, 4)
    same(mt.diagonal_scatter(mt.tensor(x), mt.zeros(3, 2, dtype=mt.int64), 0, 0, 2),
         torch.diagonal_scatter(torch.tensor(x), torch.zeros(3, 2, dtype=torch.int64), 0, 0, 2))
    same(mt.select_scatter(mt.tensor(x), mt.ones(2, 4, dtype=mt.int64), 1, 1),
         torch.select_scatter(torch.tensor(x), torch.ones(2, 4, dtype=torch.int64), 1, 1))


def test_input_is_left_unchanged():
    x = mt.zeros(4)
    out = mt.slice_scatter(x, mt.ones(2), 0, 0, 4, 2)
    assert out.tolist() == [1.0, 0.0, 1.0, 0.0] and x.tolist() == [0.0] * 4


@pytest.mark.parametrize("call,exc", [
    (lambda m: m.slice_scatter(m.zeros(3, 4), m.ones(3, 3), 1, 0, 4, 2), RuntimeError),
    (lambda m: m.slice_scatter(m.zeros(3, 4), m.ones(3, 2), 1, 0, 4, 0), RuntimeError),
    (lambda m: m.select_scatter(m.zeros(3, 4), m.ones(4), 1, 5), IndexError),
    (lambda m: m.diagonal_scatter(m.zeros(3, 4), m.ones(2), 1), RuntimeError),
    (lambda m: m.as_strided_scatter(m.zeros(3, 4), m.ones(2, 3), (2, 2), (1, 2)),
     RuntimeError),
])
def test_errors_match_torch(call, exc):
    same_error(call, exc)


@pytest.mark.parametrize("offset", [0, 1, -2])
def test_diagflat_matches_torch(offset):
    for x in (np.array([[1, 2], [3, 4]]), RNG.normal(size=3), np.array(5.0),
              np.array([True, False])):
        same(mt.diagflat(mt.tensor(x), offset), torch.diagflat(torch.tensor(x), offset))
        same(mt.tensor(x).diagflat(offset), torch.tensor(x).diagflat(offset))
    grads_match(lambda m, t: m.diagflat(t, offset), RNG.normal(size=(2, 2)))
