"""Counting into bins: ``bincount``, ``histogram``, ``histogramdd``.

Compositions: each element's bin comes from ``searchsorted`` on the bin edges (the last edge
belongs to the last bin, elements outside the edges and NaN are not counted), and the counts
are one ``scatter_add`` of the weights, so every backend runs them. ``bincount``'s length
depends on the data (``max(input) + 1``): it reads that one number on the host, as PyTorch.
"""

from __future__ import annotations

import builtins
import math
from typing import Any, Sequence

from .. import dtypes as _dt
from ..tensor import Tensor, method_table
from . import views as _v
from ._common import cast, return_type
from .creation import linspace, tensor, zeros
from .gathering import scatter_add
from .reductions import amax, amin, sum
from .searching import searchsorted
from .ternary import where

TENSOR_METHODS: dict = {}
"""The ``Tensor`` methods this module provides, by name (installed by ``mbtorch.core.ops``)."""
tensor_method = method_table(TENSOR_METHODS)

histogram_result = return_type("histogram", ("hist", "bin_edges"))
histogramdd_result = return_type("histogramdd", ("hist", "bin_edges"))


@tensor_method
def bincount(input: Tensor, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
    """Occurrences of each value ``0..max(input)`` in a 1-d non-negative integer tensor (at
    least ``minlength`` bins), or the sums of ``weights`` per value.

    >>> mbtorch.bincount(mbtorch.tensor([1, 3, 1]))
    tensor([0, 2, 0, 1])
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"bincount(): argument 'input' must be Tensor, not "
                        f"{type(input).__name__}")
    if input._dtype.category != _dt.INTEGRAL_CATEGORY:
        raise NotImplementedError(f'"bincount_cpu" not implemented for '
                                  f"'{input._dtype.scalar_name}'")
    if minlength < 0:
        raise RuntimeError("minlength should be >= 0")
    n = input.numel()
    if input.ndim != 1 or (n and amin(input).item() < 0):
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if weights is not None and (weights.ndim != 1 or weights.numel() != n):
        raise RuntimeError("weights should be 1-d and have the same length as input")
    length = max(minlength, amax(input).item() + 1 if n else 0)
    if weights is None:
        dtype, src = _dt.int64, None
    else:  # float32 weights stay float32; every other dtype counts in float64, as PyTorch
        dtype = weights._dtype if weights._dtype in (_dt.float32, _dt.float64) else _dt.float64
        src = cast(weights, dtype)
    if src is None:
        from .creation import ones

        src = ones(n, dtype=dtype, device=input._device)
    out = zeros(length, dtype=dtype, device=input._device)
    return scatter_add(out, 0, cast(input, _dt.int64), src) if n else out


def _check_input(input: Any, weight: Any, name: str) -> None:
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' must be Tensor, not "
                        f"{type(input).__name__}")
    if not input._dtype.is_floating_point:
        raise NotImplementedError(f'"histogramdd" not implemented for '
                                  f"'{input._dtype.scalar_name}'")
    if weight is not None and weight._dtype is not input._dtype:
        raise RuntimeError(f"torch.{name}: if weight tensor is provided, it should have the "
                           "same dtype as the input tensor")


def _edges_for(column: Tensor, bins: int, lo_hi: Any, d: int, name: str) -> Tensor:
    """``bins + 1`` equal-width edges over ``lo_hi`` or the data's range (widened by 0.5 on
    both sides when that range is one point)."""
    if bins <= 0:
        raise RuntimeError(f"torch.{name}(): bins must be > 0, but got {bins} for dimension {d}")
    if lo_hi is not None:
        lo, hi = float(lo_hi[0]), float(lo_hi[1])
    elif column.numel():
        lo, hi = amin(column).item(), amax(column).item()
    else:
        lo, hi = 0.0, 1.0
    if lo > hi:
        raise RuntimeError(f"torch.histogramdd: min should not exceed max, but got min {lo:g} "
                           f"max {hi:g} for dimension {d}")
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise RuntimeError(f"torch.histogramdd: dimension {d}'s range [{lo:g}, {hi:g}] is not "
                           "finite")
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    return linspace(lo, hi, bins + 1, dtype=column._dtype, device=column._device)


def _bin_of(column: Tensor, edges: Tensor) -> tuple[Tensor, Tensor]:
    """Each value's bin index (clamped into range) and whether it is counted at all."""
    nb = edges._shape[0] - 1
    first, last = edges[0], edges[nb]
    inside = (column >= first) & (column <= last)
    pos = searchsorted(edges, column, right=True) - 1
    pos = where(column == last, nb - 1, pos).clamp(0, max(nb - 1, 0))
    return pos, inside


