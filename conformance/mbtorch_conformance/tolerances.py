"""Tolerances and error metrics: how a backend's answer is compared with the reference.

The reference is computed in float64 and rounded to the output dtype, so the correctly rounded
answer has zero error. Values are judged in ULPs (units in the last place, counted in the
output dtype's own representation: float16 and bfloat16 in theirs) by ``compare_ulp`` with a
``UlpTolerance`` from the op's accuracy class (``accuracy.py``): an element fails when it is
more than ``ulp`` representable values away from the reference. Near zero, where an absolute
error is what an op's rounding produces (cancellation, flushed subnormals), ULPs mean nothing:
an element whose reference magnitude is below ``near`` is judged by ``|actual - expected| <=
floor`` instead, with ``near = floor / (max(ulp, 1) * eps)`` so the two rules meet. Every
tolerance has at least the smallest normal number as floor and threshold (subnormals only).
NaN must meet NaN, an infinity the same infinity, and integer and bool results must be exact.

``compare`` (``|actual - expected| <= atol + rtol * |expected|``, with
``torch.testing.assert_close``'s defaults in ``DEFAULT_TOLERANCES``) remains for what is not
judged in ULPs: gradients (finite differences and chained roundings), normwise linear algebra,
fused kernels against unfused ones. Errors are reported as max absolute, max relative and max
ULP distance (the last over the elements the ULP rule judges).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

import mbtorch as mt
from mbtorch.core.host import NUMPY_DTYPES

__all__ = [
    "DEFAULT_TOLERANCES", "tolerance", "UlpTolerance", "ulp_tolerance", "Errors", "Mismatch",
    "ulp_distance", "compare", "compare_ulp", "round_to"
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


@dataclass(frozen=True)
class UlpTolerance:
    """At most ``ulp`` ULPs from the reference; where ``|expected| < near``, at most ``floor``
    absolute instead."""

    ulp: int
    floor: float
    near: float

    def __str__(self) -> str:
        return f"{self.ulp} ULP, {self.floor:.3g} absolute below |{self.near:.3g}|"


def ulp_tolerance(dtype: mt.dtype, ulp: int, floor: float = 0.0) -> UlpTolerance:
    """``ulp`` ULPs in ``dtype``, with the absolute ``floor`` near zero; the floor is at least
    the smallest normal number (a backend may flush subnormal results to zero, as OpenCL
    devices without ``CL_FP_DENORM``, CUDA with ``-ftz`` and PyTorch's CPU after
    ``set_flush_denormal(True)`` do)."""
    if ulp < 0 or not floor >= 0:
        raise ValueError(f"ulp_tolerance: ulp ({ulp}) and floor ({floor}) must be >= 0")
    fi = mt.finfo(dtype)
    tiny = float(fi.tiny)
    near = max(tiny, float(floor) / (max(ulp, 1) * float(fi.eps)))
    return UlpTolerance(int(ulp), max(float(floor), tiny), near)


@dataclass
class Errors:
    """Worst errors seen over the samples of one cell; ``allowed_ulp`` is the largest ULP
    bound any of them was judged by (``None`` when no value was judged in ULPs)."""

    max_abs: float = 0.0
    max_rel: float = 0.0
    max_ulp: float = 0.0
    allowed_ulp: float | None = None

    def merge(self, other: "Errors") -> None:
        self.max_abs = max(self.max_abs, other.max_abs)
        self.max_rel = max(self.max_rel, other.max_rel)
        self.max_ulp = max(self.max_ulp, other.max_ulp)
        if other.allowed_ulp is not None:
            self.allowed_ulp = max(self.allowed_ulp or 0.0, other.allowed_ulp)


@dataclass
class Mismatch:
    """The first element out of tolerance, for the failure message."""

    index: tuple
    actual: float
    expected: float
    count: int
    total: int
    detail: str = ""  # how far off, in the rule that judged it

    def __str__(self) -> str:
        return (f"{self.count}/{self.total} elements differ; first at {self.index}: "
                f"got {self.actual!r}, expected {self.expected!r}"
                + (f" ({self.detail})" if self.detail else ""))


def _ordered_keys(a: np.ndarray) -> np.ndarray:
    """Floats as unsigned integers in value order, one apart per representable step; -0.0 and
    +0.0 share a key (as they compare equal)."""
    width = a.dtype.itemsize
    bits = a.view({2: np.uint16, 4: np.uint32, 8: np.uint64}[width]).astype(np.uint64)
    sign = np.uint64(1 << (8 * width - 1))
    mag = bits & (sign - np.uint64(1))
    return np.where(bits >= sign, sign - mag, sign + mag)


def ulp_distance(actual: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """Per-element ULP distance between two arrays of one floating dtype (finite only): the
    number of representable values from one to the other, counted exactly in integers."""
    a = _ordered_keys(np.ascontiguousarray(actual))
    e = _ordered_keys(np.ascontiguousarray(expected))
    return np.where(a >= e, a - e, e - a).astype(np.float64)


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


def _nonfinite(a: np.ndarray, e: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """``(finite, bad, unmatched)``: where both are finite; where NaN does not meet NaN or an
    infinity the same infinity; whether any non-finite value is unmatched."""
    nan_a, nan_e = np.isnan(a), np.isnan(e)
    inf_e = np.isinf(e)
    finite = ~(nan_e | inf_e) & ~nan_a & ~np.isinf(a)
    bad = (nan_a != nan_e) | (inf_e & (a != e)) | (np.isinf(a) & ~inf_e)
    unmatched = bool((~finite & ~(nan_a & nan_e) & ~(inf_e & (a == e))).any())
    return finite, bad, unmatched


def _abs_rel(a: np.ndarray, e: np.ndarray, finite: np.ndarray, errs: Errors) -> np.ndarray:
    diff = np.where(finite, np.abs(a - e), 0.0)
    rel = np.where(finite & (e != 0), diff / np.where(e != 0, np.abs(e), 1.0), 0.0)
    errs.max_abs, errs.max_rel = float(diff.max()), float(rel.max())
    return diff


def _compare_float(actual: np.ndarray, expected: np.ndarray, rtol: float,
                   atol: float) -> tuple[Errors, Mismatch | None]:
    errs = Errors()
    a, e = actual.astype(np.float64), expected.astype(np.float64)
    finite, bad, unmatched = _nonfinite(a, e)
    diff = _abs_rel(a, e, finite, errs)
    bad |= finite & (diff > atol + rtol * np.abs(e))
    if finite.any():
        errs.max_ulp = float(ulp_distance(actual[finite], expected[finite]).max())
    if unmatched:
        errs.max_abs = errs.max_rel = errs.max_ulp = float("inf")
    return errs, (_first(bad, actual, expected) if bad.any() else None)


def compare_ulp(actual: np.ndarray, expected: np.ndarray, dtype: mt.dtype,
                tol: UlpTolerance) -> tuple[Errors, Mismatch | None]:
    """Compare two host arrays of the output dtype in ULPs, with the absolute floor near zero
    (integer and bool results exactly); returns the errors and the first miss."""
    if actual.size == 0 or not dtype.is_floating_point:
        return compare(actual, expected, dtype, 0.0, 0.0)
    with np.errstate(all="ignore"):
        return _compare_ulp(actual, expected, tol)


def _compare_ulp(actual: np.ndarray, expected: np.ndarray,
                 tol: UlpTolerance) -> tuple[Errors, Mismatch | None]:
    errs = Errors(allowed_ulp=float(tol.ulp))
    a, e = actual.astype(np.float64), expected.astype(np.float64)
    finite, bad, unmatched = _nonfinite(a, e)
    diff = _abs_rel(a, e, finite, errs)
    ulps = np.zeros(a.shape)
    ulps[finite] = ulp_distance(actual[finite], expected[finite])
    near = finite & (np.abs(e) < tol.near)
    far = finite & ~near
    bad |= (near & (diff > tol.floor)) | (far & (ulps > tol.ulp))
    errs.max_ulp = float(ulps[far].max()) if far.any() else 0.0
    if unmatched:
        errs.max_abs = errs.max_rel = errs.max_ulp = float("inf")
    if not bad.any():
        return errs, None
    miss = _first(bad, actual, expected)
    idx = miss.index
    if far[idx]:
        miss.detail = f"{ulps[idx]:.0f} ULP off, {tol.ulp} allowed"
    elif near[idx]:
        miss.detail = (f"near zero: off by {diff[idx]:.3g}, {tol.floor:.3g} allowed below "
                       f"|{tol.near:.3g}|")
    return errs, miss


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
