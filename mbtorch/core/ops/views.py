"""View ops: results share storage with their input on every backend.

Each view op computes the new geometry (shape, strides, storage offset) here, in the core,
and the backend's single ``AS_STRIDED`` primitive materialises it, so ``x.t()[1:, ::2]`` is a
view on NumPy, CuPy and OpenCL alike and a write through it reaches the base.
"""

from __future__ import annotations

import warnings
from typing import Any, Sequence

from .. import dispatch
from ..meta import check_shape_arg
from ..op import OPS, Op, define
from ..state import STATE
from ..tensor import Tensor, contiguous_strides, method_table, wrap_dim
from ._common import run, wrap

__all__ = [
    "reshape", "flatten", "unflatten", "permute", "transpose", "swapaxes", "swapdims", "t",
    "movedim", "moveaxis", "broadcast_to", "squeeze", "unsqueeze", "select", "narrow", "diagonal",
    "as_strided"
]

TENSOR_METHODS: dict = {}
"""The ``Tensor`` methods this module provides, by name (installed by ``mbtorch.core.ops``)."""
tensor_method = method_table(TENSOR_METHODS)

# members read per call: ``Op.X`` is a slow attribute on Python 3.11 (EnumType.__getattr__)
_AS_STRIDED = Op.AS_STRIDED
_DIAGONAL = Op.DIAGONAL
_EXPAND = Op.EXPAND
_PERMUTE = Op.PERMUTE
_SELECT = Op.SELECT
_SLICE = Op.SLICE
_UNFOLD = Op.UNFOLD
_VIEW = Op.VIEW


def make_view(x: Tensor, shape: tuple, strides: tuple, offset: int) -> Tensor:
    """A view of ``x``'s storage (``strides``/``offset`` relative to the root)."""
    root = x if x._root is None else x._root
    handle = x._be.kernels[_AS_STRIDED](root._data, shape, strides, offset)
    t = wrap(handle, shape, x._dtype, x._device, x._be)
    t._root = root
    t._offset = offset
    t._stride = strides
    if dispatch.TRACING and STATE.tracer is not None and not STATE.tracer.depth:
        STATE.tracer.capture_view(root, (shape, strides, offset), t)
    return t


def alias(x: Tensor) -> Tensor:
    """A view with ``x``'s own geometry (``detach``)."""
    return make_view(x, x._shape, x.stride(), x._offset)


def _view_strides(shape: tuple, strides: tuple, new: tuple) -> tuple | None:
    """Strides for viewing (shape, strides) as ``new`` without a copy, or None (PyTorch's
    ``computeStride``: walk contiguous chunks of the old layout from the innermost dim)."""
    if not shape:
        return (1,) * len(new)
    numel = 1
    for s in shape:
        numel *= s
    if numel == 0:
        return strides if shape == new else contiguous_strides(new)
    out = [0] * len(new)
    view_d = len(new) - 1
    chunk_base = strides[-1]
    tensor_numel = view_numel = 1
    for d in range(len(shape) - 1, -1, -1):
        tensor_numel *= shape[d]
        if d == 0 or (shape[d - 1] != 1 and strides[d - 1] != tensor_numel * chunk_base):
            while view_d >= 0 and (view_numel < tensor_numel or new[view_d] == 1):
                out[view_d] = view_numel * chunk_base
                view_numel *= new[view_d]
                view_d -= 1
            if view_numel != tensor_numel:
                return None
            if d > 0:
                chunk_base = strides[d - 1]
                tensor_numel = view_numel = 1
    if view_d != -1:
        return None
    return tuple(out)


