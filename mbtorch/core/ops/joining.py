"""Joining and splitting: ``cat``/``concat``/``concatenate``, ``stack``, ``hstack``,
``vstack``, ``dstack``, ``split``, ``chunk``, ``tensor_split``-free ``unbind``, and constant
padding (``pad_constant``, called by ``mbtorch.nn.functional.pad``).

``CAT`` and ``CONSTANT_PAD`` are registered composites whose decompositions allocate the
output and fill it with the ``COPY_`` kernel through views; such a fill records no autograd
history, so both need (and guard for) their own derivative entries.
"""

from __future__ import annotations

from typing import Any, Sequence

from .. import dispatch
from ..meta import check_same_device, result_type
from ..op import Op, define
from ..tensor import Tensor, method_table, wrap_dim
from . import views as _v
from ._common import cast, empty_on, run, scalar_for
from ._index_common import require_derivative

TENSOR_METHODS: dict = {}
"""The ``Tensor`` methods this module provides, by name (installed by ``mbtorch.core.ops``)."""
tensor_method = method_table(TENSOR_METHODS)


def _fill(dst: Tensor, src: Any) -> None:
    dispatch.write(Op.COPY_, dst, src, fresh=True)


# -- cat -----------------------------------------------------------------------------------
@define(Op.CAT)
def _cat(*args: Any) -> Tensor:
    """``args``: the tensors (one dtype, device and rank), then ``dim``."""
    *tensors, dim = args
    require_derivative(Op.CAT, tuple(tensors))
    first = tensors[0]
    shape = list(first._shape)
    shape[dim] = sum(t._shape[dim] for t in tensors)
    out = empty_on(tuple(shape), first._dtype, first._device, first._be, "cat")
    start = 0
    for t in tensors:
        n = t._shape[dim]
        if n:
            _fill(_v.slice_dim(out, dim, start, start + n), t)
        start += n
    return out


def _is_legacy_empty(t: Tensor) -> bool:
    # PyTorch still skips 1-d empty tensors in cat, whatever the other shapes
    return t._shape == (0,)


def _check_cat(tensors: Sequence[Any], dim: int, op: str) -> tuple[list, int]:
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{op}(): argument 'tensors' must be tuple of Tensors, not "
                        f"{type(tensors).__name__}")
    if not tensors:
        raise ValueError(f"{op}(): expected a non-empty list of Tensors")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}(): expected Tensor as element {i} in argument 0, but got "
                            f"{type(t).__name__}")
    check_same_device(tensors, op, [f"tensors[{i}]" for i in range(len(tensors))])
    kept = [t for t in tensors if not _is_legacy_empty(t)] or [tensors[0]]
    ref = kept[0]
    if ref.ndim == 0:
        raise RuntimeError(f"{op}(): zero-dimensional tensor (at position 0) cannot be "
                           "concatenated")
    d = wrap_dim(dim, ref.ndim, op)
    for i, t in enumerate(tensors):
        if _is_legacy_empty(t) and len(kept) < len(tensors):
            continue
        if t.ndim != ref.ndim:
            raise RuntimeError(f"{op}(): Tensors must have same number of dimensions: got "
                               f"{ref.ndim} and {t.ndim}")
        for j in range(ref.ndim):
            if j != d and t._shape[j] != ref._shape[j]:
                raise RuntimeError(f"{op}(): Sizes of tensors must match except in dimension "
                                   f"{d}. Expected size {ref._shape[j]} but got size "
                                   f"{t._shape[j]} for tensor number {i} in "
                                   "the list.")
    return kept, d


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join ``tensors`` along existing dim ``dim`` (dtypes promote as in PyTorch)."""
    kept, d = _check_cat(tensors, dim, "cat")
    dtype = result_type(list(tensors), "cat")
    kept = [cast(t, dtype, "cat") for t in kept]
    if len(kept) == 1:
        from .copying import clone

        return clone(kept[0])
    shape = list(kept[0]._shape)
    shape[d] = sum(t._shape[d] for t in kept)
    return run(Op.CAT, tuple(kept), (d,), (tuple(shape), dtype), kept[0]._device, kept[0]._be)


def concat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    return cat(tensors, dim)


def concatenate(tensors: Sequence[Tensor], axis: int = 0, *, dim: int | None = None) -> Tensor:
    return cat(tensors, axis if dim is None else dim)


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join equally shaped ``tensors`` along a new dim ``dim``."""
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"stack(): argument 'tensors' must be tuple of Tensors, not "
                        f"{type(tensors).__name__}")
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"stack(): expected Tensor as element {i} in argument 0, but got "
                            f"{type(t).__name__}")
        if t._shape != tensors[0]._shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{list(tensors[0]._shape)} at entry 0 and {list(t._shape)} at "
                               f"entry {i}")
    d = wrap_dim(dim, tensors[0].ndim + 1, "stack")
    return cat([_v.unsqueeze(t, d) for t in tensors], d)


