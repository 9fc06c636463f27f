"""Shared pieces of meta rules: broadcasting, promotion, dims, device checks.

Every message names the op and the argument at fault, so a shape or dtype error reads the
same on every backend.
"""

from __future__ import annotations

from typing import Any, Sequence

from . import dtypes as _dt
from .tensor import Tensor, wrap_dim

__all__ = [
    "broadcast_shapes", "broadcast_all", "result_type", "check_same_device", "normalize_dims",
    "check_shape_arg", "check_nonnegative_shape"
]

_SCALAR_TYPES = (bool, int, float, complex)


def broadcast_shapes(a: tuple, b: tuple, op: str = "broadcast_shapes") -> tuple:
    """The broadcast of two shapes, with PyTorch's message on mismatch."""
    if a == b:
        return a
    la, lb = len(a), len(b)
    n = max(la, lb)
    out = []
    for i in range(n):
        da = a[i - n + la] if i - n + la >= 0 else 1
        db = b[i - n + lb] if i - n + lb >= 0 else 1
        if da == db or db == 1:
            out.append(da)
        elif da == 1:
            out.append(db)
        else:
            raise RuntimeError(f"{op}(): The size of tensor a ({da}) must match the size of "
                               f"tensor b ({db}) at non-singleton dimension {i}")
    return tuple(out)


def broadcast_all(shapes: Sequence[tuple], op: str) -> tuple:
    out: tuple = ()
    for s in shapes:
        out = broadcast_shapes(out, s, op)
    return out


def result_type(operands: Sequence[Any], op: str = "result_type") -> _dt.dtype:
    """PyTorch's ``result_type`` over tensors and Python scalars."""
    dim = zero = wrapped = None
    for x in operands:
        if isinstance(x, Tensor):
            d = x._dtype
            if x._shape:
                dim = d if dim is None else _dt.promote_types(dim, d)
            else:
                zero = d if zero is None else _dt.promote_types(zero, d)
        elif type(x) in _SCALAR_TYPES:
            d = _dt.scalar_dtype(x)
            wrapped = d if wrapped is None else _dt.promote_types(wrapped, d)
        elif x is not None:
            raise TypeError(f"{op}(): expected Tensor or Python number, got "
                            f"{type(x).__name__}")
    out = _dt.combine_categories(dim, _dt.combine_categories(zero, wrapped))
    if out is None:
        raise TypeError(f"{op}(): no tensor or number among the operands")
    return out


def check_same_device(tensors: Sequence[Tensor], op: str, names: Sequence[str]):
    """The common device of ``tensors`` or PyTorch's mixed-device RuntimeError."""
    dev = None
    for t, name in zip(tensors, names):
        if dev is None:
            dev = t._device
        elif t._device is not dev:
            raise RuntimeError(f"{op}(): Expected all tensors to be on the same device, but "
                               f"found at least two devices, {dev} and {t._device}! (when "
                               f"checking argument '{name}')")
    return dev


def normalize_dims(dim: Any, ndim: int, op: str) -> tuple[int, ...]:
    """``dim`` (None, int or sequence) as a sorted tuple of distinct non-negative dims."""
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, (list, tuple)):
        dims = [wrap_dim(d, ndim, op) for d in dim]
        if len(set(dims)) != len(dims):
            raise RuntimeError(f"{op}(): dim {dims} appears multiple times in the list of "
                               "dims")
        return tuple(sorted(dims))
    return (wrap_dim(dim, ndim, op),)


def check_shape_arg(shape: Any, op: str, arg: str = "size") -> tuple[int, ...]:
    """Parse ``(2, 3)``, ``[2, 3]``, ``Size`` or ``2, 3`` varargs into a tuple of ints."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    out = []
    for s in shape:
        if isinstance(s, Tensor):
            s = s.__index__()
        if not isinstance(s, int) or isinstance(s, bool):
            raise TypeError(f"{op}(): argument '{arg}' must be a sequence of ints, but got "
                            f"{type(s).__name__}")
        out.append(s)
    return tuple(out)


def check_nonnegative_shape(shape: tuple, op: str) -> None:
    for s in shape:
        if s < 0:
            raise RuntimeError(f"{op}(): Trying to create tensor with negative dimension {s}: "
                               f"{list(shape)}")
