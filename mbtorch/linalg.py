"""``mbtorch.linalg``: PyTorch's ``torch.linalg`` names for what mbtorch provides (norms and
products). Decompositions that need LAPACK (``svd``, ``qr``, ``eigh``, ``solve``...) are not
part of mbtorch."""

from __future__ import annotations

from .core.ops.linalg import matmul
from .core.ops.norms import linalg_norm as norm
from .core.ops.norms import matrix_norm, vector_norm
from .core.tensor import Tensor


def vecdot(x: Tensor, y: Tensor, *, dim: int = -1) -> Tensor:
    """Dot product of ``x`` and ``y`` along ``dim``, broadcasting the other dims."""
    from .core.ops.binary import mul
    from .core.ops.reductions import sum as sum_

    prod = mul(x, y)
    return sum_(prod, dim, dtype=prod.dtype)


__all__ = ["matmul", "matrix_norm", "norm", "vecdot", "vector_norm"]
