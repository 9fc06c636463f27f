"""Index-driven reads and writes: ``gather``, ``scatter`` (+ ``reduce``), ``scatter_add``,
``index_select``, ``index_add``, ``masked_fill``, ``masked_select``, ``take``,
``take_along_dim``, ``nonzero``/``argwhere``.

Bounds are checked in the meta rule (one read-back of the index's min and max), so an
out-of-range index fails the same way on every backend before a kernel runs.
"""

from __future__ import annotations

from typing import Any

from .. import dtypes as _dt
from ..meta import broadcast_shapes, check_same_device
from ..op import Op, define
from ..tensor import Tensor, method_table, wrap_dim
from . import binary as _b
from . import views as _v
from ._common import cast, run, scalar_for
from ._index_common import IndexOutOfBounds, cast_long, check_bounds, wrap_negative

TENSOR_METHODS: dict = {}
"""The ``Tensor`` methods this module provides, by name (installed by ``mbtorch.core.ops``)."""
tensor_method = method_table(TENSOR_METHODS)


def _check_tensor(x: Any, op: str, arg: str) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument '{arg}' must be Tensor, not {type(x).__name__}")


# -- nonzero -------------------------------------------------------------------------------
@tensor_method
def nonzero(input: Tensor, *, as_tuple: bool = False) -> Any:
    """Indices of the non-zero elements, ``(n, ndim)`` int64 in row-major order."""
    _check_tensor(input, "nonzero", "input")
    out = run(Op.NONZERO, (input,), (), (None, _dt.int64), input._device, input._be)
    if not as_tuple:
        return out
    if input.ndim == 0:
        return (_zero_d_tuple(out),)
    return tuple(_v.select(out, 1, j) for j in range(input.ndim))


def _zero_d_tuple(out: Tensor) -> Tensor:
    # PyTorch treats a 0-d input as 1-d here: ``(tensor([0]),)`` or ``(tensor([]),)``
    from .creation import zeros

    return zeros(out._shape[0], dtype=_dt.int64, device=out._device)


@tensor_method
def argwhere(input: Tensor) -> Tensor:
    return nonzero(input)


# -- gather --------------------------------------------------------------------------------
def _check_index_dtype(index: Tensor, op: str) -> None:
    if index._dtype is not _dt.int64:
        raise RuntimeError(f"{op}(): Expected dtype int64 for index")


def _gather_run(x: Tensor, d: int, index: Tensor) -> Tensor:
    if x.ndim == 0:  # the kernel works on >= 1-d arrays
        out = _gather_run(_v.reshape(x, (1,)), 0, _v.reshape(index, (1,)))
        return _v.reshape(out, ())
    return run(Op.GATHER, (x, d, index), (), (index._shape, x._dtype), x._device, x._be)


@tensor_method
def gather(input: Tensor, dim: int, index: Tensor, *, sparse_grad: bool = False) -> Tensor:
    """``out[i][j] = input[index[i][j]][j]`` for ``dim=0`` (and so on)."""
    _check_tensor(input, "gather", "input")
    _check_tensor(index, "gather", "index")
    d = wrap_dim(dim, input.ndim, "gather")
    _check_index_dtype(index, "gather")
    check_same_device((input, index), "gather", ("input", "index"))
    if index.ndim != input.ndim and not (index.numel() <= 1 and input.ndim <= 1):
        raise RuntimeError("gather(): Index tensor must have the same number of dimensions as "
                           "input tensor")
    for i in range(index.ndim):
        if i != d and index._shape[i] > input._shape[i]:
            raise RuntimeError(f"gather(): Size does not match at dimension {i} expected index "
                               f"{list(index._shape)} to be no larger than self "
                               f"{list(input._shape)} apart from dimension {d}")
    size = input._shape[d] if input.ndim else 1
    check_bounds(index, size, d, "gather(): ", negative=False, exc=IndexOutOfBounds)
    return _gather_run(input, d, index)


