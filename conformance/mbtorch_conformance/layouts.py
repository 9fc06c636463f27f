"""Host values -> device tensors in a chosen memory layout, and the mbtorch-only code that
rebuilds them (for reproductions).

Layouts: ``contiguous``; ``transposed`` (the last two dims swapped in memory, then viewed back
with ``transpose``); ``strided`` (every dim stepped by 2, starting one element into a buffer
filled with a sentinel, built with ``as_strided``); ``expanded`` (a size-1 leading dim
broadcast with ``expand``, so its stride is 0). The values a kernel sees are the same in every
layout, so a kernel that ignores strides reads the sentinel or the wrong element and fails.
"""

from __future__ import annotations

import math
from typing import Any, Iterator

import numpy as np

import mbtorch as mt
from mbtorch.core.host import FROM_NUMPY
from mbtorch.core.tensor import contiguous_strides

from .samples import Sample

__all__ = [
    "NONCONTIGUOUS", "MAX_PRINTED", "dtype_of", "strided_geometry", "to_device", "expandable",
    "variants", "values_literal", "rebuild_code"
]

NONCONTIGUOUS = ("transposed", "strided", "expanded")
MAX_PRINTED = 600  # values printed inline in a reproduction (every standard-tier sample)


def dtype_of(arr: np.ndarray) -> mt.dtype:
    return FROM_NUMPY[arr.dtype]


def _sentinel(arr: np.ndarray) -> Any:
    if arr.dtype.kind == "b":
        return True
    return 77 if arr.dtype.kind in "iu" else math.nan


def strided_geometry(shape: tuple) -> tuple[tuple, int]:
    """Strides and buffer length for the ``strided`` layout (offset is always 1)."""
    big = tuple(2 * s for s in shape)
    size = 1
    for s in big:
        size *= max(s, 1)
    return tuple(2 * st for st in contiguous_strides(big)), 1 + size


def to_device(arr: np.ndarray, device: str, layout: str = "contiguous") -> mt.Tensor:
    """A tensor on ``device`` holding ``arr``'s values in ``layout``."""
    if layout == "transposed" and arr.ndim >= 2:
        mem = np.ascontiguousarray(np.swapaxes(arr, -1, -2))
        return mt.tensor(mem, device=device).transpose(-1, -2)
    if layout == "strided" and arr.size:
        strides, n = strided_geometry(arr.shape)
        buf = np.full(n, _sentinel(arr), dtype=arr.dtype)
        np.lib.stride_tricks.as_strided(
            buf[1:], arr.shape, tuple(s * arr.itemsize for s in strides))[...] = arr
        return mt.tensor(buf, device=device).as_strided(arr.shape, strides, 1)
    if layout == "expanded" and arr.ndim >= 1 and arr.shape[0] > 1 and _repeats(arr):
        return mt.tensor(np.ascontiguousarray(arr[:1]), device=device).expand(arr.shape)
    return mt.tensor(arr, device=device)


def _repeats(arr: np.ndarray) -> bool:
    return bool((arr == arr[:1]).all() or np.array_equal(arr, np.broadcast_to(arr[:1], arr.shape),
                                                         equal_nan=arr.dtype.kind == "f"))


def expandable(arr: Any) -> bool:
    return isinstance(arr, np.ndarray) and arr.ndim >= 1 and arr.shape[0] > 1


def variants(sample: Sample, mutates: bool = False) -> Iterator[Sample]:
    """The non-contiguous versions of ``sample`` that differ from the contiguous one
    (``mutates``: the first argument is written to, so it is never expanded)."""
    ts = sample.tensors()
    if not any(a.size for a in ts):
        return
    if any(a.ndim >= 2 for a in ts):
        yield _variant(sample, "transposed", sample.args)
    if any(a.ndim >= 1 for a in ts):
        yield _variant(sample, "strided", sample.args)
    grow = [expandable(a) and not (mutates and i == 0) and i not in sample.fixed
            for i, a in enumerate(sample.args)]
    if any(grow):
        # an expanded operand repeats its first slice: new values, so a new reference
        args = [np.broadcast_to(a[:1], a.shape).copy() if g else a
                for a, g in zip(sample.args, grow)]
        yield _variant(sample, "expanded", args)


def _variant(sample: Sample, layout: str, args: list) -> Sample:
    return Sample(list(args), dict(sample.kwargs), f"{sample.name} [{layout}]", sample.index,
                  sample.special, layout, sample.fixed)


# -- reproductions ------------------------------------------------------------------------------
def values_literal(arr: np.ndarray) -> str:
    """``arr`` as a Python literal (``nan``/``inf`` names come from ``math``)."""
    if arr.dtype.kind == "b":
        return repr(arr.tolist())
    if arr.dtype.kind in "iu":
        return repr(arr.astype(np.int64).tolist())
    if arr.dtype.kind == "c":  # (1+2j) literals; ``complex(nan, 0)`` reprs as (nan+0j)
        return repr(arr.astype(np.complex128).tolist())
    return repr(arr.astype(np.float64).tolist())


def rebuild_code(name: str, arr: np.ndarray, device: str, layout: str, seed_hint: str) -> str:
    """mbtorch-only code that rebuilds one tensor argument exactly as the suite built it."""
    dt = f"dtype=mbtorch.{dtype_of(arr).name}, device={device!r}"
    if arr.size > MAX_PRINTED:
        vals = f"<{arr.size} values: {seed_hint}>"
    else:
        vals = values_literal(np.swapaxes(arr, -1, -2) if layout == "transposed"
                              and arr.ndim >= 2 else arr)
    if layout == "transposed" and arr.ndim >= 2:
        return f"{name} = mbtorch.tensor({vals}, {dt}).transpose(-1, -2)"
    if layout == "strided" and arr.size:
        strides, n = strided_geometry(arr.shape)
        sent = _sentinel(arr)
        return (f"{name} = mbtorch.full(({n},), {sent!r}, {dt}).as_strided({arr.shape}, "
                f"{strides}, 1)\n{name}.copy_(mbtorch.tensor({vals}, {dt}))")
    if layout == "expanded" and arr.ndim >= 1 and arr.shape[0] > 1 and _repeats(arr):
        first = values_literal(arr[:1]) if arr.size <= MAX_PRINTED else vals
        return f"{name} = mbtorch.tensor({first}, {dt}).expand({arr.shape})"
    return f"{name} = mbtorch.tensor({vals}, {dt})"
