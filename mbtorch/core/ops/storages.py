"""``Tensor.untyped_storage()`` and ``Tensor.storage()``: read-only descriptions of the storage a
tensor and its views share (its size in bytes or elements, address and device), what programs
use to ask "do these two tensors share memory?".

mbtorch has no separate storage objects: a storage is its owning tensor (the root of every
view of it), so these classes wrap that tensor. ``UntypedStorage(nbytes)`` and
``TypedStorage(size, dtype=...)`` allocate one (uninitialised), which ``Tensor.set_`` can
adopt; they cannot be resized or written through (use a tensor set to them).
"""

from __future__ import annotations

import warnings
from typing import Any

from .. import dtypes as _dt
from ..tensor import Tensor, method_table
from .inplace_views import _storage_size

__all__ = ["TypedStorage", "UntypedStorage"]

TENSOR_METHODS: dict = {}
"""The ``Tensor`` methods this module provides, by name (installed by ``mbtorch.core.ops``)."""
tensor_method = method_table(TENSOR_METHODS)


class UntypedStorage:
    """The bytes behind a tensor and its views (``torch.UntypedStorage``'s read side)."""

    def __init__(self, size: int = 0, *, device: Any = None) -> None:
        self._owner = _allocate(size, _dt.uint8, device, "UntypedStorage")

    @classmethod
    def _of(cls, owner: Tensor) -> "UntypedStorage":
        """The storage of root tensor ``owner`` (the storage starts where its handle does)."""
        storage = object.__new__(cls)
        storage._owner = owner
        return storage

    @property
    def device(self) -> Any:
        return self._owner._device

    def element_size(self) -> int:
        return 1

    def nbytes(self) -> int:
        return _storage_size(self._owner) * self._owner._dtype.itemsize

    def size(self) -> int:
        return self.nbytes()

    def __len__(self) -> int:
        return self.nbytes()

    def data_ptr(self) -> int:
        from .tensor_misc import _storage_address

        return _storage_address(self._owner, "data_ptr") if self.nbytes() else 0

    def is_shared(self) -> bool:
        return False

    def is_pinned(self, device: Any = None) -> bool:
        return False

    def tolist(self) -> list:
        """The storage's bytes, in storage order."""
        import numpy as np

        return np.frombuffer(_host_span(self._owner).tobytes(), np.uint8).tolist()

    def __repr__(self) -> str:
        return (f"mbtorch.UntypedStorage(device={self.device}) of size {self.nbytes()} "
                f"(over a {self._owner._dtype} tensor)")


class TypedStorage(UntypedStorage):
    """The elements behind a tensor and its views (``tensor.storage()``, deprecated in
    PyTorch in favour of ``untyped_storage()``)."""

    def __init__(self, size: int = 0, *, dtype: Any = None, device: Any = None) -> None:
        dtype = _dt.get_default_dtype() if dtype is None else _dt.as_dtype(dtype, "TypedStorage")
        self._owner = _allocate(size, dtype, device, "TypedStorage")

    @property
    def dtype(self) -> _dt.dtype:
        return self._owner._dtype

    def element_size(self) -> int:
        return self._owner._dtype.itemsize

    def size(self) -> int:
        return _storage_size(self._owner)

    def __len__(self) -> int:
        return self.size()

    def untyped(self) -> UntypedStorage:
        return UntypedStorage._of(self._owner)

    def tolist(self) -> list:
        """The storage's elements, in storage order."""
        return _host_span(self._owner).tolist()

    def __repr__(self) -> str:
        return (f"mbtorch.TypedStorage(dtype={self.dtype}, device={self.device}) of size "
                f"{self.size()}")


def _allocate(size: Any, dtype: _dt.dtype, device: Any, op: str) -> Tensor:
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise TypeError(f"{op}(): argument 'size' must be a non-negative int, not {size!r}")
    from .creation import empty

    return empty(size, dtype=dtype, device=device)


def _host_span(owner: Tensor) -> Any:
    from .copying import clone
    from .inplace_views import _AS_STRIDED

    n = _storage_size(owner)
    span = owner._be.kernels[_AS_STRIDED](owner._data, (n,), (1,), 0)
    view = object.__new__(Tensor)
    view._data, view._shape, view._dtype = span, (n,), owner._dtype
    view._device, view._be = owner._device, owner._be
    return clone(view).numpy(force=True)


def _root(t: Tensor) -> Tensor:
    return t if t._root is None else t._root


@tensor_method
def untyped_storage(self: Tensor) -> UntypedStorage:
    """The storage ``self`` shares with its base and views (bytes)."""
    return UntypedStorage._of(_root(self))


@tensor_method
def storage(self: Tensor) -> TypedStorage:
    """The storage of ``self`` as elements of its dtype (deprecated in PyTorch)."""
    warnings.warn("TypedStorage is deprecated. It will be removed in the future and "
                  "UntypedStorage will be the only storage class. This should only matter to "
                  "you if you are using storages directly.  To access UntypedStorage directly, "
                  "use tensor.untyped_storage() instead of tensor.storage()", UserWarning,
                  stacklevel=2)
    return TypedStorage._of(_root(self))
