"""Writes at positions given by an index or a mask: ``index_fill``, ``index_copy``,
``masked_scatter``, with their in-place forms.

All three are compositions with derivative-carrying ops: ``index_fill`` is a WHERE against a
mask built by scattering the index, ``index_copy`` a SCATTER of ``source`` slices, and
``masked_scatter`` a GATHER of ``source`` at the running count of the mask, then a WHERE; so
gradients reach ``input`` (where it is kept) and ``source``/``value`` (where they land).
"""

from __future__ import annotations

from typing import Any

from .. import dtypes as _dt
from ..meta import broadcast_shapes, check_same_device
from ..tensor import Tensor, method_table, wrap_dim
from . import binary as _b
from . import unary as _u
from . import views as _v
from ._common import cast, scalar_for
from ._index_common import check_bounds, wrap_negative
from ._reduce import check_input
from .copying import write_result

TENSOR_METHODS: dict = {}
"""The ``Tensor`` methods this module provides, by name (installed by ``mbtorch.core.ops``)."""
tensor_method = method_table(TENSOR_METHODS)


class _CopyOutOfBounds(IndexError):
    def __init__(self, message: str) -> None:
        super().__init__(f"index_copy_(): {message}")


def _slice_mask(index: Tensor, size: int, d: int, ndim: int, like: Tensor) -> Tensor:
    """A bool tensor, True at the positions ``index`` names along dim ``d``, shaped to
    broadcast against ``like`` (size ``size`` along ``d``, 1 elsewhere)."""
    from .creation import zeros
    from .gathering import scatter

    flat = _v.reshape(index, (-1,))
    hit = scatter(zeros(size, dtype=_dt.bool, device=like._device), 0, flat, True)
    return _v.reshape(hit, tuple(size if i == d else 1 for i in range(ndim)))


@tensor_method
def index_fill(input: Tensor, dim: int, index: Tensor, value: Any) -> Tensor:
    """A copy of ``input`` with the slices at ``index`` along ``dim`` set to ``value`` (a
    number or a 0-d tensor); negative indices count from the end."""
    check_input(input, "index_fill")
    check_input(index, "index_fill", "index")
    d = wrap_dim(dim, input.ndim, "index_fill")
    if index._dtype is not _dt.int64:
        raise IndexError("index_fill_(): Expected dtype int64 for index.")
    if index.ndim > 1:
        raise RuntimeError("Index has to be a vector/scalar")
    check_same_device((input, index), "index_fill", ("input", "index"))
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(f"index_fill_ only supports a 0-dimensional value tensor, but "
                               f"got tensor with {value.ndim} dimension(s).")
        value = cast(value, input._dtype)
    elif type(value) in (bool, int, float):
        value = scalar_for(value, input._dtype)
    else:
        raise TypeError(f"index_fill(): argument 'value' must be Number or Tensor, not "
                        f"{type(value).__name__}")
    size = input._shape[d] if input.ndim else 1
    if index.numel() == 0:
        return input.clone()
    check_bounds(index, size, d)
    mask = _slice_mask(wrap_negative(index, size), size, d, max(input.ndim, 1), input)
    if input.ndim == 0:
        mask = _v.reshape(mask, ())
    from .unary import where

    return where(mask, value, input)


def _check_copy(input: Tensor, d: int, index: Tensor, source: Tensor) -> None:
    if index._dtype is not _dt.int64:
        raise RuntimeError(f"index_copy_(): Expected a long tensor for index, but got "
                           f"{index._dtype.scalar_name}")
    if index.ndim > 1:
        raise IndexError("index_copy_(): Index should have dimension 1 or 0 (got "
                         f"{index.ndim})")
    if source._dtype is not input._dtype:
        raise RuntimeError(f"index_copy_(): self and source expected to have the same dtype, "
                           f"but got (self) {input._dtype.scalar_name} and (source) "
                           f"{source._dtype.scalar_name}")
    if input.ndim and source.ndim and source.ndim != input.ndim:
        raise IndexError(f"index_copy_(): When source and destination are not scalars, their "
                         f"dimensionality must match. Source dimensionality ({source.ndim}), "
                         f"destination dimensionality ({input.ndim})")
    n_src = source._shape[d] if source.ndim else 1
    if index.numel() != n_src:
        raise IndexError(f"index_copy_(): Number of indices ({index.numel()}) should be equal "
                         f"to source.size(dim) ({n_src})")
    for i in range(source.ndim):
        if i != d and source._shape[i] != input._shape[i]:
            raise RuntimeError(f"index_copy_(): Source/destination tensor must have same slice "
                               f"shapes. Destination slice shape: {input._shape[i]} at "
                               f"dimension {i} and source slice shape: {source._shape[i]} at "
                               f"dimension 0.")


