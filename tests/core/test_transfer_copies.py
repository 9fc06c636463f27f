"""``Tensor.to(other_device)`` always copies (issue 17), whatever the two backends' storage:
a backend derived from ``cpu`` keeps NumPy handles as they are, so without the core's own
copy ``t.to(dev).add_(1)`` would change ``t``."""

from __future__ import annotations

import numpy as np
import pytest
from mbtorch_conformance.derive import derive_backend, forget_backend

import mbtorch as mt

__all__: list = []


@pytest.fixture(scope="module")
def derived():
    name = derive_backend("cpu", "cpu_shared_storage")
    yield name
    forget_backend(name)


@pytest.mark.parametrize("layout", ["contiguous", "transposed", "scalar"])
def test_to_a_derived_device_copies(derived, layout):
    base = mt.arange(6, dtype=mt.float32).reshape(2, 3)
    t = {"contiguous": base, "transposed": base.t(), "scalar": base[1, 2]}[layout]
    before = t.numpy().copy()
    moved = t.to(derived)
    moved.add_(1)
    np.testing.assert_array_equal(t.numpy(), before)
    np.testing.assert_array_equal(moved.to("cpu").numpy(), before + 1)


def test_back_to_cpu_copies(derived):
    t = mt.tensor([1.0, 2.0, 3.0], device=derived)
    back = t.to("cpu")
    back.mul_(10)
    np.testing.assert_array_equal(t.to("cpu").numpy(), [1.0, 2.0, 3.0])
    t.sub_(1)
    np.testing.assert_array_equal(back.numpy(), [10.0, 20.0, 30.0])


def test_between_two_derived_devices(derived):
    other = derive_backend("cpu", "cpu_shared_storage_2")
    try:
        t = mt.ones(4, device=derived)
        u = t.to(other)
        u.add_(1)
        np.testing.assert_array_equal(t.to("cpu").numpy(), np.ones(4, np.float32))
    finally:
        forget_backend(other)


def test_to_with_dtype_and_grad_still_copies(derived):
    x = mt.tensor([1.0, -2.0], requires_grad=True)
    y = x.to(derived, mt.float64)
    (y * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])
    z = x.detach().to(derived)
    z.zero_()
    np.testing.assert_array_equal(x.detach().numpy(), [1.0, -2.0])


def test_same_device_is_not_copied(derived):
    t = mt.ones(3, device=derived)
    assert t.to(derived) is t
    assert t.to("cpu").to("cpu") is not t