def infer_size(shape: tuple, numel: int, op: str) -> tuple:
    neg = [i for i, s in enumerate(shape) if s == -1]
    if len(neg) > 1:
        raise RuntimeError(f"{op}(): only one dimension can be inferred")
    for s in shape:
        if s < -1:
            raise RuntimeError(f"{op}(): invalid shape dimension {s}")
    known = 1
    for s in shape:
        if s != -1:
            known *= s
    if neg:
        if known == 0 or numel % known:
            raise RuntimeError(f"{op}(): shape '{list(shape)}' is invalid for input of size "
                               f"{numel}")
        shape = shape[:neg[0]] + (numel // known,) + shape[neg[0] + 1:]
    elif known != numel:
        raise RuntimeError(f"{op}(): shape '{list(shape)}' is invalid for input of size {numel}")
    return shape


# -- the registered view ops: decompositions build the geometry ----------------------------
@define(Op.VIEW)
def _view(x: Tensor, shape: tuple, strides: tuple | None = None) -> Tensor:
    """``strides`` given by ``squeeze``/``unsqueeze``, which keep PyTorch's strides for the
    size-1 dims they leave or insert (``view`` would recompute those)."""
    if strides is None:
        strides = _view_strides(x._shape, x.stride(), shape)
    return make_view(x, shape, strides, x._offset)


@define(Op.PERMUTE)
def _permute(x: Tensor, dims: tuple) -> Tensor:
    st = x.stride()
    return make_view(x, tuple(x._shape[d] for d in dims), tuple(st[d] for d in dims), x._offset)


@define(Op.EXPAND)
def _expand(x: Tensor, shape: tuple) -> Tensor:
    lead = len(shape) - len(x._shape)
    st = x.stride()
    strides = [0] * len(shape)
    for i in range(len(shape) - 1, -1, -1):
        if i >= lead:
            strides[i] = st[i - lead] if x._shape[i - lead] == shape[i] else 0
        elif shape[i] == 1 and i + 1 < len(shape):
            # PyTorch lays a new leading size-1 dim out around the next one
            strides[i] = shape[i + 1] * strides[i + 1]
    return make_view(x, shape, tuple(strides), x._offset)


@define(Op.SLICE)
def _slice(x: Tensor, dim: int, start: int, stop: int, step: int) -> Tensor:
    st = x.stride()
    n = max(0, (stop - start + step - 1) // step)
    shape = x._shape[:dim] + (n,) + x._shape[dim + 1:]
    strides = st[:dim] + (st[dim] * step,) + st[dim + 1:]
    return make_view(x, shape, strides, x._offset + start * st[dim])


@define(Op.SELECT)
def _select(x: Tensor, dim: int, index: int) -> Tensor:
    st = x.stride()
    return make_view(x, x._shape[:dim] + x._shape[dim + 1:], st[:dim] + st[dim + 1:],
                     x._offset + index * st[dim])


@define(Op.DIAGONAL)
def _diagonal(x: Tensor, offset: int, dim1: int, dim2: int) -> Tensor:
    st = x.stride()
    if offset >= 0:
        n = max(0, min(x._shape[dim1], x._shape[dim2] - offset))
        start = offset * st[dim2]
    else:
        n = max(0, min(x._shape[dim1] + offset, x._shape[dim2]))
        start = -offset * st[dim1]
    keep = [d for d in range(x.ndim) if d not in (dim1, dim2)]
    shape = tuple(x._shape[d] for d in keep) + (n,)
    strides = tuple(st[d] for d in keep) + (st[dim1] + st[dim2],)
    return make_view(x, shape, strides, x._offset + (start if n else 0))


@define(Op.UNFOLD)
def _unfold(x: Tensor, dim: int, size: int, step: int) -> Tensor:
    if not x._shape:  # a 0-d tensor is one window of its single element, as PyTorch
        return make_view(x, (size,), (1,), x._offset)
    st = x.stride()
    n = (x._shape[dim] - size) // step + 1
    shape = x._shape[:dim] + (n,) + x._shape[dim + 1:] + (size,)
    strides = st[:dim] + (st[dim] * step,) + st[dim + 1:] + (st[dim],)
    return make_view(x, shape, strides, x._offset)


# -- public functions (meta rules) ----------------------------------------------------------
def _run_view(op: Op, x: Tensor, attrs: tuple, shape: tuple) -> Tensor:
    if not x._be.runs_natively(op) and not (x._requires_grad and STATE.grad_enabled) \
            and not dispatch.TRACING:
        # hot (a transpose per linear layer, windows per conv): nothing to record and no
        # native kernel, so the core's own geometry needs no dispatch and no result check
        return OPS[op].decomposition(x, *attrs)
    return run(op, (x,), attrs, (shape, x._dtype), x._device, x._be)


@tensor_method
def view(self: Tensor, *shape: Any) -> Tensor:
    from .. import dtypes as _dt

    if len(shape) == 1 and isinstance(shape[0], _dt.dtype):
        raise NotImplementedError("view(dtype) is not supported; use .to(dtype)")
    shape = infer_size(check_shape_arg(shape, "view"), self.numel(), "view")
    if _view_strides(self._shape, self.stride(), shape) is None:
        raise RuntimeError("view size is not compatible with input tensor's size and stride "
                           "(at least one dimension spans across two contiguous subspaces). "
                           "Use .reshape(...) instead.")
    return _run_view(_VIEW, self, (shape,), shape)


@tensor_method
def reshape(input: Tensor, *shape: Any) -> Tensor:
    """A view when the layout allows it, else a copy (as ``torch.reshape``)."""
    shape = infer_size(check_shape_arg(shape, "reshape"), input.numel(), "reshape")
    if _view_strides(input._shape, input.stride(), shape) is None:
        from .copying import contiguous

        input = contiguous(input)
    return _run_view(_VIEW, input, (shape,), shape)


@tensor_method
def view_as(self: Tensor, other: Tensor) -> Tensor:
    return view(self, other._shape)


@tensor_method
def reshape_as(self: Tensor, other: Tensor) -> Tensor:
    return reshape(self, other._shape)


@tensor_method
def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    s = wrap_dim(start_dim, input.ndim, "flatten", "start_dim")
    e = wrap_dim(end_dim, input.ndim, "flatten", "end_dim")
    if not input._shape:
        return reshape(input, (1,))
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    n = 1
    for d in input._shape[s:e + 1]:
        n *= d
    return reshape(input, input._shape[:s] + (n,) + input._shape[e + 1:])


@tensor_method
def unflatten(input: Tensor, dim: int, sizes: Sequence[int]) -> Tensor:
    d = wrap_dim(dim, input.ndim, "unflatten")
    sizes = tuple(sizes)
    inner = infer_size(sizes, input._shape[d], "unflatten")
    return view(input, input._shape[:d] + inner + input._shape[d + 1:])


@tensor_method
def permute(input: Tensor, *dims: Any) -> Tensor:
    dims = check_shape_arg(dims, "permute", "dims")
    if len(dims) != input.ndim:
        raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input "
                           f"does not match the length of the desired ordering of dimensions "
                           f"i.e. input.dim() = {input.ndim} is not equal to len(dims) = "
                           f"{len(dims)}".replace("(sparse_coo)", ""))
    dims = tuple(wrap_dim(d, input.ndim, "permute", "dims") for d in dims)
    if len(set(dims)) != len(dims):
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    return _permute_valid(input, dims)


def _permute_valid(input: Tensor, dims: tuple) -> Tensor:
    shape = tuple([input._shape[d] for d in dims])
    return _run_view(_PERMUTE, input, (dims,), shape)


@tensor_method
def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    n = input.ndim
    if n == 0:
        wrap_dim(dim0, 0, "transpose", "dim0")
        wrap_dim(dim1, 0, "transpose", "dim1")
        return alias_view(input)
    d0 = wrap_dim(dim0, n, "transpose", "dim0")
    d1 = wrap_dim(dim1, n, "transpose", "dim1")
    dims = list(range(n))
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return _permute_valid(input, tuple(dims))


swapaxes = swapdims = transpose
tensor_method(swapaxes, name="swapaxes")
tensor_method(swapaxes, name="swapdims")


def alias_view(x: Tensor) -> Tensor:
    return _run_view(_VIEW, x, (x._shape,), x._shape)


@tensor_method
def t(input: Tensor) -> Tensor:
    if input.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                           f"{input.ndim}D")
    return transpose(input, 0, 1) if input.ndim == 2 else alias_view(input)


