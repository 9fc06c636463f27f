"""The sample frequencies (``fftfreq``, ``rfftfreq``) and the spectrum reorderings
(``fftshift``, ``ifftshift``) of ``mbtorch.fft``."""

from __future__ import annotations

import math
from typing import Any, Sequence

from ..core import dtypes as _dt
from ..core.ops.creation import arange
from ..core.ops.rearranging import roll
from ..core.tensor import Tensor, wrap_dim

__all__ = ["fftfreq", "rfftfreq", "fftshift", "ifftshift"]


def _check_n(n: Any, name: str) -> int:
    if not isinstance(n, int) or isinstance(n, bool):
        raise TypeError(f"{name}(): argument 'n' (position 1) must be int, not "
                        f"{type(n).__name__}")
    if n < 0:
        raise RuntimeError(f"{name}(): trying to create tensor with negative dimension {n}: "
                           f"[{n}]")
    return n


def _float_dtype(dtype: Any, name: str) -> _dt.dtype:
    if dtype is None:
        return _dt.get_default_dtype()
    dtype = _dt.as_dtype(dtype, name)
    if dtype.category != _dt.FLOATING_CATEGORY:
        raise RuntimeError(f"{name} requires a floating point or complex dtype")
    return dtype


def _inverse_span(n: int, d: float) -> float:
    # PyTorch multiplies by 1 / (n * d) (in double), not divides: the same rounding
    span = n * d
    return math.inf if span == 0 else 1.0 / span


def fftfreq(n: int, d: float = 1.0, *, dtype: _dt.dtype | None = None, device: Any = None,
            requires_grad: bool = False) -> Tensor:
    """The sample frequencies of an ``n``-point FFT with sample spacing ``d``:
    ``[0, 1, ..., (n - 1) // 2, -(n // 2), ..., -1] / (d * n)``.

    >>> mbtorch.fft.fftfreq(5, 0.1)
    tensor([ 0.,  2.,  4., -4., -2.])
    """
    n = _check_n(n, "fftfreq")
    dtype = _float_dtype(dtype, "fftfreq")
    k = arange(n, dtype=_dt.int64, device=device)
    k = k - n * (k >= (n + 1) // 2).long()  # the upper half are the negative frequencies
    out = k.to(dtype) * _inverse_span(n, d)
    return out.requires_grad_(requires_grad) if requires_grad else out


def rfftfreq(n: int, d: float = 1.0, *, dtype: _dt.dtype | None = None, device: Any = None,
             requires_grad: bool = False) -> Tensor:
    """The non-negative sample frequencies of an ``n``-point real FFT:
    ``[0, 1, ..., n // 2] / (d * n)``."""
    n = _check_n(n, "rfftfreq")
    dtype = _float_dtype(dtype, "rfftfreq")
    k = arange(n // 2 + 1, dtype=dtype, device=device)
    out = k * _inverse_span(n, d)  # n = 0 gives [nan] (0 * inf), as PyTorch's
    return out.requires_grad_(requires_grad) if requires_grad else out


def _shifts(input: Tensor, dim: Any, name: str, inverse: bool) -> tuple[list, list]:
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    if dim is None:
        if input.dim() == 0:
            raise RuntimeError(f"{name}(): `shifts` required (a 0-d tensor has no dim)")
        dims: Sequence[int] = list(range(input.dim()))
    else:
        dims = [dim] if isinstance(dim, int) else list(dim)
        if input.dim() == 0:
            raise IndexError(f"{name}(): Dimension specified as {dims[0]} but tensor has no "
                             "dimensions")
        dims = [wrap_dim(d, input.dim(), name) for d in dims]
    shifts = [(input.shape[d] + 1) // 2 if inverse else input.shape[d] // 2 for d in dims]
    return shifts, list(dims)


def fftshift(input: Tensor, dim: int | Sequence[int] | None = None) -> Tensor:
    """Move the zero-frequency term to the centre: a roll by ``n // 2`` along ``dim`` (every
    dim when None), as ``torch.fft.fftshift``."""
    shifts, dims = _shifts(input, dim, "fftshift", False)
    return roll(input, shifts, dims)


def ifftshift(input: Tensor, dim: int | Sequence[int] | None = None) -> Tensor:
    """The inverse of ``fftshift``: a roll by ``(n + 1) // 2`` along ``dim``."""
    shifts, dims = _shifts(input, dim, "ifftshift", True)
    return roll(input, shifts, dims)
