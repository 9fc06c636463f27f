"""Hypothesis strategies and comparison helpers for the view and indexing fuzz tests.

A case is plain data (shapes, dtype names, Python index objects and small step records) so a
shrunk counterexample prints as literals that paste into a regular test. Index tensors are
drawn as ``IndexArray`` (a NumPy array and a flag) and become torch or mbtorch tensors only
when a library applies them. Shapes stay small (sides up to 4, at most 4 dims) and include
zero-size and 0-d tensors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from hypothesis import settings
from hypothesis import strategies as st

import mbtorch as mt

__all__ = [
    "DTYPES", "IndexArray", "Outcome", "base_array", "outcome", "assert_same_outcome",
    "assert_same_tensor", "assert_same_layout", "lib_value", "shapes", "storage_ids",
    "index_tuples", "value_for", "distinct_writes", "examples",
]

DTYPES = ("float32", "float64", "int64", "int32", "int16", "uint8", "bool")
"""Dtypes every device under test (cpu, mini, opencl) supports."""


def examples(n: int) -> settings:
    """``n`` examples under the ``ci`` profile (tests/conftest.py: 60 by default), scaled
    with the loaded profile (``long``: ten times as many)."""
    return settings(max_examples=max(1, round(n * settings.default.max_examples / 60)))


def shapes(min_dims: int = 0, max_dims: int = 4, max_side: int = 4) -> st.SearchStrategy:
    """Small shapes, 0-d and zero-size ones included."""
    return st.lists(st.integers(0, max_side), min_size=min_dims, max_size=max_dims).map(tuple)


def base_array(shape: tuple, dtype: str) -> np.ndarray:
    """Distinct values (a misplaced element shows), with negatives for signed dtypes."""
    n = int(np.prod(shape, dtype=np.int64))
    if dtype == "bool":
        return (np.arange(n) % 3 == 1).reshape(shape)
    vals = np.arange(n, dtype=np.int64) + 1
    if dtype not in ("uint8",):
        vals = vals * np.where(vals % 2 == 0, -1, 1)
    if dtype.startswith("float"):
        return (vals * 0.5).astype(dtype).reshape(shape)
    return vals.astype(dtype).reshape(shape)


@dataclass(frozen=True)
class IndexArray:
    """An index tensor in a drawn case: ``values`` (int64 or bool NumPy array) and the dtype
    the tensor is made with ("int64", "int32" or "bool"); ``as_list`` makes it a Python list
    (torch's list indices) instead of a tensor."""

    values: Any
    dtype: str
    as_list: bool = False

    def __repr__(self) -> str:
        kind = "list" if self.as_list else self.dtype
        return f"IndexArray({self.values.tolist()!r}, {kind!r})"


def lib_value(lib: Any, obj: Any, device: str = "cpu") -> Any:
    """``obj`` with every ``IndexArray`` / NumPy array made a tensor of ``lib`` (torch on the
    cpu, mbtorch on ``device``); tuples and lists element by element."""
    if isinstance(obj, IndexArray):
        if obj.as_list:
            return obj.values.tolist()
        return lib_value(lib, np.asarray(obj.values).astype(obj.dtype), device)
    if isinstance(obj, np.ndarray):
        if lib is mt:
            return mt.tensor(obj, device=device)
        # torch.tensor(an empty NumPy array) keeps NumPy's 0 strides; a tensor torch
        # allocates itself has the contiguous ones, as mbtorch's
        src = lib.from_numpy(np.array(obj))
        return lib.empty(src.shape, dtype=src.dtype).copy_(src)
    if isinstance(obj, tuple):
        return tuple(lib_value(lib, o, device) for o in obj)
    return obj


@dataclass
class Outcome:
    """What a call gave: a result, or the exception it raised."""

    value: Any = None
    error: BaseException | None = None


def outcome(call: Callable[[], Any]) -> Outcome:
    try:
        return Outcome(value=call())
    except Exception as exc:  # noqa: BLE001 - the type is what is compared
        return Outcome(error=exc)


def assert_same_outcome(ours: Outcome, theirs: Outcome, what: str) -> bool:
    """Error parity: mbtorch raises the type torch raises, and nothing where torch has no
    error. True when both returned a value."""
    if theirs.error is not None:
        assert ours.error is not None, \
            f"{what}: torch raises {type(theirs.error).__name__}({theirs.error}); mbtorch " \
            f"returned {ours.value!r}"
        # the same type, or one that is also that type (mbtorch's IndexOutOfBounds is an
        # IndexError and a RuntimeError, as torch raises either for an index out of range)
        assert isinstance(ours.error, type(theirs.error)), \
            f"{what}: torch raises {type(theirs.error).__name__}({theirs.error}), mbtorch " \
            f"{type(ours.error).__name__}({ours.error})"
        return False
    if ours.error is not None:
        raise AssertionError(f"{what}: torch has no error, mbtorch raises "
                             f"{type(ours.error).__name__}: {ours.error}") from ours.error
    return True


def _host(t: Any) -> np.ndarray:
    if isinstance(t, mt.Tensor):
        return t.detach().numpy(force=True)
    return t.detach().numpy()


def assert_same_tensor(ours: Any, theirs: Any, what: str, rtol: float = 1e-6) -> None:
    """Same shape, dtype and values (floats to ``rtol``; integers and bools exactly)."""
    assert isinstance(ours, mt.Tensor), f"{what}: expected a Tensor, got {type(ours).__name__}"
    assert tuple(ours.shape) == tuple(theirs.shape), \
        f"{what}: shape {tuple(ours.shape)} != torch's {tuple(theirs.shape)}"
    assert str(ours.dtype).rsplit(".", 1)[-1] == str(theirs.dtype).rsplit(".", 1)[-1], \
        f"{what}: dtype {ours.dtype} != torch's {theirs.dtype}"
    a, b = _host(ours), _host(theirs)
    if b.dtype.kind in "biu":
        np.testing.assert_array_equal(a, b, err_msg=what)
    else:
        np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-6, equal_nan=True, err_msg=what)


