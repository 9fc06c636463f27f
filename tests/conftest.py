"""Shared test helpers: compare mbtorch results with NumPy / PyTorch values."""

from __future__ import annotations

import numpy as np
import pytest


def assert_close(actual, expected, rtol=1e-6, atol=1e-6, dtype=None):
    """Compare an mbtorch tensor with a NumPy array / torch tensor / list, values and shape."""
    a = actual.numpy(force=True) if hasattr(actual, "numpy") else np.asarray(actual)
    e = expected.numpy() if hasattr(expected, "detach") else np.asarray(expected)
    assert a.shape == e.shape, f"shape {a.shape} != {e.shape}"
    if dtype is not None:
        assert actual.dtype is dtype, f"dtype {actual.dtype} != {dtype}"
    if a.dtype.kind in "biu" and e.dtype.kind in "biu":
        np.testing.assert_array_equal(a, e)
    else:
        np.testing.assert_allclose(a.astype(np.float64), e.astype(np.float64), rtol=rtol,
                                   atol=atol, equal_nan=True)


@pytest.fixture
def torch_or_skip():
    return pytest.importorskip("torch")
