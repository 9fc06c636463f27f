"""Tolerances and error metrics: how a backend's answer is compared with the reference.

Defaults are ``torch.testing.assert_close``'s: a value passes when
``|actual - expected| <= atol + rtol * |expected|``; NaN must meet NaN, an infinity must meet
the same infinity, and integer and bool results must be exact. The reference is computed in
float64 and rounded to the output dtype first, so an answer that is the correctly rounded
result has zero error. Errors are reported as max absolute, max relative and max ULP distance
(counted in the output dtype's own representation).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

import mbtorch as mt
from mbtorch.core.host import NUMPY_DTYPES

__all__ = [
    "DEFAULT_TOLERANCES", "tolerance", "Errors", "Mismatch", "ulp_distance", "compare", "round_to"
]

DEFAULT_TOLERANCES: dict = {
    mt.float16: (1e-3, 1e-5),
    mt.bfloat16: (1.6e-2, 1e-5),
    mt.float32: (1.3e-6, 1e-5),
    mt.float64: (1e-7, 1e-7),
}


def tolerance(dtype: mt.dtype, override: Mapping | None = None) -> tuple[float, float]:
    """``(rtol, atol)`` for ``dtype``: the entry's override, else the default (0 for ints)."""
    if override and dtype in override:
        return override[dtype]
    return DEFAULT_TOLERANCES.get(dtype, (0.0, 0.0))


@dataclass
class Errors:
    """Worst errors seen over the samples of one cell."""

    max_abs: float = 0.0
    max_rel: float = 0.0
    max_ulp: float = 0.0

    def merge(self, other: "Errors") -> None:
        self.max_abs = max(self.max_abs, other.max_abs)
        self.max_rel = max(self.max_rel, other.max_rel)
        self.max_ulp = max(self.max_ulp, other.max_ulp)


@dataclass
class Mismatch:
    """The first element out of tolerance, for the failure message."""

    index: tuple
    actual: float
    expected: float
    count: int
    total: int

    def __str__(self) -> str:
        return (f"{self.count}/{self.total} elements differ; first at {self.index}: "
                f"got {self.actual!r}, expected {self.expected!r}")


def _ordered_bits(a: np.ndarray) -> np.ndarray:
    """Floats as integers whose difference is the ULP distance (sign-magnitude folded)."""
    width = a.dtype.itemsize
    ints = a.view({2: np.uint16, 4: np.uint32, 8: np.uint64}[width]).astype(np.int64)
    if width == 8:  # uint64 does not fit int64; keep the top bit as the sign instead
        ints = a.view(np.int64).astype(np.int64)
        return np.where(ints < 0, np.int64(-(2**63)) - ints, ints).astype(np.float64)
    sign = 1 << (8 * width - 1)
    return np.where(ints >= sign, sign - ints, ints).astype(np.float64)


def ulp_distance(actual: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """Per-element ULP distance between two arrays of one floating dtype (finite only)."""
    return np.abs(_ordered_bits(np.ascontiguousarray(actual))
                  - _ordered_bits(np.ascontiguousarray(expected)))


def compare(actual: np.ndarray, expected: np.ndarray, dtype: mt.dtype,
            rtol: float, atol: float) -> tuple[Errors, Mismatch | None]:
    """Compare two host arrays of the output dtype; returns the errors and the first miss."""
    errs = Errors()
    if actual.size == 0:
        return errs, None
    if not dtype.is_floating_point:
        bad = actual != expected
        if bad.any():
            a64, e64 = actual.astype(np.float64), expected.astype(np.float64)
            with np.errstate(invalid="ignore"):  # a float result of an integral op: inf - inf
                errs.max_abs = float(np.abs(a64 - e64).max())
            return errs, _first(bad, actual, expected)
        return errs, None
    with np.errstate(all="ignore"):
        return _compare_float(actual, expected, rtol, atol)


def _compare_float(actual: np.ndarray, expected: np.ndarray, rtol: float,
                   atol: float) -> tuple[Errors, Mismatch | None]:
    errs = Errors()
    a = actual.astype(np.float64)
    e = expected.astype(np.float64)
    nan_a, nan_e = np.isnan(a), np.isnan(e)
    inf_e = np.isinf(e)
    finite = ~(nan_e | inf_e) & ~nan_a & ~np.isinf(a)
    diff = np.where(finite, np.abs(a - e), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(finite & (e != 0), diff / np.abs(e), 0.0)
    bad = (nan_a != nan_e) | (inf_e & (a != e)) | (np.isinf(a) & ~inf_e)
    bad |= finite & (diff > atol + rtol * np.abs(e))
    errs.max_abs = float(diff.max())
    errs.max_rel = float(rel.max())
    if finite.any():
        errs.max_ulp = float(ulp_distance(actual[finite], expected[finite]).max())
    if (~finite & ~(nan_a & nan_e) & ~(inf_e & (a == e))).any():
        errs.max_abs = errs.max_rel = errs.max_ulp = float("inf")
    return errs, (_first(bad, actual, expected) if bad.any() else None)


def _first(bad: np.ndarray, actual: np.ndarray, expected: np.ndarray) -> Mismatch:
    idx = tuple(int(i) for i in np.argwhere(bad)[0])
    return Mismatch(idx, _py(actual[idx]), _py(expected[idx]), int(bad.sum()), bad.size)


def _py(v) -> float | int | bool:
    v = np.asarray(v)
    if v.dtype.kind == "b":
        return bool(v)
    if v.dtype.kind in "iu":
        return int(v)
    return float(v.astype(np.float64))


def round_to(values: np.ndarray, dtype: mt.dtype) -> np.ndarray:
    """``values`` in ``dtype``'s NumPy type, as the backend's answer should be rounded."""
    with np.errstate(all="ignore"):  # overflow to inf is the rounding we want
        return np.asarray(values).astype(NUMPY_DTYPES[dtype])
