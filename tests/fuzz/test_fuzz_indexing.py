"""Differential fuzzing of indexing against PyTorch: ``x[idx]`` with basic, advanced and
mixed indices (values, shapes, and for basic ones the view's strides and offset), index
assignment ``x[idx] = value``, ``index_put_`` with ``accumulate``, ``masked_fill``,
``masked_scatter``, ``index_select``, ``gather``, ``scatter``/``scatter_add``, ``take`` and
``take_along_dim``. Out-of-range indices raise the exception type torch raises.

Assignments are compared only where torch's answer does not depend on the order of the
writes: no element written twice with different values (duplicates are drawn, then the value
is made a scalar), or ``accumulate=True`` / ``scatter_add`` where duplicates add up.

The bodies take a ``device`` fixture: cpu and mini here, opencl in
tests/plugins/test_opencl_fuzz_indexing.py."""

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
    IndexArray,
    assert_same_layout,
    assert_same_outcome,
    assert_same_tensor,
    base_array,
    distinct_writes,
    examples,
    index_tuples,
    lib_value,
    outcome,
    shapes,
    value_for,
)

pytestmark = pytest.mark.fuzz


@pytest.fixture(scope="module", params=["cpu", "mini"])
def device(request):
    return request.getfixturevalue("mini_device") if request.param == "mini" else "cpu"


def both(device, fn, *objs, what):
    """``fn(lib, *tensors)`` for torch and for mbtorch on ``device`` (NumPy arrays and
    ``IndexArray``s made tensors); same outcome, same result. The two argument lists."""
    theirs_args = [lib_value(torch, o) for o in objs]
    ours_args = [lib_value(mt, o, device) for o in objs]
    theirs = outcome(lambda: fn(torch, *theirs_args))
    ours = outcome(lambda: fn(mt, *ours_args))
    if assert_same_outcome(ours, theirs, what) and theirs.value is not None:
        assert_same_tensor(ours.value, theirs.value, what)
    return theirs_args, ours_args, theirs


def _is_basic(index) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return not any(isinstance(i, (IndexArray, bool)) for i in items)


@st.composite
def getitem_cases(draw):
    shape = draw(shapes())
    return shape, draw(st.sampled_from(DTYPES)), draw(index_tuples(shape))


def check_getitem(device, case):
    shape, dtype, index = case
    (tx,), (mx,), theirs = both(device, lambda lib, x: x[lib_value(lib, index, device)],
                                base_array(shape, dtype), what=f"x[{index!r}]")
    if theirs.error is None and _is_basic(index):
        assert_same_layout(mx[lib_value(mt, index, device)], theirs.value, f"x[{index!r}]")


@examples(150)
@given(case=getitem_cases())
def test_getitem_matches_torch(device, case):
    check_getitem(device, case)


@st.composite
def setitem_cases(draw):
    shape = draw(shapes())
    dtype = draw(st.sampled_from(DTYPES))
    index = draw(index_tuples(shape))
    ids = torch.arange(int(np.prod(shape, dtype=np.int64))).reshape(shape)
    try:
        written = ids[lib_value(torch, index)].numpy()
    except (IndexError, RuntimeError, ValueError, TypeError):
        return shape, dtype, index, value_for(draw, (), dtype)
    value = value_for(draw, written.shape, dtype)
    if draw(st.integers(0, 9)) == 0:
        value = value_for(draw, written.shape + (2,), dtype)  # too many dims: an error
    elif not distinct_writes(written, value):
        value = value_for(draw, (), dtype) if np.ndim(value) else value
    return shape, dtype, index, value


def check_setitem(device, case):
    shape, dtype, index, value = case

    def assign(lib, x, v):
        x[lib_value(lib, index, device)] = v
        return x

    (tx, _), (mx, _), _ = both(device, assign, base_array(shape, dtype), value,
                               what=f"x[{index!r}] = {value!r}")
    assert_same_tensor(mx, tx, f"x after x[{index!r}] = {value!r}")


@examples(150)
@given(case=setitem_cases())
def test_setitem_matches_torch(device, case):
    check_setitem(device, case)


@st.composite
def index_put_cases(draw):
    """``x.index_put_(indices, values, accumulate=True)``: integer tensors (duplicates
    welcome), some None (a whole dim)."""
    shape = draw(shapes(1, 3))
    dtype = draw(st.sampled_from(["float64", "int64", "int32"]))
    adv = draw(shapes(0, 2, 3))
    k = draw(st.integers(1, len(shape)))
    indices = []
    for d in range(k):
        if d and draw(st.integers(0, 15)) == 0:
            indices.append(None)  # torch: TypeError (index_put_ takes tensors only)
            continue
        n = int(np.prod(adv, dtype=np.int64))
        side = shape[d]
        vals = draw(st.lists(st.integers(-side, side) if side else st.just(0),
                             min_size=n, max_size=n))
        indices.append(IndexArray(np.array(vals, np.int64).reshape(adv), "int64"))
    try:
        target = torch.zeros(shape)[
            lib_value(torch, tuple(slice(None) if i is None else i for i in indices))]
    except (IndexError, RuntimeError):
        return shape, dtype, tuple(indices), np.asarray(value_for(draw, (), dtype), dtype)
    value = value_for(draw, tuple(target.shape), dtype)
    return shape, dtype, tuple(indices), np.asarray(value, dtype)


def check_index_put(device, case):
    shape, dtype, indices, value = case
    both(device, lambda lib, x, v: x.index_put_(lib_value(lib, indices, device), v,
                                                accumulate=True),
         base_array(shape, dtype), value, what=f"index_put_({indices!r}, {value!r}, True)")