@tensor_method
def take_along_dim(input: Tensor, indices: Tensor, dim: int | None = None) -> Tensor:
    """``gather`` with the non-``dim`` dims broadcast; flat when ``dim`` is None."""
    _check_tensor(indices, "take_along_dim", "indices")
    if indices._dtype.category != _dt.INTEGRAL_CATEGORY:
        raise RuntimeError("torch.take_along_dim(): dtype of indices should be int64 but got "
                           f"{indices._dtype.name}")
    if dim is None:
        return gather(_v.reshape(input, (-1,)), 0, cast_long(_v.reshape(indices, (-1,))))
    if input.ndim != indices.ndim:
        raise RuntimeError(f"torch.take_along_dim(): input and indices should have the same "
                           f"number of dimensions, but got {input.ndim} dimensions for input, "
                           f"and {indices.ndim} dimensions for indices")
    d = wrap_dim(dim, input.ndim, "take_along_dim")
    a = list(input._shape)
    b = list(indices._shape)
    a[d] = b[d] = 1
    shape = list(broadcast_shapes(tuple(a), tuple(b), "take_along_dim"))
    sa, sb = list(shape), list(shape)
    sa[d], sb[d] = input._shape[d], indices._shape[d]
    return gather(_v.expand(input, sa), d, cast_long(_v.expand(indices, sb)))


@tensor_method
def take(input: Tensor, index: Tensor) -> Tensor:
    """Elements of the flattened ``input`` at ``index`` (negative counts from the end)."""
    _check_tensor(index, "take", "index")
    if index._dtype is not _dt.int64:
        raise RuntimeError("take(): Expected a long tensor for index, but got "
                           f"{index._dtype.name.capitalize()}")
    n = input.numel()
    flat = _v.reshape(input, (-1,))
    check_bounds(index, n, 0, "take(): ", exc=IndexOutOfBounds)
    idx = wrap_negative(index, n)
    return _v.reshape(_gather_run(flat, 0, _v.reshape(idx, (-1,))), index._shape)


# -- index_select --------------------------------------------------------------------------
@define(Op.INDEX_SELECT)
def _index_select(x: Tensor, index: Tensor, dim: int) -> Tensor:
    shape = x._shape[:dim] + index._shape + x._shape[dim + 1:]
    view = (1,) * dim + index._shape + (1,) * (x.ndim - dim - 1)
    return _gather_run(x, dim, _v.expand(_v.reshape(index, view), shape))


@tensor_method
def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """The slices of ``input`` along ``dim`` at the positions in 1-d ``index``."""
    _check_tensor(input, "index_select", "input")
    _check_tensor(index, "index_select", "index")
    d = wrap_dim(dim, input.ndim, "index_select")
    if index._dtype not in (_dt.int64, _dt.int32):
        raise RuntimeError("index_select(): Expected dtype int32 or int64 for index")
    if index.ndim > 1:
        raise IndexError("index_select(): Index is supposed to be a vector")
    check_same_device((input, index), "index_select", ("input", "index"))
    size = input._shape[d] if input.ndim else 1
    if input.ndim == 0 and index.numel() != 1:
        raise RuntimeError(f"index_select(): Index to scalar can have only 1 value, got "
                           f"{index.numel()} value(s)")
    if index.numel():
        check_bounds(index, size, d, negative=False, exc=_OutOfRangeInSelf)
    index = cast_long(_v.reshape(index, (-1,)))
    if input.ndim == 0:
        return _v.reshape(_gather_run(_v.reshape(input, (1,)), 0, index), index._shape[:0]
                          if index.numel() == 1 else index._shape)
    shape = input._shape[:d] + index._shape + input._shape[d + 1:]
    return run(Op.INDEX_SELECT, (input, index), (d,), (shape, input._dtype), input._device,
               input._be)


class _OutOfRangeInSelf(IndexOutOfBounds):
    """PyTorch raises IndexError or, along the last dim of a 2-d input, RuntimeError."""

    def __init__(self, message: str) -> None:
        super().__init__(f"index_select(): index out of range in self ({message})")


