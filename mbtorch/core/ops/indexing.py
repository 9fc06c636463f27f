"""``Tensor.__getitem__`` / ``__setitem__`` and ``index_put``, with PyTorch's rules.

An index is applied in two stages. Basic items (ints, slices, ``None``, ``...``, Python bools)
become views (``select``, ``slice_dim``, ``unsqueeze``), so ``x[1:, ::2]`` shares storage with
``x``. The remaining advanced items (integer tensors and lists, bool masks turned into integer
indices by ``nonzero``) are broadcast together and handed to the ``INDEX`` op, which gathers;
assignment goes through ``INDEX_PUT`` (a scatter into a copy of the view) and ``copy_``s the
result back into the view, so the write reaches the original storage.

As in PyTorch (and unlike NumPy) ints are applied as basic ``select``s first: only the tensor
indices decide where the indexed dims go. When they index adjacent dims of the view, the
broadcast index dims replace them in place; otherwise they go first.
"""

from __future__ import annotations

from typing import Any

from .. import dispatch
from .. import dtypes as _dt
from .._lazy import lazy_import
from ..meta import broadcast_all, broadcast_shapes
from ..op import Op, define
from ..tensor import Tensor, method_table
from . import binary as _b
from . import views as _v
from ._common import cast, run, scalar_for
from ._index_common import as_index, cast_long, check_bounds, is_sequence, wrap_negative
from .gathering import nonzero  # noqa: F401 - ``where(cond)`` finds it here

np = lazy_import("numpy", globals(), "np")

TENSOR_METHODS: dict = {}
"""The ``Tensor`` methods this module provides, by name (installed by ``mbtorch.core.ops``)."""
tensor_method = method_table(TENSOR_METHODS)

_VALID = ("only integers, slices (`:`), ellipsis (`...`), None and long or byte or bool "
          "tensors are valid indices")


# -- the registered ops --------------------------------------------------------------------
def index_shape(shape: tuple, dims: tuple, index_shape_: tuple) -> tuple:
    """Result shape of ``INDEX``: the broadcast index shape replaces adjacent ``dims`` in
    place, or leads when they are apart."""
    rest = tuple(s for d, s in enumerate(shape) if d not in dims)
    if _adjacent(dims):
        return shape[:dims[0]] + index_shape_ + shape[dims[-1] + 1:]
    return index_shape_ + rest


def _adjacent(dims: tuple) -> bool:
    return list(dims) == list(range(dims[0], dims[0] + len(dims)))


def _flat_layout(x: Tensor, index: Tensor, dims: tuple):
    """``x`` with the indexed dims moved first and merged, and the linear index into them,
    expanded over the kept dims (the GATHER/SCATTER index along dim 0)."""
    rest = [d for d in range(x.ndim) if d not in dims]
    sizes = [x._shape[d] for d in dims]
    kept = tuple(x._shape[d] for d in rest)
    n = 1
    for s in sizes:
        n *= s
    flat = _v.reshape(_v.permute(x, tuple(dims) + tuple(rest)), (n,) + kept)
    lin = _v.select(index, 0, 0)
    for j in range(1, len(dims)):
        lin = _b.add(_b.mul(lin, sizes[j]), _v.select(index, 0, j))
    m = lin.numel()
    g_index = _v.expand(_v.reshape(lin, (m,) + (1,) * len(kept)), (m,) + kept)
    return flat, g_index, rest, sizes


@define(Op.INDEX)
def _index(x: Tensor, index: Tensor, dims: tuple) -> Tensor:
    """Advanced indexing. ``index``: int64 ``(len(dims), *B)``, in range, non-negative."""
    flat, g_index, rest, _ = _flat_layout(x, index, dims)
    shape = (g_index._shape[0],) + flat._shape[1:]
    out = run(Op.GATHER, (flat, 0, g_index), (), (shape, x._dtype), x._device, x._be)
    b = index._shape[1:]
    out = _v.reshape(out, b + flat._shape[1:])
    if _adjacent(dims) and dims[0] > 0:
        out = _v.movedim(out, tuple(range(len(b))), tuple(range(dims[0], dims[0] + len(b))))
    return out