TENSOR_METHODS["T"] = property(
    lambda self: permute(self, tuple(range(self.ndim - 1, -1, -1))))


def _matrix_t(self: Tensor) -> Tensor:
    """``x.mT``: the last two dims swapped; a 0-d tensor is its own transpose."""
    if self.ndim == 1:
        raise RuntimeError("tensor.mT is only supported on matrices or batches of matrices. "
                           "Got 1-D tensor.")
    if not self.ndim:
        warnings.warn("Tensor.mT is deprecated on 0-D tensors. This function is the identity "
                      "in these cases.", UserWarning, stacklevel=2)
        return alias_view(self)
    return transpose(self, -2, -1)


TENSOR_METHODS["mT"] = property(_matrix_t)


@tensor_method
def movedim(input: Tensor, source: Any, destination: Any) -> Tensor:
    src = (source,) if isinstance(source, int) else tuple(source)
    dst = (destination,) if isinstance(destination, int) else tuple(destination)
    if len(src) != len(dst):
        raise RuntimeError(f"movedim(): Invalid source or destination dims: source ({list(src)}"
                           f" dims) should contain the same number of dims as destination "
                           f"({list(dst)} dims)")
    n = input.ndim
    given = {"source": src, "destination": dst}
    src = [wrap_dim(d, n, "movedim", "source") for d in src]
    dst = [wrap_dim(d, n, "movedim", "destination") for d in dst]
    for which, dims in (("source", src), ("destination", dst)):
        if len(set(dims)) < len(dims):
            raise RuntimeError(f"movedim(): repeated dim in `{which}` ({list(given[which])})")
    if n == 0:  # dims 0 and -1 of a 0-d tensor name the tensor itself
        return permute(input, ())
    order = [-1] * n
    for s, d in zip(src, dst):
        order[d] = s
    rest = iter(d for d in range(n) if d not in src)
    order = [o if o != -1 else next(rest) for o in order]
    return permute(input, order)


