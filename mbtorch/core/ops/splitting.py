"""Splitting a tensor into views: ``tensor_split`` and the numpy-style ``hsplit``, ``vsplit``,
``dsplit``.

Every piece is a view (a ``slice_dim`` of the input), as in PyTorch, so the pieces share
storage with the input and carry its gradient. Index lists follow Python's slice rules
(negative indices count from the end, indices past the end give empty pieces).
"""

from __future__ import annotations

from typing import Any

from .. import dtypes as _dt
from ..tensor import Tensor, method_table, wrap_dim
from . import views as _v

TENSOR_METHODS: dict = {}
"""The ``Tensor`` methods this module provides, by name (installed by ``mbtorch.core.ops``)."""
tensor_method = method_table(TENSOR_METHODS)


def _check(input: Any, name: str) -> None:
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' must be Tensor, not "
                        f"{type(input).__name__}")


def _sections(x: Tensor, d: int, sections: int) -> tuple:
    if sections <= 0:
        raise RuntimeError(f"number of sections must be larger than 0, got {sections}")
    n = x._shape[d]
    small, extra = divmod(n, sections)
    out, start = [], 0
    for i in range(sections):
        size = small + (1 if i < extra else 0)
        out.append(_v.slice_dim(x, d, start, start + size))
        start += size
    return tuple(out)


def _at_indices(x: Tensor, d: int, indices: list) -> tuple:
    n = x._shape[d]
    bounds = [0] + indices + [n]
    out = []
    for a, b in zip(bounds, bounds[1:]):
        start, stop, _ = slice(a, b).indices(n)
        out.append(_v.slice_dim(x, d, start, max(start, stop)))
    return tuple(out)


def _parse_split_arg(arg: Any) -> Any:
    """An int (number of sections) or a list of indices from torch's accepted forms."""
    if isinstance(arg, Tensor):
        if arg._dtype is not _dt.int64:
            raise RuntimeError("tensor_split expected tensor_indices_or_sections to have dtype "
                               f"of long, but got {arg._dtype.scalar_name}")
        if arg.ndim > 1:
            raise RuntimeError("tensor_split expected tensor_indices_or_sections to be a "
                               "zero-dimensional or one-dimensional tensor, but got a tensor "
                               f"with {arg.ndim} dims")
        return int(arg.item()) if arg.ndim == 0 else [int(v) for v in arg.tolist()]
    if isinstance(arg, (list, tuple)):
        return [int(v) for v in arg]
    if isinstance(arg, bool) or not isinstance(arg, int):
        raise TypeError("tensor_split(): argument 'indices_or_sections' must be int, tuple of "
                        f"ints or Tensor, not {type(arg).__name__}")
    return arg


@tensor_method
def tensor_split(input: Tensor, indices_or_sections: Any, dim: int = 0) -> tuple:
    """Views of ``input`` along ``dim``: ``n`` near-equal sections (the first ``size % n``
    one longer) for an int, or the pieces between the listed indices.

    >>> [t.tolist() for t in mbtorch.tensor_split(mbtorch.arange(5), 2)]
    [[0, 1, 2], [3, 4]]
    """
    _check(input, "tensor_split")
    if input.ndim == 0:
        raise RuntimeError("tensor_split expected at least a 1-dimensional tensor, but got a "
                           "tensor with 0 dims")
    d = wrap_dim(dim, input.ndim, "tensor_split")
    arg = _parse_split_arg(indices_or_sections)
    if isinstance(arg, int):
        return _sections(input, d, arg)
    return _at_indices(input, d, arg)


def _numpy_split(input: Tensor, arg: Any, d: int, name: str) -> tuple:
    if isinstance(arg, int) and not isinstance(arg, bool):
        size = input._shape[d]
        if arg == 0 or size % arg:
            raise RuntimeError(f"torch.{name} attempted to split along dimension {d}, but the "
                               f"size of the dimension {size} is not divisible by the "
                               f"split_size {arg}!")
    return tensor_split(input, arg, d)


@tensor_method
def hsplit(input: Tensor, indices_or_sections: Any) -> tuple:
    """``tensor_split`` along dim 1 (dim 0 for a 1-d tensor); an int must divide the size."""
    _check(input, "hsplit")
    if input.ndim < 1:
        raise RuntimeError("torch.hsplit requires a tensor with at least 1 dimension, but got "
                           "a tensor with 0 dimensions!")
    return _numpy_split(input, indices_or_sections, 0 if input.ndim == 1 else 1, "hsplit")


@tensor_method
def vsplit(input: Tensor, indices_or_sections: Any) -> tuple:
    """``tensor_split`` along dim 0 of an at least 2-d tensor; an int must divide the size."""
    _check(input, "vsplit")
    if input.ndim < 2:
        raise RuntimeError("torch.vsplit requires a tensor with at least 2 dimension, but got "
                           f"a tensor with {input.ndim} dimensions!")
    return _numpy_split(input, indices_or_sections, 0, "vsplit")


@tensor_method
def dsplit(input: Tensor, indices_or_sections: Any) -> tuple:
    """``tensor_split`` along dim 2 of an at least 3-d tensor; an int must divide the size."""
    _check(input, "dsplit")
    if input.ndim < 3:
        raise RuntimeError("torch.dsplit requires a tensor with at least 3 dimension, but got "
                           f"a tensor with {input.ndim} dimensions!")
    return _numpy_split(input, indices_or_sections, 2, "dsplit")


__all__ = ["dsplit", "hsplit", "tensor_split", "vsplit"]
