"""Questions about tensors and type conversion by example: ``is_tensor``,
``is_floating_point``, ``is_nonzero``, ``numel`` and ``Tensor.type_as``."""

from __future__ import annotations

from typing import Any

from ..layout import strided
from ..tensor import Tensor, method_table
from ._reduce import check_input

TENSOR_METHODS: dict = {}
"""The ``Tensor`` methods this module provides, by name (installed by ``mbtorch.core.ops``)."""
tensor_method = method_table(TENSOR_METHODS)


def is_tensor(obj: Any) -> bool:
    """True if ``obj`` is an mbtorch tensor (a ``Parameter`` included)."""
    return isinstance(obj, Tensor)


def is_floating_point(input: Tensor) -> bool:
    """True if ``input``'s dtype is a floating dtype (float16, bfloat16, float32, float64)."""
    return check_input(input, "is_floating_point").is_floating_point()


def numel(input: Tensor) -> int:
    """The number of elements of ``input``."""
    return check_input(input, "numel").numel()


@tensor_method
def is_nonzero(input: Tensor) -> bool:
    """The truth value of a one-element tensor; an error for any other size."""
    check_input(input, "is_nonzero")
    n = input.numel()
    if n == 0:
        raise RuntimeError("Boolean value of Tensor with no values is ambiguous")
    if n > 1:
        raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
    return bool(input.item())


@tensor_method
def type_as(self: Tensor, other: Tensor) -> Tensor:
    """``self`` converted to ``other``'s dtype and device (``self`` itself when it already has
    both), as ``self.type(other.type())`` in PyTorch."""
    check_input(other, "type_as", "other")
    return self.to(device=other._device, dtype=other._dtype)


__all__ = ["is_floating_point", "is_nonzero", "is_tensor", "numel"]


# a dense tensor's layout; ``mbtorch.sparse`` holds the sparse one (loaded by ``to_sparse``)
TENSOR_METHODS["layout"] = property(lambda self: strided, doc="``torch.strided``")
TENSOR_METHODS["is_sparse"] = property(lambda self: False, doc="False: a dense tensor")


@tensor_method
def to_sparse(input: Tensor, sparse_dim: int | None = None) -> Any:
    """``input`` as a sparse COO tensor (``mbtorch.sparse``), zeros dropped."""
    from ...sparse import to_sparse as convert

    return convert(input, sparse_dim)
