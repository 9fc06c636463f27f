"""``mbtorch.linalg``: PyTorch's ``torch.linalg`` names. Norms and products; factorizations
and solvers (``cholesky``, ``lu``, ``qr``, ``solve``, ``inv``, ``det``...: registry ops with
a decomposition every backend runs, see ``core/ops/factorizations.py``); spectral
decompositions (``core/ops/spectral.py``); matrix functions (``core/ops/matfuncs.py``).
``__all__`` lists the names by group."""

from __future__ import annotations

from .core.ops.householder import householder_product
from .core.ops.ldl import ldl_factor, ldl_factor_ex, ldl_solve
from .core.ops.least_squares import lstsq
from .core.ops.linalg import matmul
from .core.ops.matfuncs import linalg_cross as cross
from .core.ops.matfuncs import linalg_vander as vander
from .core.ops.matfuncs import matrix_exp, matrix_power, multi_dot, tensorinv, tensorsolve
from .core.ops.norms import linalg_norm as norm
from .core.ops.norms import matrix_norm, vector_norm
from .core.ops.solvers import (
    LinAlgError,
    cholesky,
    cholesky_ex,
    det,
    inv,
    inv_ex,
    lu,
    lu_factor,
    lu_factor_ex,
    lu_solve,
    qr,
    slogdet,
    solve,
    solve_ex,
    solve_triangular,
)
from .core.ops.spectral import cond, eigh, eigvalsh, matrix_rank, pinv, svdvals
from .core.ops.spectral import linalg_svd as svd
from .core.tensor import Tensor


def vecdot(x: Tensor, y: Tensor, *, dim: int = -1) -> Tensor:
    """Dot product of ``x`` and ``y`` along ``dim``, broadcasting the other dims."""
    from .core.ops.binary import mul
    from .core.ops.reductions import sum as sum_

    prod = mul(x, y)
    return sum_(prod, dim, dtype=prod.dtype)


def diagonal(A: Tensor, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """The diagonals of a batch of matrices (a view, as ``Tensor.diagonal``)."""
    return A.diagonal(offset, dim1, dim2)


__all__ = [
    "matmul", "matrix_norm", "norm", "vecdot", "vector_norm", "diagonal",
    # factorizations and solvers
    "LinAlgError", "cholesky", "cholesky_ex", "det", "inv", "inv_ex", "lstsq", "lu",
    "lu_factor", "lu_factor_ex", "lu_solve", "qr", "slogdet", "solve", "solve_ex",
    "solve_triangular", "householder_product", "ldl_factor", "ldl_factor_ex", "ldl_solve",
    # spectral: eigh, svd and what stands on them (core/ops/spectral.py)
    "cond", "eigh", "eigvalsh", "matrix_rank", "pinv", "svd", "svdvals",
    # matrix functions
    "cross", "matrix_exp", "matrix_power", "multi_dot", "tensorinv", "tensorsolve", "vander",
]
