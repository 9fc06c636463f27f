"""The cpu kernels that split over the intra-op threads (``mbtorch.core.intraop``): stacks
of products (``matmul_kernels`` in ``mbtorch_numpy/kernels.py``) and the compiled window and
scatter kernels (``jit/``) give the same bits split over two threads as on one, and
PyTorch's values; they do split (the pool is asked), and an index out of range in any part
of a scatter writes nothing."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from mbtorch_numpy.jit import scatter as jit_scatter
from mbtorch_numpy.kernels import KERNELS, out_overrides
from threadpoolctl import threadpool_limits

import mbtorch as mt
from mbtorch.core import intraop
from mbtorch.core.op import Op

pytestmark = pytest.mark.skipif(not intraop.one_blas_thread.limited,
                                reason="no BLAS with a thread pool: nothing is ever split")

RNG = np.random.default_rng(0)


@pytest.fixture
def splits(monkeypatch):
    """Counts the splits (the pool's runs) made inside the test."""
    calls = []
    run = intraop._POOL.run

    def counted(fn, n, parts):
        calls.append((n, parts))
        return run(fn, n, parts)

    monkeypatch.setattr(intraop._POOL, "run", counted)
    return calls


def _both(f):
    """``f()`` with one thread and with two."""
    with threadpool_limits(1, user_api="blas"):
        one = f()
    with threadpool_limits(2, user_api="blas"):
        two = f()
    return one, two


# a, b shapes: stacks split by their first dim, broadcast operands taken whole
PRODUCTS = [
    ((64, 1, 32, 144), (64, 1, 144, 121)),   # conv's per-sample products
    ((1, 32, 144), (64, 1, 144, 121)),       # the weight broadcast over the stack
    ((7, 3, 40, 50), (3, 50, 60)),           # an odd stack, b without the first dim
    ((9, 40, 50), (50, 70)),                 # b 2-D
    ((40, 50), (9, 50, 70)),                 # a 2-D, the stack from b
    ((5, 1, 64, 64), (1, 4, 64, 64)),        # both broadcast: the stack is a's
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("sa,sb", PRODUCTS)
def test_split_stacks_of_products_equal_one_thread_and_torch(splits, sa, sb, dtype):
    a = RNG.standard_normal(sa).astype(dtype)
    b = RNG.standard_normal(sb).astype(dtype)
    plain, out_kernel = KERNELS[Op.MATMUL], out_overrides(KERNELS)[Op.MATMUL]
    shape = np.broadcast_shapes(sa[:-2], sb[:-2]) + (sa[-2], sb[-1])
    big = np.prod(shape) * sa[-1] >= intraop.MIN_MNK

    def run():
        out = np.full(shape, np.nan, dtype)
        out_kernel(out, a, b)
        return plain(a, b), out

    (p1, o1), (p2, o2) = _both(run)
    assert len(splits) == (2 if big else 0)  # the plain and the out kernel, on two threads
    for got in (p1, o1, p2, o2):
        np.testing.assert_array_equal(got, np.matmul(a, b))
    want = torch.matmul(torch.from_numpy(a), torch.from_numpy(b)).numpy()
    np.testing.assert_allclose(p2, want, rtol=1e-5 if dtype == np.float32 else 1e-12,
                               atol=1e-4 if dtype == np.float32 else 1e-10)


def test_transposed_operands_and_single_products(splits):
    a = RNG.standard_normal((64, 1, 121, 32)).astype(np.float32).swapaxes(-1, -2)
    b = RNG.standard_normal((64, 1, 144, 121)).astype(np.float32).swapaxes(-1, -2)
    one, two = _both(lambda: KERNELS[Op.MATMUL](a, b))
    np.testing.assert_array_equal(one, two)
    np.testing.assert_array_equal(two, np.matmul(a, b))
    assert len(splits) == 1
    # a single product stays with the BLAS's own threads
    m = RNG.standard_normal((256, 512)).astype(np.float32)
    _both(lambda: KERNELS[Op.MATMUL](m, m.T))
    assert len(splits) == 1


def test_split_products_do_not_warn_on_overflow():
    a = np.full((8, 64, 128), 3e30, np.float32)
    b = np.full((8, 128, 128), 3e30, np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with threadpool_limits(2, user_api="blas"):
            got = mt.matmul(mt.tensor(a), mt.tensor(b)).numpy()
    assert np.isinf(got).all()


def test_matmul_into_refuses_what_it_does_not_split():
    a = RNG.standard_normal((256, 512)).astype(np.float32)
    out = np.zeros((256, 256), np.float32)
    with threadpool_limits(2, user_api="blas"):
        assert intraop.matmul_into(out, a, a.T) is False  # a single product without rows
        assert not out.any()
        assert intraop.matmul_into(out, a, a.T, rows=True) is True
        np.testing.assert_array_equal(out[:128], np.matmul(a[:128], a.T))
        small = np.zeros((4, 8, 8), np.float32)
        assert intraop.matmul_into(small, small, small) is False  # below MIN_MNK
    with threadpool_limits(1, user_api="blas"):
        assert intraop.matmul_into(out, a, a.T, rows=True) is False


# -- the compiled kernels, split by the batch ---------------------------------------------------
def test_window_kernels_split_by_the_batch_equal_one_thread(splits):
    x = RNG.standard_normal((13, 16, 26, 26)).astype(np.float32)
    x[3, 2, 5, 5] = np.nan
    cols = RNG.standard_normal((13, 144, 121)).astype(np.float32)

    def run():
        best, index = KERNELS[Op.MAX_POOL](x, (2, 2), (2, 2), (1, 1), (1, 1), True)
        im = KERNELS[Op.IM2COL](x, (3, 3), (1, 1), (1, 1))
        out = np.empty_like(im)
        out_overrides(KERNELS)[Op.IM2COL](out, x, (3, 3), (1, 1), (1, 1))
        folded = KERNELS[Op.COL2IM](cols, (13, 13), (3, 3), (1, 1), (1, 1))
        return best, index, im, out, folded

    one, two = _both(run)
    assert len(splits) == 4  # max_pool, im2col, im2col's out kernel, col2im
    for u, v in zip(one, two):
        np.testing.assert_array_equal(u, v)
    np.testing.assert_array_equal(two[2], two[3])
    want = torch.nn.functional.max_pool2d(torch.from_numpy(x), 2, 2, 1, ceil_mode=True)
    np.testing.assert_array_equal(two[0], want.numpy())


def test_scatter_rows_split_and_an_index_out_of_range_in_any_part(splits):
    shape, k = (64, 16, 169), 4
    x = RNG.standard_normal(shape).astype(np.float32)
    index = np.argsort(RNG.random(shape), axis=-1)[..., :k].astype(np.int64)
    src = RNG.standard_normal(shape[:-1] + (k,)).astype(np.float32)
    one, two = _both(lambda: jit_scatter.scatter_rows(x, index, src, None))
    assert len(splits) == 1
    np.testing.assert_array_equal(one, two)
    want = torch.scatter(torch.from_numpy(x), -1, torch.from_numpy(index),
                         torch.from_numpy(src)).numpy()
    np.testing.assert_array_equal(two, want)
    index[-1, -1, -1] = shape[-1]  # in the last part
    out = np.full(shape, 7.0, np.float32)
    with threadpool_limits(2, user_api="blas"):
        assert jit_scatter.scatter_rows(x, index, src, out) is None
    assert (out == 7.0).all()


def test_a_conv_training_step_is_the_same_on_one_thread_and_two():
    def step():
        mt.manual_seed(0)
        model = mt.nn.Sequential(mt.nn.Conv2d(3, 16, 3), mt.nn.ReLU(), mt.nn.MaxPool2d(2),
                                 mt.nn.Conv2d(16, 32, 3), mt.nn.Flatten(),
                                 mt.nn.Linear(32 * 5 * 5, 10))
        x = mt.randn(48, 3, 16, 16)
        loss = mt.nn.functional.cross_entropy(model(x), mt.arange(48) % 10)
        loss.backward()
        return [loss.detach().numpy()] + [p.grad.numpy() for p in model.parameters()]

    one, two = _both(step)
    for u, v in zip(one, two):
        np.testing.assert_array_equal(u, v)