@define(Op.INDEX_PUT)
def _index_put(x: Tensor, index: Tensor, values: Tensor, dims: tuple,
               accumulate: bool) -> Tensor:
    """A copy of ``x`` with ``values`` (shaped as ``INDEX``'s result) written or added at
    ``index``."""
    flat, g_index, rest, sizes = _flat_layout(x, index, dims)
    b = index._shape[1:]
    if _adjacent(dims) and dims[0] > 0:
        values = _v.movedim(values, tuple(range(dims[0], dims[0] + len(b))),
                            tuple(range(len(b))))
    values = _v.reshape(values, g_index._shape)
    out = run(Op.SCATTER, (flat, 0, g_index, values), ("add" if accumulate else "none",),
              (flat._shape, x._dtype), x._device, x._be)
    order = tuple(dims) + tuple(rest)
    out = _v.reshape(out, tuple(sizes) + flat._shape[1:])
    inverse = tuple(order.index(d) for d in range(x.ndim))
    from .copying import contiguous

    return contiguous(_v.permute(out, inverse))


# -- parsing an index ----------------------------------------------------------------------
def _items(index: Any) -> tuple:
    if isinstance(index, tuple):
        return index
    if isinstance(index, (Tensor, int, slice)) or index is None or index is Ellipsis:
        return (index,)
    return tuple(index) if _sequence_as_tuple(index) else (index,)


def _sequence_as_tuple(index: Any) -> bool:
    """PyTorch's (and NumPy's old) rule for a non-tuple sequence index: ``x[[0, [1, 2]]]``
    or ``x[[range(2), slice(None)]]`` means ``x[0, [1, 2]]``, while a flat sequence of
    numbers (``x[[0, 2]]``, ``x[range(2)]``) or an ndarray is one index tensor. It is a
    tuple when it is shorter than 32 and holds a tensor, sequence, slice, ``...`` or None."""
    if isinstance(index, np.ndarray) or not is_sequence(index) or len(index) >= 32:
        return False
    return any(it is None or it is Ellipsis or isinstance(it, (Tensor, slice))
               or is_sequence(it) for it in index)


def _consumes(item: Any) -> int:
    """How many dims of the tensor an index item uses up."""
    if item is None or item is Ellipsis or type(item) is bool:
        return 0
    if isinstance(item, Tensor):
        return item.ndim if item._dtype in (_dt.bool, _dt.uint8) else 1
    if isinstance(item, (int, slice)):
        return 1
    if isinstance(item, np.ndarray) and item.dtype in (np.bool_, np.uint8):
        return item.ndim
    return 1


def _expand_ellipsis(items: tuple, ndim: int) -> list:
    used = sum(_consumes(it) for it in items)
    if used > ndim:
        raise IndexError(f"too many indices for tensor of dimension {ndim}")
    out, seen = [], False
    for it in items:
        if it is Ellipsis:
            # PyTorch accepts a repeated ellipsis; only the first one spans dims
            out.extend([slice(None)] * (0 if seen else ndim - used))
            seen = True
        else:
            out.append(it)
    return out + [slice(None)] * (0 if seen else ndim - used)


def _as_int(item: Any) -> int | None:
    if isinstance(item, bool):
        return None
    if isinstance(item, int):
        return item
    if (isinstance(item, Tensor) and not item._shape and not dispatch.TRACING
            and item._dtype.category == _dt.INTEGRAL_CATEGORY and item._dtype is not _dt.uint8):
        # PyTorch indexes with a 0-d integer tensor as with an int (a view), except while
        # tracing, where reading the value back would end the graph
        return int(item.item())
    if isinstance(item, (Tensor, list, tuple, slice, range)) or not hasattr(item, "__index__"):
        return None
    if isinstance(item, np.ndarray):  # an index array, even 0-d, as in PyTorch
        return None
    return item.__index__()


def _slice_bound(v: Any) -> Any:
    return v if v is None else v.__index__()


def _apply_basic(x: Tensor, items: list, tensor_ints: bool) -> tuple[Tensor, list]:
    """Apply the basic items as views; return the view and ``[(dim, index tensor)]``.
    ``tensor_ints``: a 0-d integer tensor is an int (``x[t]``), not an index (``index_put_``)."""
    adv: list = []
    dim = 0
    for it in items:
        i = _as_int(it) if tensor_ints or not isinstance(it, Tensor) else None
        if i is not None:
            size = x._shape[dim]
            if not -size <= i < size:
                raise IndexError(f"index {i} is out of bounds for dimension {dim} with size "
                                 f"{size}")
            x = _v.select(x, dim, i)
        elif isinstance(it, slice):
            step = 1 if it.step is None else it.step.__index__()
            if step == 0:
                raise ValueError("slice step cannot be zero")
            if step < 0:
                raise ValueError("step must be greater than zero")
            x = _v.slice_dim(x, dim, _slice_bound(it.start), _slice_bound(it.stop), step)
            dim += 1
        elif it is None or type(it) is bool:
            x = _v.unsqueeze(x, dim)
            if it is False:
                x = _v.slice_dim(x, dim, 0, 0)
            dim += 1
        else:
            x, dim = _tensor_item(x, it, dim, adv)
    return x, adv


