"""Reductions, scans, variance and the softmax family against NumPy (float64 references) and
PyTorch (dtypes, low precision, error messages), on contiguous and strided inputs, with
NaN/inf, empty and 0-d tensors. Every value test runs twice: with the NumPy backend's native
composite kernels and with them removed, so the primitive-only decompositions are checked."""

import math

import numpy as np
import pytest
import scipy.special

import mbtorch as mt
from mbtorch.core.op import Op
from tests.conftest import assert_close

RNG = np.random.default_rng(7)
COMPOSITES = (Op.AMIN, Op.ARGMAX, Op.ARGMIN, Op.MEAN, Op.VAR, Op.LOGSUMEXP, Op.SOFTMAX,
              Op.LOG_SOFTMAX, Op.CUMSUM, Op.CUMPROD, Op.ANY, Op.ALL, Op.VECTOR_NORM)


@pytest.fixture(params=["native", "decomposed"])
def path(request):
    """Run with the cpu backend's composite kernels, or with only its primitives."""
    kernels = mt.zeros(1)._be.kernels
    saved = {op: kernels[op] for op in COMPOSITES}
    if request.param == "decomposed":
        for op in COMPOSITES:
            kernels[op] = None
    yield request.param
    for op, k in saved.items():
        kernels[op] = k


def _make(arr: np.ndarray, layout: str, dtype=mt.float32):
    """``arr``'s values as an mbtorch tensor: contiguous, permuted or step-sliced."""
    if layout == "contiguous":
        return mt.tensor(arr, dtype=dtype)
    if layout == "permuted":
        axes = tuple(reversed(range(arr.ndim)))
        base = mt.tensor(np.ascontiguousarray(arr.transpose(axes)), dtype=dtype)
        t = base.permute(*axes)
    else:
        wide = np.repeat(arr, 2, axis=-1)
        t = mt.tensor(wide, dtype=dtype)[..., ::2]
    assert not t.is_contiguous() or arr.ndim < 2 or arr.size == 0
    return t


LAYOUTS = ["contiguous", "permuted", "sliced"]
DIMS = [None, 0, -1, (0, 2), (-1, 0), (), [1]]


def _np_dims(dim):
    if dim is None or (isinstance(dim, (tuple, list)) and not dim):
        return None
    return tuple(dim) if isinstance(dim, (tuple, list)) else dim


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dim", DIMS)
@pytest.mark.parametrize("keepdim", [False, True])
def test_sum_prod_mean_amax_amin_match_numpy(path, layout, dim, keepdim):
    arr = RNG.standard_normal((3, 4, 6))
    x = _make(arr, layout)
    ax = _np_dims(dim)
    for name, ref in (("sum", np.sum), ("mean", np.mean), ("amax", np.max),
                      ("amin", np.min)):
        got = getattr(mt, name)(x, dim, keepdim) if dim is not None else \
            getattr(mt, name)(x, keepdim=keepdim)
        assert_close(got, ref(arr, axis=ax, keepdims=keepdim), rtol=1e-5, atol=1e-5)
        assert got.dtype is mt.float32
    if dim is None or isinstance(dim, int):
        got = mt.prod(x, dim, keepdim) if dim is not None else mt.prod(x)
        want = np.prod(arr, axis=dim, keepdims=keepdim and dim is not None)
        assert_close(got, want, rtol=1e-4, atol=1e-6)


def test_sum_and_prod_dtypes():
    i32 = mt.tensor([[1, 2, 3], [4, 5, 6]], dtype=mt.int32)
    assert_close(mt.sum(i32), np.array(21), dtype=mt.int64)
    assert_close(mt.sum(i32, 0), [5, 7, 9], dtype=mt.int64)
    assert_close(mt.prod(i32, 1), [6, 120], dtype=mt.int64)
    assert_close(mt.sum(mt.tensor([True, True, False])), np.array(2), dtype=mt.int64)
    assert_close(mt.sum(i32.to(mt.uint8)), np.array(21), dtype=mt.int64)
    assert_close(mt.sum(i32, dtype=mt.float32), np.array(21.0), dtype=mt.float32)
    assert_close(mt.sum(i32, 0, dtype=mt.int16), [5, 7, 9], dtype=mt.int16)
    assert_close(mt.sum(mt.tensor([True, False]), dtype=mt.bool), np.array(True), dtype=mt.bool)
    assert_close(mt.prod(mt.tensor([True, False])), np.array(0), dtype=mt.int64)
    assert_close(mt.mean(i32, dtype=mt.float64), np.array(3.5), dtype=mt.float64)
    assert mt.tensor([1.0, 2.0]).sum().item() == 3.0  # Tensor method
    assert mt.ones(2, 3).mean(dim=1, keepdim=True).shape == (2, 1)


