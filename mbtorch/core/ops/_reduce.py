"""Meta-rule pieces shared by reductions, scans, softmax and norms: dim normalisation, the
reduced shape, PyTorch's accumulation dtypes, and the call into ``run``.

Kernel convention (``op.PRIMITIVES``): ``dims`` is a sorted tuple of distinct non-negative
ints, never empty, and the output dtype is the input dtype. A 0-d input is therefore viewed
as shape ``(1,)`` and reduced over dim 0 without keepdim (PyTorch gives a 0-d result for a
0-d input whatever ``keepdim`` says).
"""

from __future__ import annotations

from typing import Any

from .. import dtypes as _dt
from ..meta import normalize_dims
from ..op import Op
from ..tensor import Tensor
from ._common import cast, run

__all__ = [
    "LOW_PRECISION", "check_input", "reduce_dims", "reduced_shape", "prepare", "numel_of",
    "sum_dtype", "float_dtype", "reduce", "upcast", "check_nonempty"
]

LOW_PRECISION = (_dt.float16, _dt.bfloat16)


def check_input(x: Any, name: str, arg: str = "input") -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}(): argument '{arg}' must be Tensor, not {type(x).__name__}")
    return x


def reduce_dims(x: Tensor, dim: Any, name: str) -> tuple[int, ...]:
    """``dim`` as a sorted tuple; ``None`` and an empty sequence mean every dim."""
    if dim is None or (isinstance(dim, (tuple, list)) and len(dim) == 0):
        return tuple(range(x.ndim))
    return normalize_dims(dim, x.ndim, name)


def reduced_shape(shape: tuple, dims: tuple, keepdim: bool) -> tuple:
    if keepdim:
        return tuple(1 if i in dims else s for i, s in enumerate(shape))
    return tuple(s for i, s in enumerate(shape) if i not in dims)


_ALL_DIMS = tuple(tuple(range(n)) for n in range(9))  # the full reduction's dims, by rank


def prepare(x: Tensor, dim: Any, keepdim: bool, name: str) -> tuple[Tensor, tuple, bool, tuple]:
    """``(x, dims, keepdim, out_shape)`` ready for a kernel (0-d viewed as ``(1,)``)."""
    n = len(x._shape)
    if dim is None and 0 < n <= 8:  # a full reduction (``loss.sum()``): nothing to check
        return x, _ALL_DIMS[n], bool(keepdim), (1,) * n if keepdim else ()
    if not n:
        if dim is not None:
            normalize_dims(dim, 0, name)  # only validates: 0-d accepts dim 0 and -1
        return x.reshape(1), (0,), False, ()
    dims = reduce_dims(x, dim, name)
    return x, dims, bool(keepdim), reduced_shape(x._shape, dims, keepdim)


def numel_of(shape: tuple, dims: tuple) -> int:
    n = 1
    for d in dims:
        n *= shape[d]
    return n


def sum_dtype(x: Tensor, dtype: Any, name: str) -> _dt.dtype:
    """The dtype ``sum``/``prod``/``cumsum`` compute in: ``dtype``, else int64 for integers
    and bools, else the input's own."""
    if dtype is not None:
        return _dt.as_dtype(dtype, name)
    return _dt.int64 if x._dtype.category < _dt.FLOATING_CATEGORY else x._dtype


def float_dtype(x: Tensor, dtype: Any, name: str) -> _dt.dtype:
    """``dtype`` if given, else the input's dtype with integers promoted to the default
    float (``logsumexp``, ``softmax`` with ``dtype=``)."""
    if dtype is not None:
        return _dt.as_dtype(dtype, name)
    return x._dtype if x._dtype.category >= _dt.FLOATING_CATEGORY else _dt.get_default_dtype()


def reduce(op: Op, x: Tensor, dims: tuple, keepdim: bool, shape: tuple,
           dtype: _dt.dtype | None = None, extra: tuple = ()) -> Tensor:
    """``run(op, (x,), (dims, *extra, keepdim))`` with output ``(shape, dtype)``."""
    return run(op, (x,), (dims, *extra, keepdim), (shape, dtype or x._dtype), x._device,
               x._be)


def upcast(x: Tensor) -> Tensor:
    """float16/bfloat16 computed in float32 (rounded once at the end, as PyTorch's cpu)."""
    return cast(x, _dt.float32) if x._dtype in LOW_PRECISION else x


def check_nonempty(x: Tensor, dim: Any, dims: tuple, name: str, exc: type = IndexError) -> None:
    """PyTorch's errors for ops without an identity (max, amin, argmax...) on empty input."""
    if dim is None or (isinstance(dim, (tuple, list)) and not dim):
        if x.numel() == 0:
            extra = (" Specify the reduction dim with the 'dim' argument."
                     if exc is RuntimeError else "")
            raise exc(f"{name}(): Expected reduction dim to be specified for input.numel() "
                      f"== 0.{extra}")
        return
    for d in dims:
        if x._shape and x._shape[d] == 0:
            raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")