def _tensor_item(x: Tensor, it: Any, dim: int, adv: list) -> tuple[Tensor, int]:
    if isinstance(it, (str, bytes)) or not (isinstance(it, (Tensor, np.ndarray))
                                            or is_sequence(it)):
        raise IndexError(f"{_VALID} (got {type(it).__name__})")
    t = as_index(it, x)
    if t._device is not x._device and t._device.type == "cpu":
        t = t.to(x._device)  # PyTorch takes cpu indices for a tensor on any device
    if t._dtype in (_dt.bool, _dt.uint8):
        if t.ndim == 0:  # a 0-d mask adds a dim of size 1 (True) or 0 (False)
            x = _v.unsqueeze(x, dim)
            t = _v.unsqueeze(t, 0)
        for j, s in enumerate(t._shape):
            if x._shape[dim + j] != s:
                raise IndexError(f"The shape of the mask {list(t._shape)} at index {j} does "
                                 f"not match the shape of the indexed tensor "
                                 f"{list(x._shape)} at index {dim + j}")
        nz = nonzero(t)
        for j in range(t.ndim):
            adv.append((dim + j, _v.select(nz, 1, j)))
        return x, dim + t.ndim
    if t._dtype.category != _dt.INTEGRAL_CATEGORY:
        raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
    if t._device is not x._device:
        raise RuntimeError(f"indices should be either on cpu or on the same device as the "
                           f"indexed tensor ({x._device})")
    adv.append((dim, t))
    return x, dim + 1


def _prepare(x: Tensor, adv: list) -> tuple[Tensor, tuple]:
    """Bounds-check, wrap and broadcast the advanced indices into one ``(k, *B)`` tensor."""
    dims = tuple(d for d, _ in adv)
    try:
        shape = broadcast_all([t._shape for _, t in adv], "index")
    except RuntimeError:
        shapes = ", ".join(str(list(t._shape)) for _, t in adv)
        raise IndexError(f"shape mismatch: indexing tensors could not be broadcast together "
                         f"with shapes {shapes}") from None
    parts = []
    if 0 not in shape and any(x._shape[d] == 0 for d in dims):
        raise IndexError("index is out of bounds for dimension with size 0")
    # otherwise PyTorch checks the index values it uses: none, when the result is empty
    used = 0 not in shape and all(s for d, s in enumerate(x._shape) if d not in dims)
    for d, t in adv:
        if used:
            check_bounds(t, x._shape[d], d)
        t = wrap_negative(cast_long(t), x._shape[d])
        parts.append(_v.unsqueeze(_v.expand(t, shape), 0))
    from .joining import cat

    return cat(parts, 0), dims


def _parse(x: Tensor, index: Any, tensor_ints: bool = True) -> tuple[Tensor, Tensor | None,
                                                                         tuple]:
    items = _expand_ellipsis(_items(index), x.ndim)
    view, adv = _apply_basic(x, items, tensor_ints)
    if not adv:
        return view, None, ()
    idx, dims = _prepare(view, adv)
    return view, idx, dims


def _run_index(v: Tensor, idx: Tensor, dims: tuple) -> Tensor:
    shape = index_shape(v._shape, dims, idx._shape[1:])
    return run(Op.INDEX, (v, idx), (dims,), (shape, v._dtype), v._device, v._be)


# -- public --------------------------------------------------------------------------------
@tensor_method(name="__getitem__")
def getitem(self: Tensor, index: Any) -> Tensor:
    """``self[index]``: a view for basic indices, a new tensor for advanced ones."""
    view, idx, dims = _parse(self, index)
    if idx is None:
        return view if view is not self else _v.alias_view(self)
    return _run_index(view, idx, dims)


