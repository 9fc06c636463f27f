"""``torch.sparse``: COO sparse tensors (``_coo.py``) and the operations graph networks use.

``mbtorch.sparse_coo_tensor``, ``mbtorch.spmm`` and ``Tensor.to_sparse`` load this package on
first use.
"""

from __future__ import annotations

from typing import Any

from ..core.tensor import Tensor
from ._coo import SparseCOOTensor, mm, sparse_coo_tensor, sparse_sum, to_sparse

__all__ = ["SparseCOOTensor", "addmm", "mm", "sparse_coo_tensor", "spmm", "sum", "to_sparse"]


def spmm(input: SparseCOOTensor, mat2: Tensor) -> Tensor:
    """``sparse @ dense`` (``torch.spmm``)."""
    return mm(input, mat2)


def addmm(mat: Tensor, mat1: SparseCOOTensor, mat2: Tensor, *, beta: Any = 1,
          alpha: Any = 1) -> Tensor:
    """``beta * mat + alpha * (mat1 @ mat2)`` with ``mat1`` sparse."""
    out = mm(mat1, mat2)
    if alpha != 1:
        out = out * alpha
    return out + (mat if beta == 1 else mat * beta)


sum = sparse_sum  # noqa: A001 - torch.sparse.sum
