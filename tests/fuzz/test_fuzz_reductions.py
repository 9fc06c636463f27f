"""Differential fuzzing of reductions and scans against PyTorch: random dims (ints, negative,
tuples, duplicates and out-of-range ones for error parity), keepdim and ``dtype=``, over every
dtype, zero-size and 0-d inputs and non-contiguous views. tests/plugins/test_opencl_fuzz.py
runs the same tests on opencl."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.fuzz.strategies import DTYPES, INTS, build, compare, tensor_case

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

pytestmark = pytest.mark.fuzz


@pytest.fixture(scope="module", params=["cpu", "mini"])
def device(request):
    """The device under test; mini is the template plugin, every composite decomposed."""
    return request.getfixturevalue("mini_device") if request.param == "mini" else "cpu"


def _kw(dim, keepdim, dtype=None):
    kw = {"dim": dim, "keepdim": keepdim}
    if dtype is not None:
        kw["dtype"] = dtype
    return kw


def _dt(m, dtype):
    return None if dtype is None else getattr(m, dtype)


def _one_dim(dim):
    """An int dim for the ops that take one: the first of a tuple, 0 for None."""
    if isinstance(dim, tuple):
        return dim[0] if dim else 0
    return 0 if dim is None else dim


# name -> fn(module, tensor, dim, keepdim, dtype name or None)
REDUCTIONS = {
    "sum": lambda m, a, d, k, t: m.sum(a, **_kw(d, k, _dt(m, t))),
    "prod": lambda m, a, d, k, t: m.prod(a, dtype=_dt(m, t)) if d is None else m.prod(
        a, **_kw(_one_dim(d), k, _dt(m, t))),
    "mean": lambda m, a, d, k, t: m.mean(a, **_kw(d, k, _dt(m, t))),
    "amax": lambda m, a, d, k, t: m.amax(a, **_kw(() if d is None else d, k)),
    "amin": lambda m, a, d, k, t: m.amin(a, **_kw(() if d is None else d, k)),
    "max_dim": lambda m, a, d, k, t: tuple(m.max(a, dim=_one_dim(d), keepdim=k)),
    "min_dim": lambda m, a, d, k, t: tuple(m.min(a, dim=_one_dim(d), keepdim=k)),
    "max_all": lambda m, a, d, k, t: m.max(a),
    "argmax": lambda m, a, d, k, t: m.argmax(a, **_kw(None if d is None else _one_dim(d), k)),
    "argmin": lambda m, a, d, k, t: m.argmin(a, **_kw(None if d is None else _one_dim(d), k)),
    "any": lambda m, a, d, k, t: m.any(a, **_kw(d, k)),
    "all": lambda m, a, d, k, t: m.all(a, **_kw(d, k)),
    "var": lambda m, a, d, k, t: m.var(a, **_kw(d, k)),
    "std_correction0": lambda m, a, d, k, t: m.std(a, correction=0, **_kw(d, k)),
    # dim=() is left out: torch.logsumexp(x, dim=()) fails with a shape error in PyTorch's
    # own out= path ("output with shape [] doesn't match the broadcast shape"), a PyTorch
    # bug mbtorch does not imitate (it reduces every dim, as sum(x, dim=()) does)
    "logsumexp": lambda m, a, d, k, t: m.logsumexp(
        a, dim=tuple(range(a.dim())) if d is None or d == () else d, keepdim=k),
    "norm": lambda m, a, d, k, t: m.norm(a, p=2, **_kw(d, k)),
    "norm_1": lambda m, a, d, k, t: m.norm(a, p=1, **_kw(d, k)),
    "norm_inf": lambda m, a, d, k, t: m.norm(a, p=math.inf, **_kw(d, k)),
    "cumsum": lambda m, a, d, k, t: m.cumsum(a, dim=_one_dim(d), dtype=_dt(m, t)),
    "cumprod": lambda m, a, d, k, t: m.cumprod(a, dim=_one_dim(d), dtype=_dt(m, t)),
}
# the ops whose dtype= the tests draw
_WITH_DTYPE = frozenset({"sum", "prod", "mean", "cumsum", "cumprod"})
# products stay small: integer overflow is undefined behaviour in PyTorch's kernels
_LIMITS = {"prod": (-1, 1, -2.0, 2.0), "cumprod": (-1, 1, -2.0, 2.0)}


def dims(ndim: int):
    """None, an int or a tuple of ints, each in [-n-1, n] for n = max(ndim, 1): negative
    dims, one out-of-range dim at each end, and duplicates in tuples."""
    n = max(ndim, 1)
    one = st.integers(-n - 1, n)
    return st.one_of(st.none(), one, st.lists(one, max_size=ndim + 1).map(tuple))


def _values(data, name: str, dtype: str):
    ilo, ihi, flo, fhi = _LIMITS.get(name, (None, None, None, None))
    lo, hi = (ilo, ihi) if dtype in INTS else (flo, fhi)
    return data.draw(tensor_case(dtype, lo=lo, hi=hi))


def _scale(values: np.ndarray, name: str) -> float:
    """The absolute error a float reduction may make relative to its rtol: the count of
    values times the largest finite magnitude (squared for the variance)."""
    v = values.astype(np.float64)
    finite = np.abs(v[np.isfinite(v)])
    big = max(1.0, float(finite.max()) if finite.size else 1.0)
    return big ** (2 if name == "var" else 1) * max(1, values.size)


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@given(data=st.data())
def test_reduction(device, name, data):
    dtype = data.draw(st.sampled_from(DTYPES))
    values, layout = _values(data, name, dtype)
    dim = data.draw(dims(values.ndim))
    keepdim = data.draw(st.booleans())
    out_dtype = data.draw(st.one_of(st.none(), st.sampled_from(DTYPES))) \
        if name in _WITH_DTYPE else None
    ma, ta = build(values, layout, device)
    fn = REDUCTIONS[name]
    compare(lambda m, a: fn(m, a, dim, keepdim, out_dtype), (ma,), (ta,),
            scale=_scale(values, name))


__all__ = ["REDUCTIONS", "dims", "test_reduction"]
