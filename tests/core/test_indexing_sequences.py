"""Indexing with the sequences PyTorch accepts besides tensors and lists: ``range`` objects,
NumPy integer, float and bool arrays, tuples of lists, and non-tuple sequences that PyTorch
reads as a tuple (``x[[0, [1, 2]]]``), for reads and writes, against real torch."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import mbtorch as mt

BASE = np.arange(24, dtype=np.float32).reshape(4, 6)

KEYS = [
    range(2), range(3, 0, -1), range(0), range(0, 4, 2),
    (range(0, 4, 2), slice(None)), (slice(None), range(1, 3)), (Ellipsis, range(2)),
    (range(2), range(1, 3)), [range(2), range(1, 3)], [range(2)],
    np.array([0, 2]), np.array([-1, 0]), np.array([], dtype=np.int64),
    np.array([1, 2], dtype=np.int16), np.array([0.0, 1.9]), np.array([[0, 1], [1, 2]]),
    np.array([True, False, True, False]), np.array([1, 0, 1, 0], dtype=np.uint8),
    np.array(BASE > 10), np.array(2), np.int32(1), (np.int32(1), np.int8(2)),
    (np.array([0, 1]), np.array([1, 2])), (np.array([1]), np.array([[0], [1]])),
    (np.array([True, False, True, False]), 1), (slice(None), np.array([1, 2])),
    ([0, 1], [2, 3]), ((0, 1),), (0, [1, 2]), ((0, 1), (2, 3)), [[0, 1], [1, 2]],
    [0, slice(None)], [0, None], [np.int64(0), 1], [1.5], [True, False, True, False],
    [mt.tensor(0), 1],
]


def _torch_key(key):
    """The same key for torch (an mbtorch tensor inside becomes a torch tensor)."""
    if isinstance(key, mt.Tensor):
        return torch.from_numpy(key.numpy())
    if isinstance(key, list):
        return [_torch_key(k) for k in key]
    if isinstance(key, tuple):
        return tuple(_torch_key(k) for k in key)
    return key


def _torch_get(t, key):
    with warnings.catch_warnings():  # torch's notice about non-tuple sequences
        warnings.simplefilter("ignore")
        return t[_torch_key(key)]


@pytest.mark.parametrize("key", KEYS, ids=repr)
def test_getitem_matches_torch(key):
    expected = _torch_get(torch.from_numpy(BASE.copy()), key)
    got = mt.from_numpy(BASE.copy())[key]
    assert tuple(got.shape) == tuple(expected.shape)
    np.testing.assert_array_equal(got.numpy(), expected.numpy())


# torch refuses to write through a uint8 ndarray mask (its masked_fill_ takes bool only)
WRITE_KEYS = [k for k in KEYS if not (isinstance(k, np.ndarray) and k.dtype == np.uint8)]


@pytest.mark.parametrize("key", WRITE_KEYS, ids=repr)
def test_setitem_matches_torch(key):
    t, x = torch.from_numpy(BASE.copy()), mt.from_numpy(BASE.copy())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t[_torch_key(key)] = -1.0
    x[key] = -1.0
    np.testing.assert_array_equal(x.numpy(), t.numpy())


def test_range_index_gradient_matches_torch():
    t = torch.from_numpy(BASE.copy()).requires_grad_(True)
    x = mt.from_numpy(BASE.copy()).requires_grad_(True)
    (_torch_get(t, (range(0, 4, 2), range(1, 3))) * 2).sum().backward()
    (x[range(0, 4, 2), range(1, 3)] * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())


def test_sequence_of_32_or_more_is_one_index_tensor():
    # PyTorch reads a long list of lists as one index (not a tuple of 32+ indices)
    key = [[0, 1]] * 32
    expected = _torch_get(torch.from_numpy(BASE.copy()), key)
    got = mt.from_numpy(BASE.copy())[key]
    assert tuple(got.shape) == tuple(expected.shape) == (32, 2, 6)
    np.testing.assert_array_equal(got.numpy(), expected.numpy())


ERRORS = [range(5), np.array([4]), np.array([True, False]), (range(2), range(3)),
          np.array(["a"]), {0: 1}]


@pytest.mark.parametrize("key", ERRORS, ids=repr)
def test_bad_sequence_keys_raise_as_torch(key):
    t, x = torch.from_numpy(BASE.copy()), mt.from_numpy(BASE.copy())
    with pytest.raises((IndexError, TypeError)) as theirs:
        _torch_get(t, key)
    with pytest.raises((IndexError, TypeError)) as ours:
        x[key]
    assert isinstance(ours.value, theirs.type), (ours.value, theirs.value)


def test_index_out_of_range_names_the_dimension():
    with pytest.raises(IndexError, match="index 4 is out of bounds for dimension 0 with size 4"):
        mt.from_numpy(BASE.copy())[range(5)]
