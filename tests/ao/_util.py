"""Helpers shared by the ao tests: torch <-> mbtorch values and dtype/qscheme names."""

from __future__ import annotations

from typing import Any

import numpy as np

import mbtorch as mt


def to_mt(t: Any, requires_grad: bool = False) -> mt.Tensor:
    return mt.tensor(t.detach().numpy().copy(), requires_grad=requires_grad)


def mt_of(v: Any) -> Any:
    """The mbtorch counterpart of a torch dtype or qscheme (same name), else ``v``."""
    name = str(v)
    if name.startswith("torch."):
        return getattr(mt, name.split(".", 1)[1])
    return v


def kw_mt(kwargs: dict) -> dict:
    return {k: mt_of(v) for k, v in kwargs.items()}


def arr(x: Any) -> np.ndarray:
    if isinstance(x, mt.Tensor):
        return x.detach().numpy(force=True)
    return x.detach().numpy()


def same(actual: Any, expected: Any, what: str = "") -> None:
    """Bit-exact values, same shape, same dtype name."""
    a, e = arr(actual), arr(expected)
    assert a.shape == e.shape, f"{what}: shape {a.shape} != {e.shape}"
    assert str(actual.dtype).split(".")[-1] == str(expected.dtype).split(".")[-1], (
        f"{what}: dtype {actual.dtype} != {expected.dtype}")
    np.testing.assert_array_equal(a, e, err_msg=what)