def test_empty_and_zero_dim(path):
    e = mt.zeros(0)
    assert mt.sum(e).item() == 0 and mt.prod(e).item() == 1
    assert math.isnan(mt.mean(e).item())
    assert_close(mt.mean(mt.zeros(0, 3), 0), [math.nan] * 3)
    assert_close(mt.sum(mt.zeros(0, 3), 0), [0.0, 0.0, 0.0])
    assert mt.amax(mt.zeros(0, 3), 1).shape == (0,)
    assert mt.all(e).item() is True and mt.any(e).item() is False
    s = mt.tensor(2.5)
    for fn in (mt.sum, mt.mean, mt.amax, mt.amin):
        assert fn(s, 0, keepdim=True).shape == () and fn(s, -1).item() == 2.5
    assert mt.max(s, 0).indices.item() == 0 and mt.argmax(s).item() == 0
    assert mt.prod(mt.tensor(3), 0).item() == 3


@pytest.mark.parametrize("fn,exc,msg", [
    (lambda: mt.amax(mt.zeros(0)), RuntimeError,
     "amax(): Expected reduction dim to be specified for input.numel() == 0. Specify"),
    (lambda: mt.max(mt.zeros(0)), RuntimeError, "max(): Expected reduction dim to be specified"),
    (lambda: mt.min(mt.zeros(0)), RuntimeError, "min(): Expected reduction dim to be specified"),
    (lambda: mt.amin(mt.zeros(0, 3), 0), IndexError,
     "amin(): Expected reduction dim 0 to have non-zero size."),
    (lambda: mt.max(mt.zeros(0, 3), 0), IndexError, "max(): Expected reduction dim 0 to have"),
    (lambda: mt.argmax(mt.zeros(0)), IndexError,
     "argmax(): Expected reduction dim to be specified for input.numel() == 0."),
    (lambda: mt.argmin(mt.zeros(2, 0), 1), IndexError, "argmin(): Expected reduction dim 1"),
    (lambda: mt.mean(mt.arange(3)), RuntimeError,
     "mean(): could not infer output dtype. Input dtype must be either a floating point or "
     "complex dtype. Got: Long"),
    (lambda: mt.mean(mt.ones(2), dtype=mt.int64), RuntimeError, "Optional dtype must be"),
    (lambda: mt.nanmean(mt.arange(3)), RuntimeError,
     "nanmean(): expected input to have floating point or complex dtype but got Long"),
    (lambda: mt.sum(mt.ones(2, 3), 2), IndexError, "Dimension out of range (expected to be in "
     "range of [-2, 1], but got 2)"),
    (lambda: mt.sum(mt.ones(2, 3), (0, -2)), RuntimeError, "appears multiple times"),
    (lambda: mt.prod(mt.ones(2, 3), (0, 1)), TypeError, "argument 'dim' must be int"),
    (lambda: mt.argmax(mt.tensor([True])), RuntimeError, "argmax(): does not support bool"),
    (lambda: mt.sum([1, 2]), TypeError, "sum(): argument 'input' must be Tensor, not list"),
    (lambda: mt.var(mt.arange(3)), RuntimeError,
     "std and var only support floating point and complex dtypes"),
    (lambda: mt.std(mt.ones(3), unbiased=True, correction=1), TypeError, "both"),
    (lambda: mt.softmax(mt.arange(3), 0), NotImplementedError,
     "\"softmax_kernel_impl\" not implemented for 'Long'"),
    (lambda: mt.log_softmax(mt.ones(3), 1), IndexError, "Dimension out of range"),
    (lambda: mt.cumsum(mt.ones(3), None), TypeError, "argument 'dim' must be int"),
    (lambda: mt.cumprod(mt.ones(3), 1), IndexError, "Dimension out of range"),
])
def test_error_paths(fn, exc, msg):
    with pytest.raises(exc) as info:
        fn()
    assert msg in str(info.value)


