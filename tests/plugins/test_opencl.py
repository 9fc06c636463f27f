"""The opencl backend against the cpu backend: a broad slice of the tensor API on
``device='opencl'``. Skipped, with the reason, where PyOpenCL or an OpenCL platform is
missing."""

from __future__ import annotations

import numpy as np
import pytest

import mbtorch as mt
from mbtorch import backends


def _opencl_state() -> tuple[bool, str]:
    for st in backends.status():
        if st.device_type == "opencl":
            return st.state == "available", st.reason or st.state
    return False, "mbtorch-opencl is not installed"


_OK, _WHY = _opencl_state()
pytestmark = pytest.mark.skipif(not _OK, reason=f"no usable OpenCL device: {_WHY}")
DEV = "opencl"


def check(fn, *arrays, rtol=1e-5, atol=1e-6):
    """Run ``fn`` on cpu tensors and on opencl copies; compare values, dtype and shape."""
    cpu = [mt.tensor(a) if isinstance(a, np.ndarray) else a for a in arrays]
    ocl = [t.to(DEV) if isinstance(t, mt.Tensor) else t for t in cpu]
    want, got = fn(*cpu), fn(*ocl)
    wants = want if isinstance(want, tuple) else (want,)
    gots = got if isinstance(got, tuple) else (got,)
    for w, g in zip(wants, gots):
        assert g.device.type == "opencl"
        assert g.dtype is w.dtype and g.shape == w.shape
        gn, wn = g.numpy(force=True), w.numpy()
        if wn.dtype.kind in "biu":
            np.testing.assert_array_equal(gn, wn)
        else:
            np.testing.assert_allclose(gn.astype(np.float64), wn.astype(np.float64),
                                       rtol=rtol, atol=atol, equal_nan=True)


RNG = np.random.default_rng(0)


def rand(*shape, dtype=np.float32):
    return RNG.standard_normal(shape).astype(dtype)


def test_spec_info_names_platform_device_and_extensions():
    st = next(s for s in backends.status() if s.device_type == "opencl")
    assert st.device_count >= 1
    assert "platform" in st.info["opencl:0"]
    assert "cl_khr" in st.info["opencl:0 extensions"]
    assert mt.tensor([1.0], device="opencl:0").device == mt.device("opencl:0")


@pytest.mark.parametrize("name", ["add", "sub", "mul", "div", "maximum", "minimum", "atan2",
                                  "pow", "eq", "ne", "lt", "le", "gt", "ge", "remainder",
                                  "floor_divide"])
def test_binary_broadcast_and_noncontiguous(name):
    f = getattr(mt, name)
    a, b = np.abs(rand(4, 1, 6)) + 0.5, rand(3, 6)
    check(lambda x, y: f(x, y), a, b)
    check(lambda x, y: f(x.transpose(0, 2)[::2], y.t()[::2, :, None]), a, b)
    if name not in ("maximum", "minimum", "atan2"):  # torch takes no Python number there
        check(lambda x: f(x, 2.0), a)


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16, np.int32, np.int64])
def test_integer_arithmetic_wraps_and_floors(dtype):
    a = RNG.integers(-100, 100, (5, 7)).astype(dtype)
    b = RNG.integers(1, 9, (7,)).astype(dtype)
    for f in (mt.add, mt.mul, mt.floor_divide, mt.remainder, mt.maximum, mt.bitwise_xor):
        check(f, a, b)
    check(lambda x: x * 3 + 200, a)


def test_integer_division_by_zero_raises():
    x = mt.tensor([1, 2, 3], device=DEV)
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        mt.floor_divide(x, mt.tensor([1, 0, 1], device=DEV))


@pytest.mark.parametrize("name", ["abs", "exp", "log1p", "expm1", "sqrt", "sin", "cos", "tanh",
                                  "floor", "ceil", "round", "trunc", "erf", "sigmoid", "relu",
                                  "neg", "exp2", "log2", "rsqrt", "reciprocal", "isnan",
                                  "isfinite"])
def test_unary_on_views(name):
    f = getattr(mt, name)
    a = np.abs(rand(6, 5)) + 0.1
    a[0, 0] = np.nan
    check(lambda x: f(x), a, rtol=2e-6)
    check(lambda x: f(x.t()[1:, ::2]), a, rtol=2e-6)


def test_float16_storage_computes_in_float32():
    a = rand(7, 9).astype(np.float16)
    check(lambda x: (x * 3 + 1).sigmoid(), a, rtol=1e-3)
    check(lambda x: x.sum(1), a, rtol=1e-3, atol=1e-3)


