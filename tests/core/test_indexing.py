"""``__getitem__`` / ``__setitem__`` / ``index_put_`` against PyTorch (the spec) and NumPy:
basic indices give views sharing storage, advanced ones follow torch's dim placement, writes
reach the base, and out-of-range or malformed indices raise torch's errors."""

import numpy as np
import pytest

import mbtorch as mt
from tests.conftest import assert_close

torch = pytest.importorskip("torch")

BASE = np.arange(60, dtype=np.float32).reshape(3, 4, 5)
M = BASE > 30  # a full-shape mask


def _build(spec, lib):
    """Index ``spec`` (NumPy arrays stand for tensors) for ``lib`` (mbtorch or torch)."""
    def one(item):
        if isinstance(item, np.ndarray):
            return lib.tensor(item)
        return item

    return tuple(one(i) for i in spec) if isinstance(spec, tuple) else one(spec)


CASES = [
    1, -1, (1, 2), (2, -1, 3), slice(1, None), (slice(None), slice(None, None, 2)),
    (Ellipsis, 1), (None, 1), (1, None, Ellipsis, None), (slice(None, None, 3), None, -2),
    (slice(5, 1),), (slice(-100, 100),), Ellipsis, (Ellipsis, None),
    np.array([0, 2]), [2, 0, 2], np.array([[0, 1], [2, 0]]), (slice(None), [1, 3]),
    ([0, 1], [1, 2]), (np.array([[0], [2]]), np.array([1, 3])), (np.array([-1, 0]),),
    (1, slice(None), [0, 2]), ([0, 1], slice(None), [1, 2]), (Ellipsis, [0, 4]),
    (None, [0, 1]), ([0, 1], None, [1, 2]), (slice(None), [[0], [3]], [1, 2]),
    M, (slice(None), M[0]), (1, M[1]), (M[:, :, 0],), np.array([True, False, True]),
    (Ellipsis, np.array([False] * 5)), True, False, (np.array(True),), (np.array(False),),
    (np.array(1),), ([],), (np.array([], dtype=np.int64), 1), (slice(1, 3), [[1], [2]], 0),
    ([1], [2], [3]),
]


@pytest.mark.parametrize("spec", CASES, ids=[repr(c)[:40] for c in CASES])
def test_getitem_matches_torch(spec):
    x, tx = mt.tensor(BASE), torch.tensor(BASE)
    assert_close(x[_build(spec, mt)], tx[_build(spec, torch)])


@pytest.mark.parametrize("spec", CASES, ids=[repr(c)[:40] for c in CASES])
def test_getitem_non_contiguous_base(spec):
    base = np.arange(120, dtype=np.float64).reshape(5, 6, 4).transpose(0, 2, 1)[:3, :, 1:]
    x = mt.tensor(np.ascontiguousarray(base.transpose(2, 1, 0))).permute(2, 1, 0)
    tx = torch.tensor(np.ascontiguousarray(base))
    assert not x.is_contiguous()
    assert_close(x[_build(spec, mt)], tx[_build(spec, torch)])


def test_basic_index_is_a_view_sharing_storage():
    x = mt.tensor(BASE.copy())
    y = x[1:, ::2, -1]
    assert y._base is x and y.shape == (2, 2)
    assert y.stride() == (20, 10)
    y[0, 1] = -7.0
    assert x[1, 2, 4].item() == -7.0
    z = x[None, 0, ..., 1]
    z.fill_(3.0)
    assert_close(x[0, :, 1], np.full(4, 3.0))
    assert x[...] is not x and x[...]._base is x


def test_advanced_index_copies():
    x = mt.tensor(BASE.copy())
    y = x[[0, 1]]
    y[0, 0, 0] = 100.0
    assert x[0, 0, 0].item() == 0.0


def test_getitem_dtypes_and_empty():
    x = mt.tensor([[1, 2], [3, 4]], dtype=mt.int32)
    assert x[x > 1].dtype is mt.int32
    e = mt.zeros(0, 3)
    assert e[:, 1].shape == (0,)
    assert e[e > 0].shape == (0,)
    assert e[[]].shape == (0, 3)
    assert mt.tensor(5.0)[None].shape == (1,)
    assert mt.tensor(5.0)[...].item() == 5.0
    idx32 = mt.tensor([2, 0], dtype=mt.int32)
    assert_close(mt.tensor(BASE)[idx32], BASE[[2, 0]])


SET_CASES = [
    1, (slice(None), 2), (Ellipsis, slice(1, None, 2)), (None, 0, 1),
    ([0, 2],), ([0, 1], [1, 2]), (slice(None), [[0], [3]], [1, 2]), M, (1, M[1]),
    ([0, 1], slice(None), [1, 2]), (np.array([-1, 0]), slice(1, 3)),
]


