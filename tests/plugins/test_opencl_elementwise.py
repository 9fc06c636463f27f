"""The opencl elementwise engine's flat kernels (several elements per work item with vector
loads) against the cpu backend: every dtype, sizes around the vector width (the scalar tail),
views at odd element offsets, Python scalars, in-place writes into views and fills; and its
strided kernels (runs of one row per work item) on broadcasts, transposes and steps."""

from __future__ import annotations

import numpy as np
import pytest

import mbtorch as mt
from tests.plugins.test_opencl import _OK, _WHY

pytestmark = pytest.mark.skipif(not _OK, reason=f"no usable OpenCL device: {_WHY}")

SIZES = (1, 7, 8, 9, 17, 67)
OFFSETS = (0, 1, 3, 8)  # multiples of 8: the vector kernel, others the scalar one
FLOATS = ("float32", "float64", "float16", "bfloat16")
INTS = ("int8", "uint8", "int16", "int32", "int64")
RNG = np.random.default_rng(3)


def _host(dtype: str, n: int) -> np.ndarray:
    if dtype in INTS:
        info = np.iinfo(dtype)
        return RNG.integers(max(info.min, -100), min(info.max, 100), n).astype(dtype)
    x = (RNG.standard_normal(n) * 3).astype(np.float64)
    if n > 4:
        x[[1, 3]] = [np.nan, -0.0]
    return x


def _pair(dtype: str, n: int, off: int) -> tuple[mt.Tensor, mt.Tensor]:
    """The same values on cpu and opencl, as views starting ``off`` elements into a buffer."""
    host = _host(dtype, n + off)
    cpu = mt.tensor(host).to(getattr(mt, dtype))
    return cpu[off:], cpu.to("opencl")[off:]


def _same(got: mt.Tensor, want: mt.Tensor, exact: bool) -> None:
    assert got.dtype is want.dtype and got.shape == want.shape
    g = got.float().numpy(force=True) if got.dtype is mt.bfloat16 else got.numpy(force=True)
    w = want.float().numpy() if want.dtype is mt.bfloat16 else want.numpy()
    if exact:
        np.testing.assert_array_equal(g, w)
    else:
        np.testing.assert_allclose(g.astype(np.float64), w.astype(np.float64), rtol=2e-6,
                                   atol=1e-30, equal_nan=True)


BINARY = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
          "maximum": mt.maximum, "minimum": mt.minimum, "scalar": lambda a, b: a * 3 - b}
UNARY_ALL = {"neg": lambda a: -a, "abs": mt.abs, "relu": mt.relu, "square": mt.square}
UNARY_FLOAT = {"exp": mt.exp, "sigmoid": mt.sigmoid, "sqrt": lambda a: mt.sqrt(mt.abs(a))}


@pytest.mark.parametrize("dtype", FLOATS + INTS)
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("off", OFFSETS)
def test_binary_and_unary_match_cpu(dtype, n, off):
    (ca, oa), (cb, ob) = _pair(dtype, n, off), _pair(dtype, n, 2 * off if off % 8 == 0 else 0)
    for fn in BINARY.values():
        _same(fn(oa, ob), fn(ca, cb), True)
    for fn in UNARY_ALL.values():
        _same(fn(oa), fn(ca), True)
    if dtype in FLOATS:
        _same(oa / ob, ca / cb, True)
        for fn in UNARY_FLOAT.values():
            _same(fn(oa), fn(ca), dtype in ("float16", "bfloat16"))
    else:
        _same(oa & ob, ca & cb, True)
        _same(oa ^ ob, ca ^ cb, True)
        _same(~oa, ~ca, True)


@pytest.mark.parametrize("dtype", ("float32", "float16", "bfloat16", "int16", "bool"))
@pytest.mark.parametrize("n", (9, 33))
def test_in_place_into_views_and_fills(dtype, n):
    if dtype == "bool":
        host = RNG.integers(0, 2, 2 * n).astype(bool)
    else:
        host = _host(dtype, 2 * n)
    cpu = mt.tensor(host).to(getattr(mt, dtype))
    ocl = cpu.to("opencl")
    for t in (cpu, ocl):
        t[3:n + 3:2] = t[n:2 * n:2]  # overlapping strided copy (torch refuses dense ones)
        t[1:n - 1].fill_(1)
        t[n + 1:].zero_()
    _same(ocl, cpu, True)


def test_contiguous_of_odd_offset_view_and_lerp():
    a = RNG.standard_normal(70).astype(np.float32)
    b = RNG.standard_normal(70).astype(np.float32)
    ca, cb = mt.tensor(a), mt.tensor(b)
    oa, ob = ca.to("opencl"), cb.to("opencl")
    _same(oa[5:].clone(), ca[5:].clone(), True)
    _same(mt.lerp(oa[8:], ob[:62], 0.3), mt.lerp(ca[8:], cb[:62], 0.3), True)
    _same(mt.lerp(oa[1:66], ob[3:68], ob[:65]), mt.lerp(ca[1:66], cb[3:68], cb[:65]), True)


# (shape a, shape b): rows shorter than, equal to and longer than a run (CPU_ROW_CHUNK = 64,
# 130 = two runs and a tail), stride-0 rows and columns, ranks 1 to 4
STRIDED = [((128, 256), (256,)), ((128, 10), (128, 1)), ((5, 130), (130,)), ((3, 1, 130), (7, 1)),
           ((2, 3, 4, 65), (3, 1, 65)), ((65,), (1,)), ((4, 1), (1, 200))]


@pytest.mark.parametrize("dtype", ("float32", "float16", "int8"))
@pytest.mark.parametrize("shapes", STRIDED)
def test_strided_broadcasts_match_cpu(dtype, shapes):
    sa, sb = shapes
    ca = mt.tensor(_host(dtype, int(np.prod(sa))).reshape(sa)).to(getattr(mt, dtype))
    cb = mt.tensor(_host(dtype, int(np.prod(sb))).reshape(sb)).to(getattr(mt, dtype))
    oa, ob = ca.to("opencl"), cb.to("opencl")
    for name in ("add", "scalar"):
        fn = BINARY[name]
        _same(fn(oa, ob), fn(ca, cb), True)
        _same(fn(oa, ob), fn(ca, cb), True)  # the second call takes the kept launch plan


def test_strided_views_and_writes_match_cpu():
    host = _host("float32", 300 * 70).reshape(300, 70)
    ca = mt.tensor(host)
    oa = ca.to("opencl")
    for view in (lambda t: t.t(), lambda t: t[::3, 1::2], lambda t: t[5:, 3:].t()):
        _same(view(oa) * 2 + 1, view(ca) * 2 + 1, True)
        _same(view(oa).contiguous(), view(ca).contiguous(), True)
    for t in (ca, oa):
        t[::2, :69:3] += t[1::2, 1::3]
        t.t()[7:40].mul_(0.5)
    _same(oa, ca, True)
    ci = mt.tensor(np.arange(-60, 60, dtype=np.int32).reshape(8, 15))
    oi = ci.to("opencl")
    _same(oi.t() // 7, ci.t() // 7, True)
    with pytest.raises(RuntimeError, match="division by zero"):
        oi.t() // mt.zeros(8, dtype=mt.int32, device="opencl")