def test_error_types_match_torch(torch_or_skip):
    torch = torch_or_skip
    cases = [("amax", (0,), {}), ("max", (0,), {}), ("argmax", (0,), {}),
             ("argmax", (0, 3), {"dim": 0}), ("max", (0, 3), {"dim": 0})]
    for name, shape, kw in cases:
        with pytest.raises(Exception) as theirs:
            getattr(torch, name)(torch.zeros(shape), **kw)
        with pytest.raises(Exception) as ours:
            getattr(mt, name)(mt.zeros(shape), **kw)
        assert type(ours.value) is type(theirs.value), name
        assert str(theirs.value).split("\n")[0] == str(ours.value), name


# -- max/min with indices, argmax/argmin ------------------------------------------------------
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_max_min_with_dim_match_numpy(path, layout, dim, keepdim):
    arr = RNG.integers(-3, 4, size=(4, 5, 6)).astype(np.float64)  # many ties: first wins
    x = _make(arr, layout)
    for fn, npv, npi in ((mt.max, np.max, np.argmax), (mt.min, np.min, np.argmin)):
        res = fn(x, dim, keepdim)
        values, indices = res
        assert res.values is values and res.indices is indices and res[1] is indices
        assert_close(values, npv(arr, axis=dim, keepdims=keepdim))
        assert_close(indices, npi(arr, axis=dim, keepdims=keepdim), dtype=mt.int64)
    assert_close(mt.argmax(x, dim, keepdim), np.argmax(arr, dim, keepdims=keepdim))
    assert_close(mt.argmin(x, dim=dim, keepdim=keepdim), np.argmin(arr, dim, keepdims=keepdim))
    assert_close(x.argmax(), np.argmax(arr))
    assert mt.argmin(x, keepdim=True).shape == (1, 1, 1)
    assert "mbtorch.return_types.max(" in repr(mt.max(x, 0))


def test_nan_is_the_extreme_and_first_one_wins(path):
    v = [1.0, math.nan, 3.0, math.nan, -math.inf]
    x = mt.tensor(v)
    assert mt.argmax(x).item() == 1 and mt.argmin(x).item() == 1
    assert math.isnan(mt.max(x).item()) and math.isnan(mt.amin(x).item())
    r = mt.max(mt.tensor([v, [0.0, 5.0, 5.0, 1.0, 2.0]]), 1)
    assert_close(r.values, [math.nan, 5.0])
    assert_close(r.indices, [1, 1])
    assert mt.argmin(mt.tensor([math.inf, -math.inf, -math.inf])).item() == 1


@pytest.mark.parametrize("dtype", [mt.int32, mt.int64, mt.uint8, mt.int8, mt.bool])
def test_extremes_of_integers_and_bools(path, dtype):
    arr = RNG.integers(0, 100, size=(3, 7))
    if dtype is mt.bool:
        arr = arr > 50
    x = mt.tensor(arr, dtype=dtype)
    assert_close(mt.amin(x, 1), np.min(arr, 1), dtype=dtype)
    assert_close(mt.amax(x, 0), np.max(arr, 0), dtype=dtype)
    assert_close(mt.min(x, 1).indices, np.argmin(arr, 1))
    assert_close(mt.max(x, 0).values, np.max(arr, 0), dtype=dtype)
    if dtype is not mt.bool:
        assert_close(mt.argmax(x, 1), np.argmax(arr, 1))
        assert_close(mt.argmin(x), np.argmin(arr))