@pytest.mark.parametrize("spec", SET_CASES, ids=[repr(c)[:40] for c in SET_CASES])
@pytest.mark.parametrize("value", ["scalar", "tensor"])
def test_setitem_matches_torch(spec, value):
    x, tx = mt.tensor(BASE.copy()), torch.tensor(BASE.copy())
    target_shape = tuple(tx[_build(spec, torch)].shape)
    if value == "scalar":
        v, tv = -1.5, -1.5
    else:
        arr = np.random.default_rng(0).normal(size=target_shape[-1:]).astype(np.float32)
        v, tv = mt.tensor(arr), torch.tensor(arr)
    x[_build(spec, mt)] = v
    tx[_build(spec, torch)] = tv
    assert_close(x, tx)


def test_setitem_through_view_reaches_base():
    base = mt.tensor(BASE.copy())
    v = base.transpose(0, 2)[1:4]  # non-contiguous view
    v[[0, 2], 1] = 99.0
    v[v < 5] = -1.0
    tb = torch.tensor(BASE.copy())
    tv = tb.transpose(0, 2)[1:4]
    tv[[0, 2], 1] = 99.0
    tv[tv < 5] = -1.0
    assert_close(base, tb)
    assert base._version > 0


def test_setitem_value_dtypes():
    x = mt.zeros(4, dtype=mt.int64)
    x[[1, 3]] = 2.7  # numbers convert (truncate) to the tensor's dtype
    x[0] = mt.tensor(-3.9)  # basic indexing copies with a cast
    assert x.tolist() == [-3, 2, 0, 2]
    x[mt.tensor([True, False, False, False])] = mt.tensor(9.5, dtype=mt.float64)
    assert x.tolist() == [9, 2, 0, 2]
    with pytest.raises(RuntimeError, match="Index put requires the source and destination "
                       "dtypes match, got Long for the destination and Float for the source"):
        x[[1, 3]] = mt.tensor([2.7, -3.9])


def test_index_put_accumulate_adds_duplicates():
    x, tx = mt.zeros(3, 4), torch.zeros(3, 4)
    idx = ([0, 0, 2, 0], [1, 1, 3, 1])
    vals = np.array([1.0, 2.0, 3.0, 4.0], dtype=np.float32)
    x.index_put_(tuple(mt.tensor(i) for i in idx), mt.tensor(vals), accumulate=True)
    tx.index_put_(tuple(torch.tensor(i) for i in idx), torch.tensor(vals), accumulate=True)
    assert_close(x, tx)
    y = mt.index_put(x, (mt.tensor([1]),), mt.tensor(5.0))
    assert_close(y[1], np.full(4, 5.0))
    assert_close(x[1], np.zeros(4))  # index_put left its input alone


@pytest.mark.parametrize("spec, exc, match", [
    (3, IndexError, "index 3 is out of bounds for dimension 0 with size 3"),
    ((0, -5), IndexError, "index -5 is out of bounds for dimension 0 with size 4"),
    ((slice(None), 7), IndexError, "index 7 is out of bounds for dimension 1 with size 4"),
    ([0, 5], IndexError, "index 5 is out of bounds for dimension 0 with size 3"),
    ((slice(None), [0, -5]), IndexError, "index -5 is out of bounds for dimension 1"),
    ((0, 0, 0, 0), IndexError, "too many indices for tensor of dimension 3"),
    ("a", IndexError, "only integers, slices"),
    (np.array([1.0]), IndexError, "tensors used as indices must be long, int, byte or bool"),
    (slice(None, None, -1), ValueError, "step must be greater than zero"),
    (slice(None, None, 0), ValueError, "slice step cannot be zero"),
    (np.array([True, False]), IndexError, "The shape of the mask [2] at index 0 does not match"),
    (([0, 1], [0, 1, 2]), IndexError,
     "shape mismatch: indexing tensors could not be broadcast together with shapes [2], [3]"),
])
def test_getitem_errors(spec, exc, match):
    x = mt.tensor(BASE)
    with pytest.raises(exc, match=match.replace("[", r"\[").replace("]", r"\]")):
        x[_build(spec, mt)]


def test_setitem_errors():
    x = mt.tensor(BASE.copy())
    with pytest.raises(RuntimeError, match="shape mismatch: value tensor of shape"):
        x[[0, 1]] = mt.ones(3)
    with pytest.raises(RuntimeError):
        x[0] = mt.ones(3)
    with pytest.raises(IndexError, match="out of bounds"):
        x[[7]] = 1.0
    with pytest.raises(TypeError):
        x[0] = "a"


def test_getitem_matches_numpy_for_pure_advanced():
    x = mt.tensor(BASE)
    rows, cols = np.array([[0, 2], [1, 1]]), np.array([[3, 0], [1, 2]])
    assert_close(x[mt.tensor(rows), mt.tensor(cols)], BASE[rows, cols])
    assert_close(x[:, mt.tensor(cols)], BASE[:, cols])
