"""Sparse COO tensors: an ``(sparse_dim, nnz)`` int64 index tensor and an ``(nnz, *dense)``
value tensor, as ``torch.sparse_coo_tensor`` keeps them.

Everything here is composed of dense mbtorch ops (``index_add``, ``index_select``,
``unique``, ``nonzero``), so it runs on every backend and gradients reach the values and the
dense operands through the ordinary derivative table. Unlike PyTorch, a sparse tensor is not
an instance of ``mbtorch.Tensor``: it is its own class with the part of the tensor API that
sparse code uses (``indices``, ``values``, ``coalesce``, ``to_dense``, ``@``, ``t``, ``to``).
"""

from __future__ import annotations

__all__ = ["SparseCOOTensor", "masked_values", "sparse_coo_tensor", "to_sparse"]

import math
from typing import Any

from ..core.layout import sparse_coo
from ..core.tensor import Size, Tensor


def _mt():
    import mbtorch

    return mbtorch


def _as_tensor(x: Any, name: str, arg: str, **kw) -> Tensor:
    if isinstance(x, Tensor):
        return x
    try:
        return _mt().tensor(x, **kw)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name}(): argument '{arg}' must be a Tensor or array-like, "
                        f"not {type(x).__name__}") from exc


class SparseCOOTensor:
    """A sparse tensor in coordinate format (``layout=torch.sparse_coo``)."""

    layout = sparse_coo
    is_sparse = True
    is_sparse_csr = False

    def __init__(self, indices: Tensor, values: Tensor, size: tuple, coalesced: bool):
        self._indices_t, self._values_t = indices, values
        self._size, self._coalesced = tuple(size), coalesced

    # -- metadata ---------------------------------------------------------------------------
    @property
    def shape(self) -> Size:
        return Size(self._size)

    def size(self, dim: int | None = None):
        return Size(self._size) if dim is None else self._size[dim]

    def dim(self) -> int:
        return len(self._size)

    ndim = property(dim)

    def sparse_dim(self) -> int:
        return self._indices_t.shape[0]

    def dense_dim(self) -> int:
        return len(self._size) - self.sparse_dim()

    def _nnz(self) -> int:
        return self._values_t.shape[0]

    @property
    def dtype(self):
        return self._values_t.dtype

    @property
    def device(self):
        return self._values_t.device

    @property
    def requires_grad(self) -> bool:
        return self._values_t.requires_grad

    def requires_grad_(self, requires_grad: bool = True) -> "SparseCOOTensor":
        self._values_t.requires_grad_(requires_grad)
        return self

    def is_coalesced(self) -> bool:
        return self._coalesced

    def indices(self) -> Tensor:
        if not self._coalesced:
            raise RuntimeError("Cannot get indices on an uncoalesced tensor, please call "
                               ".coalesce() first")
        return self._indices_t

    def values(self) -> Tensor:
        if not self._coalesced:
            raise RuntimeError("Cannot get values on an uncoalesced tensor, please call "
                               ".coalesce() first")
        return self._values_t

    def _indices(self) -> Tensor:
        return self._indices_t

    def _values(self) -> Tensor:
        return self._values_t

    # -- conversions ------------------------------------------------------------------------
    def _linear(self) -> Tensor:
        """Each entry's position in the flattened sparse dims (row-major)."""
        idx = self._indices_t
        lin = _mt().zeros(idx.shape[1], dtype=_mt().int64, device=idx.device)
        for d in range(idx.shape[0]):
            lin = lin * self._size[d] + idx[d]
        return lin

    def coalesce(self) -> "SparseCOOTensor":
        """Duplicate coordinates summed, entries sorted by coordinate."""
        if self._coalesced:
            return self
        mt = _mt()
        lin = self._linear()
        uniq, inverse = mt.unique(lin, sorted=True, return_inverse=True)
        dense = tuple(self._values_t.shape[1:])
        values = mt.zeros((uniq.shape[0],) + dense, dtype=self.dtype,
                          device=self.device).index_add(0, inverse, self._values_t)
        rows, rest = [], uniq
        for d in reversed(range(self.sparse_dim())):
            rows.append(rest % self._size[d])
            rest = mt.div(rest, self._size[d], rounding_mode="floor")
        indices = (mt.stack(rows[::-1]) if rows else
                   mt.zeros((0, uniq.shape[0]), dtype=mt.int64, device=self.device))
        return SparseCOOTensor(indices, values, self._size, True)

    def to_dense(self, dtype: Any = None, *, masked_grad: Any = None) -> Tensor:
        if dtype is not None:
            raise RuntimeError("dtype argument is not supported by sparse_to_dense")
        mt = _mt()
        sd = self.sparse_dim()
        dense = tuple(self._values_t.shape[1:])
        flat = mt.zeros((math.prod(self._size[:sd]),) + dense, dtype=self.dtype,
                        device=self.device)
        return flat.index_add(0, self._linear(), self._values_t).reshape(self._size)

    def to(self, *args, **kwargs) -> "SparseCOOTensor":
        values = self._values_t.to(*args, **kwargs)
        indices = self._indices_t.to(values.device)
        return SparseCOOTensor(indices, values, self._size, self._coalesced)

    def cpu(self) -> "SparseCOOTensor":
        return self.to("cpu")

    def float(self) -> "SparseCOOTensor":
        return self.to(_mt().float32)

    def double(self) -> "SparseCOOTensor":
        return self.to(_mt().float64)

    def detach(self) -> "SparseCOOTensor":
        return SparseCOOTensor(self._indices_t, self._values_t.detach(), self._size,
                               self._coalesced)

    def clone(self) -> "SparseCOOTensor":
        return SparseCOOTensor(self._indices_t.clone(), self._values_t.clone(), self._size,
                               self._coalesced)

    def to_sparse(self) -> "SparseCOOTensor":
        return self

    to_sparse_coo = to_sparse

    def sparse_mask(self, mask: "SparseCOOTensor") -> "SparseCOOTensor":
        """``self``'s values (zero where it has none) at ``mask``'s indices."""
        if not isinstance(mask, SparseCOOTensor):
            raise RuntimeError("sparse_mask(): expected 'mask' to be a sparse COO tensor, got "
                               f"{type(mask).__name__}")
        return masked_values(self.to_dense(), mask)

    def dim_order(self, *, ambiguity_check: bool = False):
        raise AttributeError("Can't get dim order on sparse type: torch.sparse.FloatTensor Use "
                             "Tensor.to_dense() to convert to a dense tensor first.")

    # -- arithmetic -------------------------------------------------------------------------
    def t(self) -> "SparseCOOTensor":
        if self.sparse_dim() != 2 or self.dense_dim():
            raise RuntimeError(f"t(): expects a 2-D sparse tensor with no dense dims, got "
                               f"sparse_dim {self.sparse_dim()}, dense_dim {self.dense_dim()}")
        return SparseCOOTensor(self._indices_t.flip(0), self._values_t,
                               self._size[::-1], False)

    def transpose(self, dim0: int, dim1: int) -> "SparseCOOTensor":
        if sorted((dim0 % 2, dim1 % 2)) != [0, 1] or self.dim() != 2:
            raise NotImplementedError("transpose(): sparse tensors here transpose their two "
                                      "dims only (t())")
        return self.t()

    def mm(self, other: Tensor) -> Tensor:
        return mm(self, other)

    def __matmul__(self, other: Any) -> Tensor:
        if other.__class__ is SparseCOOTensor:
            raise NotImplementedError("matmul(): sparse @ sparse is not supported; "
                                      "use .to_dense() on one operand")
        return mm(self, other) if other.ndim == 2 else \
            mm(self, other.unsqueeze(1)).squeeze(1)

    def __mul__(self, other: Any) -> "SparseCOOTensor":
        if isinstance(other, (int, float, bool)) or (isinstance(other, Tensor) and
                                                     other.dim() == 0):
            return SparseCOOTensor(self._indices_t, self._values_t * other, self._size,
                                   self._coalesced)
        if isinstance(other, Tensor) and tuple(other.shape) == self._size:
            picked = other[tuple(self._indices_t)]
            return SparseCOOTensor(self._indices_t, self._values_t * picked, self._size,
                                   self._coalesced)
        raise RuntimeError("mul(): a sparse tensor multiplies a scalar or a dense tensor of "
                           f"its own size {list(self._size)}")

    __rmul__ = __mul__

    def __neg__(self) -> "SparseCOOTensor":
        return self * -1

    def __add__(self, other: Any) -> "SparseCOOTensor":
        mt = _mt()
        if isinstance(other, SparseCOOTensor):
            if other._size != self._size:
                raise RuntimeError(f"add(): sizes {list(self._size)} and {list(other._size)} "
                                   "do not match")
            return SparseCOOTensor(mt.cat([self._indices_t, other._indices_t], 1),
                                   mt.cat([self._values_t, other._values_t], 0),
                                   self._size, False)
        if isinstance(other, Tensor):
            raise RuntimeError("add(sparse, dense) is not supported. Use "
                               "add(dense, sparse) instead.")
        raise TypeError(f"add(): cannot add a sparse tensor and {type(other).__name__}")

    def __sub__(self, other: Any):
        return self + (-other)

    def sum(self, dim: Any = None) -> Tensor:
        return sparse_sum(self, dim)

    def __repr__(self) -> str:
        pad = " " * len("tensor(indices=")
        idx = repr(self._indices_t).replace("\n", "\n" + pad)
        val = repr(self._values_t).replace("\n", "\n" + " " * len("       values="))
        return (f"tensor(indices={idx},\n       values={val},\n       size={self._size}, "
                f"nnz={self._nnz()}, layout=torch.sparse_coo)")

    def __len__(self) -> int:
        return self._size[0]


