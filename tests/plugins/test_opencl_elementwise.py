"""The opencl elementwise engine's flat kernels (several elements per work item with vector
loads) against the cpu backend: every dtype, sizes around the vector width (the scalar tail),
views at odd element offsets, Python scalars, in-place writes into views and fills."""

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
        t[3:n + 3] = t[n:2 * n]  # overlapping copy
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
