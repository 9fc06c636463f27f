"""Differential fuzzing of views against PyTorch: random chains of view ops on a base, then
values, shapes, strides, storage offset and contiguity of every step; ``contiguous()`` and
``clone()`` of the last view; a write through it (``fill_``, ``add_``, ``copy_``, index
assignment...) must reach the base as it does in torch. Errors: the exception type torch
raises, and none where torch has none.

The test bodies take a ``device`` fixture: cpu and mini here, opencl in
tests/plugins/test_opencl_fuzz_indexing.py (its own process in CI)."""

from __future__ import annotations

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
torch = pytest.importorskip("torch")

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import mbtorch as mt  # noqa: E402

from .index_strategies import (  # noqa: E402
    DTYPES,
    assert_same_layout,
    assert_same_outcome,
    assert_same_tensor,
    base_array,
    examples,
    lib_value,
    outcome,
    storage_ids,
)
from .view_strategies import Step, view_cases  # noqa: E402

pytestmark = pytest.mark.fuzz


@pytest.fixture(scope="module", params=["cpu", "mini"])
def device(request):
    return request.getfixturevalue("mini_device") if request.param == "mini" else "cpu"


def _bases(shape, dtype, device):
    arr = base_array(shape, dtype)
    return lib_value(torch, arr), lib_value(mt, arr, device)


def run_chain(steps, tv, mv):
    """Apply ``steps`` to both; compare each step. The two last views, or None after an
    error both raised."""
    for i, step in enumerate(steps):
        theirs = outcome(lambda step=step, tv=tv: step.apply(tv))
        ours = outcome(lambda step=step, mv=mv: step.apply(mv))
        what = f"step {i} {step}"
        if not assert_same_outcome(ours, theirs, what):
            return None
        tv, mv = theirs.value, ours.value
        assert_same_tensor(mv, tv, what)
        assert_same_layout(mv, tv, what)
    return tv, mv


def check_view_case(device, case):
    tb, mb = _bases(case.shape, case.dtype, device)
    views = run_chain(case.steps, tb, mb)
    if views is None:
        return
    tv, mv = views
    for how in ("contiguous", "clone"):
        tc, mc = getattr(tv, how)(), getattr(mv, how)()
        assert_same_tensor(mc, tc, how)
        assert_same_layout(mc, tc, how)
    if case.write is None:
        return
    theirs = outcome(lambda: case.write.apply(torch, tv, device))
    ours = outcome(lambda: case.write.apply(mt, mv, device))
    if assert_same_outcome(ours, theirs, f"write {case.write}"):
        assert_same_tensor(mv, tv, "the view after the write")
    # after a refused write too: the checks run before anything is written
    assert_same_tensor(mb, tb, f"the base after {case.write}")


@examples(150)
@given(case=view_cases())
def test_view_chain_then_write_matches_torch(device, case):
    check_view_case(device, case)


@st.composite
def overlapping_pairs(draw):
    """``(shape, dtype, dst, src, op)``: two views of one base, ``dst.op(src)`` (``src`` None:
    ``dst`` itself). 1-d: two windows of one length (maybe strided) at random offsets, so
    they overlap fully, partly or not at all; 2-d: a square base, its transpose, a view."""
    dtype = draw(st.sampled_from(DTYPES))
    if draw(st.booleans()):
        n, step = draw(st.integers(1, 8)), draw(st.integers(1, 2))
        length = draw(st.integers(0, (n - 1) // step + 1))
        span = (length - 1) * step + 1 if length else 0

        def window():
            i = draw(st.integers(0, n - span))
            return Step("getitem", (slice(i, i + span, step),))

        shape, dst, src = (n,), window(), window()
    else:
        k = draw(st.integers(1, 3))
        views = [Step("t"), Step("view", ((k, k),)), Step("getitem", (slice(None),)),
                 Step("mT"), Step("getitem", ((slice(None), slice(None, None, 1)),))]
        shape, dst, src = (k, k), draw(st.sampled_from(views)), draw(st.sampled_from(views))
    if draw(st.integers(0, 5)) == 0:
        src = None
    return shape, dtype, dst, src, draw(st.sampled_from(["copy_", "add_", "mul_", "sub_"]))


def check_overlapping_pair(device, case):
    shape, dtype, dst, src, op = case
    tb, mb = _bases(shape, dtype, device)
    what = f"{dst}.{op}({'itself' if src is None else src})"
    tdst, mdst = dst.apply(tb), dst.apply(mb)
    tsrc, msrc = (tdst, mdst) if src is None else (src.apply(tb), src.apply(mb))
    n = tb.numel()
    shared = np.intersect1d(storage_ids(tdst, n), storage_ids(tsrc, n)).size
    same_layout = (tdst.storage_offset(), tdst.stride(), tdst.shape) == \
        (tsrc.storage_offset(), tsrc.stride(), tsrc.shape)
    theirs = outcome(lambda: getattr(tdst, op)(tsrc))
    ours = outcome(lambda: getattr(mdst, op)(msrc))
    if assert_same_outcome(ours, theirs, what) and shared and not same_layout:
        return  # torch lets strided views overlap ("too hard" to tell): order-dependent
    assert_same_tensor(mb, tb, f"the base after {what}")


@examples(80)
@given(case=overlapping_pairs())
def test_in_place_between_views_of_one_tensor_matches_torch(device, case):
    check_overlapping_pair(device, case)