def sparse_coo_tensor(indices: Any, values: Any, size: Any = None, *, dtype: Any = None,
                      device: Any = None, pin_memory: bool = False,
                      requires_grad: bool = False, check_invariants: bool | None = None,
                      is_coalesced: bool | None = None) -> SparseCOOTensor:
    """A sparse COO tensor with ``values`` at ``indices`` (``(sparse_dim, nnz)``); ``size``
    is inferred from the largest index where not given. Duplicates are kept until
    ``coalesce()``."""
    mt = _mt()
    name = "sparse_coo_tensor"
    indices = _as_tensor(indices, name, "indices", device=device)
    values = _as_tensor(values, name, "values", dtype=dtype, device=device)
    if dtype is not None and values.dtype is not dtype:
        values = values.to(dtype)
    if device is not None:
        values, indices = values.to(device), indices.to(device)
    if indices.dtype.is_floating_point or indices.dtype is mt.bool:
        raise RuntimeError(f"{name}(): indices must be an int64 tensor, got {indices.dtype}")
    indices = indices.to(mt.int64)
    if indices.dim() != 2:
        raise RuntimeError(f"{name}(): indices must be sparse_dim x nnz, but got: "
                           f"{list(indices.shape)}")
    if values.dim() == 0:
        raise RuntimeError(f"{name}(): values must have at least one dimension (nnz)")
    if indices.shape[1] != values.shape[0]:
        raise RuntimeError(f"{name}(): indices and values must have same nnz, but got nnz "
                           f"from indices: {indices.shape[1]}, nnz from values: "
                           f"{values.shape[0]}")
    sd, nnz = indices.shape
    lo = indices.amin(1).tolist() if nnz else [0] * sd
    hi = indices.amax(1).tolist() if nnz else [-1] * sd
    for d, v in enumerate(lo):
        if v < 0:
            raise RuntimeError(f"{name}(): found negative index {v} for dim {d}")
    dense = tuple(values.shape[1:])
    if size is None:
        size = tuple(h + 1 for h in hi) + dense
    else:
        size = tuple(int(s) for s in size)
        if len(size) != sd + len(dense):
            raise RuntimeError(f"{name}(): number of dimensions must be sparse_dim "
                               f"({sd}) + dense_dim ({len(dense)}), but got {len(size)}")
        for d, h in enumerate(hi):
            if h >= size[d]:
                raise RuntimeError(f"{name}(): size is inconsistent with indices: for dim {d}, "
                                   f"size is {size[d]} but found index {h}")
        if tuple(size[sd:]) != dense:
            raise RuntimeError(f"{name}(): values has dense sizes {list(dense)} but size asks "
                               f"for {list(size[sd:])}")
    if requires_grad:
        values = values.detach().requires_grad_()
    return SparseCOOTensor(indices, values, size, bool(is_coalesced) or nnz <= 1)