@examples(80)
@given(case=index_put_cases())
def test_index_put_accumulate_matches_torch(device, case):
    check_index_put(device, case)


@st.composite
def masked_cases(draw):
    shape = draw(shapes())
    dtype = draw(st.sampled_from(DTYPES))
    k = draw(st.integers(0, len(shape)))
    mshape = tuple(1 if draw(st.integers(0, 3)) == 0 else s for s in shape[len(shape) - k:])
    if draw(st.integers(0, 11)) == 0:
        mshape = mshape + (2,)  # does not broadcast, or widens x: an error
    n = int(np.prod(mshape, dtype=np.int64))
    mask = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), bool)
    count = int(np.prod(np.broadcast_shapes(shape, mshape) if mshape[-1:] != (2,) else shape,
                        dtype=np.int64))
    source = base_array((max(count + draw(st.integers(-1, 2)), 0),), dtype) * 0 + \
        value_for(draw, (), dtype)
    return shape, dtype, mask.reshape(mshape), value_for(draw, (), dtype), source


def check_masked(device, case):
    shape, dtype, mask, value, source = case
    x = base_array(shape, dtype)
    both(device, lambda lib, x, m: x.masked_fill(m, value), x, mask,
         what=f"masked_fill(mask {mask.tolist()}, {value!r})")
    both(device, lambda lib, x, m: x.masked_fill(m, lib.tensor(value)), x, mask,
         what=f"masked_fill(mask {mask.tolist()}, tensor({value!r}))")
    both(device, lambda lib, x, m, s: x.masked_scatter(m, s), x, mask, source,
         what=f"masked_scatter(mask {mask.tolist()}, {source.tolist()})")


@examples(80)
@given(case=masked_cases())
def test_masked_fill_and_scatter_match_torch(device, case):
    check_masked(device, case)


def _index_values(draw, side: int, n: int, bad: bool) -> list:
    if bad or side == 0:
        return draw(st.lists(st.sampled_from([side, -side - 1, side + 3]), min_size=n,
                             max_size=n))
    return draw(st.lists(st.integers(0, side - 1), min_size=n, max_size=n))


@st.composite
def dim_index_cases(draw):
    """A tensor, a dim, and an index for ``gather``/``scatter``/``take_along_dim`` (each side
    at most the input's; along ``dim`` any length) and ``index_select`` (1-d)."""
    shape = draw(shapes(0, 3))
    dtype = draw(st.sampled_from(DTYPES))
    nd = max(len(shape), 1)
    dim = draw(st.integers(-nd, nd - 1))
    side = shape[dim] if shape else 1
    ishape = tuple(draw(st.integers(0, s)) for s in shape)
    if shape:
        d = dim % len(shape)
        ishape = ishape[:d] + (draw(st.integers(0, 3)),) + ishape[d + 1:]
    n = int(np.prod(ishape, dtype=np.int64))
    bad = draw(st.integers(0, 9)) == 0
    index = np.array(_index_values(draw, side, n, bad), np.int64).reshape(ishape)
    flat = np.array(_index_values(draw, side, draw(st.integers(0, 4)), bad), np.int64)
    itype = draw(st.sampled_from(["int64", "int64", "int32"]))
    return shape, dtype, dim, IndexArray(index, "int64"), IndexArray(flat, itype), bad


def _unique_targets(shape, dim, index) -> bool:
    """Whether ``scatter`` along ``dim`` writes no element twice."""
    if index.size == 0 or 0 in shape:
        return True
    coords = np.indices(index.shape).reshape(index.ndim, -1) if index.ndim else \
        np.zeros((0, 1), np.int64)
    if index.ndim:
        coords[dim % index.ndim] = index.reshape(-1)
        flat = np.ravel_multi_index(coords, shape or (1,), mode="wrap")
    else:
        flat = index.reshape(-1)
    return len(np.unique(flat)) == flat.size


def check_dim_index(device, case):
    shape, dtype, dim, index, flat, bad = case
    x = base_array(shape, dtype)
    src = base_array(index.values.shape, dtype) if index.values.ndim else \
        base_array((), dtype)
    what = f"dim={dim}, index={index!r}"
    both(device, lambda lib, x, i: x.index_select(dim, i), x, flat,
         what=f"index_select({dim}, {flat!r})")
    both(device, lambda lib, x, i: x.gather(dim, i), x, index, what=f"gather({what})")
    both(device, lambda lib, x, i: x.take(i), x, IndexArray(index.values.reshape(-1) % max(
        x.size, 1) - (x.size if bad else 0), "int64"), what=f"take({what})")
    if not bad:  # torch does not check take_along_dim's indices
        both(device, lambda lib, x, i: lib.take_along_dim(x, i, dim), x, index,
             what=f"take_along_dim({what})")
    both(device, lambda lib, x, i, s: x.scatter_add(dim, i, s), x, index, src,
         what=f"scatter_add({what})", )
    both(device, lambda lib, x, i: x.scatter(dim, i, 7), x, index, what=f"scatter({what}, 7)")
    if bad or _unique_targets(shape, dim, index.values):
        both(device, lambda lib, x, i, s: x.scatter(dim, i, s), x, index, src,
             what=f"scatter({what}, src)")


@examples(120)
@given(case=dim_index_cases())
def test_gather_scatter_take_index_select_match_torch(device, case):
    check_dim_index(device, case)
