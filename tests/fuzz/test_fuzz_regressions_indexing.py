"""Regular tests, with literal values, for every counterexample the view and indexing fuzz
tests (test_fuzz_views.py, test_fuzz_indexing.py) found, compared with PyTorch. Each names
the shrunk input; mbtorch used to answer differently."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import mbtorch as mt  # noqa: E402

from .index_strategies import (  # noqa: E402
    assert_same_layout,
    assert_same_outcome,
    assert_same_tensor,
    lib_value,
    outcome,
)


@pytest.fixture(scope="module", params=["cpu", "mini"])
def device(request):
    return request.getfixturevalue("mini_device") if request.param == "mini" else "cpu"


def run(device, fn, *arrays, layout=False):
    """``fn(lib, *tensors)`` in torch and in mbtorch: the same exception type, or the same
    result (with ``layout``, also strides, storage offset and contiguity); the inputs after."""
    theirs_in = [lib_value(torch, np.asarray(a)) for a in arrays]
    ours_in = [lib_value(mt, np.asarray(a), device) for a in arrays]
    theirs = outcome(lambda: fn(torch, *theirs_in))
    ours = outcome(lambda: fn(mt, *ours_in))
    if assert_same_outcome(ours, theirs, "the call") and isinstance(theirs.value, torch.Tensor):
        assert_same_tensor(ours.value, theirs.value, "the result")
        if layout:
            assert_same_layout(ours.value, theirs.value, "the result")
    for o, t in zip(ours_in, theirs_in):
        assert_same_tensor(o, t, "an input after the call")
    return ours, theirs


F4 = np.arange(4, dtype=np.float32)


# -- views ---------------------------------------------------------------------------------
@pytest.mark.parametrize("args", [((), (), 0), ((2,), (1,), 5), ((2,), (1,), -1),
                                  ((-1,), (1,), 0)])
def test_as_strided_outside_the_storage_raises(device, args):
    # ((), (), 0) on an empty tensor used to read memory the tensor does not own
    base = np.zeros(0, np.float32) if args[0] == () else F4
    run(device, lambda lib, x: x.as_strided(*args), base)


def test_as_strided_empty_geometry_past_the_end_is_fine(device):
    run(device, lambda lib, x: x.as_strided((0, 2), (1, 1), 9), F4, layout=True)


@pytest.mark.parametrize("args", [(0, 0), (-1, 0), ((0,), (-1,)), ((0, 1), (1, 1)),
                                  ((0, -3), (0, 1))])
def test_movedim_of_0d_and_repeated_dims(device, args):
    base = np.float32(2.5) if isinstance(args[0], int) else np.zeros((2, 3, 4), np.float32)
    run(device, lambda lib, x: x.movedim(*args), base, layout=True)


@pytest.mark.parametrize("args", [(1, 1), (0, 0), (-1, -1), (0, 1)])
def test_flatten_of_0d_checks_its_dims(device, args):
    run(device, lambda lib, x: x.flatten(*args), np.float32(0.5), layout=True)


@pytest.mark.parametrize("shape", [(0,), (2, 0, 3), (0, 1)])
def test_empty_tensors_have_contiguous_strides(device, shape):
    run(device, lambda lib, x: lib.zeros(shape, device=x.device), F4, layout=True)


def test_empty_view_is_contiguous_whatever_its_strides(device):
    # (0, 2, 2).diagonal(0, 1, -1): shape (0, 2), strides (4, 3)
    run(device, lambda lib, x: x.diagonal(0, 1, -1), np.zeros((0, 2, 2), np.float32),
        layout=True)


@pytest.mark.parametrize("fn", [lambda t: t.clone(), lambda t: t.contiguous()])
@pytest.mark.parametrize("base, view", [
    (np.float32(1), lambda t: t.expand(0)),  # clone: stride (0,), as torch keeps it
    (F4, lambda t: t.reshape(2, 2)[:, :0].t()),
    (F4, lambda t: t.reshape(4, 1).t()),  # size-1 dims keep their strides: (1, 1)
    (F4, lambda t: t[:0].reshape(0, 1).expand(0, 3).t()),
    (F4, lambda t: t.reshape(2, 2).t()[:, :1]),
    (np.zeros((0, 3), np.float32), lambda t: t.t()),  # (1, 3)
])
def test_clone_keeps_the_strides_torch_keeps(device, fn, base, view):
    run(device, lambda lib, x: fn(view(x)), base, layout=True)


@pytest.mark.parametrize("shape, sizes", [
    ((2, 3), (1, 1, 2, 3)), ((2, 3), (1, 4, 1, 2, 3)), ((1, 3), (1, 2, 2, 3)), ((), (1, 1)),
    ((0, 3), (1, 0, 3)),
])
def test_expand_strides_of_new_leading_dims(device, shape, sizes):
    run(device, lambda lib, x: x.expand(sizes), np.zeros(shape, np.float32), layout=True)


@pytest.mark.parametrize("index", [slice(1, None), slice(5, None), slice(2, 1), slice(-1, 1)])
def test_empty_slice_keeps_its_storage_offset(device, index):
    run(device, lambda lib, x: x[index], F4[:3] if index.start != 1 else F4[:1], layout=True)


def test_split_of_0d_is_a_runtime_error(device):
    run(device, lambda lib, x: x.split(1, 1), np.float32(1))
    run(device, lambda lib, x: x.split([1], 0), np.float32(1))


@pytest.mark.parametrize("shape", [(), (3,), (2, 3), (2, 2, 2)])
@pytest.mark.parametrize("attr", ["mT", "H"])
def test_matrix_transposes_check_the_dims(device, shape, attr):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # mT of a 0-d tensor is deprecated
        run(device, lambda lib, x: getattr(x, attr), np.zeros(shape, np.float32), layout=True)


def test_squeeze_with_a_dim_named_twice(device):
    run(device, lambda lib, x: x.squeeze((-1, 0)), np.int16(1))
    run(device, lambda lib, x: x.squeeze((0, -3)), np.zeros((1, 2, 1), np.float32))


# -- writes --------------------------------------------------------------------------------
@pytest.mark.parametrize("write", [
    lambda x: x[1:].copy_(x[:-1]), lambda x: x[:-1].copy_(x[1:]),
    lambda x: x.reshape(2, 2).t().copy_(x.reshape(2, 2)), lambda x: x[1:].add_(x[:-1]),
    lambda x: x[:2].copy_(x[2:]), lambda x: x.view(4).copy_(x), lambda x: x.copy_(x),
    lambda x: x[::2].copy_(x[1::2]), lambda x: x.add_(x.view(4)),
    lambda x: x[2:4:2].copy_(x[0:2:2]),
])
def test_in_place_writes_between_overlapping_views(device, write):
    # x[1:].copy_(x[:-1]) used to shift the values; torch refuses a partial overlap
    run(device, lambda lib, x: write(x), F4)


@pytest.mark.parametrize("write", [
    lambda lib, x: x.expand(3, 4).fill_(1.0), lambda lib, x: x.expand(3, 4).zero_(),
    lambda lib, x: x.expand(3, 4).fill_(lib.tensor(1.0)),
    lambda lib, x: x.expand(3, 4).copy_(lib.ones(3, 4)),
    lambda lib, x: x.expand(3, 4).add_(1), lambda lib, x: x.fill_(lib.tensor([2.0])),
    lambda lib, x: x.fill_(lib.tensor(2, dtype=lib.int64)),
    lambda lib, x: x.copy_(np.float32(2)), lambda lib, x: x.fill_(np.float64(3)),
])
def test_fills_and_copies_into_expanded_views(device, write):
    # fill_ with a number may write one element twice (torch allows it); copy_ may not
    run(device, write, F4)


@pytest.mark.parametrize("index, value", [((), [100.0]), (0, [[[1.0, 1.0, 1.0]]]),
                                          (([1],), [[[2.0, 2.0, 2.0]]])])
def test_setitem_drops_the_values_leading_ones(device, index, value):
    base = np.float32(0.5) if index == () else np.zeros((2, 3), np.float32)

    def assign(lib, x, v):
        x[tuple(lib.tensor(i) for i in index) if index and index != 0 else index] = v
        return x

    run(device, assign, base, np.array(value, np.float32))


@pytest.mark.parametrize("index, value", [(False, [100.0, 103.0]), ((False,), [1.0] * 5),
                                          (False, "a")])
def test_setitem_with_false_assigns_nothing(device, index, value):
    # x[False] = v checks no shape in torch (only the value's type); (False,) does
    def assign(lib, x):
        x[index] = value if isinstance(value, str) else lib.tensor(value, device=x.device)
        return x

    run(device, assign, np.zeros(2, np.float32))


# -- indexing ------------------------------------------------------------------------------
def test_a_0d_integer_tensor_indexes_as_an_int(device):
    # x[0, None, mask, ..., tensor(0)]: torch selects with the 0-d tensor, so the mask is
    # the only advanced index and its dim stays in place: (1, 0, 0), not (0, 1, 0)
    x = np.zeros((1, 0, 0, 1), np.float32)
    run(device, lambda lib, t: t[0, None, lib.zeros(0, dtype=lib.bool), ..., lib.tensor(0)], x)
    run(device, lambda lib, t: t[lib.tensor(1)], np.arange(12.0).reshape(3, 4), layout=True)
    run(device, lambda lib, t: t[:, lib.tensor(-1, dtype=lib.int32)], np.arange(12.0)
        .reshape(3, 4), layout=True)
    run(device, lambda lib, t: t[lib.tensor(5)], np.zeros((2, 3)))


@pytest.mark.parametrize("shape, index", [
    ((0, 0, 0), lambda lib: (lib.zeros((1, 0), dtype=lib.int64), slice(None),
                             lib.tensor([[0]]))),
    ((1, 0), lambda lib: (lib.tensor([1]),)),
    ((1, 1, 0, 0), lambda lib: (0, 0, lib.tensor([[0]]), slice(None))),
    ((0, 0, 0, 0), lambda lib: (slice(None), slice(None), slice(None), lib.tensor([0]))),
    ((3, 3), lambda lib: (lib.tensor([5]), lib.zeros(0, dtype=lib.int64))),
])
def test_index_bounds_are_checked_as_torch_checks_them(device, shape, index):
    # an empty result uses no index value (no error), but a non-empty index into a size-0
    # dim is an IndexError even when the result is empty
    x = np.zeros(shape, np.float32)
    run(device, lambda lib, t: t[index(lib)], x)

    def assign(lib, t):
        t[index(lib)] = 100.0
        return t

    run(device, assign, x)


def test_index_put_bounds_on_an_empty_result(device):
    run(device, lambda lib, t: t.index_put_((lib.tensor(1),), lib.tensor(100.0),
                                            accumulate=True), np.zeros((1, 0)))
    run(device, lambda lib, t: t.index_put_((lib.tensor(0),), lib.tensor(100.0),
                                            accumulate=True), np.zeros((0, 0)))


def test_index_put_takes_tensors_only(device):
    run(device, lambda lib, t: t.index_put_((lib.tensor([0]), None), lib.tensor(1.0)),
        np.zeros((2, 2)))


@pytest.mark.parametrize("shape, dim, index", [((), 0, []), ((), 0, [0, 0]), ((), 0, [1]),
                                               ((2, 3), 1, [3]), ((2, 3), 0, [2])])
def test_index_select_errors(device, shape, dim, index):
    run(device, lambda lib, x, i: x.index_select(dim, i), np.zeros(shape, np.float32),
        np.array(index, np.int64))


def test_gather_out_of_range_on_0d_is_a_runtime_error(device):
    run(device, lambda lib, x, i: x.gather(0, i), np.float32(1), np.array(1))


def test_masked_fill_takes_a_0d_cpu_value(device):
    ours = mt.tensor([1.0, 2.0], device=device).masked_fill(
        mt.tensor([True, False], device=device), mt.tensor(7.0))
    assert ours.device.type == device and ours.tolist() == [7.0, 2.0]


@pytest.mark.xfail(strict=True, raises=RuntimeError,
                   reason="mbtorch assigns through an advanced index by writing the whole "
                          "view back (INDEX_PUT into a copy, then copy_), which an expanded "
                          "view refuses; torch writes only the indexed elements (and warns)")
def test_advanced_index_assignment_into_an_expanded_view(device):
    x = mt.zeros((), device=device)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        x.expand(2)[mt.tensor([0], device=device)] = 100.0
    assert x.item() == 100.0
