"""In-place changes of a tensor's geometry: ``t_``, ``transpose_``, ``swapaxes_``/``swapdims_``,
``squeeze_``, ``unsqueeze_``, ``as_strided_``; ``resize_``/``resize_as_`` (and the deprecated
``resize``/``resize_as``); ``set_``/``is_set_to``; and ``fill_diagonal_``.

A geometry change keeps the tensor's storage and identity: the tensor gets a new handle over
the same storage (through the backend's ``AS_STRIDED``), a root stays a root and a view stays a
view of the same root, as in PyTorch. Under autograd the tensor's history gains the view op's
node, so ``y.t_()`` on a non-leaf differentiates like ``y = y.t()``; a leaf that requires grad
is refused, with PyTorch's message.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable

from .. import dispatch
from .. import dtypes as _dt
from ..meta import check_shape_arg
from ..op import Op
from ..tensor import Tensor, contiguous_strides, method_table
from . import views as _v
from ._common import empty_on

__all__ = ["resize_as_"]

TENSOR_METHODS: dict = {}
"""The ``Tensor`` methods this module provides, by name (installed by ``mbtorch.core.ops``)."""
tensor_method = method_table(TENSOR_METHODS)

_AS_STRIDED, _COPY_ = Op.AS_STRIDED, Op.COPY_


def _check_leaf(self: Tensor, op: str) -> None:
    if not dispatch.STATE.grad_enabled:
        return
    if self._requires_grad and self._grad_fn is None:
        raise RuntimeError(f"{op}(): a leaf Variable that requires grad is being used in an "
                           "in-place operation.")
    root = self._root
    if (root is not None and root._requires_grad and root._grad_fn is None
            and self._grad_fn is not None):  # a detached alias is no view to autograd
        raise RuntimeError(f"{op}(): a view of a leaf Variable that requires grad is being "
                           "used in an in-place operation.")


def _take_geometry(self: Tensor, out: Tensor) -> None:
    """``self`` takes the shape, strides and handle of ``out``, a view of the same storage
    at the same offset."""
    self._data, self._shape, self._stride = out._data, out._shape, out.stride()


def _restride(self: Tensor, op: str, view: Callable[[Tensor], Tensor]) -> Tensor:
    """Apply the view op ``view`` to ``self`` in place (see the module docstring)."""
    if not isinstance(self, Tensor):
        raise TypeError(f"{op}(): argument 'self' must be Tensor, not {type(self).__name__}")
    _check_leaf(self, op)
    out = view(self)
    _take_geometry(self, out)
    fn = out._grad_fn
    if fn is not None:
        if getattr(self, "_view_base", None) is None:
            # self is its own base: its new node has no base to be rebuilt from after a
            # write (an instance attribute over ViewNode's class default)
            fn.is_view = False
        else:
            self._view_chain, self._view_base_fn = out._view_chain, out._view_base_fn
        self._grad_fn = fn
    self._bump_version()
    return self


@tensor_method
def t_(self: Tensor) -> Tensor:
    """``self.t()`` in place."""
    return _restride(self, "t_", _v.t)


@tensor_method
def transpose_(self: Tensor, dim0: int, dim1: int) -> Tensor:
    """``self.transpose(dim0, dim1)`` in place."""
    return _restride(self, "transpose_", lambda x: _v.transpose(x, dim0, dim1))


@tensor_method
def swapaxes_(self: Tensor, axis0: int, axis1: int) -> Tensor:
    """``transpose_`` (NumPy's name)."""
    return _restride(self, "swapaxes_", lambda x: _v.transpose(x, axis0, axis1))


@tensor_method
def swapdims_(self: Tensor, dim0: int, dim1: int) -> Tensor:
    """``transpose_`` (another of NumPy's names)."""
    return _restride(self, "swapdims_", lambda x: _v.transpose(x, dim0, dim1))


@tensor_method
def squeeze_(self: Tensor, dim: Any = None) -> Tensor:
    """``self.squeeze(dim)`` in place (``dim`` an int, a tuple of ints or None)."""
    return _restride(self, "squeeze_", lambda x: _v.squeeze(x, dim))


@tensor_method
def unsqueeze_(self: Tensor, dim: int) -> Tensor:
    """``self.unsqueeze(dim)`` in place."""
    return _restride(self, "unsqueeze_", lambda x: _v.unsqueeze(x, dim))


@tensor_method
def as_strided_(self: Tensor, size: Any, stride: Any, storage_offset: int | None = None) -> Tensor:
    """``self.as_strided(...)`` in place: a new geometry over the same storage. A tensor
    that owns its storage (not a view) keeps storage offset 0: its handle is where the storage
    starts."""
    if self._root is None and storage_offset not in (None, 0):
        raise NotImplementedError("as_strided_(): a storage_offset on a tensor that owns its "
                                  "storage is not supported; use as_strided() for a view")

    def view(x: Tensor) -> Tensor:
        return _v.as_strided(x, size, stride, storage_offset)

    _restride(self, "as_strided_", view)
    if storage_offset is not None:
        self._offset = storage_offset
    return self


# -- resize ---------------------------------------------------------------------------------
def _extent(shape: tuple, strides: tuple) -> int:
    """Elements of storage a geometry spans from its offset (0 when empty)."""
    if 0 in shape:
        return 0
    return 1 + sum((s - 1) * st for s, st in zip(shape, strides))


def _storage_size(root: Tensor) -> int:
    # a root shrunk by resize_ keeps its whole storage (``_capacity``), as PyTorch's does
    return max(_extent(root._shape, root.stride()), root.__dict__.get("_capacity", 0))


def check_in_storage(x: Tensor, size: tuple, stride: tuple, offset: int) -> None:
    """PyTorch's checks: a geometry outside the storage would read and write foreign memory."""
    if any(s < 0 for s in size):
        raise RuntimeError(f"as_strided(): Storage size calculation overflowed with "
                           f"sizes={list(size)} and strides={list(stride)}")
    if offset < 0:
        raise RuntimeError(f"as_strided(): invalid storage offset {offset}")
    need = _extent(size, stride)
    have = _storage_size(x if x._root is None else x._root)
    if need and need + offset > have:
        item = x._dtype.itemsize
        raise RuntimeError(f"as_strided(): setStorage: sizes {list(size)}, strides "
                           f"{list(stride)}, storage offset {offset}, and itemsize {item} "
                           f"requiring a storage size of {(need + offset) * item} are out of "
                           f"bounds for storage of size {have * item}")


@tensor_method
def resize_(self: Tensor, *sizes: Any, memory_format: Any = None) -> Tensor:
    """Give ``self`` the shape ``sizes`` with contiguous strides at its storage offset; the
    storage grows when too small, keeping its elements (new ones are uninitialised).

    Growing a root reallocates its storage: views made of it before keep the old one. A view
    can be resized only within its root's storage."""
    shape = check_shape_arg(sizes, "resize_")
    if any(s < 0 for s in shape):
        raise RuntimeError(f"resize_(): Trying to create tensor with negative dimension: "
                           f"{list(shape)}")
    if self._requires_grad:
        raise RuntimeError("cannot resize variables that require grad")
    strides = contiguous_strides(shape)
    need = self._offset + _extent(shape, strides)
    root = self if self._root is None else self._root
    if need > _storage_size(root):
        if self._root is not None:
            raise RuntimeError(f"resize_(): a view can be resized only within its base's "
                               f"storage ({_storage_size(root)} elements, {need} needed); "
                               "resize the base, or clone() the view first")
        _grow_storage(self, need)
    if self._root is None:
        self._capacity = _storage_size(self)
    kernel = self._be.kernels[_AS_STRIDED]
    self._data = kernel(root._data, shape, strides, self._offset)
    self._shape, self._stride = shape, strides
    self._bump_version()
    return self


def _grow_storage(self: Tensor, need: int) -> None:
    """Give root ``self`` a contiguous storage of ``need`` elements starting with its old
    storage's elements, in storage order."""
    kernel = self._be.kernels[_AS_STRIDED]
    new = empty_on((need,), self._dtype, self._device, self._be, "resize_")._data
    old = _storage_size(self)
    if old:
        self._be.kernels[_COPY_](kernel(new, (old,), (1,), 0),
                                 kernel(self._data, (old,), (1,), 0))
    self._data = new
    self._shape, self._stride = (need,), (1,)


@tensor_method(name="resize_as_")
def _resize_as_(self: Tensor, the_template: Tensor, *, memory_format: Any = None) -> Tensor:
    """``self.resize_(the_template.shape)``."""
    if not isinstance(the_template, Tensor):
        raise TypeError(f"resize_as_(): argument 'the_template' must be Tensor, not "
                        f"{type(the_template).__name__}")
    return resize_(self, the_template._shape)


def _resize_copy(self: Tensor, sizes: tuple, op: str) -> Tensor:
    warnings.warn(f"non-inplace {op} is deprecated", UserWarning, stacklevel=3)
    n = 1
    for s in sizes:
        n *= s
    if n != self.numel():
        raise RuntimeError(
            f"requested resize to {'x'.join(map(str, sizes))} ({n} elements in total), but the "
            f"given tensor has a size of {'x'.join(map(str, self._shape))} ({self.numel()} "
            "elements). autograd's resize can only change the shape of a given tensor, while "
            "preserving the number of elements. ")
    from .copying import contiguous

    return _v.reshape(contiguous(self), sizes)


@tensor_method
def resize(self: Tensor, *sizes: Any) -> Tensor:
    """Deprecated out-of-place resize: a reshape that keeps the number of elements."""
    return _resize_copy(self, check_shape_arg(sizes, "resize"), "resize")


@tensor_method
def resize_as(self: Tensor, tensor: Tensor) -> Tensor:
    """Deprecated out-of-place ``resize_as``: ``self.resize(tensor.shape)``."""
    return _resize_copy(self, tensor._shape, "resize_as")


# -- set_ / is_set_to -----------------------------------------------------------------------
@tensor_method
def set_(self: Tensor, source: Any = None, storage_offset: int = 0, size: Any = None,
         stride: Any = None) -> Tensor:
    """``self`` shares ``source``'s storage: a tensor's (with its geometry, or ``size``,
    ``stride`` and ``storage_offset`` when given) or a storage object's (``untyped_storage()``;
    all of it, one dim, unless ``size`` is given); ``set_()`` empties ``self``."""
    _check_leaf(self, "set_")
    if dispatch.STATE.grad_enabled and (self._requires_grad or (
            isinstance(source, Tensor) and source._requires_grad)):
        # PyTorch records a node whose backward raises; refusing now says it where it happens
        raise NotImplementedError("set_(): the derivative for 'set_' is not implemented; "
                                  "detach() the tensors or use mbtorch.no_grad()")
    self.__dict__.pop("_capacity", None)
    if source is None:
        fresh = empty_on((0,), self._dtype, self._device, self._be, "set_")
        self._data, self._shape, self._stride, self._offset = fresh._data, (0,), (1,), 0
        self.__dict__.pop("_root", None)
    else:
        is_tensor = isinstance(source, Tensor)
        source = _storage_owner(source)
        _check_same_kind(self, source)
        if size is None and not is_tensor:
            size, stride = (_storage_size(source) - storage_offset,), (1,)
        if size is None:
            target = source
        else:
            stride = contiguous_strides(tuple(size)) if stride is None else stride
            target = _v.as_strided(source, tuple(size), tuple(stride), storage_offset)
        root = source if source._root is None else source._root
        if root is self and target._offset:
            raise NotImplementedError("set_(): a tensor that owns its storage cannot be set to "
                                      "an offset into it; set a view of it instead")
        self._data, self._shape, self._stride = target._data, target._shape, target.stride()
        self._offset = target._offset
        if root is not self:
            self._root = root
    self._bump_version()
    return self


def _storage_owner(source: Any) -> Tensor:
    """A tensor, or the tensor that owns a storage (``Tensor.untyped_storage()``)."""
    from .storages import UntypedStorage

    if isinstance(source, UntypedStorage):
        return source._owner
    if not isinstance(source, Tensor):
        raise TypeError(f"set_(): argument 'source' must be Tensor or a storage, not "
                        f"{type(source).__name__}")
    return source


def _check_same_kind(self: Tensor, source: Tensor) -> None:
    if source._dtype is not self._dtype:
        raise RuntimeError(f"set_(): Expected an object of scalar type "
                           f"{self._dtype.scalar_name} but got scalar type "
                           f"{source._dtype.scalar_name} for argument 'source'")
    if source._device is not self._device:
        raise RuntimeError(f"set_(): Attempted to set the storage of a tensor on device "
                           f"\"{self._device}\" to a storage on different device "
                           f"\"{source._device}\"")


@tensor_method
def is_set_to(self: Tensor, tensor: Tensor) -> bool:
    """True if both tensors have the same storage, offset, shape and strides."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"is_set_to(): argument 'tensor' must be Tensor, not "
                        f"{type(tensor).__name__}")
    own = self if self._root is None else self._root
    other = tensor if tensor._root is None else tensor._root
    return (own is other and self._offset == tensor._offset and self._shape == tensor._shape
            and self.stride() == tensor.stride())


# -- fill_diagonal_ -------------------------------------------------------------------------
@tensor_method
def fill_diagonal_(self: Tensor, fill_value: Any, wrap: bool = False) -> Tensor:
    """Write ``fill_value`` on the main diagonal (``self[i, i, ...]``); a tall matrix with
    ``wrap`` continues it from row ``ncols + 1`` (PyTorch's and NumPy's wrap). Written as a
    ``masked_fill_``, so it is differentiable on a non-leaf."""
    n = self.ndim
    if n < 2:
        raise RuntimeError("fill_diagonal_(): dimensions must larger than 1")
    if n > 2 and len(set(self._shape)) != 1:
        raise RuntimeError("fill_diagonal_(): all dimensions of input must be of equal length")
    if dispatch.STATE.grad_enabled and self._requires_grad and self._grad_fn is None:
        raise RuntimeError("fill_diagonal_(): a view of a leaf Variable that requires grad is "
                           "being used in an in-place operation.")
    from .creation import zeros

    mask = zeros(self._shape, dtype=_dt.bool, device=self._device)
    st = mask.stride()
    size = min(self._shape)
    _v.as_strided(mask, (size,), (sum(st),), 0).fill_(True)
    rows, cols = self._shape[0], self._shape[1]
    if n == 2 and wrap and rows > cols + 1:
        # the diagonal restarts at row cols + 1, as PyTorch's wrap (NumPy's flat step cols + 1)
        count = (self.numel() + cols) // (cols + 1) - size
        _v.as_strided(mask, (count,), (sum(st),), st[0] * (cols + 1)).fill_(True)
    return self.masked_fill_(mask, fill_value)


def resize_as_(input: Tensor, the_template: Tensor, *, memory_format: Any = None) -> Tensor:
    """``input.resize_as_(the_template)`` (``torch.resize_as_``)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"resize_as_(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    return _resize_as_(input, the_template, memory_format=memory_format)