@tensor_method
def index_copy(input: Tensor, dim: int, index: Tensor, source: Tensor) -> Tensor:
    """A copy of ``input`` whose slice ``index[i]`` along ``dim`` is ``source``'s slice ``i``
    (with repeated indices, which source slice lands is unspecified, as in PyTorch)."""
    check_input(input, "index_copy")
    check_input(index, "index_copy", "index")
    check_input(source, "index_copy", "source")
    d = wrap_dim(dim, input.ndim, "index_copy")
    _check_copy(input, d, index, source)
    check_same_device((input, index, source), "index_copy", ("input", "index", "source"))
    size = input._shape[d] if input.ndim else 1
    if index.numel() == 0:
        return input.clone()
    check_bounds(index, size, d, negative=False, exc=_CopyOutOfBounds)
    from .gathering import scatter

    if input.ndim == 0 or source.ndim == 0:
        x = _v.reshape(input, (-1,)) if input.ndim == 0 else input
        out = scatter(x, 0, _v.reshape(index, (1,)), _v.reshape(source, (1,)))
        return _v.reshape(out, input._shape)
    view = tuple(-1 if i == d else 1 for i in range(input.ndim))
    idx = _v.expand(_v.reshape(index, view), source._shape)
    return scatter(input, d, idx, source)


def _check_scatter_args(input: Tensor, mask: Any, source: Any, name: str) -> None:
    check_input(input, name)
    check_input(mask, name, "mask")
    check_input(source, name, "source")
    if mask._dtype is not _dt.bool:
        raise RuntimeError(f"masked_scatter_ only supports boolean masks, but got mask with "
                           f"dtype {mask._dtype.scalar_name}")
    if source._dtype is not input._dtype:
        raise RuntimeError(f"masked_scatter: expected self and source to have same dtypes but "
                           f"got{input._dtype.scalar_name} and {source._dtype.scalar_name}")
    check_same_device((input, mask, source), name, ("input", "mask", "source"))


@tensor_method
def masked_scatter(input: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    """``input`` (broadcast with ``mask``) with the True positions of ``mask`` filled, in
    row-major order, by the leading elements of ``source``."""
    _check_scatter_args(input, mask, source, "masked_scatter")
    shape = broadcast_shapes(input._shape, mask._shape, "masked_scatter")
    x, m = _v.expand(input, shape), _v.expand(mask, shape)
    flat_mask = _v.reshape(m, (-1,))
    from .reductions import sum as sum_
    from .scans import cumsum
    from .unary import where

    count = int(sum_(flat_mask).item()) if flat_mask.numel() else 0
    if count > source.numel():
        raise RuntimeError("Number of elements of source < number of ones in mask")
    if count == 0:
        return x.clone()
    # the k-th True position takes source's k-th element: k is the running count minus one
    slot = _u.clamp_min(_b.sub(cumsum(flat_mask, 0), 1), 0)
    from .gathering import _gather_run

    picked = _gather_run(_v.reshape(source, (-1,)), 0, slot)
    return where(m, _v.reshape(picked, shape), x)


def _masked_scatter_(self: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    _check_scatter_args(self, mask, source, "masked_scatter_")
    if broadcast_shapes(self._shape, mask._shape, "masked_scatter_") != self._shape:
        raise RuntimeError(f"masked_scatter_(): output with shape {list(self._shape)} doesn't "
                           f"match the broadcast shape "
                           f"{list(broadcast_shapes(self._shape, mask._shape))}")
    return write_result(self, masked_scatter(self, mask, source), "masked_scatter_")


def _index_fill_(self: Tensor, dim: int, index: Tensor, value: Any) -> Tensor:
    return write_result(self, index_fill(self, dim, index, value), "index_fill_")


def _index_copy_(self: Tensor, dim: int, index: Tensor, source: Tensor) -> Tensor:
    return write_result(self, index_copy(self, dim, index, source), "index_copy_")


TENSOR_METHODS["masked_scatter_"] = _masked_scatter_
TENSOR_METHODS["index_fill_"] = _index_fill_
TENSOR_METHODS["index_copy_"] = _index_copy_

__all__ = ["index_copy", "index_fill", "masked_scatter"]
