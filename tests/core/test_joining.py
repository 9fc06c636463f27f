"""Joining, splitting, padding and rearranging ops (``joining.py``, ``rearranging.py``)
against PyTorch and NumPy, with promotion, strided/empty inputs, views and error paths."""

import numpy as np
import pytest

import mbtorch as mt
from mbtorch.core.ops.joining import pad_constant
from tests.conftest import assert_close

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(2)
A = RNG.normal(size=(2, 3)).astype(np.float32)
B = RNG.normal(size=(2, 4)).astype(np.float32)


def _pair(arr):
    return mt.tensor(arr), torch.tensor(arr)


# -- cat / stack ---------------------------------------------------------------------------
def test_cat_matches_torch_with_promotion_and_strides():
    (a, ta), (b, tb) = _pair(A), _pair(B)
    assert_close(mt.cat([a, b], 1), torch.cat([ta, tb], 1))
    assert_close(mt.cat((a, b), dim=-1), torch.cat((ta, tb), dim=-1))
    assert_close(mt.cat([a.t(), b.t()]), torch.cat([ta.t(), tb.t()]))  # strided inputs
    i = mt.tensor([[1, 2, 3]], dtype=mt.int64)
    out = mt.cat([a, i])
    assert out.dtype is mt.float32
    assert_close(out, torch.cat([ta, torch.tensor([[1, 2, 3]])]))
    assert_close(mt.concat([a, a]), np.concatenate([A, A]))
    assert_close(mt.concatenate([a, a], axis=1), np.concatenate([A, A], 1))
    assert_close(mt.cat([a, mt.zeros(0)]), A)  # legacy 1-d empty tensors are skipped
    assert_close(mt.cat([mt.zeros(0, 3), a]), A)
    single = mt.cat([a])
    assert_close(single, A)
    single[0, 0] = 100.0
    assert a[0, 0].item() != 100.0  # cat always copies


@pytest.mark.parametrize("tensors, dim, exc, match", [
    ([], 0, ValueError, "expected a non-empty list of Tensors"),
    ([np.zeros((2, 3)), np.zeros(3)], 0, RuntimeError,
     "Tensors must have same number of dimensions: got 2 and 1"),
    ([np.zeros((2, 3)), np.zeros((3, 3))], 1, RuntimeError,
     "Sizes of tensors must match except in dimension 1. Expected size 2 but got size 3 for "
     "tensor number 1 in the list."),
    ([np.zeros((2, 3))], 2, IndexError, "Dimension out of range"),
    ([np.array(1.0), np.array(2.0)], 0, RuntimeError, "zero-dimensional tensor"),
])
def test_cat_errors(tensors, dim, exc, match):
    with pytest.raises(exc, match=match.replace("(", r"\(").replace(")", r"\)")):
        mt.cat([mt.tensor(t) for t in tensors], dim)
    with pytest.raises(TypeError):
        mt.cat(mt.tensor(A))


def test_stack_family_matches_torch():
    (a, ta) = _pair(A)
    for dim in (0, 1, 2, -1):
        assert_close(mt.stack([a, a * 2], dim), torch.stack([ta, ta * 2], dim))
    v = [np.arange(3.0), np.arange(3.0) + 5]
    mv, tv = [mt.tensor(x) for x in v], [torch.tensor(x) for x in v]
    for name in ("hstack", "vstack", "dstack", "column_stack", "row_stack"):
        assert_close(getattr(mt, name)(mv), getattr(torch, name)(tv))
        assert_close(getattr(mt, name)([a, a]), getattr(torch, name)([ta, ta]))
    assert mt.atleast_2d(mt.tensor(1.0)).shape == (1, 1)
    assert mt.atleast_3d(mt.ones(2)).shape == (1, 2, 1)
    with pytest.raises(RuntimeError, match="stack expects each tensor to be equal size, but got "
                       r"\[2, 3\] at entry 0 and \[2, 4\] at entry 1"):
        mt.stack([a, mt.tensor(B)])
    with pytest.raises(RuntimeError, match="stack expects a non-empty TensorList"):
        mt.stack([])


