"""The cpu plugin's Numba kernels for 2-D windows (``mbtorch_numpy/jit/windows.py``) against
the shared NumPy kernels they replace (``xp/windows.py``): max pooling's values and indices
equal exactly (ties, NaN, inf - inf windows, padding, ceil mode, dilation, overlapping
windows), col2im equal within rounding; what they do not take goes to the shared kernels.
(``test_numpy_windows.py`` compares the whole path with PyTorch.)"""

from __future__ import annotations

import numpy as np
import pytest
from mbtorch_numpy.jit import windows as jit_windows
from mbtorch_numpy.kernels import KERNELS
from mbtorch_numpy.xp import composite_kernels, out_kernels

from mbtorch.core.op import Op

SHARED = composite_kernels(np)
MAX_POOL = jit_windows.max_pool(SHARED[Op.MAX_POOL])
COL2IM = jit_windows.col2im(SHARED[Op.COL2IM])
IM2COL = jit_windows.im2col(SHARED[Op.IM2COL])
SHARED_OUT = out_kernels(np, KERNELS)  # the table the out kernels fall back on
IM2COL_OUT = jit_windows.im2col_out(SHARED_OUT[Op.IM2COL])

# (input shape, kernel, stride, padding, dilation, ceil_mode)
POOLS = [
    ((3, 4, 26, 26), (2, 2), (2, 2), (0, 0), (1, 1), False),
    ((2, 3, 11, 11), (2, 2), (2, 2), (0, 0), (1, 1), False),  # odd size: the last row left
    ((2, 3, 11, 11), (2, 2), (2, 2), (0, 0), (1, 1), True),  # ... or a partial window
    ((2, 3, 9, 10), (3, 2), (2, 1), (1, 1), (1, 2), True),
    ((1, 2, 7, 7), (3, 3), (1, 1), (1, 1), (1, 1), False),  # overlapping windows
    ((2, 2, 12, 9), (3, 3), (2, 2), (1, 0), (2, 1), False),
]


def _data(shape, dtype, seed):
    # rounded values: most windows hold their maximum more than once
    return np.round(np.random.default_rng(seed).standard_normal(shape) * 1.5).astype(dtype)