moveaxis = movedim
tensor_method(moveaxis, name="moveaxis")


@tensor_method
def expand(self: Tensor, *sizes: Any) -> Tensor:
    sizes = check_shape_arg(sizes, "expand")
    n = len(sizes)
    if n < self.ndim:
        raise RuntimeError(f"expand(): the number of sizes provided ({n}) must be greater or "
                           f"equal to the number of dimensions in the tensor ({self.ndim})")
    lead = n - self.ndim
    out = []
    for i, s in enumerate(sizes):
        if i < lead:
            if s < 0:
                raise RuntimeError(f"expand(): the expanded size of the tensor ({s}) isn't "
                                   "allowed in a leading, non-existing dimension "
                                   f"{i}")
            out.append(s)
            continue
        cur = self._shape[i - lead]
        if s == -1:
            s = cur
        if cur != s and cur != 1:
            raise RuntimeError(f"expand(): The expanded size of the tensor ({s}) must match the "
                               f"existing size ({cur}) at non-singleton dimension {i}.  Target "
                               f"sizes: {list(sizes)}.  Tensor sizes: {list(self._shape)}")
        out.append(s)
    shape = tuple(out)
    return _run_view(_EXPAND, self, (shape,), shape)


@tensor_method
def expand_as(self: Tensor, other: Tensor) -> Tensor:
    return expand(self, other._shape)


def broadcast_to(input: Tensor, size: Sequence[int]) -> Tensor:
    return expand(input, tuple(size))


tensor_method(broadcast_to)


@tensor_method
def squeeze(input: Tensor, dim: Any = None) -> Tensor:
    if dim is None:
        dims = {i for i, s in enumerate(input._shape) if s == 1}
    else:
        raw = dim if isinstance(dim, (tuple, list)) else (dim,)
        wrapped = [wrap_dim(d, input.ndim, "squeeze") for d in raw]
        dims = set(wrapped)
        if len(dims) < len(wrapped):
            twice = next(d for d in wrapped if wrapped.count(d) > 1)
            raise RuntimeError(f"squeeze(): dim {twice} appears multiple times in the list of "
                               "dims")
        dims = {d for d in dims if input.ndim and input._shape[d] == 1}
    shape = tuple(s for i, s in enumerate(input._shape) if i not in dims)
    strides = tuple(st for i, st in enumerate(input.stride()) if i not in dims)
    return _run_view(_VIEW, input, (shape, strides), shape)


@tensor_method
def unsqueeze(input: Tensor, dim: int) -> Tensor:
    d = wrap_dim(dim, input.ndim + 1, "unsqueeze")
    shape = input._shape[:d] + (1,) + input._shape[d:]
    st = input.stride()
    new = st[d] * input._shape[d] if d < input.ndim else 1
    return _run_view(_VIEW, input, (shape, st[:d] + (new,) + st[d:]), shape)