def test_binary_max_min_and_aminmax():
    a, b = mt.tensor([1.0, 5.0, math.nan]), mt.tensor([2.0, 3.0, 0.0])
    assert_close(mt.max(a, b), [2.0, 5.0, math.nan])
    assert_close(a.min(b), [1.0, 3.0, math.nan])
    lo, hi = mt.aminmax(mt.tensor([[3, 1], [4, 1]]), dim=0)
    assert_close(lo, [3, 1])
    assert_close(hi, [4, 1])
    assert mt.aminmax(mt.tensor([2.0, -1.0])).max.item() == 2.0


# -- variance -------------------------------------------------------------------------------
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dim", [None, 0, -1, (0, 2)])
@pytest.mark.parametrize("correction", [0, 1, 2, 0.5])
def test_var_std_match_numpy(path, layout, dim, correction):
    arr = RNG.standard_normal((3, 4, 6)) * 3 + 100  # an offset that one-pass formulas lose
    x = _make(arr, layout, mt.float64)
    want = np.var(arr, axis=dim, ddof=correction)
    assert_close(mt.var(x, dim, correction=correction), want, rtol=1e-10)
    assert_close(mt.std(x, dim, correction=correction, keepdim=True),
                 np.sqrt(np.var(arr, axis=dim, ddof=correction, keepdims=True)), rtol=1e-10)
    v, m = mt.var_mean(x, dim, correction=correction)
    assert_close(v, want, rtol=1e-10)
    assert_close(m, np.mean(arr, axis=dim), rtol=1e-12)
    s, m = mt.std_mean(x, dim, correction=correction)
    assert_close(s, np.sqrt(want), rtol=1e-10)


def test_var_legacy_unbiased_forms(path):
    arr = RNG.standard_normal((3, 5))
    x = mt.tensor(arr)
    assert_close(mt.var(x, True), np.var(arr, ddof=1))
    assert_close(mt.var(x, False), np.var(arr))
    assert_close(mt.var(x, 0, True, True), np.var(arr, 0, ddof=1, keepdims=True))
    assert_close(x.var(1, False), np.var(arr, 1))
    assert_close(x.std(unbiased=False), np.std(arr))
    assert math.isnan(mt.var(mt.ones(1)).item()) and math.isnan(mt.var(mt.zeros(0)).item())
    assert mt.var(mt.tensor([1.0, 2.0]), correction=2).item() == math.inf


# -- logsumexp, softmax, log_softmax ----------------------------------------------------------
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_family_matches_reference(path, layout, dim):
    arr = RNG.standard_normal((3, 4, 6)) * 30
    arr[0, 0, :] = 1000.0  # would overflow exp without the shift
    arr[1, :2, 0] = -math.inf  # masked entries
    x = _make(arr, layout, mt.float64)
    assert_close(mt.softmax(x, dim), scipy.special.softmax(arr, axis=dim), rtol=1e-10,
                 atol=1e-300)
    assert_close(mt.log_softmax(x, dim), scipy.special.log_softmax(arr, axis=dim), rtol=1e-10)
    assert_close(mt.logsumexp(x, dim), scipy.special.logsumexp(arr, axis=dim), rtol=1e-12)
    assert_close(mt.logsumexp(x, (0, 2), keepdim=True),
                 scipy.special.logsumexp(arr, axis=(0, 2), keepdims=True), rtol=1e-12)
    assert_close(x.softmax(dim).sum(dim), np.ones(np.delete(arr.shape, dim)), rtol=1e-12)


def test_softmax_family_special_values(path):
    ninf, inf, nan = -math.inf, math.inf, math.nan
    assert_close(mt.logsumexp(mt.tensor([ninf, ninf]), 0), np.array(ninf))
    assert_close(mt.logsumexp(mt.tensor([inf, 1.0]), 0), np.array(inf))
    assert_close(mt.logsumexp(mt.tensor([nan, 1.0]), 0), np.array(nan))
    assert_close(mt.logsumexp(mt.zeros(0), 0), np.array(ninf))
    assert_close(mt.logsumexp(mt.tensor([1, 2]), 0), np.log(np.e + np.e ** 2), rtol=1e-6)
    assert_close(mt.softmax(mt.tensor([ninf, 0.0]), 0), [0.0, 1.0])
    assert_close(mt.softmax(mt.tensor([inf, 1.0]), 0), [nan, nan])
    assert_close(mt.log_softmax(mt.tensor([ninf, ninf]), 0), [nan, nan])
    assert mt.softmax(mt.zeros(0, 3), 0).shape == (0, 3)
    assert mt.log_softmax(mt.tensor(3.0), 0).item() == 0.0
    out = mt.softmax(mt.tensor([1, 2, 3]), 0, dtype=mt.float64)
    assert_close(out, scipy.special.softmax([1.0, 2.0, 3.0]), dtype=mt.float64)