# -- split / chunk / unbind ----------------------------------------------------------------
@pytest.mark.parametrize("how, dim", [(2, 0), (1, 1), ([1, 3, 2], 1), (4, -1), ([0, 6], 1),
                                      (10, 1)])
def test_split_matches_torch_and_returns_views(how, dim):
    arr = np.arange(24, dtype=np.float32).reshape(4, 6)
    x, tx = _pair(arr)
    parts, tparts = mt.split(x, how, dim), torch.split(tx, how, dim)
    assert len(parts) == len(tparts)
    for p, tp in zip(parts, tparts):
        assert_close(p, tp)
        assert p._base is x
    parts = x.split(how, dim)
    if parts[0].numel():
        parts[0].fill_(-1.0)
        assert (x.numpy() == -1.0).sum() == parts[0].numel()


def test_split_chunk_unbind_edge_cases():
    x, tx = _pair(np.arange(10.0))
    for n in (1, 3, 4, 6, 11):
        got, ref = mt.chunk(x, n), torch.chunk(tx, n)
        assert [p.tolist() for p in got] == [p.tolist() for p in ref]
    e = mt.zeros(0, 2)
    assert [p.shape for p in mt.split(e, 0)] == [(0, 2)]
    assert len(mt.chunk(e, 3)) == len(torch.chunk(torch.zeros(0, 2), 3))
    m, tm = _pair(A)
    for dim in (0, 1, -1):
        ub = mt.unbind(m, dim)
        for p, tp in zip(ub, torch.unbind(tm, dim)):
            assert_close(p, tp)
        assert ub[0]._base is m
    assert [t.tolist() for t in m.unbind()] == A.tolist()
    with pytest.raises(RuntimeError, match="split_with_sizes expects split_sizes to sum exactly "
                       "to 10"):
        mt.split(x, [3, 3])
    with pytest.raises(RuntimeError, match="split_size can only be 0 if dimension size is 0"):
        mt.split(x, 0)
    with pytest.raises(RuntimeError, match="chunk expects `chunks` to be greater than 0"):
        mt.chunk(x, 0)


# -- padding -------------------------------------------------------------------------------
@pytest.mark.parametrize("pad", [(1, 2), (0, 0, 2, 1), (1, 1, 1, 1, 1, 1), (-1, 2), (2, -3),
                                 (-1, -1, 1, 0), ()])
def test_pad_constant_matches_torch(pad):
    arr = RNG.normal(size=(3, 4, 5)).astype(np.float32)
    x, tx = _pair(arr)
    assert_close(pad_constant(x, pad, 0.5), torch.nn.functional.pad(tx, pad, value=0.5))
    xs = mt.tensor(np.ascontiguousarray(arr.transpose(2, 1, 0))).permute(2, 1, 0)
    assert_close(pad_constant(xs, pad, 0), torch.nn.functional.pad(tx, pad))
    xi = mt.tensor([[1, 2]], dtype=mt.int32)
    out = pad_constant(xi, (1, 1), 7.9)
    assert out.dtype is mt.int32 and out.tolist() == [[7, 1, 2, 7]]
    assert pad_constant(mt.zeros(0, 2), (1, 1)).shape == (0, 4)


def test_pad_constant_errors():
    x = mt.tensor(A)
    with pytest.raises(RuntimeError, match="Padding length must be divisible by 2"):
        pad_constant(x, (1,))
    with pytest.raises(RuntimeError, match="Padding length should be less than or equal to two "
                       "times the input dimension but got padding length 6"):
        pad_constant(x, (1, 1, 1, 1, 1, 1))
    with pytest.raises(RuntimeError, match="resulted in a negative output size"):
        pad_constant(x, (-3, -2))


