"""Helpers shared by the indexing, gathering, sorting and joining ops: index tensors, bounds
checks (data-dependent, so they read two numbers back from the device) and the guard that
keeps a kernel-level decomposition from silently dropping gradients."""

from __future__ import annotations

import collections.abc as _abc
from typing import Any

from .. import dispatch
from .. import dtypes as _dt
from .._lazy import lazy_import
from ..dispatch import needs_grad
from ..op import Op
from ..tensor import Tensor
from ._common import run

np = lazy_import("numpy", globals(), "np")

__all__ = [
    "IndexOutOfBounds", "iota", "is_sequence", "as_index", "cast_long", "index_range",
    "check_bounds", "wrap_negative", "require_derivative"
]


class IndexOutOfBounds(IndexError, RuntimeError):
    """An index value outside its dimension.

    PyTorch raises ``RuntimeError`` for this from ``gather``/``scatter`` and ``IndexError``
    from ``__getitem__``/``index_select``; one class that is both lets code written against
    either catch it.
    """


def iota(n: int, like: Tensor) -> Tensor:
    """``[0, 1, ..., n-1]`` as int64 on ``like``'s device."""
    return run(Op.IOTA, (), (n, like._device.index or 0), ((n,), _dt.int64), like._device,
               like._be)


def is_sequence(obj: Any) -> bool:
    """Python's sequence protocol as PyTorch's indexing tests it (``PySequence_Check``):
    lists, tuples, ranges, strings, ndarrays, ``collections.abc.Sequence`` types."""
    if isinstance(obj, (list, tuple, range, str, bytes)):
        return True
    if isinstance(obj, (dict, Tensor)) or not hasattr(type(obj), "__getitem__"):
        return False
    return isinstance(obj, np.ndarray) or isinstance(obj, _abc.Sequence)


def as_index(obj: Any, like: Tensor) -> Tensor:
    """A sequence or ndarray used as an index, as a tensor on ``like``'s device: bool and
    uint8 data stay masks, anything else becomes int64 (floats truncated), as PyTorch's
    ``indexing_tensor_from_data`` does."""
    if isinstance(obj, Tensor):
        return obj
    from .creation import tensor

    if isinstance(obj, np.ndarray):
        if obj.dtype.kind not in "biuf":
            raise TypeError(f"can't convert np.ndarray of type {obj.dtype.type.__module__}."
                            f"{obj.dtype.type.__name__} to an index; integer, float and bool "
                            "arrays are")
        if obj.dtype != np.bool_ and obj.dtype != np.uint8:
            obj = obj.astype(np.int64)
    elif not isinstance(obj, (list, tuple)):
        obj = list(obj)  # a range or another sequence
    t = tensor(obj, device=like._device)
    if t._dtype.category == _dt.FLOATING_CATEGORY:
        t = cast_long(t)  # ``x[[]]`` selects nothing and ``x[[1.5]]`` is row 1, as in PyTorch
    return t


def cast_long(x: Tensor) -> Tensor:
    from ._common import cast

    return cast(x, _dt.int64)


def _amax(x: Tensor) -> Any:
    flat = x.reshape(-1)
    return run(Op.AMAX, (flat,), ((0,), False), ((), x._dtype), x._device, x._be).item()


def index_range(index: Tensor) -> tuple[int, int]:
    """``(min, max)`` of a non-empty integer index tensor."""
    from .unary import neg

    return -_amax(neg(index)), _amax(index)


def check_bounds(index: Tensor, size: int, dim: int, prefix: str = "",
                 negative: bool = True, exc: type = IndexError) -> None:
    """Raise ``exc`` naming the first bad value if ``index`` leaves ``[-size, size)``
    (``[0, size)`` when ``negative`` is False)."""
    if index.numel() == 0:
        return
    if dispatch.TRACING:  # checked on the traced values, not recorded: at a graph's replay
        from ...graph.capture import untraced  # the kernels check (GATHER's contract)

        with untraced():
            lo, hi = index_range(index)
    else:
        lo, hi = index_range(index)
    low = -size if negative else 0
    bad = hi if hi >= size else (lo if lo < low else None)
    if bad is not None:
        raise exc(f"{prefix}index {bad} is out of bounds for dimension {dim} with size {size}")


def wrap_negative(index: Tensor, size: int) -> Tensor:
    """Negative indices counted from the end (``index`` already bounds-checked)."""
    from . import binary as _b
    from .unary import where

    return where(_b.lt(index, 0), _b.add(index, size), index)


def require_derivative(op: Op, inputs: tuple) -> None:
    """Called by decompositions that fill their output through raw kernels: those record no
    autograd history, so reaching one with grad on means ``op`` lacks a derivative entry."""
    if needs_grad(inputs):
        raise RuntimeError(f"{op.name.lower()}(): no derivative entry is registered for "
                           f"Op.{op.name}, and its decomposition is not differentiable")
