"""Sorting and selection by rank: ``sort``, ``argsort``, ``msort``, ``topk``, ``kthvalue``,
``unique``. All stand on the stable ``SORT`` primitive (NaN sorts above +inf)."""

from __future__ import annotations

from collections import namedtuple
from typing import Any

from .. import dtypes as _dt
from ..op import Op
from ..tensor import Tensor, method_table, wrap_dim
from . import binary as _b
from . import views as _v
from ._common import run
from ._index_common import iota

TENSOR_METHODS: dict = {}
"""The ``Tensor`` methods this module provides, by name (installed by ``mbtorch.core.ops``)."""
tensor_method = method_table(TENSOR_METHODS)

# PyTorch returns named tuples (torch.return_types.sort, ...)
SortResult = namedtuple("sort", ["values", "indices"])
TopkResult = namedtuple("topk", ["values", "indices"])
KthvalueResult = namedtuple("kthvalue", ["values", "indices"])


def _check_tensor(x: Any, op: str) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(x).__name__}")


def _sort(x: Tensor, d: int, descending: bool) -> tuple[Tensor, Tensor]:
    if x._dtype.is_complex:
        raise RuntimeError("sort(): Sort does not support complex dtypes on CPU")
    if x.ndim == 0:
        v, i = _sort(_v.reshape(x, (1,)), 0, descending)
        return _v.reshape(v, ()), _v.reshape(i, ())
    meta = [(x._shape, x._dtype), (x._shape, _dt.int64)]
    return run(Op.SORT, (x,), (d, bool(descending)), meta, x._device, x._be)


@tensor_method
def sort(input: Tensor, dim: int = -1, descending: bool = False, *,
         stable: bool = False) -> SortResult:
    """``(values, indices)`` sorted along ``dim``; always stable here (``stable`` is accepted
    for PyTorch compatibility: equal elements keep their order)."""
    _check_tensor(input, "sort")
    d = wrap_dim(dim, input.ndim, "sort")
    return SortResult(*_sort(input, d, descending))


@tensor_method
def argsort(input: Tensor, dim: int = -1, descending: bool = False, *,
            stable: bool = False) -> Tensor:
    return sort(input, dim, descending).indices


@tensor_method
def msort(input: Tensor) -> Tensor:
    return sort(input, 0).values


def _contiguous(x: Tensor) -> Tensor:
    from .copying import contiguous

    return contiguous(x)


@tensor_method
def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True,
         sorted: bool = True) -> TopkResult:  # noqa: A002 - torch's name
    """The ``k`` largest (or smallest) elements along ``dim``, in sorted order."""
    _check_tensor(input, "topk")
    d = wrap_dim(dim, input.ndim, "topk")
    size = input._shape[d] if input.ndim else 1
    if not 0 <= k <= size:
        raise RuntimeError("topk(): selected index k out of range")
    v, i = _sort(input, d, largest)
    if input.ndim:
        v, i = _v.slice_dim(v, d, 0, k), _v.slice_dim(i, d, 0, k)
    return TopkResult(_contiguous(v), _contiguous(i))


@tensor_method
def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False) -> KthvalueResult:
    """The ``k``-th smallest element along ``dim`` (1-based) and its index."""
    _check_tensor(input, "kthvalue")
    d = wrap_dim(dim, input.ndim, "kthvalue")
    size = input._shape[d] if input.ndim else 1
    if not 1 <= k <= size:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {d}")
    v, i = _sort(input, d, False)
    if input.ndim:
        v, i = _v.select(v, d, k - 1), _v.select(i, d, k - 1)
        if keepdim:
            v, i = _v.unsqueeze(v, d), _v.unsqueeze(i, d)
    return KthvalueResult(_contiguous(v), _contiguous(i))


# -- unique --------------------------------------------------------------------------------
def _unique_flat(x: Tensor, return_inverse: bool, return_counts: bool) -> tuple:
    from ._segments import cumsum_1d
    from .creation import _full_on
    from .gathering import nonzero, scatter, scatter_add
    from .joining import cat

    flat = _v.reshape(x, (-1,))
    n = flat._shape[0]
    svals, perm = _sort(flat, 0, False)
    if n:
        # a run starts where a value differs from its predecessor (NaNs stay apart: NaN != NaN)
        first = _full_on((1,), True, _dt.bool, x._device, x._be)
        starts = cat([first, _b.ne(_v.slice_dim(svals, 0, 1, n), _v.slice_dim(svals, 0, 0,
                                                                               n - 1))])
    else:
        starts = _full_on((0,), True, _dt.bool, x._device, x._be)
    pos = _v.select(nonzero(starts), 1, 0)
    out = [_gather1(svals, pos)]
    u = pos._shape[0]
    group = _b.sub(cumsum_1d(_cast(starts, _dt.int64)), 1)
    if return_inverse:
        inv = scatter(_full_on((n,), 0, _dt.int64, x._device, x._be), 0, perm, group)
        out.append(_v.reshape(inv, x._shape))
    if return_counts:
        ones = _full_on((n,), 1, _dt.int64, x._device, x._be)
        out.append(scatter_add(_full_on((u,), 0, _dt.int64, x._device, x._be), 0, group, ones))
    return tuple(out)


