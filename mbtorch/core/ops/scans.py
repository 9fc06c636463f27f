"""Scans: ``cumsum`` and ``cumprod``.

Op attrs: ``CUMSUM``/``CUMPROD``: ``(x, dim)`` with one non-negative ``dim``; the input is
already in the output dtype. The decomposition is a Hillis-Steele scan (log2(n) steps of
"combine with the value ``2**k`` places back"), built from GATHER, WHERE and one binary
primitive, so a backend with only primitives runs it.
"""

from __future__ import annotations

from typing import Any

from .. import dtypes as _dt
from ..op import Op, define
from ..tensor import Tensor, tensor_method, wrap_dim
from . import binary as _b
from . import unary as _u
from ._common import cast, run
from ._reduce import check_input, sum_dtype
from .copying import clone, write_result
from .creation import iota


def _scan(x: Tensor, dim: int, combine: Any, identity: Any) -> Tensor:
    n = x._shape[dim]
    if n <= 1:
        return clone(x)
    if x._dtype in (_dt.float16, _dt.bfloat16):
        return cast(_scan(cast(x, _dt.float32), dim, combine, identity), x._dtype)
    pos = iota(n, x._device, x._be).reshape(tuple(n if d == dim else 1 for d in range(x.ndim)))
    pos = pos.expand(x._shape)
    step = 1
    while step < n:
        back = _b.sub(pos, step)
        source = run(Op.GATHER, (x, dim, _u.clamp_min(back, 0)), (),
                     (x._shape, x._dtype), x._device, x._be)
        x = combine(x, _u.where(_b.ge(back, 0), source, identity))
        step *= 2
    return x


@define(Op.CUMSUM)
def _cumsum(x: Tensor, dim: int) -> Tensor:
    return _scan(x, dim, _b.add, 0)


@define(Op.CUMPROD)
def _cumprod(x: Tensor, dim: int) -> Tensor:
    return _scan(x, dim, _b.mul, 1)


def _scan_public(op: Op, name: str, input: Tensor, dim: Any, dtype: Any) -> Tensor:
    check_input(input, name)
    if dim is None:
        raise TypeError(f"{name}(): argument 'dim' must be int, not NoneType")
    d = wrap_dim(dim, input.ndim, name)
    x = cast(input, sum_dtype(input, dtype, name), name)
    flat = x if x._shape else x.reshape(1)
    out = run(op, (flat,), (d,), (flat._shape, flat._dtype), x._device, x._be)
    return out if x._shape else out.reshape(())


@tensor_method
def cumsum(input: Tensor, dim: int, *, dtype: _dt.dtype | None = None) -> Tensor:
    """Running sum along ``dim``; integers and bools give int64.

    >>> mbtorch.tensor([1, 2, 3]).cumsum(0)
    tensor([1, 3, 6])
    """
    return _scan_public(Op.CUMSUM, "cumsum", input, dim, dtype)


@tensor_method
def cumprod(input: Tensor, dim: int, *, dtype: _dt.dtype | None = None) -> Tensor:
    """Running product along ``dim``; integers and bools give int64."""
    return _scan_public(Op.CUMPROD, "cumprod", input, dim, dtype)


def _cumsum_(self: Tensor, dim: int, *, dtype: _dt.dtype | None = None) -> Tensor:
    return write_result(self, cumsum(self, dim, dtype=dtype), "cumsum_")


def _cumprod_(self: Tensor, dim: int, *, dtype: _dt.dtype | None = None) -> Tensor:
    return write_result(self, cumprod(self, dim, dtype=dtype), "cumprod_")


Tensor.cumsum_ = _cumsum_
Tensor.cumprod_ = _cumprod_

__all__ = ["cumsum", "cumprod"]
