"""Building matrices from vectors and blocks: ``diag``, ``diag_embed``, ``block_diag``, and the
index helpers ``triu_indices``/``tril_indices``.

``diag_embed`` places the values with one WHERE against an ``i + offset == j`` mask, and
``block_diag`` pads each block with zeros and concatenates, so both are differentiable on any
backend through ops that already have derivative entries.
"""

from __future__ import annotations

from typing import Any

from .. import dtypes as _dt
from .._lazy import lazy_import
from ..meta import result_type
from ..tensor import Tensor, method_table, wrap_dim
from . import binary as _b
from . import unary as _u
from . import views as _v
from ._common import cast
from ._reduce import check_input
from .creation import iota

TENSOR_METHODS: dict = {}
"""The ``Tensor`` methods this module provides, by name (installed by ``mbtorch.core.ops``)."""
tensor_method = method_table(TENSOR_METHODS)

np = lazy_import("numpy", globals(), "np")


def _zero(x: Tensor) -> Tensor:
    from .creation import zeros

    return zeros((), dtype=x._dtype, device=x._device)


@tensor_method
def diag_embed(input: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """A tensor whose diagonal (``offset``) in the planes ``(dim1, dim2)`` holds the last dim
    of ``input``; zero elsewhere.

    >>> mbtorch.diag_embed(mbtorch.tensor([1, 2]))
    tensor([[1, 0],
            [0, 2]])
    """
    check_input(input, "diag_embed")
    nd = input.ndim + 1
    d1, d2 = wrap_dim(dim1, nd, "diag_embed"), wrap_dim(dim2, nd, "diag_embed")
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    n = input._shape[-1]
    k = abs(offset)
    m = n + k
    from .joining import pad_constant

    vals = pad_constant(input, (0, k)) if k else input  # value for row (offset >= 0) or col
    dev, be = input._device, input._be
    rows = _v.reshape(iota(m, dev, be), (m, 1))
    cols = _v.reshape(iota(m, dev, be), (1, m))
    mask = _b.eq(_b.add(rows, offset), cols)
    spread = _v.unsqueeze(vals, -1) if offset >= 0 else _v.unsqueeze(vals, -2)
    out = _u.where(mask, spread, _zero(input))  # (..., m, m): rows then cols last
    return _v.movedim(out, (-2, -1), (d1, d2))


@tensor_method
def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """1-d input: a square matrix with ``input`` on diagonal ``diagonal``; 2-d input: a copy
    of that diagonal as a vector."""
    check_input(input, "diag")
    if input.ndim == 1:
        return diag_embed(input, diagonal)
    if input.ndim != 2:
        raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {input.ndim}D")
    rows, cols = input._shape
    if diagonal >= cols or -diagonal >= rows:  # past the corner: nothing on that diagonal
        from .creation import zeros

        return zeros(0, dtype=input._dtype, device=input._device)
    return _v.diagonal(input, diagonal).clone()


def block_diag(*tensors: Tensor) -> Tensor:
    """The tensors (0-, 1- or 2-d, promoted to one dtype) as blocks along the diagonal of a
    zero matrix; a 0-d tensor is a 1x1 block and a 1-d one a single row."""
    for i, t in enumerate(tensors):
        check_input(t, "block_diag", f"tensors[{i}]")
        if t.ndim > 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer "
                               f"dimensions. Input {i} has {t.ndim} dimensions")
    if not tensors:
        from .creation import empty

        return empty(1, 0)
    dtype = result_type(tensors, "block_diag")
    blocks = [cast(_v.reshape(t, (1, -1)) if t.ndim < 2 else t, dtype) for t in tensors]
    width = sum(b._shape[1] for b in blocks)
    from .joining import cat, pad_constant

    rows, left = [], 0
    for b in blocks:
        right = width - left - b._shape[1]
        rows.append(pad_constant(b, (left, right)))
        left += b._shape[1]
    return cat(rows, 0)


def _tri_indices(name: str, row: int, col: int, offset: int, dtype: Any, device: Any,
                 lower: bool) -> Tensor:
    for value, arg in ((row, "row"), (col, "col")):
        if value < 0:
            raise RuntimeError(f"{arg} must be non-negative, got{value}")
    dtype = _dt.int64 if dtype is None else _dt.as_dtype(dtype, name)
    if dtype.category != _dt.INTEGRAL_CATEGORY:
        raise NotImplementedError(f'"{name}" not implemented for \'{dtype.scalar_name}\'')
    # the indices depend only on the arguments: computed on the host, like arange's values
    r, c = np.indices((row, col)).reshape(2, -1)
    keep = (c - r <= offset) if lower else (c - r >= offset)
    from .creation import tensor

    return tensor(np.stack([r[keep], c[keep]]), dtype=dtype, device=device)


def triu_indices(row: int, col: int, offset: int = 0, *, dtype: Any = None,
                 device: Any = None, layout: Any = None) -> Tensor:
    """``(2, N)`` row and column indices of the upper triangle (from diagonal ``offset``) of a
    ``row x col`` matrix, in row-major order."""
    return _tri_indices("triu_indices", row, col, offset, dtype, device, lower=False)


def tril_indices(row: int, col: int, offset: int = 0, *, dtype: Any = None,
                 device: Any = None, layout: Any = None) -> Tensor:
    """``(2, N)`` row and column indices of the lower triangle (to diagonal ``offset``)."""
    return _tri_indices("tril_indices", row, col, offset, dtype, device, lower=True)


__all__ = ["block_diag", "diag", "diag_embed", "tril_indices", "triu_indices"]