def test_bfloat16_storage_rounds_to_nearest_even():
    import ml_dtypes

    a = rand(6, 5).astype(ml_dtypes.bfloat16)
    check(lambda x: (x * 3 + 1).exp(), a, rtol=1e-2)
    check(lambda x: (x.to(mt.float32) / 3).to(mt.bfloat16), a, rtol=0, atol=0)
    check(lambda x: (x.sum(0), mt.sort(x, 1)[0], x @ x.t()), a, rtol=1e-2, atol=1e-2)


def test_float64_when_the_device_has_it():
    check(lambda x: (x / 3).exp().sum(0), rand(5, 4, dtype=np.float64), rtol=1e-12)


def test_cast_where_clamp():
    a = rand(4, 6) * 300
    for d in (mt.int8, mt.uint8, mt.int64, mt.bool, mt.float16):
        check(lambda x, d=d: x.to(d), a)
    check(lambda x: mt.where(x > 0, x, 0.5 * x), a)
    check(lambda x: x.clamp(-10, 20), a)


def test_views_share_storage_and_writes_reach_the_base():
    base = mt.zeros(4, 6, device=DEV)
    view = base.t()[1::2, 1:3]
    view.copy_(mt.ones(3, 2, device=DEV))
    base[0].fill_(5.0) if hasattr(base, "fill_") else base[0].copy_(mt.full((6,), 5.0))
    want = np.zeros((4, 6), np.float32)
    want.T[1::2, 1:3] = 1
    want[0] = 5
    np.testing.assert_array_equal(base.cpu().numpy(), want)
    x = mt.arange(12, device=DEV).reshape(3, 4)
    x[:, 1:] = x[:, :-1].clone()
    np.testing.assert_array_equal(x.cpu().numpy()[:, 1:], np.arange(12).reshape(3, 4)[:, :-1])


def test_overlapping_copy_reads_before_writing():
    x = mt.arange(10, device=DEV)
    with pytest.raises(RuntimeError, match="refer to a single memory location"):
        x[1:].copy_(x[:-1])  # dense views that partly overlap: refused, as in PyTorch
    x[2::2].copy_(x[:-2:2])  # strided ones are let through; the kernel reads first
    np.testing.assert_array_equal(x.cpu().numpy(), [0, 1, 0, 3, 2, 5, 4, 7, 6, 9])


@pytest.mark.parametrize("dims", [None, 0, 1, 2, (0, 2), (1, 2)])
def test_reductions_along_any_axes(dims):
    a = rand(6, 50, 7)
    kw = {} if dims is None else {"dim": dims}
    check(lambda x: x.sum(**kw), a, rtol=1e-5, atol=1e-5)
    check(lambda x: x.amax(**kw), a)
    check(lambda x: x.permute(2, 0, 1).mean(**kw), a, rtol=1e-5, atol=1e-6)


def test_large_reduction_is_accurate_and_nan_propagates():
    a = RNG.random(3_000_000).astype(np.float32)
    got = mt.tensor(a, device=DEV).sum().item()
    assert abs(got - a.astype(np.float64).sum()) / a.sum() < 1e-6
    a[12345] = np.nan
    assert np.isnan(mt.tensor(a, device=DEV).amax().item())
    check(lambda x: x.prod(1), rand(4, 9))


def test_argmax_cumsum_softmax_native():
    a = rand(5, 40)
    a[2, 7] = np.nan
    check(lambda x: (x.argmax(1), x.argmin(0)), a)
    b = rand(8, 33)
    check(lambda x: (x.cumsum(1), x.t().softmax(1), x.log_softmax(0)), b, rtol=1e-5)


@pytest.mark.parametrize("shapes", [((3, 5), (5, 2)), ((64, 100), (100, 33)),
                                    ((2, 3, 17, 9), (2, 3, 9, 20)), ((4, 17, 9), (9, 20)),
                                    ((1, 1), (1, 1))])
def test_matmul_shapes(shapes):
    (sa, sb) = shapes
    check(mt.matmul, rand(*sa), rand(*sb), rtol=1e-4, atol=1e-4)