def to_sparse(input: Tensor, sparse_dim: int | None = None) -> SparseCOOTensor:
    """``input`` with its zeros dropped (``Tensor.to_sparse``): coalesced; with ``sparse_dim``,
    the trailing dims stay dense and a slice is kept where any of it is non-zero."""
    mt = _mt()
    nd = input.dim()
    sd = nd if sparse_dim is None else sparse_dim
    if not 0 < sd <= nd:
        raise RuntimeError(f"to_sparse(): sparse_dim must be in [1, {nd}], got {sparse_dim}")
    keep = input != 0
    if sd < nd:
        keep = keep.reshape(tuple(input.shape[:sd]) + (-1,)).any(-1)
    indices = mt.nonzero(keep).t().contiguous()
    values = input[tuple(indices)]
    return SparseCOOTensor(indices, values, tuple(input.shape), True)


def masked_values(dense: Tensor, mask: SparseCOOTensor) -> SparseCOOTensor:
    """``Tensor.sparse_mask``: ``dense``'s values at ``mask``'s indices (duplicates and the
    coalesced flag kept), so gradients reach ``dense``."""
    if tuple(dense.shape) != mask._size:
        raise RuntimeError(f"sparse_mask(): operands have incompatible sizes; self has size "
                           f"{list(dense.shape)} but mask has size {list(mask._size)}")
    values = dense[tuple(mask._indices_t)]
    return SparseCOOTensor(mask._indices_t, values, mask._size, mask._coalesced)