@tensor_method
def select(input: Tensor, dim: int, index: int) -> Tensor:
    if input.ndim == 0:
        raise IndexError("select(): invalid index of a 0-dim tensor. Use `tensor.item()` to "
                         "convert a 0-dim tensor to a number")
    d = wrap_dim(dim, input.ndim, "select")
    size = input._shape[d]
    if not -size <= index < size:
        raise IndexError(f"select(): index {index} out of range for tensor of size "
                         f"{list(input._shape)} at dimension {d}")
    index = index + size if index < 0 else index
    return _run_view(_SELECT, input, (d, index), input._shape[:d] + input._shape[d + 1:])


def slice_dim(input: Tensor, dim: int, start: Any, stop: Any, step: int = 1) -> Tensor:
    """``input[..., start:stop:step, ...]`` along ``dim`` (Python slice clamping)."""
    if step <= 0:
        raise ValueError("slice(): step must be greater than zero")
    size = input._shape[dim]
    start, stop, _ = slice(start, stop).indices(size)
    stop = max(stop, start)
    n = (stop - start + step - 1) // step
    shape = input._shape[:dim] + (n,) + input._shape[dim + 1:]
    return _run_view(_SLICE, input, (dim, start, stop, step), shape)


@tensor_method
def narrow(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    d = wrap_dim(dim, input.ndim, "narrow")
    size = input._shape[d]
    if isinstance(start, Tensor):
        start = int(start.item())
    if start < 0:
        start += size
    if not 0 <= start <= size or length < 0 or start + length > size:
        raise RuntimeError(f"narrow(): start ({start}) + length ({length}) exceeds dimension "
                           f"size ({size}).")
    return slice_dim(input, d, start, start + length, 1)


@tensor_method
def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    d1 = wrap_dim(dim1, input.ndim, "diagonal", "dim1")
    d2 = wrap_dim(dim2, input.ndim, "diagonal", "dim2")
    if d1 == d2:
        raise RuntimeError(f"diagonal(): diagonal dimensions cannot be identical {dim1}, {dim2}")
    if offset >= 0:
        n = max(0, min(input._shape[d1], input._shape[d2] - offset))
    else:
        n = max(0, min(input._shape[d1] + offset, input._shape[d2]))
    keep = tuple(input._shape[d] for d in range(input.ndim) if d not in (d1, d2))
    return _run_view(_DIAGONAL, input, (offset, d1, d2), keep + (n,))


@tensor_method(name="unfold")
def unfold_(input: Tensor, dimension: int, size: int, step: int) -> Tensor:
    """Sliding windows of ``size`` along ``dimension`` (``Tensor.unfold``), a view."""
    d = wrap_dim(dimension, input.ndim, "unfold", "dimension")
    length = input._shape[d] if input._shape else 1
    if size > length:
        raise RuntimeError(f"unfold(): maximum size for tensor at dimension {d} is {length} but "
                           f"size is {size}")
    if step <= 0:
        raise RuntimeError(f"unfold(): step is {step} but must be > 0")
    n = (length - size) // step + 1
    shape = input._shape[:d] + (n,) + input._shape[d + 1:] + (size,) if input._shape else (size,)
    return _run_view(_UNFOLD, input, (d, size, step), shape)


@tensor_method
def as_strided(input: Tensor, size: Sequence[int], stride: Sequence[int],
               storage_offset: int | None = None) -> Tensor:
    """A view with explicit geometry (relative to the storage, as ``torch.as_strided``)."""
    size, stride = tuple(size), tuple(stride)
    if len(size) != len(stride):
        raise RuntimeError("as_strided(): mismatch in length of strides and shape")
    if any(s < 0 for s in stride):
        raise RuntimeError("as_strided(): Negative strides are not supported at the moment")
    offset = input._offset if storage_offset is None else storage_offset
    from .inplace_views import check_in_storage

    check_in_storage(input, size, stride, offset)
    from ..dispatch import needs_grad

    if needs_grad((input,)):
        raise NotImplementedError("as_strided(): not differentiable in mbtorch")
    return make_view(input, size, stride, offset)