def test_matmul_transposed_and_broadcast_views():
    a, b = rand(40, 30), rand(50, 40)
    check(lambda x, y: x.t() @ y.t(), a, b, rtol=1e-4, atol=1e-4)
    check(lambda x, y: x.expand(3, 40, 30).transpose(1, 2) @ y[:, :40].t(), a, b,
          rtol=1e-4, atol=1e-4)
    check(mt.matmul, RNG.integers(-5, 5, (6, 7)), RNG.integers(-5, 5, (7, 3)))
    check(mt.matmul, rand(9, 8).astype(np.float16), rand(8, 5).astype(np.float16),
          rtol=2e-3, atol=2e-3)


def test_gather_scatter_and_index_errors():
    a = rand(4, 6)
    idx = mt.tensor([[0, 5, 2], [1, 1, 3]])
    check(lambda x: mt.gather(x, 1, idx.to(x.device)), a)
    src = mt.tensor(rand(2, 3))
    check(lambda x: x.scatter(1, idx.to(x.device), src.to(x.device)), a)
    check(lambda x: x.scatter_add(1, idx.to(x.device), src.to(x.device)), a)
    x = mt.tensor(a, device=DEV)
    with pytest.raises(IndexError, match="out of bounds"):
        mt.gather(x, 1, mt.tensor([[0, 6]], device=DEV))
    with pytest.raises(IndexError, match="out of bounds"):
        x.scatter(0, mt.tensor([[4]], device=DEV), mt.ones(1, 1, device=DEV))


def test_indexing_and_nonzero():
    a = rand(5, 6)
    check(lambda x: x[x > 0.3], a)
    check(lambda x: x[[0, 2, 4]][:, [1, 3]], a)
    check(lambda x: mt.nonzero(x > 0), a)
    check(lambda x: mt.nonzero(x[:, ::2].t() > 0.5), a)


def test_sort_is_stable_and_puts_nan_above_inf():
    a = np.array([[3.0, np.nan, 1.0, np.inf, 1.0, -np.inf, 2.0, 1.0]] * 3, np.float32)
    for desc in (False, True):
        check(lambda x, desc=desc: mt.sort(x, dim=1, descending=desc), a)
        check(lambda x, desc=desc: mt.sort(x.t(), dim=0, descending=desc), a)
    check(lambda x: mt.sort(x, dim=0), RNG.integers(0, 4, (37, 3)))
    check(lambda x: mt.topk(x, 3, dim=1), rand(4, 30))


def test_random_stream_matches_cpu():
    mt.manual_seed(1234)
    cpu = (mt.rand(1000), mt.randn(33, 3), mt.randint(0, 10, (17,)))
    mt.manual_seed(1234)
    ocl = (mt.rand(1000, device=DEV), mt.randn(33, 3, device=DEV),
           mt.randint(0, 10, (17,), device=DEV))
    for c, o in zip(cpu, ocl):
        np.testing.assert_allclose(o.cpu().numpy(), c.numpy(), rtol=1e-6, atol=1e-6)


def test_philox_known_answer():
    from mbtorch_opencl import random as ocl_random

    from mbtorch.core.plugin_api import philox_words

    be = mt.tensor([0.0], device=DEV)._be
    for seed, offset, n in ((0, 0, 8), (2**40 + 7, 5, 103), (123, 2**33 + 1, 9)):
        got = be.storage.to_numpy(ocl_random.philox(seed, offset, n, 0))
        np.testing.assert_array_equal(got, philox_words(np, seed, offset, n))


def test_autograd_runs_on_opencl():
    x = mt.tensor(rand(4, 3), device=DEV, requires_grad=True)
    w = mt.tensor(rand(3, 2), device=DEV, requires_grad=True)
    (x @ w).relu().sum().backward()
    xc, wc = x.detach().cpu().requires_grad_(), w.detach().cpu().requires_grad_()
    (xc @ wc).relu().sum().backward()
    np.testing.assert_allclose(w.grad.cpu().numpy(), wc.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_empty_and_zero_dim():
    check(lambda x: (x + 1, x.sum(0)), rand(0, 3))
    check(lambda x: (x * 2, x.exp()), np.array(1.5, np.float32))
    check(lambda x: x @ x.t(), rand(3, 0))


def test_unavailable_reasons(monkeypatch):
    import sys

    from mbtorch_opencl import hooks, storage

    monkeypatch.setattr(storage, "enumerate_devices", lambda: [])
    spec = hooks.mbtorch_backend(api_version=1)
    assert not spec.available and "no device" in spec.reason
    monkeypatch.setitem(sys.modules, "pyopencl", None)  # makes `import pyopencl` fail
    spec = hooks.mbtorch_backend(api_version=1)
    assert not spec.available and "PyOpenCL cannot be imported" in spec.reason