# -- scans ----------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [0, 1, 2, 3, 5, 8, 17])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_cumsum_cumprod_match_numpy(path, n, layout):
    arr = RNG.uniform(0.5, 1.5, size=(3, 4, n))
    x = _make(arr, layout, mt.float64)
    for dim in (0, 1, 2, -1):
        assert_close(mt.cumsum(x, dim), np.cumsum(arr, dim), rtol=1e-12)
        assert_close(x.cumprod(dim), np.cumprod(arr, dim), rtol=1e-12)


def test_scan_dtypes_and_special_values(path):
    i = mt.tensor([[1, 2, 3], [4, 5, 6]], dtype=mt.int32)
    assert_close(mt.cumsum(i, 1), [[1, 3, 6], [4, 9, 15]], dtype=mt.int64)
    assert_close(mt.cumprod(i, 0), [[1, 2, 3], [4, 10, 18]], dtype=mt.int64)
    assert_close(mt.cumsum(mt.tensor([True, False, True]), 0), [1, 1, 2], dtype=mt.int64)
    assert_close(mt.cumsum(i, 1, dtype=mt.float16), [[1, 3, 6], [4, 9, 15]], dtype=mt.float16)
    assert_close(mt.cumsum(mt.tensor([1.0, math.nan, 2.0]), 0), [1.0, math.nan, math.nan])
    assert_close(mt.cumprod(mt.tensor([2.0, 0.0, math.inf, 3.0]), 0), [2.0, 0.0, math.nan,
                                                                        math.nan])
    assert_close(mt.cumprod(mt.tensor([math.inf, 2.0]), 0), [math.inf, math.inf])
    assert mt.cumsum(mt.tensor(4), 0).item() == 4 and mt.cumsum(mt.tensor(4), 0).shape == ()
    big = mt.tensor(np.arange(1, 40, dtype=np.int64))
    assert_close(mt.cumprod(big, 0)[:20], np.cumprod(np.arange(1, 21, dtype=np.int64)))


# -- logical and counting ---------------------------------------------------------------------
@pytest.mark.parametrize("dim", [None, 0, 1, (0, 1)])
def test_all_any_count_nonzero(path, dim):
    arr = np.array([[0.0, 1.0, math.nan], [0.0, 2.0, 0.0]])
    x = mt.tensor(arr)
    ax = _np_dims(dim)
    assert_close(mt.all(x, dim), np.all(arr, axis=ax), dtype=mt.bool)
    assert_close(mt.any(x, dim, keepdim=True) if dim is not None else mt.any(x),
                 np.any(arr, axis=ax, keepdims=dim is not None), dtype=mt.bool)
    assert_close(mt.count_nonzero(x, dim), np.count_nonzero(arr, axis=ax), dtype=mt.int64)
    u8 = mt.tensor([[0, 3], [1, 1]], dtype=mt.uint8)
    assert_close(mt.all(u8, 0), np.array([0, 1], dtype=np.uint8), dtype=mt.uint8)
    assert mt.equal(mt.ones(3), mt.ones(3)) and not mt.equal(mt.ones(3), mt.zeros(3))


def test_nansum_nanmean():
    arr = np.array([[1.0, math.nan, 3.0], [math.nan, math.nan, 4.0]])
    x = mt.tensor(arr)
    assert_close(mt.nansum(x), np.nansum(arr))
    assert_close(mt.nansum(x, 1), np.nansum(arr, 1))
    assert_close(mt.nanmean(x, 0), [1.0, math.nan, 3.5])
    assert_close(mt.nanmean(x), np.nanmean(arr))
    assert_close(mt.nansum(mt.tensor([1, 2])), np.array(3), dtype=mt.int64)


