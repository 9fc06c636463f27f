"""Long and numerically hard samples (``samples.Vals``, ``samples.LONG_STD``): the values have
the properties the op database relies on, and every blocked op reaches past its blocks."""

from __future__ import annotations

import numpy as np
import pytest
from mbtorch_conformance.checks.common import samples
from mbtorch_conformance.db import all_entries
from mbtorch_conformance.samples import HARD_KINDS, LONGEST, Vals, hard_values

import mbtorch as mt
from mbtorch.core.host import NUMPY_DTYPES
from mbtorch.core.op import Op

FLOATS = (mt.float16, mt.bfloat16, mt.float32, mt.float64)
# ops whose kernels block, tile or stride over work groups
BLOCKED = {Op.SUM, Op.PROD, Op.AMAX, Op.AMIN, Op.ARGMAX, Op.ARGMIN, Op.MEAN, Op.VAR,
           Op.LOGSUMEXP, Op.SOFTMAX, Op.LOG_SOFTMAX, Op.CUMSUM, Op.CUMPROD, Op.VECTOR_NORM,
           Op.ANY, Op.ALL, Op.MATMUL, Op.GATHER, Op.SCATTER, Op.SORT, Op.NONZERO,
           Op.INDEX_SELECT, Op.INDEX, Op.INDEX_PUT, Op.MASKED_FILL}


def _vals(kind, dtype, shape=(4097,), seed=0):
    return hard_values(np.random.default_rng(seed), shape, dtype, kind)


@pytest.mark.parametrize("kind", sorted(HARD_KINDS))
@pytest.mark.parametrize("dtype", FLOATS + (mt.int8, mt.uint8, mt.int64, mt.bool))
def test_values_are_finite_deterministic_and_of_the_dtype(kind, dtype):
    a, b = _vals(kind, dtype), _vals(kind, dtype)
    assert a.dtype == NUMPY_DTYPES[dtype] and a.shape == (4097,)
    assert np.array_equal(a, b)
    assert np.isfinite(a.astype(np.float64)).all()


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown kind 'enormous'"):
        Vals((3,), "enormous")


@pytest.mark.parametrize("dtype", FLOATS)
def test_large_values_overflow_exp_and_their_differences_are_exact(dtype):
    x = _vals("large_pos", dtype, (33,)).astype(np.float64)
    assert (x > np.log(float(mt.finfo(dtype).max))).any()  # exp(x) overflows the dtype
    for kind in ("large", "huge"):
        x = _vals(kind, dtype, (33,))
        diff = x.astype(np.float64) - x.astype(np.float64).max()
        assert np.array_equal(diff.astype(x.dtype).astype(np.float64), diff)


@pytest.mark.parametrize("dtype", FLOATS)
def test_grid_sums_and_pow2_products_are_exact_in_any_order(dtype):
    x = _vals("grid", dtype, (LONGEST,)).astype(np.float32)
    assert np.sum(x[::-1], dtype=np.float32) == np.sum(x.astype(np.float64))
    assert np.cumsum(x, dtype=np.float32)[-1] == np.sum(x.astype(np.float64))
    p = _vals("pow2", dtype, (LONGEST,)).astype(np.float64)
    assert np.prod(p) == np.prod(np.sort(p)) and np.abs(np.log2(np.abs(np.cumprod(p)))).max() <= 12


def test_cancelling_values_sum_to_the_small_ones():
    x = _vals("cancel", mt.float32, (257,)).astype(np.float64)
    assert abs(x).max() >= 2**14 and abs(x.sum()) <= 3 * 257
    assert np.sum(x.astype(np.float32), dtype=np.float32) == x.sum()


@pytest.mark.parametrize("dtype", (mt.float32, mt.float64))
def test_offset_values_break_the_one_pass_variance(dtype):
    x = _vals("offset", dtype, (257,))
    one_pass = (np.sum(x * x) - np.sum(x) ** 2 / x.size) / (x.size - 1)
    exact = np.var(x.astype(np.float64), ddof=1)
    assert abs(float(one_pass) - exact) > 1e-3 * exact


def _longest(entry, tier):
    return max((max(a.shape, default=1) for s in samples(entry, mt.float32, tier)
                for a in s.tensors()), default=0)


def test_every_blocked_op_reaches_past_its_blocks():
    reach = {}
    for entry in all_entries():
        if entry.op in BLOCKED:
            std, full = reach.get(entry.op, (0, 0))
            reach[entry.op] = (max(std, _longest(entry, "standard")),
                               max(full, _longest(entry, "full")))
    assert set(reach) == BLOCKED
    short = {op.name: r for op, r in reach.items() if r[0] < 1025 or r[1] < LONGEST}
    assert not short, f"ops without long samples (standard >= 1025, full >= 2**16 + 1): {short}"


def test_hard_kinds_and_value_domains_do_not_share_names():
    from mbtorch_conformance.samples import _FLOAT_RANGES

    assert not set(HARD_KINDS) & set(_FLOAT_RANGES)
