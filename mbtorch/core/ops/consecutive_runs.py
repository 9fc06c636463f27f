"""``unique_consecutive``: collapse runs of equal consecutive elements (or slices along a
dim), with the inverse mapping and the run lengths on request.

A run starts where an element differs from its predecessor; the run starts are one
``nonzero``, the inverse is the running count of starts, and the lengths are the gaps between
starts, so no sort is needed (unlike ``unique``).
"""

from __future__ import annotations

from typing import Any

from .. import dtypes as _dt
from ..tensor import Tensor, method_table, wrap_dim
from . import views as _v
from ._common import cast
from .creation import tensor, zeros
from .gathering import index_select, nonzero
from .joining import cat
from .scans import cumsum

TENSOR_METHODS: dict = {}
"""The ``Tensor`` methods this module provides, by name (installed by ``mbtorch.core.ops``)."""
tensor_method = method_table(TENSOR_METHODS)


def _runs(rows: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """``(starts, inverse, counts)`` of the runs of equal rows of 2-d ``rows``."""
    n = rows._shape[0]
    device = rows._device
    if n == 0:
        empty = tensor([], dtype=_dt.int64, device=device)
        return empty, empty, empty
    if rows._shape[1]:
        changed = (_v.slice_dim(rows, 0, 1, n) != _v.slice_dim(rows, 0, 0, n - 1)).any(1)
    else:  # empty slices are all equal
        changed = zeros(n - 1, dtype=_dt.bool, device=device)
    first = tensor([True], device=device)
    is_start = cat([first, changed])
    starts = _v.select(nonzero(is_start), 1, 0)
    inverse = cumsum(cast(is_start, _dt.int64), 0) - 1
    ends = cat([_v.slice_dim(starts, 0, 1, starts._shape[0]), tensor([n], device=device)])
    return starts, inverse, ends - starts


@tensor_method
def unique_consecutive(input: Tensor, return_inverse: bool = False,
                       return_counts: bool = False, dim: int | None = None) -> Any:
    """The elements of ``input`` (flattened) with each run of equal consecutive values kept
    once, or the slices along ``dim`` likewise; with ``return_inverse`` each element's run
    number, with ``return_counts`` each run's length.

    >>> mbtorch.unique_consecutive(mbtorch.tensor([1, 1, 2, 2, 3, 1]))
    tensor([1, 2, 3, 1])
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"unique_consecutive(): argument 'input' must be Tensor, not "
                        f"{type(input).__name__}")
    if dim is None:
        flat = _v.reshape(input, (-1,))
        starts, inverse, counts = _runs(_v.reshape(flat, (-1, 1)))
        out = [index_select(flat, 0, starts), _v.reshape(inverse, input._shape)]
    else:
        x = input if input.ndim else _v.reshape(input, (1,))
        d = wrap_dim(dim, x.ndim, "unique_consecutive")
        n = x._shape[d]
        if any(s == 0 for i, s in enumerate(x._shape) if i != d):
            raise RuntimeError("There are 0 sized dimensions, and they aren't selected, so "
                               "unique cannot be applied")
        width = x.numel() // n if n else 0
        rows = _v.reshape(_v.movedim(x, d, 0), (n, width))
        starts, inverse, counts = _runs(rows)
        out = [index_select(x, d, starts), inverse]
    result = out[:1] + out[1:] * bool(return_inverse) + [counts] * bool(return_counts)
    return result[0] if len(result) == 1 else tuple(result)


__all__ = ["unique_consecutive"]