def _parse_bins(bins: Any, dims: int, name: str) -> list:
    if isinstance(bins, Tensor):
        bins = [bins]
    elif isinstance(bins, int) and not isinstance(bins, bool):
        bins = [bins] * dims
    bins = list(bins)
    if len(bins) != dims:
        raise RuntimeError(f"torch.{name}: expected {dims} sequences of bin edges for each "
                           f"dimension of input, but got {len(bins)}")
    return bins


def _histogramdd(x: Tensor, bins: Any, range: Sequence | None, weight: Tensor | None,
                 density: bool, name: str) -> tuple[Tensor, list]:
    """``x`` is ``(N, D)``; returns the D-dim histogram and the list of edges."""
    n, dims = x._shape
    bins = _parse_bins(bins, dims, name)
    if range is not None and len(range) != 2 * dims:
        raise RuntimeError(f"torch.{name}: for a {dims}-dimensional histogram range should "
                           f"have {2 * dims} elements, but got {len(range)}")
    edges, flat, counted, stride = [], None, None, 1
    for d in reversed(builtins.range(dims)):
        column = _v.select(x, 1, d)
        b = bins[d]
        if isinstance(b, Tensor):
            e = cast(b, x._dtype)
            if e.ndim != 1 or e.numel() < 1:
                raise RuntimeError(f"torch.{name}: bins tensor should have one dimension and "
                                   "at least 1 element")
        else:
            e = _edges_for(column, int(b), None if range is None else range[2 * d:2 * d + 2],
                           d, name)
        edges.insert(0, e)
        pos, inside = _bin_of(column, e)
        flat = pos * stride if flat is None else flat + pos * stride
        counted = inside if counted is None else counted & inside
        stride *= max(e._shape[0] - 1, 0)
    shape = tuple(max(e._shape[0] - 1, 0) for e in edges)
    w = weight.reshape(-1) if weight is not None else tensor(1, dtype=x._dtype,
                                                             device=x._device).expand((n,))
    hist = zeros(stride, dtype=x._dtype, device=x._device)
    if n and stride:
        hist = scatter_add(hist, 0, flat, where(counted, w, 0))
    hist = hist.reshape(shape)
    if density:
        hist = hist / sum(hist)
        for d, e in enumerate(edges):
            widths = e[1:] - e[:-1]
            hist = hist / widths.reshape(tuple(-1 if i == d else 1 for i in builtins.range(dims)))
    return hist, edges


@tensor_method
def histogram(input: Tensor, bins: Any = 100, *, range: Sequence | None = None,  # noqa: A002
              weight: Tensor | None = None, density: bool = False) -> Any:
    """``(hist, bin_edges)``: counts (or summed ``weight``) of ``input`` in ``bins`` equal-width
    bins over ``range`` (the data's by default), or between the given 1-d edges;
    ``density=True`` normalises to unit area.

    >>> mbtorch.histogram(mbtorch.tensor([1.0, 2.0, 1.0]), 2).hist
    tensor([2., 1.])
    """
    _check_input(input, weight, "histogram")
    if isinstance(bins, Tensor) and bins.ndim != 1:
        raise RuntimeError("torch.histogramdd: bins tensor should have one dimension, but got "
                           f"{bins.ndim} dimensions in the bins tensor for dimension 0")
    if weight is not None and tuple(weight._shape) != tuple(input._shape):
        raise RuntimeError("torch.histogram: if weight tensor is provided it should have the "
                           "same shape as the input tensor")
    hist, edges = _histogramdd(input.reshape(-1, 1), [bins], range, weight, density,
                               "histogram")
    return histogram_result(hist, edges[0])


def histogramdd(input: Tensor, bins: Any = 10, *, range: Sequence | None = None,  # noqa: A002
                weight: Tensor | None = None, density: bool = False) -> Any:
    """``(hist, bin_edges)`` of the points in the last dim of ``input`` (``(..., D)``): ``bins``
    an int, D ints, or D 1-d edge tensors; ``range`` a flat list of D (min, max) pairs."""
    _check_input(input, weight, "histogramdd")
    if input.ndim < 2:
        raise RuntimeError("torch.histogramdd: input tensor should have at least 2 dimensions")
    dims = input._shape[-1]
    if weight is not None and tuple(weight._shape) != tuple(input._shape[:-1]):
        raise RuntimeError("torch.histogramdd: if weight tensor is provided it should have the "
                           "same shape as the input tensor excluding its innermost dimension")
    hist, edges = _histogramdd(input.reshape(-1, dims), bins, range, weight, density,
                               "histogramdd")
    return histogramdd_result(hist, tuple(edges))


__all__ = ["bincount", "histogram", "histogramdd"]
