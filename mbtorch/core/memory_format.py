"""Memory formats (``torch.memory_format``): the order in which a dense tensor's dimensions
are laid out in its storage.

A tensor in ``channels_last`` is, as in PyTorch, an (N, C, H, W) tensor whose storage is
(N, H, W, C): strides ``(H*W*C, 1, W*C, C)``. mbtorch builds it from what every backend has —
a row-major buffer in the permuted order, and a ``permute`` view of it back to the logical
order — so the strides are real and a backend needs nothing new. (The view's ``_base`` is that
buffer; PyTorch's tensor has none.)

``preserve_format`` follows PyTorch's ``empty_like``: a dense tensor keeps its dimension
order, any other gets the order its strides suggest (``infer_dense_strides``).
"""

from __future__ import annotations

from typing import Any, Callable

from .layout import NamedConstant
from .tensor import Tensor, is_contiguous_layout

__all__ = [
    "memory_format", "contiguous_format", "channels_last", "channels_last_3d",
    "preserve_format", "legacy_contiguous_format", "check_format", "format_order",
    "is_contiguous_as", "suggest_format", "preserve_order", "inverse_order", "in_order",
    "allocate_in_order", "contiguous_as",
]


class memory_format(NamedConstant):  # noqa: N801 - torch's spelling
    """A memory format."""

    __slots__ = ()


contiguous_format = memory_format("contiguous_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")
preserve_format = memory_format("preserve_format")
legacy_contiguous_format = contiguous_format  # the same object in PyTorch

# outermost-first dimension orders of the channels-last formats, and the rank each needs
_CHANNELS_LAST = {channels_last: (4, (0, 2, 3, 1)), channels_last_3d: (5, (0, 2, 3, 4, 1))}


def check_format(fmt: Any, op: str) -> memory_format:
    if not isinstance(fmt, memory_format):
        raise TypeError(f"{op}(): argument 'memory_format' must be torch.memory_format, not "
                        f"{type(fmt).__name__}")
    return fmt


def format_order(ndim: int, fmt: memory_format, op: str) -> tuple[int, ...] | None:
    """The outermost-first dimension order ``fmt`` lays out, None for row-major."""
    if fmt is contiguous_format:
        return None
    if fmt is preserve_format:
        raise RuntimeError(f"{op}(): unsupported memory format Preserve")
    rank, order = _CHANNELS_LAST[fmt]
    if ndim != rank:
        name = "channels_last" if rank == 4 else "channels_last_3d"
        raise RuntimeError(f"required rank {rank} tensor to use {name} format")
    return order


def is_contiguous_as(shape: tuple[int, ...], strides: tuple[int, ...],
                     fmt: memory_format) -> bool:
    """PyTorch's ``is_contiguous(memory_format)``: a channels-last format asks for its order
    (size-1 dims' strides don't matter); any other format asks for row-major."""
    entry = _CHANNELS_LAST.get(fmt)
    if entry is None:
        return is_contiguous_layout(shape, strides)
    rank, order = entry
    if len(shape) != rank:
        return False
    expected = 1
    for d in reversed(order):
        if shape[d] != 1:
            if strides[d] != expected:
                return False
            expected *= shape[d]
    return True


def suggest_format(shape: tuple[int, ...], strides: tuple[int, ...]) -> memory_format:
    """PyTorch's ``suggest_memory_format``: the channels-last format whose dimension order the
    strides follow (dense or not), else ``contiguous_format``."""
    entry = _CHANNELS_LAST.get(channels_last if len(shape) == 4 else channels_last_3d)
    if entry is None or len(shape) != entry[0] or strides[1] == 0:
        return contiguous_format
    minimum = 0
    for d in reversed(entry[1]):
        if shape[d] == 0 or strides[d] < minimum:
            return contiguous_format
        if d == 0 and minimum == strides[1]:  # ambiguous (N111): PyTorch defaults to NCHW
            return contiguous_format
        minimum = strides[d] * (shape[d] if shape[d] > 1 else 1)
    return channels_last if len(shape) == 4 else channels_last_3d


def preserve_order(t: Tensor) -> tuple[int, ...] | None:
    """PyTorch's ``infer_dense_strides`` as an outermost-first order (None for row-major): dims
    sorted by stride, a stable insertion sort where 0 strides don't move and equal strides
    put the smaller size inside."""
    shape, strides = t._shape, t.stride()
    perm = list(range(len(shape) - 1, -1, -1))  # innermost first

    def should_swap(a: int, b: int) -> int:
        sa, sb = strides[a], strides[b]
        if sa == 0 or sb == 0:
            return 0
        if sa != sb:
            return -1 if sa < sb else 1
        return 1 if shape[a] > shape[b] else 0

    for i in range(1, len(perm)):
        j = i
        for k in range(i - 1, -1, -1):
            c = should_swap(perm[k], perm[j])
            if c > 0:
                perm[k], perm[j] = perm[j], perm[k]
                j = k
            elif c < 0:
                break
    order = tuple(reversed(perm))
    return None if order == tuple(range(len(shape))) else order


def inverse_order(order: tuple[int, ...]) -> tuple[int, ...]:
    """The permutation that undoes ``permute(order)``."""
    inv = [0] * len(order)
    for j, d in enumerate(order):
        inv[d] = j
    return tuple(inv)


def allocate_in_order(shape: tuple[int, ...], order: tuple[int, ...] | None,
                      allocate: Callable[[tuple[int, ...]], Tensor]) -> Tensor:
    """A tensor of ``shape`` whose storage is row-major in ``order``: ``allocate`` makes the
    buffer in that order, a ``permute`` view puts the dimensions back."""
    if order is None:
        return allocate(shape)
    buffer = allocate(tuple(shape[d] for d in order))
    return buffer.permute(inverse_order(order))


def in_order(x: Tensor, order: tuple[int, ...] | None, copy: Callable[[Tensor], Tensor]) -> Tensor:
    """A copy of ``x`` laid out in ``order`` (differentiable: a permute, a row-major
    ``copy``, a permute back)."""
    if order is None:
        return copy(x)
    return copy(x.permute(order)).permute(inverse_order(order))


def contiguous_as(x: Tensor, fmt: Any, copy: Callable[[Tensor], Tensor]) -> Tensor:
    """``x.contiguous(memory_format=fmt)``: ``x`` itself when it already is."""
    fmt = check_format(fmt, "contiguous")
    if is_contiguous_as(x._shape, x.stride(), fmt):
        return x
    if fmt is preserve_format:
        raise RuntimeError("contiguous(): preserve memory format is unsupported by the "
                           "contiguous operator")
    return in_order(x, format_order(x.ndim, fmt, "contiguous"), copy)