def assert_same_layout(ours: Any, theirs: Any, what: str) -> None:
    """Same strides, storage offset and contiguity as torch's tensor."""
    assert tuple(ours.stride()) == tuple(theirs.stride()), \
        f"{what}: stride {ours.stride()} != torch's {theirs.stride()} (shape {tuple(theirs.shape)})"
    assert ours.storage_offset() == theirs.storage_offset(), \
        f"{what}: storage_offset {ours.storage_offset()} != torch's {theirs.storage_offset()}"
    assert ours.is_contiguous() == theirs.is_contiguous(), \
        f"{what}: is_contiguous {ours.is_contiguous()} != torch's {theirs.is_contiguous()}"


def storage_ids(view: Any, n: int) -> np.ndarray:
    """The storage element each element of the torch tensor ``view`` reads (of ``n``)."""
    import torch

    if view.numel() == 0:
        return np.zeros(tuple(view.shape), np.int64)
    ids = torch.arange(max(n, 1))
    return torch.as_strided(ids, view.size(), view.stride(), view.storage_offset()).numpy()


def distinct_writes(ids: np.ndarray, values: Any) -> bool:
    """Whether writing ``values`` (broadcast to ``ids``' shape) to storage ``ids`` gives one
    answer whatever the order: no element is written twice with different values."""
    try:
        vals = np.broadcast_to(np.asarray(values), ids.shape).reshape(-1)
    except ValueError:
        return True  # not a write: both libraries raise
    ids = ids.reshape(-1)
    order = np.lexsort((vals, ids))
    ids, vals = ids[order], vals[order]
    return not np.any((ids[1:] == ids[:-1]) & (vals[1:] != vals[:-1]))


