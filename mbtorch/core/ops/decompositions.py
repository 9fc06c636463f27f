"""The top-level ``torch.*`` spellings of the factorizations and solvers (and their ``Tensor``
methods): ``cholesky``, ``cholesky_solve``, ``cholesky_inverse``, ``det``, ``logdet``,
``slogdet``, ``inverse``, ``lu``, ``lu_solve``, ``lu_unpack``, ``triangular_solve``, ``qr``.
Argument orders and result tuples are PyTorch's older ones; the work is ``solvers.py``'s.
"""

from __future__ import annotations

from typing import Any

from .. import dtypes as _dt
from ..tensor import Tensor, method_table
from . import solvers as _s
from . import unary as _u
from ._common import return_type
from ._reduce import check_input
from .creation import eye

TENSOR_METHODS: dict = {}
"""The ``Tensor`` methods this module provides, by name (installed by ``mbtorch.core.ops``)."""
tensor_method = method_table(TENSOR_METHODS)

_slogdet = return_type("slogdet", ("sign", "logabsdet"))
_qr = return_type("qr", ("Q", "R"))
_lu_unpack = return_type("lu_unpack", ("P", "L", "U"))
_triangular = return_type("triangular_solve", ("solution", "cloned_coefficient"))


@tensor_method
def cholesky(input: Tensor, upper: bool = False) -> Tensor:
    """``torch.cholesky`` (``linalg.cholesky`` with ``upper`` positional)."""
    return _s.cholesky(input, upper=upper, name="cholesky", kernel_only=True)


def _check_rhs_matrix(B: Tensor, A: Tensor, name: str) -> None:
    check_input(B, name)
    if B.ndim < 2:
        if name == "triangular_solve":
            raise RuntimeError(f"torch.triangular_solve: Expected b to have at least 2 "
                               f"dimensions, but it has {B.ndim} dimensions instead")
        raise RuntimeError(f"b should have at least 2 dimensions, but has {B.ndim} dimensions "
                           "instead")
    if B._dtype is not A._dtype:
        raise RuntimeError(f"Expected b and A to have the same dtype, but found b of type "
                           f"{B._dtype.scalar_name} and A of type {A._dtype.scalar_name} "
                           "instead.")
    if B._shape[-2] != A._shape[-1]:
        raise RuntimeError(f"Incompatible matrix sizes for {name}: each A matrix is "
                           f"{A._shape[-1]} by {A._shape[-1]} but each b matrix is "
                           f"{B._shape[-2]} by {B._shape[-1]}")


@tensor_method
def cholesky_solve(input: Tensor, input2: Tensor, upper: bool = False) -> Tensor:
    """``X`` with ``A X = B`` given ``B`` (``input``) and ``A``'s Cholesky factor."""
    _s.check_square(input2, "cholesky_solve", "A", "cholesky_solve_cpu")
    _check_rhs_matrix(input, input2, "cholesky_solve")
    L = input2.mT if upper else input2
    Y = _s.solve_triangular(L, input, upper=False)
    return _s.solve_triangular(L.mT, Y, upper=True)


@tensor_method
def cholesky_inverse(input: Tensor, upper: bool = False) -> Tensor:
    """The inverse of ``A`` from its Cholesky factor ``input``."""
    _s.check_square(input, "cholesky_inverse", "A", "cholesky_inverse_cpu")
    n = input._shape[-1]
    identity = eye(n, dtype=input._dtype, device=input._device).expand(input._shape)
    return cholesky_solve(identity, input, upper)


@tensor_method
def det(input: Tensor) -> Tensor:
    """The determinant (``linalg.det``)."""
    return _s.det(input)


@tensor_method
def slogdet(input: Tensor) -> Any:
    """``(sign, logabsdet)`` as ``torch.return_types.slogdet``."""
    return _slogdet(*_s.slogdet(input))


@tensor_method
def logdet(input: Tensor) -> Tensor:
    """``log(det(A))``: nan for a negative determinant, -inf for a singular ``A``."""
    sign, logabsdet = _s.slogdet(input, name="logdet")
    return _u.where(sign == -1, float("nan"), logabsdet)


@tensor_method
def inverse(input: Tensor) -> Tensor:
    """The inverse (``linalg.inv``)."""
    return _s.inv(input)


@tensor_method
def lu(A: Tensor, pivot: bool = True, get_infos: bool = False) -> tuple:
    """``torch.lu``: ``(A_LU, pivots)``, with ``infos`` when ``get_infos``; unlike
    ``linalg.lu_factor`` a singular ``A`` is not an error."""
    LU, pivots, info = _s.lu_factor_ex(A, pivot=pivot)
    return (LU, pivots, info) if get_infos else (LU, pivots)


@tensor_method
def lu_solve(b: Tensor, LU_data: Tensor, LU_pivots: Tensor) -> Tensor:
    """``torch.lu_solve`` (``linalg.lu_solve`` with the arguments reversed)."""
    return _s.lu_solve(LU_data, LU_pivots, b)


def lu_unpack(LU_data: Tensor, LU_pivots: Tensor, unpack_data: bool = True,
              unpack_pivots: bool = True) -> Any:
    """``(P, L, U)`` from ``lu_factor``'s output."""
    check_input(LU_data, "torch.lu_unpack", "LU_data")
    check_input(LU_pivots, "torch.lu_unpack", "LU_pivots")
    if LU_pivots._dtype is not _dt.int32:
        raise RuntimeError("torch.lu_unpack: LU_pivots is expected to be a contiguous tensor of "
                           "torch.int32 dtype.\nNote: this function is intended to be used "
                           "with the output produced by torch.linalg.lu_factor")
    return _lu_unpack(*_s.unpack(LU_data, LU_pivots, unpack_data, unpack_pivots))


@tensor_method
def triangular_solve(input: Tensor, A: Tensor, upper: bool = True, transpose: bool = False,
                     unitriangular: bool = False) -> Any:
    """``(solution, cloned_coefficient)``: ``X`` with ``A X = b`` (``A^T X = b`` when
    ``transpose``) for a triangular ``A``, and a copy of ``A``."""
    _s.check_square(A, "triangular_solve", "A", "triangular_solve_cpu")
    _check_rhs_matrix(input, A, "triangular_solve")
    M = A.mT if transpose else A
    X = _s.solve_triangular(M, input, upper=upper != transpose, unitriangular=unitriangular)
    return _triangular(X, A.clone())


@tensor_method
def qr(input: Tensor, some: bool = True) -> Any:
    """``torch.qr``: reduced (``some``) or complete ``(Q, R)``."""
    return _qr(*_s.qr(input, "reduced" if some else "complete"))


__all__ = ["cholesky", "cholesky_inverse", "cholesky_solve", "det", "inverse", "logdet", "lu",
           "lu_solve", "lu_unpack", "qr", "slogdet", "triangular_solve"]
