"""ULP-based tolerances (``tolerances.compare_ulp``) and the accuracy classes
(``accuracy.py``): exactly rounded against one ULP off, the floor near zero, NaN and
infinities, float16/bfloat16 in their own ULPs, and the classes against PyTorch itself."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from mbtorch_conformance.accuracy import (
    BY_OP,
    EXACT,
    accumulation_length,
    accuracy,
    tolerance_for,
)
from mbtorch_conformance.db import all_entries
from mbtorch_conformance.report import Report, Row, markdown
from mbtorch_conformance.samples import Sample
from mbtorch_conformance.tolerances import compare_ulp, ulp_distance, ulp_tolerance

import mbtorch as mt
from mbtorch.core.host import NUMPY_DTYPES
from mbtorch.core.op import Op

HALF_AND_SINGLE = [mt.float16, mt.bfloat16, mt.float32]


def _next(x: np.ndarray, steps: int = 1) -> np.ndarray:
    """``x`` moved ``steps`` representable values up (any float dtype, bfloat16 included)."""
    bits = {2: np.uint16, 4: np.uint32, 8: np.uint64}[x.dtype.itemsize]
    return (x.view(bits) + bits(steps)).view(x.dtype)  # positive x: bits are in value order


@pytest.mark.parametrize("dtype", HALF_AND_SINGLE + [mt.float64], ids=lambda d: d.name)
def test_exactly_rounded_passes_and_one_ulp_off_fails_in_the_dtypes_own_ulps(dtype):
    x = np.array([1.0, 3.5, 1e-3, 7.25]).astype(NUMPY_DTYPES[dtype])
    off = x.copy()
    off[2] = _next(x[2:3])[0]
    errs, bad = compare_ulp(x, x, dtype, ulp_tolerance(dtype, 0))
    assert bad is None and errs.max_ulp == 0 and errs.allowed_ulp == 0
    errs, bad = compare_ulp(off, x, dtype, ulp_tolerance(dtype, 0))
    assert bad is not None and bad.index == (2,) and bad.count == 1
    assert errs.max_ulp == 1 and "1 ULP off, 0 allowed" in str(bad)
    assert compare_ulp(off, x, dtype, ulp_tolerance(dtype, 1))[1] is None


def test_ulp_distance_is_exact_in_float64_and_counts_across_zero():
    big = np.array([1e300, 2.0**60])
    assert list(ulp_distance(_next(big), big)) == [1.0, 1.0]  # float64 keys stay integers
    assert ulp_distance(_next(big, 3), big)[0] == 3
    tiny = np.float32([1e-45])  # the smallest subnormal
    assert ulp_distance(-tiny, tiny)[0] == 2
    assert ulp_distance(np.float32([-0.0]), np.float32([0.0]))[0] == 0
    assert ulp_distance(np.float16([65504.0]), np.float16([np.inf]))[0] == 1


def test_a_rtol_sized_error_is_many_ulps():
    """The old float32 rtol (1.3e-6) allowed ~11-22 ULPs; 1e-5 relative is 84-168."""
    x = np.float32([1.0, 1.99])
    off = (x.astype(np.float64) * (1 + 1e-5)).astype(np.float32)
    assert 80 <= ulp_distance(off, x).min() and ulp_distance(off, x).max() <= 168
    errs, bad = compare_ulp(off, x, mt.float32, ulp_tolerance(mt.float32, 4))
    assert bad is not None and errs.max_ulp >= 84


def test_the_floor_applies_only_near_zero():
    tol = ulp_tolerance(mt.float32, 2, floor=1e-6)
    assert tol.near == pytest.approx(1e-6 / (2 * float(np.finfo(np.float32).eps)))
    want = np.float32([1e-8, 5.0])  # 1e-8 is below near (~4.2): judged absolutely
    got = np.float32([5e-7, 5.0])  # millions of ULPs off, but 4.9e-7 < 1e-6 absolute
    errs, bad = compare_ulp(got, want, mt.float32, tol)
    assert bad is None and errs.max_ulp == 0  # the near-zero value is not counted in ULPs
    got = np.float32([3e-6, 5.0])
    _, bad = compare_ulp(got, want, mt.float32, tol)
    assert bad is not None and "near zero" in str(bad)
    far = np.float32([1e-8, _next(np.float32([5.0]), 3)[0]])  # 5.0 is far: ULPs rule
    _, bad = compare_ulp(far, want, mt.float32, tol)
    assert bad is not None and "3 ULP off, 2 allowed" in str(bad)


def test_every_tolerance_forgives_a_flushed_subnormal_but_not_a_small_normal():
    tol = ulp_tolerance(mt.float32, 0)
    assert tol.floor == float(np.finfo(np.float32).tiny)
    sub = np.float32([1e-40])
    assert compare_ulp(np.float32([0.0]), sub, mt.float32, tol)[1] is None
    assert compare_ulp(np.float32([0.0]), np.float32([1e-30]), mt.float32, tol)[1] is not None


def test_nan_and_infinities():
    tol = ulp_tolerance(mt.float32, 4)
    nan, inf = np.float32(np.nan), np.float32(np.inf)
    want = np.array([nan, inf, -inf, 1.0], np.float32)
    assert compare_ulp(want.copy(), want, mt.float32, tol)[1] is None
    for k, wrong in enumerate([1.0, -inf, np.finfo(np.float32).max, nan]):
        got = want.copy()
        got[k] = wrong
        errs, bad = compare_ulp(got, want, mt.float32, tol)
        assert bad is not None and bad.index == (k,) and errs.max_ulp == float("inf")


def test_integer_and_bool_results_are_exact_whatever_the_tolerance():
    tol = ulp_tolerance(mt.float32, 1000)
    assert compare_ulp(np.int32([1, 2]), np.int32([1, 3]), mt.int32, tol)[1] is not None
    assert compare_ulp(np.array([True]), np.array([True]), mt.bool, tol)[1] is None


def test_bad_tolerances_are_refused():
    with pytest.raises(ValueError, match="ulp_tolerance"):
        ulp_tolerance(mt.float32, -1)
    with pytest.raises(ValueError, match="floor"):
        ulp_tolerance(mt.float32, 1, float("nan"))


def test_every_entry_with_floating_output_has_a_class():
    for entry in all_entries():
        acc = accuracy(entry)
        assert acc.kind in ("exact", "transcendental", "composite", "normwise"), entry.name
        assert acc.ulps is None or set(acc.ulps) == {mt.float16, mt.bfloat16, mt.float32,
                                                     mt.float64}


# The OpenCL C specification's full-profile float bounds (section 7.4): no class may allow more.
OPENCL_FLOAT = {Op.EXP: 3, Op.EXP2: 3, Op.EXPM1: 3, Op.LOG: 3, Op.LOG2: 3, Op.LOG10: 3,
                Op.LOG1P: 2, Op.SIN: 4, Op.COS: 4, Op.TAN: 4, Op.SINH: 4, Op.COSH: 4,
                Op.TANH: 4, Op.ASIN: 4, Op.ACOS: 4, Op.ATAN: 5, Op.ATAN2: 6, Op.ERF: 16,
                Op.POW: 16, Op.RSQRT: 2}


def test_transcendental_classes_stay_within_opencls_published_bounds():
    for op, bound in OPENCL_FLOAT.items():
        assert BY_OP[op].kind == "transcendental"
        assert BY_OP[op].ulps[mt.float32] <= bound, op
        assert BY_OP[op].ulps[mt.float16] == BY_OP[op].ulps[mt.bfloat16] == 1


def _torch_ulps(fn, x: np.ndarray, ref, dtype: mt.dtype) -> float:
    tdt = getattr(torch, dtype.name)
    got = fn(torch.tensor(x.astype(np.float32)).to(tdt)).to(torch.float64).numpy()
    want = ref(x.astype(NUMPY_DTYPES[dtype]).astype(np.float64))
    npd = NUMPY_DTYPES[dtype]
    return float(ulp_distance(got.astype(npd), want.astype(npd)).max())


@pytest.mark.parametrize("dtype", HALF_AND_SINGLE, ids=lambda d: d.name)
def test_the_classes_fit_pytorchs_own_cpu(dtype):
    """PyTorch (the specification) is within every class it is tested for here: correctly
    rounded where the class says exact, within the bound where transcendental."""
    x = np.random.default_rng(0).uniform(0.125, 4.0, 4096)
    y = np.random.default_rng(1).uniform(0.125, 4.0, 4096)
    tdt = getattr(torch, dtype.name)
    yt = torch.tensor(y).to(tdt)
    yr = y.astype(NUMPY_DTYPES[dtype]).astype(np.float64)
    cases = {Op.DIV: (lambda t: t / yt, lambda v: v / yr), Op.MUL: (lambda t: t * yt,
             lambda v: v * yr), Op.ADD: (lambda t: t + yt, lambda v: v + yr),
             Op.SQRT: (torch.sqrt, np.sqrt), Op.EXP: (torch.exp, np.exp),
             Op.LOG: (torch.log, np.log), Op.TANH: (torch.tanh, np.tanh),
             Op.SIN: (torch.sin, np.sin), Op.SIGMOID: (torch.sigmoid,
                                                        lambda v: 1 / (1 + np.exp(-v)))}
    for op, (fn, ref) in cases.items():
        assert _torch_ulps(fn, x, ref, dtype) <= BY_OP[op].ulps[dtype], op
    assert BY_OP[Op.DIV] is EXACT and BY_OP[Op.SQRT].kind == "exact"


def _entry(name: str):
    return next(e for e in all_entries() if e.name == name)


def test_composite_floors_scale_with_inputs_and_half_types_use_float32s_eps():
    s = Sample([np.full((3, 10000), 4.0)], {"dim": 1}, "sum")
    out = [np.zeros(3)]
    assert accumulation_length(s, out) == 10000
    tol = tolerance_for(_entry("sum"), mt.float32, s, out)
    eps32 = float(np.finfo(np.float32).eps)
    assert tol.floor == pytest.approx(4 * eps32 * 4.0 * 100)
    assert tol.ulp == 8 + 26  # the class's 8, and 2 log2(n) for a tree sum of n terms
    half = tolerance_for(_entry("sum"), mt.float16, s, out)
    assert half.floor == pytest.approx(tol.floor) and half.ulp == 1  # float32 accumulation
    exp = tolerance_for(_entry("exp"), mt.float32, Sample([np.full(3, 4.0)], {}, "x"), out)
    assert exp.floor == float(np.finfo(np.float32).tiny) and exp.ulp == 2


def test_normwise_and_integer_outputs_keep_their_rules():
    e = _entry("linalg.det")
    assert accuracy(e).ulps is None
    assert tolerance_for(e, mt.float32, Sample([], {}, ""), []) == e.tol[mt.float32]
    assert tolerance_for(_entry("add"), mt.int32, Sample([], {}, ""), []) == (0.0, 0.0)


def test_the_report_shows_measured_and_allowed_ulps():
    rep = Report("cpu", "mbtorch", "0", "standard")
    rep.rows = [Row("cpu", "exp", "EXP", "float32", "forward", "pass", 3, 1e-7, 1e-7, 2.0,
                    "native", allowed_ulp=2.0),
                Row("cpu", "exp", "EXP", "float32", "noncontig", "fail", 3, 1e-6, 1e-6, 5.0,
                    "native", allowed_ulp=2.0),
                Row("cpu", "linalg.det", "LU_FACTOR", "float32", "forward", "pass", 1, 0, 0,
                    9.0, "native")]
    md = markdown(rep)
    assert "## Accuracy in ULPs" in md and "| exp | 5 / 2 ✗ |" in md
    assert "| linalg.det |" not in md.split("## Accuracy in ULPs")[1]
    assert rep.to_json()["rows"][0]["allowed_ulp"] == 2.0


def test_the_cores_decomposition_is_judged_by_its_steps():
    e, s = _entry("log10"), Sample([np.full(3, 2.0)], {}, "x")
    assert tolerance_for(e, mt.float32, s, []).ulp == 3  # a native kernel: OpenCL's bound
    assert tolerance_for(e, mt.float32, s, [], native=False).ulp == 4  # log, then / ln 10
    assert tolerance_for(_entry("exp"), mt.float32, s, [], native=False).ulp == 2
