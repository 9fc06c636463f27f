"""default_collate / default_convert: structure and dtypes as torch's."""

from __future__ import annotations

import collections

import numpy as np
import pytest
from mbtorch.utils.data import default_collate, default_convert

import mbtorch
from tests.conftest import assert_close

Point = collections.namedtuple("Point", "x y")


def test_tensors_are_stacked():
    out = default_collate([mbtorch.tensor([1.0, 2.0]), mbtorch.tensor([3.0, 4.0])])
    assert_close(out, np.array([[1.0, 2.0], [3.0, 4.0]]), dtype=mbtorch.float32)


def test_ragged_tensors_raise_torchs_error():
    with pytest.raises(RuntimeError, match=r"stack expects each tensor to be equal size, but "
                                           r"got \[2\] at entry 0 and \[3\] at entry 1"):
        default_collate([mbtorch.zeros(2), mbtorch.zeros(3)])


def test_numbers_arrays_strings():
    assert default_collate([1, 2, 3]).dtype is mbtorch.int64
    floats = default_collate([1.0, 2.5])
    assert floats.dtype is mbtorch.float64 and floats.tolist() == [1.0, 2.5]
    assert default_collate([True, False]).dtype is mbtorch.bool
    arr = default_collate([np.zeros((2, 2), np.float32), np.ones((2, 2), np.float32)])
    assert arr.shape == (2, 2, 2) and arr.dtype is mbtorch.float32
    scal = default_collate([np.float32(1), np.float32(2)])
    assert scal.dtype is mbtorch.float32 and scal.tolist() == [1.0, 2.0]
    assert default_collate(["a", "b"]) == ["a", "b"]
    with pytest.raises(TypeError, match="default_collate: batch must contain tensors, numpy "
                                        "arrays, numbers, dicts or lists; found"):
        default_collate([np.array(["x"]), np.array(["y"])])
    with pytest.raises(TypeError, match="found <class 'object'>"):
        default_collate([object(), object()])


def test_containers_like_torch(torch_or_skip):
    torch = torch_or_skip
    samples = [({"a": 1, "b": [1.5, 2]}, Point(3, "s")), ({"a": 2, "b": [2.5, 4]}, Point(5, "t"))]
    ours = default_collate(samples)
    theirs = torch.utils.data.default_collate(samples)
    assert isinstance(ours, list) and isinstance(theirs, list)  # tuples become lists
    assert isinstance(ours[1], Point) and ours[1].y == ("s", "t") == theirs[1].y
    assert ours[0]["a"].tolist() == theirs[0]["a"].tolist()
    assert [t.tolist() for t in ours[0]["b"]] == [t.tolist() for t in theirs[0]["b"]]
    assert str(ours[0]["b"][0].dtype).split(".")[1] == str(theirs[0]["b"][0].dtype).split(".")[1]


def test_unequal_sequences():
    with pytest.raises(RuntimeError, match="each element in list of batch should be of equal "
                                           "size"):
        default_collate([[1, 2], [3]])


def test_ordered_dict_type_is_kept():
    out = default_collate([collections.OrderedDict(b=1, a=2)] * 2)
    assert isinstance(out, collections.OrderedDict) and list(out) == ["b", "a"]


def test_default_convert():
    out = default_convert({"x": np.arange(3), "s": "keep", "t": (np.float64(1.5), 2)})
    assert out["x"].dtype is mbtorch.int64 and out["x"].tolist() == [0, 1, 2]
    assert out["s"] == "keep"
    assert isinstance(out["t"], list) and out["t"][0].dtype is mbtorch.float64
    assert out["t"][1] == 2
    strs = np.array(["a"])
    assert default_convert(strs) is strs