def atleast_1d(*tensors: Any) -> Any:
    out = [t if t.ndim >= 1 else _v.reshape(t, (1,)) for t in _flat_args(tensors)]
    return out[0] if len(out) == 1 else tuple(out)


def atleast_2d(*tensors: Any) -> Any:
    out = []
    for t in _flat_args(tensors):
        out.append(t if t.ndim >= 2 else _v.reshape(t, (1, t.numel()) if t.ndim else (1, 1)))
    return out[0] if len(out) == 1 else tuple(out)


def atleast_3d(*tensors: Any) -> Any:
    out = []
    for t in _flat_args(tensors):
        if t.ndim == 0:
            t = _v.reshape(t, (1, 1, 1))
        elif t.ndim == 1:
            t = _v.reshape(t, (1, t._shape[0], 1))
        elif t.ndim == 2:
            t = _v.unsqueeze(t, -1)
        out.append(t)
    return out[0] if len(out) == 1 else tuple(out)


def _flat_args(tensors: tuple) -> list:
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        return list(tensors[0])
    return list(tensors)


def hstack(tensors: Sequence[Tensor]) -> Tensor:
    ts = [atleast_1d(t) for t in tensors]
    return cat(ts, 0 if ts and ts[0].ndim == 1 else 1)


def vstack(tensors: Sequence[Tensor]) -> Tensor:
    return cat([atleast_2d(t) for t in tensors], 0)


row_stack = vstack


def dstack(tensors: Sequence[Tensor]) -> Tensor:
    return cat([atleast_3d(t) for t in tensors], 2)


def column_stack(tensors: Sequence[Tensor]) -> Tensor:
    return hstack([_v.reshape(t, (t.numel(), 1)) if t.ndim <= 1 else t for t in tensors])


# -- splitting (views) ---------------------------------------------------------------------
@tensor_method
def split(tensor: Tensor, split_size_or_sections: Any, dim: int = 0) -> tuple:
    """Views of ``tensor`` in pieces of ``split_size`` (the last may be smaller) or of the
    listed sizes."""
    if tensor.ndim == 0:
        raise RuntimeError("split expects at least a 1-dimensional tensor")
    d = wrap_dim(dim, tensor.ndim, "split")
    size = tensor._shape[d]
    if isinstance(split_size_or_sections, (list, tuple)):
        sizes = [int(s) for s in split_size_or_sections]
        if sum(sizes) != size or any(s < 0 for s in sizes):
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {size} "
                               f"(input tensor's size at dimension {d}), but got "
                               f"split_sizes={sizes}")
    else:
        step = int(split_size_or_sections)
        if step < 0:
            raise RuntimeError(f"split expects split_size be non-negative, but got "
                               f"split_size={step}")
        if step == 0:
            if size:
                raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got "
                                   f"dimension size of {size}")
            return (_v.slice_dim(tensor, d, 0, 0),)
        sizes = [min(step, size - s) for s in range(0, size, step)] or [0]
    out, start = [], 0
    for s in sizes:
        out.append(_v.slice_dim(tensor, d, start, start + s))
        start += s
    return tuple(out)