def value_for(draw: Callable, shape: tuple, dtype: str) -> Any:
    """A value to write into a tensor of ``shape``: a Python scalar, or an array of a shape
    that broadcasts to ``shape`` (a suffix of it, with some sides made 1)."""
    if draw(st.booleans()):
        if dtype == "bool":
            return draw(st.booleans())
        if dtype.startswith("float"):
            return draw(st.sampled_from([-2.5, 0.0, 7.0]))
        return draw(st.integers(0 if dtype == "uint8" else -5, 9))
    k = draw(st.integers(0, len(shape)))
    sub = tuple(1 if draw(st.integers(0, 3)) == 0 else s for s in shape[len(shape) - k:])
    n = int(np.prod(sub, dtype=np.int64))
    arr = (np.arange(n) * 3 + 100).reshape(sub)
    # an array even when 0-d: NumPy scalars are not what these tests are about
    return np.asarray(arr % 2 == 0) if dtype == "bool" else arr.astype(dtype)


# -- index tuples --------------------------------------------------------------------------

def _int_index(draw: Callable, side: int, bad: bool) -> int:
    if bad:
        return draw(st.sampled_from([side, -side - 1, side + 2]))
    if side == 0:
        return 0 if draw(st.booleans()) else -1  # out of range on an empty dim
    return draw(st.integers(-side, side - 1))


def _slice(draw: Callable, side: int) -> slice:
    bound = st.none() | st.integers(-side - 2, side + 2)
    return slice(draw(bound), draw(bound), draw(st.none() | st.integers(1, 3)))


def _index_array(draw: Callable, side: int, shape: tuple, bad: bool) -> IndexArray:
    lo, hi = -side, side - 1
    if bad or side == 0:
        lo, hi = side, side + 1
    n = int(np.prod(shape, dtype=np.int64))
    vals = np.array(draw(st.lists(st.integers(lo, hi), min_size=n, max_size=n)),
                    np.int64).reshape(shape)
    kind = draw(st.sampled_from(["int64", "int64", "int32", "list"]))
    if kind == "list" and vals.ndim != 1:  # a nested list is a deprecated tuple index
        kind = "int64"
    return IndexArray(vals, "int64" if kind == "list" else kind, kind == "list")


@st.composite
def index_tuples(draw: Callable, shape: tuple, allow_bad: bool = True) -> tuple:
    """A tuple index for a tensor of ``shape``: ints, slices, None, one Ellipsis, integer
    index tensors or lists (broadcastable among themselves) and bool masks, in any mix.
    With ``allow_bad`` it sometimes holds an out-of-range int or index."""
    bad_at = draw(st.integers(0, 12)) if allow_bad else -1
    adv_shape = draw(shapes(0, 2, 3))
    items: list = []
    dim = 0
    ellipsis_used = False
    while dim < len(shape) and len(items) < 5:
        kind = draw(st.sampled_from(["int", "slice", "slice", "none", "adv", "mask",
                                     "ellipsis", "stop"]))
        side = shape[dim]
        if kind == "stop":
            break
        if kind == "int":
            items.append(_int_index(draw, side, bad_at == len(items)))
            dim += 1
        elif kind == "slice":
            items.append(_slice(draw, side))
            dim += 1
        elif kind == "none":
            items.append(None)
        elif kind == "adv":
            sub = tuple(s if draw(st.integers(0, 4)) else 1 for s in adv_shape)
            items.append(_index_array(draw, side, sub, bad_at == len(items)))
            dim += 1
        elif kind == "mask":
            k = draw(st.integers(1, min(2, len(shape) - dim)))
            mshape = shape[dim:dim + k]
            n = int(np.prod(mshape, dtype=np.int64))
            mask = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)),
                            bool).reshape(mshape)
            if bad_at == len(items) and mshape:
                mask = np.zeros(mshape[:-1] + (mshape[-1] + 1,), bool)  # wrong shape
            items.append(IndexArray(mask, "bool"))
            dim += k
        elif not ellipsis_used:
            ellipsis_used = True
            items.append(Ellipsis)
            dim = max(dim, len(shape) - draw(st.integers(0, len(shape) - dim)))
    if not shape and draw(st.booleans()):
        items.append(draw(st.sampled_from([None, Ellipsis, True, False, slice(None)])))
    if len(items) == 1 and draw(st.booleans()):
        return items[0]
    return tuple(items)