def mm(sparse: SparseCOOTensor, dense: Tensor) -> Tensor:
    """``sparse @ dense`` for a 2-D sparse matrix: dense result, gradients to the dense
    operand and to the sparse values."""
    if not isinstance(sparse, SparseCOOTensor):
        raise TypeError(f"mm(): argument 'mat1' must be a sparse tensor, not "
                        f"{type(sparse).__name__}")
    if not isinstance(dense, Tensor) or dense.dim() != 2:
        raise RuntimeError("mm(): argument 'mat2' must be a 2-D dense tensor")
    if sparse.dim() != 2 or sparse.dense_dim():
        raise RuntimeError(f"mm(): argument 'mat1' must be a 2-D sparse matrix, got size "
                           f"{list(sparse._size)}")
    n, k = sparse._size
    if dense.shape[0] != k:
        raise RuntimeError(f"mm(): mat1 and mat2 shapes cannot be multiplied ({n}x{k} and "
                           f"{dense.shape[0]}x{dense.shape[1]})")
    rows, cols = sparse._indices_t[0], sparse._indices_t[1]
    contrib = sparse._values_t.unsqueeze(1) * dense.index_select(0, cols)
    out = _mt().zeros((n, dense.shape[1]), dtype=contrib.dtype, device=dense.device)
    return out.index_add(0, rows, contrib)


def sparse_sum(input: SparseCOOTensor, dim: Any = None) -> Tensor:
    """``torch.sparse.sum``: all elements (a 0-d dense tensor) or over every sparse dim."""
    if dim is None:
        return input._values_t.sum()
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    dims = sorted(d % input.dim() for d in dims)
    if dims == list(range(input.sparse_dim())):
        return input._values_t.sum(0)
    raise NotImplementedError(f"sparse.sum(): reducing dims {dims} of a tensor with "
                              f"{input.sparse_dim()} sparse dims is not supported; reduce all "
                              "of them, or use .to_dense().sum(dim)")
