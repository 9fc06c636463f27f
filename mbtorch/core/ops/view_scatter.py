"""Out-of-place writes into a view: ``slice_scatter``, ``select_scatter``, ``diagonal_scatter``,
``as_strided_scatter``, and ``diagflat``.

Each ``*_scatter`` returns a copy of ``input`` with ``src`` in the place the matching view
selects. The place is found by taking that view of a tensor of flat positions
(``arange(numel).reshape(shape)``), and the write is one ``scatter`` into the flattened input,
so the result is differentiable with respect to both ``input`` and ``src`` on every backend
(no in-place write into a view of a graph tensor).
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from ..tensor import Tensor, method_table, wrap_dim
from . import views as _v
from ._common import cast
from .creation import iota
from .gathering import scatter
from .matrices import diag

TENSOR_METHODS: dict = {}
"""The ``Tensor`` methods this module provides, by name (installed by ``mbtorch.core.ops``)."""
tensor_method = method_table(TENSOR_METHODS)


def _check(input: Any, src: Any, name: str) -> None:
    for arg, t in (("input", input), ("src", src)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}(): argument '{arg}' must be Tensor, not "
                            f"{type(t).__name__}")


def _scatter_into(input: Tensor, src: Tensor, view_of: Callable[[Tensor], Tensor]) -> Tensor:
    """``input`` with ``src`` written where ``view_of`` (a view function) points."""
    n = input.numel()
    positions = view_of(_v.reshape(iota(n, input._device, input._be), input._shape))
    if tuple(src._shape) != tuple(positions._shape):
        raise RuntimeError("expected src to have a size equal to the slice of self. src size = "
                           f"{list(src._shape)}, slice size = {list(positions._shape)}")
    flat = _v.reshape(input, (-1,))
    if positions.numel() == 0:
        return input.clone()
    out = scatter(flat, 0, _v.reshape(positions, (-1,)),
                  _v.reshape(cast(src, input._dtype), (-1,)))
    return _v.reshape(out, input._shape)


@tensor_method
def slice_scatter(input: Tensor, src: Tensor, dim: int = 0, start: int | None = None,
                  end: int | None = None, step: int = 1) -> Tensor:
    """A copy of ``input`` with ``src`` in ``input[..., start:end:step, ...]`` along ``dim``.

    >>> mbtorch.slice_scatter(mbtorch.zeros(4), mbtorch.ones(2), 0, 0, 4, 2)
    tensor([1., 0., 1., 0.])
    """
    _check(input, src, "slice_scatter")
    if step <= 0:
        raise RuntimeError("slice step must be positive")
    d = wrap_dim(dim, input.ndim, "slice_scatter")
    return _scatter_into(input, src, lambda p: _v.slice_dim(p, d, start, end, step))


@tensor_method
def select_scatter(input: Tensor, src: Tensor, dim: int, index: int) -> Tensor:
    """A copy of ``input`` with ``src`` in ``input.select(dim, index)``."""
    _check(input, src, "select_scatter")
    return _scatter_into(input, src, lambda p: _v.select(p, dim, index))


@tensor_method
def diagonal_scatter(input: Tensor, src: Tensor, offset: int = 0, dim1: int = 0,
                     dim2: int = 1) -> Tensor:
    """A copy of ``input`` with ``src`` on ``input.diagonal(offset, dim1, dim2)``."""
    _check(input, src, "diagonal_scatter")
    return _scatter_into(input, src, lambda p: _v.diagonal(p, offset, dim1, dim2))


@tensor_method
def as_strided_scatter(input: Tensor, src: Tensor, size: Sequence[int], stride: Sequence[int],
                       storage_offset: int | None = None) -> Tensor:
    """A copy of ``input`` with ``src`` in ``input.as_strided(size, stride, storage_offset)``
    (the geometry taken over ``input``'s elements in row-major order, as for a contiguous
    ``input``)."""
    _check(input, src, "as_strided_scatter")
    offset = 0 if storage_offset is None else storage_offset
    return _scatter_into(input, src,
                         lambda p: _v.as_strided(p, size, stride, p._offset + offset))


@tensor_method
def diagflat(input: Tensor, offset: int = 0) -> Tensor:
    """A square matrix with the flattened ``input`` on diagonal ``offset``.

    >>> mbtorch.diagflat(mbtorch.tensor([[1, 2]]))
    tensor([[1, 0],
            [0, 2]])
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"diagflat(): argument 'input' must be Tensor, not "
                        f"{type(input).__name__}")
    return diag(_v.reshape(input, (-1,)), offset)


__all__ = ["as_strided_scatter", "diagflat", "diagonal_scatter", "select_scatter",
           "slice_scatter"]