@pytest.mark.parametrize("case", POOLS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_pool_equals_the_shared_kernel(case, dtype):
    x = _data(case[0], dtype, 0)
    want_v, want_i = SHARED[Op.MAX_POOL](x, *case[1:])
    got_v, got_i = MAX_POOL(x, *case[1:])
    assert got_v.dtype == x.dtype and got_i.dtype == np.int64
    np.testing.assert_array_equal(got_v, want_v)
    np.testing.assert_array_equal(got_i, want_i)


@pytest.mark.parametrize("case", POOLS)
def test_max_pool_nan_and_infinities_equal_the_shared_kernel(case):
    x = _data(case[0], np.float32, 1)
    flat = x.reshape(-1)
    flat[::7] = np.nan
    flat[3::11] = np.inf  # beside -inf below: windows whose sum is inf - inf, no NaN
    flat[5::11] = -np.inf
    flat[2::13] = -0.0
    want_v, want_i = SHARED[Op.MAX_POOL](x, *case[1:])
    got_v, got_i = MAX_POOL(x, *case[1:])
    np.testing.assert_array_equal(got_v, want_v)  # NaN where NaN
    np.testing.assert_array_equal(got_i, want_i)


def test_max_pool_of_a_strided_input():
    x = _data((2, 3, 16, 18), np.float32, 2)[:, :, ::2, 1:]
    case = ((2, 2), (2, 2), (0, 0), (1, 1), False)
    for got, want in zip(MAX_POOL(x, *case), SHARED[Op.MAX_POOL](x, *case)):
        np.testing.assert_array_equal(got, want)


# (input spatial, kernel, dilation, stride)
FOLDS = [((26, 26), (3, 3), (1, 1), (1, 1)), ((13, 13), (3, 3), (1, 1), (1, 1)),
         ((9, 8), (3, 2), (1, 2), (2, 1)), ((10, 11), (2, 3), (2, 1), (3, 2))]


@pytest.mark.parametrize("case", FOLDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_col2im_equals_the_shared_kernel(case, dtype):
    spatial, kernel, dilation, stride = case
    out = [(spatial[i] - dilation[i] * (kernel[i] - 1) - 1) // stride[i] + 1 for i in range(2)]
    cols = np.random.default_rng(3).standard_normal((2, 3 * kernel[0] * kernel[1],
                                                     out[0] * out[1])).astype(dtype)
    want = SHARED[Op.COL2IM](cols, spatial, kernel, dilation, stride)
    got = COL2IM(cols, spatial, kernel, dilation, stride)
    assert got.dtype == dtype and got.shape == want.shape
    tol = 1e-6 if dtype == np.float32 else 1e-14  # another summation order
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


@pytest.mark.parametrize("case", FOLDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_im2col_equals_the_shared_kernel_and_its_out_form(case, dtype):
    spatial, kernel, dilation, stride = case
    x = np.random.default_rng(5).standard_normal((2, 3) + spatial).astype(dtype)
    want = SHARED[Op.IM2COL](x, kernel, dilation, stride)
    got = IM2COL(x, kernel, dilation, stride)
    assert got.dtype == dtype and got.flags.c_contiguous
    np.testing.assert_array_equal(got, want)  # a copy: equal bit for bit
    out = np.full(want.shape, np.nan, dtype)
    IM2COL_OUT(out, x[:, :, ::-1][:, :, ::-1], kernel, dilation, stride)  # a strided view
    np.testing.assert_array_equal(out, want)
    # col2im is im2col's adjoint: <im2col(x), c> = <x, col2im(c)>
    c = np.random.default_rng(6).standard_normal(got.shape).astype(dtype)
    np.testing.assert_allclose(np.sum(got * c),
                               np.sum(x * COL2IM(c, spatial, kernel, dilation, stride)),
                               rtol=1e-4)


def test_what_the_compiled_kernels_do_not_take_goes_to_the_shared_ones():
    calls = []

    def shared(*args):
        calls.append(args)
        return "shared"

    pool, fold = jit_windows.max_pool(shared), jit_windows.col2im(shared)
    unfold, unfold_out = jit_windows.im2col(shared), jit_windows.im2col_out(shared)
    pool_args = ((2, 2), (2, 2), (0, 0), (1, 1), False)
    assert pool(np.zeros((1, 1, 4, 4), np.int32), *pool_args) == "shared"
    assert pool(np.zeros((1, 1, 4, 4), np.float16), *pool_args) == "shared"
    assert pool(np.zeros((1, 1, 8), np.float32), (2,), (2,), (0,), (1,), False) == "shared"
    assert pool(np.zeros((0, 1, 4, 4), np.float32), *pool_args) == "shared"
    assert fold(np.zeros((1, 4, 9), np.float16), (4, 4), (2, 2), (1, 1), (1, 1)) == "shared"
    assert unfold(np.zeros((1, 1, 4, 4), np.int64), (2, 2), (1, 1), (1, 1)) == "shared"
    assert unfold_out(None, np.zeros((1, 1, 9), np.float32), (2,), (1,), (1,)) == "shared"
    assert len(calls) == 7


def test_one_compiled_kernel_per_geometry():
    x = _data((1, 2, 8, 8), np.float32, 4)
    before = jit_windows._max_pool2d.cache_info()
    for _ in range(3):
        MAX_POOL(x, (2, 2), (2, 2), (0, 0), (1, 1), False)
        MAX_POOL(x.astype(np.float64), (2, 2), (2, 2), (0, 0), (1, 1), False)
    after = jit_windows._max_pool2d.cache_info()
    assert after.currsize - before.currsize <= 1  # one closure; Numba types the two dtypes
    assert after.hits - before.hits >= 5