def _values_for(v: Tensor, value: Any, shape: tuple, op: str, strict: bool) -> Tensor:
    """``value`` broadcast to the indexing result ``shape``; a number is converted to ``v``'s
    dtype, a tensor must have it when ``strict`` (PyTorch's ``index_put_`` rule)."""
    if isinstance(value, Tensor):
        if value._device is not v._device:
            raise RuntimeError(f"{op}(): values should be on the same device as the indexed "
                               f"tensor ({v._device}), got {value._device}")
        if strict and value._dtype is not v._dtype:
            raise RuntimeError(f"Index put requires the source and destination dtypes match, "
                               f"got {_dt_name(v._dtype)} for the destination and "
                               f"{_dt_name(value._dtype)} for the source.")
        value = cast(value, v._dtype, op)
    elif type(value) in (bool, int, float, complex):
        from .creation import _full_on

        value = _full_on((), scalar_for(value, v._dtype), v._dtype, v._device, v._be)
    else:
        raise TypeError(f"{op}(): can't assign a {type(value).__name__} to a tensor")
    try:
        ok = broadcast_shapes(shape, value._shape) == shape
    except RuntimeError:
        ok = False
    if not ok:
        raise RuntimeError(f"shape mismatch: value tensor of shape {list(value._shape)} cannot "
                           f"be broadcast to indexing result of shape {list(shape)}")
    return _v.expand(value, shape)


def _dt_name(d: _dt.dtype) -> str:
    return {"float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16",
            "int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
            "bool": "Bool"}.get(d.name, d.name)


def _put(view: Tensor, idx: Tensor, dims: tuple, value: Any, accumulate: bool,
         op: str, strict: bool = True) -> None:
    shape = index_shape(view._shape, dims, idx._shape[1:])
    values = _values_for(view, value, shape, op, strict)
    new = run(Op.INDEX_PUT, (view, idx, values), (dims, accumulate),
              (view._shape, view._dtype), view._device, view._be)
    view.copy_(new)


@tensor_method(name="__setitem__")
def setitem(self: Tensor, index: Any, value: Any) -> None:
    """``self[index] = value``: writes into ``self``'s storage (views see it)."""
    if index is False:  # PyTorch assigns nothing, and checks no shape, for ``x[False] = v``
        if not isinstance(value, (Tensor, bool, int, float, complex)):
            raise TypeError(f"can't assign a {type(value).__name__} to a tensor")
        return
    view, idx, dims = _parse(self, index)
    if isinstance(value, Tensor) and value._shape[:1] == (1,):
        # PyTorch drops a value's leading size-1 dims first (``x[0] = y[None]`` works)
        k = next((i for i, s in enumerate(value._shape) if s != 1), value.ndim)
        value = _v.reshape(value, value._shape[k:])
    if idx is None:
        if not isinstance(value, (Tensor, bool, int, float, complex)):
            raise TypeError(f"can't assign a {type(value).__name__} to a tensor")
        view.copy_(value)
        return
    # PyTorch fills a lone bool mask with a 0-d value of any dtype (its masked_fill path)
    lone_mask = (isinstance(index, Tensor) and index._dtype is _dt.bool
                 and isinstance(value, Tensor) and value.ndim == 0)
    _put(view, idx, dims, value, False, "index_put_", strict=not lone_mask)


@tensor_method
def index_put_(self: Tensor, indices: Any, values: Any, accumulate: bool = False) -> Tensor:
    """``self[indices] = values`` (``+=`` with ``accumulate=True``; duplicates add up)."""
    if not isinstance(indices, (tuple, list)):
        raise TypeError(f"index_put_(): argument 'indices' must be tuple of Tensors, not "
                        f"{type(indices).__name__}")
    for i, t in enumerate(indices):
        if not isinstance(t, Tensor):
            raise TypeError(f"index_put_(): expected Tensor as element {i} in argument 0, but "
                            f"got {type(t).__name__}")
    view, idx, dims = _parse(self, tuple(indices), tensor_ints=False)
    if idx is None:
        view.copy_(_b.add(view, values) if accumulate else values)
        return self
    _put(view, idx, dims, values, accumulate, "index_put_")
    return self


@tensor_method
def index_put(input: Tensor, indices: Any, values: Any, accumulate: bool = False) -> Tensor:
    from .copying import clone

    return index_put_(clone(input), indices, values, accumulate)


__all__ = ["index_put", "index_put_"]
