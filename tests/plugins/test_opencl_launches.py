"""The opencl backend's launch paths against PyTorch: chunked *rows* reductions (many
outputs) and every launch-shape rule, cached reduction plans reused across views and offsets,
the batched buffer maps of the host-BLAS matmul and its one-BLAS-thread scope, merged index
dims in gather/scatter and the row-wise kernels, and the error word after an index error.
Skipped, with the reason, where PyOpenCL or an OpenCL platform is missing."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

import mbtorch as mt
from tests.plugins.test_opencl import _OK, _WHY

pytestmark = pytest.mark.skipif(not _OK, reason=f"no usable OpenCL device: {_WHY}")
DEV = "opencl"
RNG = np.random.default_rng(7)


def same(got: mt.Tensor, want: torch.Tensor, rtol: float = 1e-5, atol: float = 1e-6) -> None:
    assert got.device.type == DEV
    assert tuple(got.shape) == tuple(want.shape)
    assert got.dtype.name == str(want.dtype).removeprefix("torch.")
    g, w = got.numpy(force=True), want.numpy()
    if w.dtype.kind in "biu":
        np.testing.assert_array_equal(g, w)
    else:
        np.testing.assert_allclose(g.astype(np.float64), w.astype(np.float64), rtol=rtol,
                                   atol=atol, equal_nan=True)


@pytest.mark.parametrize("shape,dim", [((128, 256), 0), ((40, 300), 0), ((5000, 130), 0),
                                       ((3, 300, 200), (0, 2)), ((200, 700), 1)])
@pytest.mark.parametrize("kind", ["sum", "amax", "amin", "prod"])
def test_many_output_reductions_match_torch(shape, dim, kind):
    a = RNG.standard_normal(shape).astype(np.float32)
    if kind == "prod":
        a = 1 + a / 64  # products of thousands of factors stay finite
    a[1, 2] = np.nan if kind in ("amax", "amin") else a[1, 2]
    dims = dim if isinstance(dim, tuple) else (dim,)
    if kind == "prod":  # prod takes one dim, as in PyTorch
        dims = dims[0]
    got = getattr(mt, kind)(mt.tensor(a, device=DEV), dims, keepdim=True)
    same(got, getattr(torch, kind)(torch.tensor(a), dims, keepdim=True), rtol=1e-4, atol=1e-5)


@pytest.fixture(params=["as-is", "gpu-rule", "groups-only"])
def reduce_policy(request, monkeypatch):
    """Each launch shape chooser of reduce.py, whatever this machine's device is: a CPU
    device takes chunked rows everywhere; the rule for other devices and the groups kernel
    alone are exercised by pretending (the plan cache is cleared around each)."""
    from mbtorch_opencl import reduce as red
    from mbtorch_opencl.storage import DEVICES

    mt.zeros(1, device=DEV)  # the backend is loaded
    dev = DEVICES[0]
    if request.param == "gpu-rule":
        monkeypatch.setattr(dev, "cpu", False)
    elif request.param == "groups-only":
        monkeypatch.setattr(red, "_rows_fit", lambda *args: False)
    dev.reductions.clear()
    yield request.param
    dev.reductions.clear()


@pytest.mark.parametrize("shape,dims", [((3_000_000,), (0,)), ((64, 16, 26, 26), (0, 2, 3)),
                                        ((300, 200), (1,)), ((300, 200), (0,)),
                                        ((7, 9, 11), (0, 1, 2))])
def test_every_launch_shape_matches_torch(reduce_policy, shape, dims):
    a = RNG.standard_normal(shape).astype(np.float32)
    x, t = mt.tensor(a, device=DEV), torch.tensor(a)
    same(x.sum(dims), t.sum(dims), rtol=1e-5, atol=2e-3)
    same(x.amax(dims, keepdim=True), t.amax(dims, keepdim=True))
    a.flat[5] = np.nan
    same(mt.tensor(a, device=DEV).amin(dims), torch.tensor(a).amin(dims))
    ints = RNG.integers(-9, 9, shape).astype(np.int16)
    same(mt.tensor(ints, device=DEV).sum(dims), torch.tensor(ints).sum(dims))


def test_long_column_sums_stay_accurate():
    # 200000 rows: three chunked passes; each item adds at most PER_ITEM values serially
    a = RNG.random((200_000, 160)).astype(np.float32)
    got = mt.tensor(a, device=DEV).sum(0).numpy(force=True)
    exact = a.astype(np.float64).sum(0)
    assert np.max(np.abs(got - exact) / exact) < 2e-6


def test_integer_and_half_column_sums():
    ints = RNG.integers(-2**31, 2**31 - 1, (300, 150), dtype=np.int64).astype(np.int32)
    same(mt.tensor(ints, device=DEV).sum(0), torch.tensor(ints).sum(0))  # int64, exact
    same(mt.tensor(ints, device=DEV).sum(0, dtype=mt.int32),
         torch.tensor(ints).sum(0, dtype=torch.int32))  # wraps, as PyTorch's
    half = RNG.standard_normal((500, 140)).astype(np.float16)
    same(mt.tensor(half, device=DEV).sum(0), torch.tensor(half).sum(0), rtol=2e-3, atol=2e-2)
    bools = RNG.random((70, 200)) < 0.5
    same(mt.tensor(bools, device=DEV).sum(0), torch.tensor(bools).sum(0))


def test_cached_plan_reused_for_views_at_other_offsets():
    base = RNG.standard_normal((6, 130, 140)).astype(np.float32)
    x, t = mt.tensor(base, device=DEV), torch.tensor(base)
    for i in range(6):  # same shape and strides, a new offset each time
        same(x[i].sum(0), t[i].sum(0), rtol=1e-5, atol=1e-5)
        same(x[i].t().sum(1), t[i].t().sum(1), rtol=1e-5, atol=1e-5)
    same(x[:, 3:, 5].sum(1), t[:, 3:, 5].sum(1), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("m,k,n", [(128, 128, 64), (128, 784, 256), (3, 700, 400)])
def test_host_blas_products_and_views(m, k, n):
    a = RNG.standard_normal((m, k)).astype(np.float32)
    b = RNG.standard_normal((n, k)).astype(np.float32)
    x, y = mt.tensor(a, device=DEV), mt.tensor(b, device=DEV)
    ta, tb = torch.tensor(a), torch.tensor(b)
    same(x @ y.t(), ta @ tb.t(), rtol=1e-4, atol=1e-4)
    same(x.t() @ x, ta.t() @ ta, rtol=1e-4, atol=1e-3)  # one buffer mapped twice
    same(x[1:, 2:] @ y.t()[2:, :], ta[1:, 2:] @ tb.t()[2:, :], rtol=1e-4, atol=1e-4)


def test_host_blas_matches_device_gemm(monkeypatch):
    a = RNG.integers(-4, 5, (2, 96, 130)).astype(np.float32)
    b = RNG.integers(-4, 5, (130, 70)).astype(np.float32)
    host = (mt.tensor(a, device=DEV) @ mt.tensor(b, device=DEV)).numpy(force=True)
    monkeypatch.setenv("MBTORCH_OPENCL_HOST_BLAS", "0")
    device = (mt.tensor(a, device=DEV) @ mt.tensor(b, device=DEV)).numpy(force=True)
    want = (torch.tensor(a) @ torch.tensor(b)).numpy()
    np.testing.assert_array_equal(host, want)  # small integers: every path is exact
    np.testing.assert_array_equal(device, want)


def test_one_blas_thread_restores_the_thread_count():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from mbtorch_opencl.gemm import one_blas_thread

    if not one_blas_thread.limited:
        pytest.skip("no BLAS with a thread pool is loaded")
    ctl = threadpoolctl.ThreadpoolController().select(user_api="blas")

    def counts() -> list[int]:
        return [c.get_num_threads() for c in ctl.lib_controllers]

    with ctl.limit(limits=2):
        before = counts()
        seen = []

        def inner() -> None:
            with one_blas_thread:
                seen.append(counts())

        with one_blas_thread:
            workers = [threading.Thread(target=inner) for _ in range(4)]
            for w in workers:
                w.start()
            for w in workers:
                w.join()
            with one_blas_thread:  # nested
                assert set(counts()) == {1}
        assert seen == [[1] * len(before)] * 4
        assert counts() == before


def test_index_error_resets_the_error_word():
    x = mt.tensor(RNG.standard_normal((4, 6)).astype(np.float32), device=DEV)
    good = mt.tensor([[0, 5], [1, 2]], device=DEV)
    for _ in range(2):
        with pytest.raises(IndexError, match="out of bounds"):
            mt.gather(x, 1, mt.tensor([[0, 6]], device=DEV))
        # the failed launch's error word must not leak into the next, valid launch
        same(mt.gather(x, 1, good), torch.gather(torch.tensor(x.numpy(force=True)), 1,
                                                torch.tensor([[0, 5], [1, 2]])))
        same(x.scatter(1, good, mt.ones(2, 2, device=DEV)),
             torch.tensor(x.numpy(force=True)).scatter(1, torch.tensor([[0, 5], [1, 2]]),
                                                       torch.ones(2, 2)))


def _views(a: np.ndarray):
    """(mbtorch, torch) pairs: contiguous, permuted and sliced views of ``a`` (rank 4)."""
    x, t = mt.tensor(a, device=DEV), torch.tensor(a)
    yield x, t
    yield x.permute(2, 0, 3, 1), t.permute(2, 0, 3, 1)
    yield x[1:, :, ::2], t[1:, :, ::2]


@pytest.mark.parametrize("dim", [0, 1, 2, 3])
def test_gather_scatter_merge_dims_on_any_layout(dim):
    a = RNG.standard_normal((5, 6, 7, 8)).astype(np.float32)
    for x, t in _views(a):
        shape = list(t.shape)
        shape[dim] = 3
        idx = RNG.integers(0, t.shape[dim], shape)
        ix, it = mt.tensor(idx, device=DEV), torch.tensor(idx)
        same(mt.gather(x, dim, ix), torch.gather(t, dim, it))
        src = RNG.standard_normal(shape).astype(np.float32)
        sx, st = mt.tensor(src, device=DEV), torch.tensor(src)
        same(x.scatter_add(dim, ix, sx), t.scatter_add(dim, it, st), rtol=1e-5, atol=1e-5)
        first = np.argsort(idx, axis=dim, kind="stable")  # unique targets: order-independent
        uniq = np.take_along_axis(np.broadcast_to(np.arange(3).reshape(
            [3 if d == dim else 1 for d in range(4)]), shape), first, dim)
        same(x.scatter(dim, mt.tensor(uniq, device=DEV), sx),
             t.scatter(dim, torch.tensor(uniq), st))


@pytest.mark.parametrize("dim", [0, 2, 3])
def test_rowwise_kernels_merge_line_dims_on_any_layout(dim):
    a = RNG.standard_normal((5, 6, 7, 8)).astype(np.float32)
    a[0, 0, 0, 0] = np.nan
    for x, t in _views(a):
        same(x.argmax(dim), t.argmax(dim))
        same(x.argmin(dim, keepdim=True), t.argmin(dim, keepdim=True))
        same(x.cumsum(dim), t.cumsum(dim), rtol=1e-5, atol=1e-5)
        same(x.log_softmax(dim), t.log_softmax(dim), rtol=1e-5, atol=1e-5)
        same(x.softmax(dim), t.softmax(dim), rtol=1e-5, atol=1e-6)


def test_index_errors_name_the_callers_dim():
    x = mt.tensor(RNG.standard_normal((4, 6, 5)).astype(np.float32), device=DEV)
    bad = mt.tensor(np.full((4, 2, 5), 6), device=DEV)
    # merged dims must not leak into the message: the dim is the caller's, as in PyTorch's
    # "index 6 is out of bounds for dimension 1 with size 6"
    with pytest.raises(IndexError, match="index 6 is out of bounds for dimension 1 with size 6"):
        mt.gather(x, 1, bad)
    with pytest.raises(IndexError, match="dimension 1"):
        x.scatter(1, bad, mt.ones(4, 2, 5, device=DEV))


@pytest.mark.parametrize("dtype,tol", [(np.float32, 1e-4), (np.float16, 2e-2), (np.int64, 0),
                                       (np.int32, 0)])
def test_device_gemm_packs_any_layout(monkeypatch, dtype, tol):
    """The OpenCL GEMM (host BLAS off): K past the work-group size, ragged panels, K = 1,
    transposed operands and stride-0 (broadcast) batch dims of rank 2."""
    monkeypatch.setenv("MBTORCH_OPENCL_HOST_BLAS", "0")

    def arr(*shape):
        if np.dtype(dtype).kind == "i":
            return RNG.integers(-4, 5, shape).astype(dtype)
        return RNG.standard_normal(shape).astype(dtype)

    cases = [(arr(13, 300), arr(300, 9)), (arr(17, 1), arr(1, 23)),
             (arr(2, 3, 19, 33), arr(3, 33, 11))]
    for a, b in cases:
        x, y, ta, tb = mt.tensor(a, device=DEV), mt.tensor(b, device=DEV), torch.tensor(a), \
            torch.tensor(b)
        same(x @ y, ta @ tb, rtol=tol, atol=tol * 10)
        same(y.mT @ x.mT, tb.mT @ ta.mT, rtol=tol, atol=tol * 10)
    a, b = arr(5, 40), arr(40, 7)
    x = mt.tensor(a, device=DEV).expand(2, 3, 5, 40)
    same(x @ mt.tensor(b, device=DEV), torch.tensor(a).expand(2, 3, 5, 40) @ torch.tensor(b),
         rtol=tol, atol=tol * 10)