@tensor_method
def split_with_sizes(self: Tensor, split_sizes: Sequence[int], dim: int = 0) -> tuple:
    return split(self, list(split_sizes), dim)


@tensor_method
def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    """At most ``chunks`` views of equal size ``ceil(n / chunks)`` (the last may be
    smaller)."""
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    if input.ndim == 0:
        raise RuntimeError("chunk expects at least a 1-dimensional tensor")
    d = wrap_dim(dim, input.ndim, "chunk")
    size = input._shape[d]
    step = -(-size // chunks)
    if step == 0:
        return tuple(_v.slice_dim(input, d, 0, 0) for _ in range(chunks))
    return split(input, step, d)


@tensor_method
def unbind(input: Tensor, dim: int = 0) -> tuple:
    """The slices along ``dim`` as a tuple of views, that dim removed."""
    if input.ndim == 0:
        raise IndexError("unbind(): Dimension specified as 0 but tensor has no dimensions")
    d = wrap_dim(dim, input.ndim, "unbind")
    return tuple(_v.select(input, d, i) for i in range(input._shape[d]))


# -- constant padding ----------------------------------------------------------------------
@define(Op.CONSTANT_PAD)
def _constant_pad(x: Tensor, pad: tuple, value: Any) -> Tensor:
    """``pad``: non-negative ``(before, after)`` per dim, all dims listed, first dim first."""
    require_derivative(Op.CONSTANT_PAD, (x,))
    shape = tuple(s + lo + hi for s, (lo, hi) in zip(x._shape, pad))
    out = empty_on(shape, x._dtype, x._device, x._be, "pad")
    _fill(out, value)
    if x.numel():
        inner = out
        for d, (lo, _) in enumerate(pad):
            inner = _v.slice_dim(inner, d, lo, lo + x._shape[d])
        _fill(inner, x)
    return out


def pad_constant(input: Tensor, pad: Sequence[int], value: Any = 0) -> Tensor:
    """``torch.nn.functional.pad(input, pad, 'constant', value)``: ``pad`` lists
    ``(left, right)`` pairs from the last dim backwards; negative amounts crop."""
    pad = [int(p) for p in pad]
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pad) // 2 > input.ndim:
        raise RuntimeError(f"Padding length should be less than or equal to two times the "
                           f"input dimension but got padding length {len(pad)} and input of "
                           f"dimension {input.ndim}")
    pairs = [(0, 0)] * input.ndim
    for i in range(len(pad) // 2):
        pairs[input.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    x = input
    for d, (lo, hi) in enumerate(pairs):
        size = input._shape[d]
        if size + lo + hi < 0:
            raise RuntimeError(f"The input size {size}, plus negative padding {lo} and {hi} "
                               f"resulted in a negative output size, which is invalid. Check "
                               f"dimension {d} of your input.")
        if lo < 0 or hi < 0:  # crop first: a view
            x = _v.slice_dim(x, d, max(-lo, 0), x._shape[d] - max(-hi, 0))
    pairs = tuple((max(lo, 0), max(hi, 0)) for lo, hi in pairs)
    if value is None:
        value = 0
    if isinstance(value, Tensor):
        value = value.item()
    value = scalar_for(value, x._dtype)
    shape = tuple(s + lo + hi for s, (lo, hi) in zip(x._shape, pairs))
    return run(Op.CONSTANT_PAD, (x,), (pairs, value), (shape, x._dtype), x._device, x._be)


__all__ = [
    "atleast_1d", "atleast_2d", "atleast_3d", "cat", "chunk", "column_stack", "concat",
    "concatenate", "dstack", "hstack", "row_stack", "split", "stack", "unbind", "vstack",
]