# -- scatter family ------------------------------------------------------------------------
def _scatter_meta(x: Tensor, dim: int, index: Tensor, src: Any, op: str) -> tuple:
    _check_tensor(x, op, "input")
    _check_tensor(index, op, "index")
    d = wrap_dim(dim, x.ndim, op)
    _check_index_dtype(index, op)
    if index.ndim != x.ndim and not (index.numel() <= 1 and x.ndim <= 1):
        raise RuntimeError(f"{op}(): Index tensor must have the same number of dimensions as "
                           "self tensor")
    if isinstance(src, Tensor):
        if src._dtype is not x._dtype:
            raise RuntimeError(f"{op}(): Expected self.dtype to be equal to src.dtype")
        check_same_device((x, index, src), op, ("self", "index", "src"))
        if src.ndim != index.ndim and not (src.numel() <= 1 and index.numel() <= 1):
            raise RuntimeError(f"{op}(): Index tensor must have the same number of dimensions "
                               "as src tensor")
        if any(index._shape[i] > src._shape[i] or (i != d and index._shape[i] > x._shape[i])
               for i in range(min(index.ndim, src.ndim))):
            raise RuntimeError(f"{op}(): Expected index {list(index._shape)} to be no larger "
                               f"than self {list(x._shape)} apart from dimension {d} and to "
                               f"be no larger size than src {list(src._shape)}")
        src = (_narrow_to(src, index._shape) if src.ndim == index.ndim
               else _v.reshape(src, index._shape))
    else:
        if type(src) not in (bool, int, float):
            raise TypeError(f"{op}(): argument 'src' must be Tensor or a number, not "
                            f"{type(src).__name__}")
        from .creation import _full_on

        value = _full_on((), scalar_for(src, x._dtype), x._dtype, x._device, x._be)
        src = _v.expand(value, index._shape)
    size = x._shape[d] if x.ndim else 1
    check_bounds(index, size, d, f"{op}(): ", negative=False, exc=IndexOutOfBounds)
    return d, src


def _narrow_to(src: Tensor, shape: tuple) -> Tensor:
    for i, s in enumerate(shape):
        if src._shape[i] != s:
            src = _v.slice_dim(src, i, 0, s)
    return src


def _scatter_run(x: Tensor, d: int, index: Tensor, src: Tensor, reduce: str) -> Tensor:
    if x.ndim == 0:
        out = _scatter_run(_v.reshape(x, (1,)), 0, _v.reshape(index, (-1,)),
                           _v.reshape(src, (-1,)), reduce)
        return _v.reshape(out, ())
    if reduce == "multiply":
        from ._segments import scatter_multiply

        return scatter_multiply(x, d, index, src)
    return run(Op.SCATTER, (x, d, index, src), (reduce,), (x._shape, x._dtype), x._device,
               x._be)


_REDUCE = {None: "none", "add": "add", "multiply": "multiply"}


@tensor_method
def scatter(input: Tensor, dim: int, index: Tensor, src: Any = None, *, value: Any = None,
            reduce: str | None = None) -> Tensor:
    """A copy of ``input`` with ``src`` (tensor or number) written at ``index`` along ``dim``;
    ``reduce='add'``/``'multiply'`` combines instead of overwriting."""
    if src is None:
        src = value
    if reduce not in _REDUCE:
        raise RuntimeError("reduce argument must be either add or multiply.")
    d, src = _scatter_meta(input, dim, index, src, "scatter")
    return _scatter_run(input, d, index, src, _REDUCE[reduce])


@tensor_method
def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    _check_tensor(src, "scatter_add", "src")
    d, src = _scatter_meta(input, dim, index, src, "scatter_add")
    return _scatter_run(input, d, index, src, "add")


@tensor_method
def scatter_(self: Tensor, dim: int, index: Tensor, src: Any = None, *, value: Any = None,
             reduce: str | None = None) -> Tensor:
    from .copying import write_result

    return write_result(self, scatter(self, dim, index, src, value=value, reduce=reduce),
                        "scatter_")


