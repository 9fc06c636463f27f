"""Factories that fix a memory layout or wrap existing memory: ``empty_strided``,
``empty_permuted``, ``frombuffer``; and ``scalar_tensor``.

``empty_strided`` allocates the smallest storage the geometry reaches and views it with
``as_strided``; ``empty_permuted`` allocates in the physical order and permutes back;
``frombuffer`` shares the Python buffer's memory on the cpu device (through NumPy), as
PyTorch's does.
"""

from __future__ import annotations

from typing import Any, Sequence

from .. import dtypes as _dt
from ..tensor import Tensor
from . import views as _v
from .creation import empty, from_numpy, full


def _size(size: Any, name: str) -> tuple:
    if isinstance(size, int):
        return (size,)
    return tuple(int(s) for s in size)


def empty_strided(size: Sequence[int], stride: Sequence[int], *, dtype: Any = None,
                  layout: Any = None, device: Any = None, requires_grad: bool = False,
                  pin_memory: bool = False) -> Tensor:
    """An uninitialised tensor of ``size`` whose ``stride()`` is ``stride``.

    >>> mbtorch.empty_strided((2, 3), (1, 2)).stride()
    (1, 2)
    """
    size, stride = _size(size, "empty_strided"), _size(stride, "empty_strided")
    if len(size) != len(stride):
        raise RuntimeError(f"dimensionality of sizes ({len(size)}) must match dimensionality of "
                           f"strides ({len(stride)})")
    if any(s < 0 for s in size) or any(s < 0 for s in stride):
        raise RuntimeError(f"empty_strided(): sizes and strides must be non-negative, got "
                           f"size={list(size)}, stride={list(stride)}")
    extent = 0 if 0 in size else 1 + sum((n - 1) * s for n, s in zip(size, stride))
    base = empty(extent, dtype=dtype, device=device)
    out = _v.as_strided(base, size, stride, 0)
    return out.requires_grad_(True) if requires_grad else out


def empty_permuted(size: Sequence[int], physical_layout: Sequence[int], *, dtype: Any = None,
                   layout: Any = None, device: Any = None, requires_grad: bool = False,
                   pin_memory: bool = False) -> Tensor:
    """An uninitialised tensor of ``size`` laid out in memory in the dim order
    ``physical_layout`` (outermost first): ``empty_permuted((2, 3), (1, 0))`` is column-major.
    """
    size, order = _size(size, "empty_permuted"), tuple(int(d) for d in physical_layout)
    if len(size) != len(order):
        raise RuntimeError("Number of dimensions in size does not match the length of the "
                           f"physical_layout; i.e. len(size) = {len(size)} is not equal to "
                           f"len(physical_layout) = {len(order)}")
    if sorted(order) != list(range(len(order))):
        raise RuntimeError("Duplicate dim not allowed")
    physical = empty(tuple(size[d] for d in order), dtype=dtype, device=device)
    inverse = tuple(order.index(d) for d in range(len(order)))
    out = _v.permute(physical, inverse)
    return out.requires_grad_(True) if requires_grad else out


def frombuffer(buffer: Any, *, dtype: Any, count: int = -1, offset: int = 0,
               requires_grad: bool = False) -> Tensor:
    """A 1-d cpu tensor sharing the memory of a Python buffer (``bytearray``, ``array``,
    ``memoryview``, ...): ``count`` elements of ``dtype`` from byte ``offset`` (all by
    default)."""
    import numpy as np

    from ..host import NUMPY_DTYPES

    dtype = _dt.as_dtype(dtype, "frombuffer")
    length = memoryview(buffer).nbytes
    item = dtype.itemsize
    if length == 0 or count == 0:
        raise ValueError(f"both buffer length ({length}) and count ({count}) must not be 0")
    if not 0 <= offset < length:
        raise ValueError(f"offset ({offset} bytes) must be non-negative and no greater than "
                         f"buffer length ({length} bytes) minus 1")
    if count < 0:
        if (length - offset) % item:
            raise ValueError(f"buffer length ({length - offset} bytes) after offset ({offset} "
                             f"bytes) must be a multiple of element size ({item})")
        count = (length - offset) // item
    elif offset + count * item > length:
        raise ValueError(f"requested buffer length ({count} * {item} bytes) after offset "
                         f"({offset} bytes) must not be greater than actual buffer length "
                         f"({length} bytes)")
    array = np.frombuffer(buffer, dtype=NUMPY_DTYPES[dtype], count=count, offset=offset)
    out = from_numpy(array)
    return out.requires_grad_(True) if requires_grad else out


def scalar_tensor(s: Any, *, dtype: Any = None, layout: Any = None, device: Any = None,
                  requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """A 0-d tensor holding ``s``, of the default float dtype unless ``dtype`` is given.

    >>> mbtorch.scalar_tensor(3)
    tensor(3.)
    """
    if isinstance(s, Tensor):
        s = s.item()
    dtype = _dt.get_default_dtype() if dtype is None else dtype
    return full((), s, dtype=dtype, device=device, requires_grad=requires_grad)


__all__ = ["empty_permuted", "empty_strided", "frombuffer", "scalar_tensor"]
