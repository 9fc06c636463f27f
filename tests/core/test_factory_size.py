"""The ``size=`` keyword wherever PyTorch's factories accept it, against real torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import mbtorch as mt

SIZES = [(2, 3), [2, 3], (), (0, 4), "Size"]


def _size(lib, size):
    return lib.Size([2, 1]) if size == "Size" else size


CALLS = [
    ("zeros", (), {}), ("ones", (), {}), ("empty", (), {}), ("rand", (), {}), ("randn", (), {}),
    ("full", (), {"fill_value": 3}), ("full", (), {"fill_value": 2.5}),
    ("randint", (0, 5), {}), ("randint", (5,), {}), ("randint", (), {"high": 5}),
    ("randint", (), {"low": 1, "high": 5}), ("normal", (0.0, 1.0), {}),
]


@pytest.mark.parametrize("size", SIZES, ids=repr)
@pytest.mark.parametrize("name,args,kwargs", CALLS, ids=repr)
def test_size_keyword_matches_torch(name, args, kwargs, size):
    ours = getattr(mt, name)(*args, size=_size(mt, size), **kwargs)
    theirs = getattr(torch, name)(*args, size=_size(torch, size), **kwargs)
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert ours.dtype.name == str(theirs.dtype).split(".")[1]
    if name in ("zeros", "ones", "full"):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("name", ["new_zeros", "new_ones", "new_empty"])
def test_new_methods_take_size_keyword(name):
    ours = getattr(mt.ones(2, dtype=mt.int32), name)(size=(3, 2))
    theirs = getattr(torch.ones(2, dtype=torch.int32), name)(size=(3, 2))
    assert tuple(ours.shape) == tuple(theirs.shape) and ours.dtype == mt.int32
    if name != "new_empty":
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("call", ["x.new_full(size=(3,), fill_value=2)",
                                  "x.new_full((3,), fill_value=2)", "x.new_full((3,), 2)",
                                  "lib.full_like(x, fill_value=4)", "lib.full_like(x, 4)"])
def test_fill_value_keyword_matches_torch(call):
    ours = eval(call, {"x": mt.ones(2), "lib": mt})
    theirs = eval(call, {"x": torch.ones(2), "lib": torch})
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


BAD = [("zeros", (), {"size": 5}, "must be tuple of ints, not int"),
       ("randn", (), {"size": 3}, "must be tuple of ints, not int"),
       ("zeros", (2,), {"size": (2, 3)}, "multiple values for argument 'size'"),
       ("rand", (), {"size": None}, "must be tuple of ints, not NoneType"),
       ("empty", (), {"size": (2.0,)}, "sequence of ints"),
       ("full", (), {"size": None, "fill_value": 1}, "must be tuple of ints, not NoneType")]


@pytest.mark.parametrize("name,args,kwargs,match", BAD, ids=repr)
def test_bad_size_keyword_raises_typeerror_as_torch(name, args, kwargs, match):
    with pytest.raises(TypeError):
        getattr(torch, name)(*args, **kwargs)
    with pytest.raises(TypeError, match=match):
        getattr(mt, name)(*args, **kwargs)