@tensor_method
def scatter_add_(self: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    from .copying import write_result

    return write_result(self, scatter_add(self, dim, index, src), "scatter_add_")


@tensor_method
def index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, *,
              alpha: Any = 1) -> Tensor:
    """``input`` with ``alpha * source`` slices added at the positions in ``index``."""
    _check_tensor(source, "index_add", "source")
    d = wrap_dim(dim, input.ndim, "index_add")
    if index.ndim > 1 or index._dtype not in (_dt.int64, _dt.int32):
        raise IndexError("index_add_(): Index is supposed to be a vector of int32 or int64")
    n = index.numel()
    src_d = source._shape[d] if source.ndim else 1
    if n != src_d:
        raise RuntimeError(f"index_add_(): Number of indices ({n}) should be equal to "
                           f"source.size(dim): ({src_d}), for dim: {d}")
    if source.ndim != input.ndim or any(source._shape[i] != input._shape[i]
                                        for i in range(input.ndim) if i != d):
        raise RuntimeError(f"index_add_(): Source/destination tensor must have same slice "
                           f"shapes. Destination slice shape: {list(input._shape)} at dimension "
                           f"{d} and source slice shape: {list(source._shape)} at dimension 0.")
    if alpha != 1:
        source = _b.mul(source, alpha)
    source = cast(source, input._dtype, "index_add")
    view = (1,) * d + (n,) + (1,) * (input.ndim - d - 1)
    idx = _v.expand(_v.reshape(cast_long(index), view), source._shape)
    return scatter_add(input, d, idx, source)


@tensor_method
def index_add_(self: Tensor, dim: int, index: Tensor, source: Tensor, *,
               alpha: Any = 1) -> Tensor:
    from .copying import write_result

    return write_result(self, index_add(self, dim, index, source, alpha=alpha), "index_add_")


# -- masks ---------------------------------------------------------------------------------
@define(Op.MASKED_FILL)
def _masked_fill(x: Tensor, mask: Tensor, value: Any) -> Tensor:
    from .unary import where

    return where(mask, value, x)


def _fill_value(x: Tensor, value: Any, op: str) -> Any:
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(f"{op} only supports a 0-dimensional value tensor, but got "
                               f"tensor with {value.ndim} dimension(s).")
        if value._device is not x._device and value._device.type == "cpu":
            value = value.to(x._device)  # PyTorch takes a 0-d cpu value on any device
        return cast(value, x._dtype, op)
    if type(value) not in (bool, int, float):
        raise TypeError(f"{op}(): argument 'value' must be Number or Tensor, not "
                        f"{type(value).__name__}")
    return scalar_for(value, x._dtype)


def _check_mask(mask: Any, op: str) -> None:
    _check_tensor(mask, op, "mask")
    if mask._dtype is not _dt.bool:
        raise RuntimeError(f"{op} only supports boolean masks, but got mask with dtype "
                           f"{mask._dtype.name}")


@tensor_method
def masked_fill(input: Tensor, mask: Tensor, value: Any) -> Tensor:
    """``value`` where ``mask`` is True, else ``input`` (``mask`` broadcasts)."""
    _check_tensor(input, "masked_fill", "input")
    _check_mask(mask, "masked_fill_")
    check_same_device((input, mask), "masked_fill", ("input", "mask"))
    value = _fill_value(input, value, "masked_fill_")
    shape = broadcast_shapes(input._shape, mask._shape, "masked_fill")
    return run(Op.MASKED_FILL, (input, mask, value), (), (shape, input._dtype), input._device,
               input._be)


@tensor_method
def masked_fill_(self: Tensor, mask: Tensor, value: Any) -> Tensor:
    _check_mask(mask, "masked_fill_")
    if broadcast_shapes(self._shape, mask._shape, "masked_fill_") != self._shape:
        raise RuntimeError(f"masked_fill_(): output with shape {list(self._shape)} doesn't "
                           f"match the broadcast shape "
                           f"{list(broadcast_shapes(self._shape, mask._shape))}")
    return self.copy_(masked_fill(self, mask, value))


@tensor_method
def masked_select(input: Tensor, mask: Tensor) -> Tensor:
    """The elements of ``input`` where ``mask`` (broadcast with it) is True, as 1-d."""
    _check_tensor(mask, "masked_select", "mask")
    if mask._dtype is not _dt.bool:
        raise RuntimeError("masked_select: expected BoolTensor for mask")
    shape = broadcast_shapes(input._shape, mask._shape, "masked_select")
    from .indexing import getitem

    return getitem(_v.expand(input, shape), _v.expand(mask, shape))


__all__ = [
    "argwhere", "gather", "index_add", "index_select", "masked_fill", "masked_select",
    "nonzero", "scatter", "scatter_add", "take", "take_along_dim",
]
