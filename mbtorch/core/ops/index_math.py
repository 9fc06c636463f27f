"""Index bookkeeping: ``unravel_index`` (flat indices to coordinates), ``nonzero_static``
(``nonzero`` padded or cut to a fixed number of rows), and ``renorm`` (rescale the
sub-tensors along a dim whose norm exceeds a bound).

``unravel_index`` is PyTorch's own formula, ``floor_divide`` by the row-major strides then
``remainder`` by the sizes, so out-of-range and negative indices wrap exactly as there.
"""

from __future__ import annotations

from typing import Any

from .. import dtypes as _dt
from ..tensor import Tensor, method_table, wrap_dim
from . import binary as _b
from . import views as _v
from ._common import cast
from .creation import full, tensor
from .gathering import nonzero
from .joining import cat
from .norms import vector_norm
from .ternary import where

TENSOR_METHODS: dict = {}
"""The ``Tensor`` methods this module provides, by name (installed by ``mbtorch.core.ops``)."""
tensor_method = method_table(TENSOR_METHODS)


def unravel_index(indices: Tensor, shape: Any) -> tuple:
    """The coordinates in a tensor of ``shape`` of the flat (row-major) ``indices``: a tuple
    of one int64 tensor per dim, each shaped like ``indices``.

    >>> mbtorch.unravel_index(mbtorch.tensor([4, 1]), (2, 3))
    (tensor([1, 0]), tensor([1, 1]))
    """
    if not isinstance(indices, Tensor):
        raise TypeError(f"unravel_index(): argument 'indices' must be Tensor, not "
                        f"{type(indices).__name__}")
    if indices._dtype.category != _dt.INTEGRAL_CATEGORY:
        raise TypeError(f"expected 'indices' to be integer dtype, but got "
                        f"{indices._dtype}")
    shape = (shape,) if isinstance(shape, int) else tuple(int(s) for s in shape)
    if any(s < 0 for s in shape):
        raise ValueError(f"'shape' cannot have negative values, but got {shape}")
    strides, acc = [], 1
    for s in reversed(shape):
        strides.insert(0, acc)
        acc *= s
    idx = _v.unsqueeze(cast(indices, _dt.int64), -1)
    dev = indices._device
    coords = _b.remainder(_b.floor_divide(idx, tensor(strides, dtype=_dt.int64, device=dev)),
                          tensor(list(shape), dtype=_dt.int64, device=dev))
    return tuple(_v.select(coords, -1, i) for i in range(len(shape)))


@tensor_method
def nonzero_static(input: Tensor, *, size: int, fill_value: int = -1) -> Tensor:
    """``nonzero(input)`` with exactly ``size`` rows: the first ``size`` non-zero positions,
    then rows of ``fill_value``."""
    if not isinstance(input, Tensor):
        raise TypeError(f"nonzero_static(): argument 'input' must be Tensor, not "
                        f"{type(input).__name__}")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise RuntimeError("nonzero_static: 'size' must be an non-negative integer")
    found = nonzero(input)
    m = found._shape[0]
    if m >= size:
        return _v.slice_dim(found, 0, 0, size).contiguous()
    pad = full((size - m, input.ndim), fill_value, dtype=_dt.int64, device=input._device)
    return cat([found, pad])


def _renorm(input: Tensor, p: Any, dim: int, maxnorm: Any) -> Tensor:
    if not isinstance(input, Tensor):
        raise TypeError(f"renorm(): argument 'input' must be Tensor, not "
                        f"{type(input).__name__}")
    if input.ndim < 2:
        raise RuntimeError(f"renorm: input needs at least 2 dimensions, got {input.ndim} "
                           "dimensions")
    if p <= 0:
        raise RuntimeError("renorm: non-positive-norm not supported")
    if maxnorm < 0:
        raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm}")
    if not input._dtype.is_floating_point:
        raise RuntimeError("linalg.vector_norm: Expected a floating point or complex tensor "
                           f"as input. Got {input._dtype.scalar_name}")
    d = wrap_dim(dim, input.ndim, "renorm")
    others = tuple(i for i in range(input.ndim) if i != d)
    norm = vector_norm(input, p, others, True)
    factor = where(norm > maxnorm, maxnorm / (norm + 1e-7), 1.0)
    return input * cast(factor, input._dtype)


@tensor_method
def renorm(input: Tensor, p: Any, dim: int, maxnorm: Any) -> Tensor:
    """``input`` with each sub-tensor along ``dim`` whose ``p``-norm exceeds ``maxnorm``
    scaled down to norm ``maxnorm``.

    >>> mbtorch.renorm(mbtorch.tensor([[1.0, 2.0], [3.0, 4.0]]), 2, 0, 3)
    tensor([[1.0000, 2.0000],
            [1.8000, 2.4000]])
    """
    return _renorm(input, p, dim, maxnorm)


@tensor_method
def renorm_(self: Tensor, p: Any, dim: int, maxnorm: Any) -> Tensor:
    from .copying import write_result

    return write_result(self, _renorm(self, p, dim, maxnorm), "renorm_")


__all__ = ["nonzero_static", "renorm", "unravel_index"]
