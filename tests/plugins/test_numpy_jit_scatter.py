"""The cpu plugin's Numba scatter along the last dim (``mbtorch_numpy/jit/scatter.py``): the
same result as PyTorch's ``scatter`` and as the shared NumPy kernel, an index out of range
refused with PyTorch's error and nothing written (max pooling's gradient through it:
``test_numpy_windows.py``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from mbtorch_numpy.jit import scatter as jit_scatter
from mbtorch_numpy.xp import primitive_kernels

import mbtorch as mt
from mbtorch.core.op import Op


def _operands(dtype, shape=(3, 4, 10), k=5, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    # distinct indices per row (max pooling's windows never share a position)
    index = np.argsort(rng.random(shape), axis=-1)[..., :k].astype(np.int64)
    src = rng.standard_normal(shape[:-1] + (k,)).astype(dtype)
    return x, index, src


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_scatter_rows_like_torch_and_the_shared_kernel(dtype):
    x, index, src = _operands(dtype)
    want = torch.scatter(torch.from_numpy(x), -1, torch.from_numpy(index),
                         torch.from_numpy(src)).numpy()
    got = mt.scatter(mt.tensor(x), -1, mt.tensor(index), mt.tensor(src)).numpy()
    np.testing.assert_array_equal(got, want)
    shared = primitive_kernels(np, lambda d: None, None)[Op.SCATTER]
    np.testing.assert_array_equal(jit_scatter.scatter_rows(x, index, src, None),
                                  shared(x, 2, index, src, "none"))
    out = np.full(x.shape, np.nan, dtype)
    assert jit_scatter.scatter_rows(x[..., :], index, src, out) is out
    np.testing.assert_array_equal(out, want)


def test_strided_operands_and_a_repeated_index():
    x, index, src = _operands(np.float32, (4, 12), 3, seed=1)
    xs = np.asfortranarray(x)  # not C-contiguous
    index[:, 1] = index[:, 0]  # a repeated index: the last value written stays, as NumPy's
    got = jit_scatter.scatter_rows(xs, index, src, None)
    want = x.copy()
    for r in range(4):
        want[r, index[r]] = src[r]
    np.testing.assert_array_equal(got, want)


def test_an_index_out_of_range_writes_nothing_and_raises_like_torch():
    x, index, src = _operands(np.float32)
    index[2, 3, 4] = 10
    out = np.full(x.shape, 7.0, np.float32)
    assert jit_scatter.scatter_rows(x, index, src, out) is None
    assert (out == 7.0).all()
    with pytest.raises(RuntimeError, match="out of bounds"):
        torch.scatter(torch.from_numpy(x), -1, torch.from_numpy(index), torch.from_numpy(src))
    with pytest.raises(RuntimeError, match="out of bounds"):
        mt.scatter(mt.tensor(x), -1, mt.tensor(index), mt.tensor(src))


def test_other_dtypes_take_the_numpy_path():
    x, index, src = _operands(np.float32)
    assert jit_scatter.takes(x, index, src)
    assert not jit_scatter.takes(x.astype(np.float16), index, src.astype(np.float16))
    assert not jit_scatter.takes(x.astype(np.int32), index, src.astype(np.int32))
    assert not jit_scatter.takes(x, index.astype(np.int32), src)
    xi, si = x.astype(np.int32), src.astype(np.int32)
    want = torch.scatter(torch.from_numpy(xi), -1, torch.from_numpy(index), torch.from_numpy(si))
    got = mt.scatter(mt.tensor(xi), -1, mt.tensor(index), mt.tensor(si))
    np.testing.assert_array_equal(got.numpy(), want.numpy())