# -- against torch: dtypes and low precision --------------------------------------------------
@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32"])
def test_low_precision_matches_torch(torch_or_skip, path, dtype):
    torch = torch_or_skip
    arr = RNG.standard_normal((4, 50)).astype(np.float32) * 4
    x = mt.tensor(arr).to(getattr(mt, dtype))
    tx = torch.tensor(arr).to(getattr(torch, dtype))
    tol = {"float16": 2e-3, "bfloat16": 1.6e-2, "float32": 1e-6}[dtype]
    for name, args in (("sum", (1,)), ("mean", (1,)), ("amax", (0,)), ("amin", (1,)),
                       ("softmax", (1,)), ("log_softmax", (0,)), ("logsumexp", (1,)),
                       ("cumsum", (1,)), ("var", (1,)), ("std", ()), ("prod", (0,))):
        got, want = getattr(mt, name)(x, *args), getattr(torch, name)(tx, *args)
        assert got.dtype.name == str(want.dtype)[6:], name
        assert_close(got, want.float(), rtol=tol * 4, atol=tol * 4)
    assert_close(mt.argmax(x, 1), torch.argmax(tx, 1))
    assert_close(mt.max(x, 0).indices, torch.max(tx, 0).indices)


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int16", "int32", "int64", "bool"])
def test_integer_result_dtypes_match_torch(torch_or_skip, dtype):
    torch = torch_or_skip
    arr = RNG.integers(0, 3, size=(3, 4))
    x, tx = mt.tensor(arr).to(getattr(mt, dtype)), torch.tensor(arr).to(getattr(torch, dtype))
    for name in ("sum", "prod", "cumsum", "cumprod", "amax", "all", "any", "count_nonzero"):
        args = (0,) if name in ("cumsum", "cumprod") else ()
        got, want = getattr(mt, name)(x, *args), getattr(torch, name)(tx, *args)
        assert got.dtype.name == str(want.dtype)[6:], name
        assert_close(got, want)
    assert mt.logsumexp(x, 0).dtype is mt.float32


def test_inplace_scans_write_into_self():
    x = mt.tensor([[1, 2, 3], [4, 5, 6]], dtype=mt.int32)
    view = x[1]
    assert view.cumsum_(0) is view
    assert_close(x, [[1, 2, 3], [4, 9, 15]], dtype=mt.int32)
    y = mt.tensor([1.0, 2.0, 3.0])
    y.cumprod_(0)
    assert_close(y, [1.0, 2.0, 6.0])


_ON_MINI = [
    lambda m, t: m.sum(t, (0, 2)), lambda m, t: m.mean(t, 1), lambda m, t: m.amin(t, -1),
    lambda m, t: m.argmax(t, 2), lambda m, t: m.argmin(t), lambda m, t: m.max(t, 1).indices,
    lambda m, t: m.min(t, 0).values, lambda m, t: m.var(t, 0), lambda m, t: m.std(t, 2),
    lambda m, t: m.softmax(t, 1), lambda m, t: m.log_softmax(t, 2),
    lambda m, t: m.logsumexp(t, 1), lambda m, t: m.cumsum(t, 2), lambda m, t: m.cumprod(t, 0),
    lambda m, t: m.any(t > 1, 1), lambda m, t: m.all(t > -3, 0),
    lambda m, t: m.count_nonzero(t, 1), lambda m, t: m.nansum(t, 2),
]


def test_decompositions_run_on_a_primitive_only_backend(mini_device):
    """The template backend ``mini`` implements only the primitives."""
    arr = RNG.standard_normal((3, 4, 5))
    arr[0, 0, 0] = math.nan
    x, c = mt.tensor(arr, device=mini_device), mt.tensor(arr)
    assert not x._be.runs_natively(Op.SOFTMAX)
    for i, f in enumerate(_ON_MINI):
        got, want = f(mt, x), f(mt, c)
        assert got.device.type == "mini" and got.dtype is want.dtype, i
        assert_close(got.cpu(), want.numpy(), rtol=1e-12, atol=1e-12)
