"""Combining tensors by broadcasting and products: ``broadcast_shapes``,
``broadcast_tensors``, ``meshgrid``, ``cartesian_prod``, ``combinations``.

Outputs of ``broadcast_tensors`` and ``meshgrid`` are expanded views of their inputs (stride 0
along the new dims), as in PyTorch: writing through them is refused like any expanded view.
"""

from __future__ import annotations

import itertools
from typing import Any, Sequence

from .. import dtypes as _dt
from ..meta import broadcast_all, check_same_device
from ..tensor import Size, Tensor
from . import views as _v
from ._reduce import check_input


def broadcast_shapes(*shapes: Any) -> Size:
    """The shape that tensors of ``shapes`` broadcast to (an int counts as a 1-d shape).

    >>> mbtorch.broadcast_shapes((2, 1), (3,))
    mbtorch.Size([2, 3])
    """
    parsed = []
    for s in shapes:
        shape = (s,) if isinstance(s, int) else tuple(s)
        if any(d < 0 for d in shape):
            raise ValueError("Attempting to broadcast a dimension with negative length!")
        parsed.append(shape)
    out: tuple = ()
    for i, shape in enumerate(parsed):
        n = max(len(out), len(shape))
        a, b = (1,) * (n - len(out)) + out, (1,) * (n - len(shape)) + shape
        for j, (x, y) in enumerate(zip(a, b)):
            if x != y and x != 1 and y != 1:
                raise RuntimeError(f"Attempting to broadcast a dimension of length {y} at "
                                   f"{j - n}! Mismatching argument at index {i} had {shape}; "
                                   f"but expected shape should be broadcastable to {list(a)}")
        out = tuple(y if x == 1 else x for x, y in zip(a, b))
    return Size(out)


def _tensor_list(tensors: tuple) -> Sequence[Tensor]:
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        return tensors[0]
    return tensors


def broadcast_tensors(*tensors: Tensor) -> tuple:
    """The tensors expanded (as views) to their common broadcast shape."""
    tensors = _tensor_list(tensors)
    for i, t in enumerate(tensors):
        check_input(t, "broadcast_tensors", f"tensors[{i}]")
    shape = broadcast_all([t._shape for t in tensors], "broadcast_tensors")
    return tuple(_v.expand(t, shape) for t in tensors)


def meshgrid(*tensors: Tensor, indexing: str | None = None) -> tuple:
    """Coordinate grids of 0- or 1-d tensors: output ``i`` varies along dim ``i``
    (``indexing='ij'``, the default) or with the first two dims swapped (``'xy'``)."""
    tensors = _tensor_list(tensors)
    if not tensors:
        raise RuntimeError("meshgrid expects a non-empty TensorList")
    indexing = "ij" if indexing is None else indexing
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f'torch.meshgrid: indexing must be one of "xy" or "ij", but '
                           f"received: {indexing}")
    for i, t in enumerate(tensors):
        check_input(t, "meshgrid", f"tensors[{i}]")
        if t.ndim > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list "
                               f"but got a tensor of shape {list(t._shape)}")
    if any(t._dtype is not tensors[0]._dtype for t in tensors):
        raise RuntimeError("meshgrid expects all tensors to have the same dtype")
    check_same_device(tensors, "meshgrid", [f"tensors[{i}]" for i in range(len(tensors))])
    sizes = [t.numel() for t in tensors]
    swap = indexing == "xy" and len(tensors) >= 2
    if swap:
        sizes[0], sizes[1] = sizes[1], sizes[0]
    n = len(tensors)
    out = []
    for i, t in enumerate(tensors):
        axis = {0: 1, 1: 0}.get(i, i) if swap else i
        view = tuple(-1 if d == axis else 1 for d in range(n))
        out.append(_v.expand(_v.reshape(t, view), sizes))
    return tuple(out)


def _check_1d(t: Any, name: str) -> None:
    check_input(t, name)
    if t.ndim != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(t._shape)}")


def cartesian_prod(*tensors: Tensor) -> Tensor:
    """Every tuple of the 1-d tensors' elements, ``(prod of lengths, N)`` in row-major
    order (``itertools.product``); a single tensor comes back as it is."""
    tensors = _tensor_list(tensors)
    for t in tensors:
        _check_1d(t, "cartesian_prod")
    if len(tensors) == 1:
        return tensors[0]
    from .joining import stack

    grids = meshgrid(*tensors, indexing="ij")
    return stack([_v.reshape(g, (-1,)) for g in grids], 1)


def combinations(input: Tensor, r: int = 2, with_replacement: bool = False) -> Tensor:
    """The length-``r`` combinations of the 1-d ``input``'s elements, ``(count, r)``, in the
    order of ``itertools.combinations`` (``combinations_with_replacement``)."""
    _check_1d(input, "combinations")
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    from .creation import tensor

    if r == 0:
        return tensor([], dtype=input._dtype, device=input._device)
    n = input._shape[0]
    pick = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    # which positions form each combination depends only on n and r: built on the host
    rows = list(pick(range(n), r))
    count = len(rows)
    index = tensor([i for row in rows for i in row] if count else [], dtype=_dt.int64,
                   device=input._device)
    from .gathering import index_select

    return _v.reshape(index_select(input, 0, index), (count, r))


__all__ = ["broadcast_shapes", "broadcast_tensors", "cartesian_prod", "combinations",
           "meshgrid"]