# -- rearranging ---------------------------------------------------------------------------
def test_flip_family_matches_torch():
    arr = np.arange(24.0).reshape(2, 3, 4)
    x, tx = _pair(arr)
    for dims in ((0,), (1, 2), (-1,), (0, 1, 2), ()):
        assert_close(mt.flip(x, dims), torch.flip(tx, dims))
        assert_close(x.transpose(0, 2).flip(dims), tx.transpose(0, 2).flip(dims))
    assert_close(mt.fliplr(x), torch.fliplr(tx))
    assert_close(mt.flipud(x), torch.flipud(tx))
    for k in range(-1, 5):
        assert_close(mt.rot90(x, k, (1, 2)), torch.rot90(tx, k, (1, 2)))
    f = mt.flip(x, 0)
    f[0, 0, 0] = -1.0
    assert x[1, 0, 0].item() == 12.0  # a copy, as in PyTorch
    with pytest.raises(RuntimeError, match="dim 0 appears multiple times in the list of dims"):
        mt.flip(x, (0, 0))


def test_roll_matches_torch():
    arr = np.arange(12).reshape(3, 4)
    x, tx = _pair(arr)
    for shifts, dims in [(1, None), (-5, None), (1, 0), ((1, -2), (0, 1)), (7, -1), (0, 1)]:
        assert_close(mt.roll(x, shifts, dims), torch.roll(tx, shifts, dims))
    assert_close(mt.roll(x.t(), 1, 0), torch.roll(tx.t(), 1, 0))
    assert mt.roll(mt.zeros(0, 3), 2, 0).shape == (0, 3)
    with pytest.raises(RuntimeError, match="shifts and dimensions must align. shifts: 2, dims:1"):
        mt.roll(x, (1, 2), 0)


def test_repeat_tile_interleave_match_torch():
    arr = np.arange(6).reshape(2, 3)
    x, tx = _pair(arr)
    for reps in ((2, 1), (1, 3), (2, 2, 2), (0, 1)):
        assert_close(x.repeat(*reps), tx.repeat(*reps))
        assert_close(mt.tile(x, reps), torch.tile(tx, reps))
    assert_close(x.t().repeat(2, 1), tx.t().repeat(2, 1))
    assert_close(mt.tile(x, (2,)), torch.tile(tx, (2,)))
    with pytest.raises(RuntimeError, match="Number of dimensions of repeat dims can not be "
                       "smaller than number of dimensions of tensor"):
        x.repeat(2)
    assert_close(mt.repeat_interleave(x, 2), torch.repeat_interleave(tx, 2))
    assert_close(mt.repeat_interleave(x, 2, dim=1), torch.repeat_interleave(tx, 2, dim=1))
    r, tr = _pair(np.array([1, 0, 3]))
    assert_close(mt.repeat_interleave(x, r, dim=1), torch.repeat_interleave(tx, tr, dim=1))
    assert_close(mt.repeat_interleave(r), torch.repeat_interleave(tr))
    assert_close(x.repeat_interleave(mt.tensor([2]), dim=0),
                 tx.repeat_interleave(torch.tensor([2]), dim=0))


@pytest.mark.parametrize("diagonal", [-2, -1, 0, 1, 3])
def test_tril_triu_match_torch(diagonal):
    arr = RNG.normal(size=(2, 3, 4))
    x, tx = _pair(arr)
    assert_close(mt.tril(x, diagonal), torch.tril(tx, diagonal))
    assert_close(mt.triu(x, diagonal), torch.triu(tx, diagonal))
    assert_close(x.mT.tril(diagonal), tx.mT.tril(diagonal))
    y, ty = x.clone(), tx.clone()
    y.triu_(diagonal)
    ty.triu_(diagonal)
    assert_close(y, ty)
    assert_close(mt.tril(mt.ones(3, 3, dtype=mt.bool), diagonal),
                 np.tril(np.ones((3, 3), dtype=bool), diagonal))
    with pytest.raises(RuntimeError, match="tril: input tensor must have at least 2 dimensions"):
        mt.tril(mt.ones(3))