def _cast(x: Tensor, dtype: _dt.dtype) -> Tensor:
    from ._common import cast

    return cast(x, dtype)


def _gather1(x: Tensor, index: Tensor) -> Tensor:
    return run(Op.GATHER, (x, 0, index), (), (index._shape, x._dtype), x._device, x._be)


@tensor_method
def unique(input: Tensor, sorted: bool = True, return_inverse: bool = False,  # noqa: A002
           return_counts: bool = False, dim: int | None = None) -> Any:
    """The distinct elements of ``input`` in ascending order (always sorted, as PyTorch's
    CPU and CUDA kernels), with the inverse mapping and counts on request."""
    _check_tensor(input, "unique")
    if dim is not None:
        return _unique_dim(input, wrap_dim(dim, input.ndim, "unique"), return_inverse,
                           return_counts)
    out = _unique_flat(input, return_inverse, return_counts)
    return out[0] if len(out) == 1 else out


def _unique_dim(x: Tensor, d: int, return_inverse: bool, return_counts: bool) -> Any:
    """Unique slices along ``d``: sort the slices lexicographically (one stable sort per
    column, last column first), then mark where a slice differs from its predecessor."""
    from ._segments import cumsum_1d
    from .creation import _full_on
    from .gathering import index_select, nonzero, scatter, scatter_add
    from .joining import cat

    if x.ndim == 0:
        x = _v.reshape(x, (1,))
    m = 1
    for i, s in enumerate(x._shape):
        m *= s if i != d else 1
    rows = _v.reshape(_v.movedim(x, d, 0), (x._shape[d], m))
    n = rows._shape[0]
    perm = iota(n, x)
    for c in range(m - 1, -1, -1):
        col = _gather1(_v.select(rows, 1, c), perm)
        _, order = _sort(col, 0, False)
        perm = _gather1(perm, order)
    srows = index_select(rows, 0, perm)
    if n:
        diff = _b.ne(_v.slice_dim(srows, 0, 1, n), _v.slice_dim(srows, 0, 0, n - 1))
        changed = _any_rows(diff)
        starts = cat([_full_on((1,), True, _dt.bool, x._device, x._be), changed])
    else:
        starts = _full_on((0,), True, _dt.bool, x._device, x._be)
    pos = _v.select(nonzero(starts), 1, 0)
    uniq = index_select(srows, 0, pos)
    shape = (pos._shape[0],) + tuple(s for i, s in enumerate(x._shape) if i != d)
    out = [_v.movedim(_v.reshape(uniq, shape), 0, d)]
    group = _b.sub(cumsum_1d(_cast(starts, _dt.int64)), 1)
    if return_inverse:
        out.append(scatter(_full_on((n,), 0, _dt.int64, x._device, x._be), 0, perm, group))
    if return_counts:
        ones = _full_on((n,), 1, _dt.int64, x._device, x._be)
        out.append(scatter_add(_full_on((pos._shape[0],), 0, _dt.int64, x._device, x._be), 0,
                               group, ones))
    return out[0] if len(out) == 1 else tuple(out)


def _any_rows(mask: Tensor) -> Tensor:
    """Row-wise ``any`` of a 2-d bool tensor (an int64 ``AMAX`` over columns)."""
    x = _cast(mask, _dt.int64)
    if x._shape[1] == 0:
        return _b.ne(_zeros_rows(x), 0)
    m = run(Op.AMAX, (x,), ((1,), False), ((x._shape[0],), _dt.int64), x._device, x._be)
    return _b.ne(m, 0)


def _zeros_rows(x: Tensor) -> Tensor:
    from .creation import _full_on

    return _full_on((x._shape[0],), 0, _dt.int64, x._device, x._be)


__all__ = ["argsort", "kthvalue", "msort", "sort", "topk", "unique"]
