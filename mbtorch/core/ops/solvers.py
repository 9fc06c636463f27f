"""``torch.linalg``'s factorizations and solvers with PyTorch's checks, messages, batching
(``(*, n, n)``, batch dims broadcast between operands) and named-tuple results: ``cholesky``,
``lu_factor``, ``lu``, ``lu_solve``, ``solve``, ``solve_triangular``, ``inv``, ``det``,
``slogdet``, ``qr`` and their ``_ex`` forms (``lstsq`` is in ``least_squares.py``). The ops
behind them are in ``factorizations.py``.

float32 and float64 only (integer input: ``RuntimeError`` or, where PyTorch checks nothing
before its kernel, ``NotImplementedError``; half precision: ``NotImplementedError``, as PyTorch's
CPU). Complex input raises ``NotImplementedError``: unlike PyTorch's, these are real-only. A
singular or non-positive-definite input raises ``LinAlgError`` (a ``RuntimeError``), naming
the batch element as PyTorch does; the ``_ex`` forms return ``info``.
"""

from __future__ import annotations

from typing import Any

from .. import dtypes as _dt
from ..meta import broadcast_shapes
from ..tensor import Tensor
from . import factorizations as _f
from ._common import return_type
from ._reduce import check_input
from .creation import arange, eye
from .gathering import gather

__all__ = [
    "LinAlgError", "cholesky", "cholesky_ex", "lu_factor", "lu_factor_ex", "lu", "lu_solve",
    "solve", "solve_ex", "solve_triangular", "inv", "inv_ex", "det", "slogdet", "qr",
    "check_matrix", "check_square", "broadcast_batch", "unpack",
]


class LinAlgError(RuntimeError):
    """A matrix is singular or not positive-definite (``torch.linalg.LinAlgError``)."""


_qr = return_type("linalg_qr", ("Q", "R"))
_lu = return_type("linalg_lu", ("P", "L", "U"))
_lu_factor = return_type("linalg_lu_factor", ("LU", "pivots"))
_lu_factor_ex = return_type("linalg_lu_factor_ex", ("LU", "pivots", "info"))
_cholesky_ex = return_type("linalg_cholesky_ex", ("L", "info"))
_inv_ex = return_type("linalg_inv_ex", ("inverse", "info"))
_solve_ex = return_type("linalg_solve_ex", ("result", "info"))
_slogdet = return_type("linalg_slogdet", ("sign", "logabsdet"))


# -- checks -----------------------------------------------------------------------------------
def check_matrix(A: Any, name: str, arg: str = "A", kernel: str = "lu_cpu",
                 kernel_only: bool = False) -> None:
    """A floating tensor of float32/float64 with at least 2 dims, PyTorch's errors.
    ``kernel_only``: PyTorch checks no dtype before its kernel, whose refusal of an integer
    input is a ``NotImplementedError`` (the LU family, ``torch.cholesky``)."""
    check_input(A, name, arg)
    if A.ndim < 2:
        if kernel_only:
            raise RuntimeError(f"{name}: Expected tensor with 2 or more dimensions. Got size: "
                               f"{list(A._shape)} instead")
        raise RuntimeError(f"{name}: The input tensor {arg} must have at least 2 dimensions.")
    if A._dtype.is_complex:
        raise NotImplementedError(f"{name}: complex input ({A._dtype.scalar_name}) is not "
                                  "supported: mbtorch's factorizations are real")
    if A._dtype.category != _dt.FLOATING_CATEGORY and not kernel_only:
        raise RuntimeError(f"{name}: Expected a floating point or complex tensor as input. "
                           f"Got {A._dtype.scalar_name}")
    if A._dtype not in (_dt.float32, _dt.float64):
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{A._dtype.scalar_name}'")


def check_square(A: Any, name: str, arg: str = "A", kernel: str = "lu_cpu",
                 kernel_only: bool = False) -> None:
    check_matrix(A, name, arg, kernel, kernel_only)
    if A._shape[-1] != A._shape[-2]:
        raise RuntimeError(f"{name}: {arg} must be batches of square matrices, but they are "
                           f"{A._shape[-2]} by {A._shape[-1]} matrices")


def _check_same_dtype(A: Tensor, B: Tensor, name: str, args: tuple = ("A", "B")) -> None:
    if A._dtype is not B._dtype:
        a, b = args
        raise RuntimeError(f"{name}: Expected {a} and {b} to have the same dtype, but found {a} "
                           f"of type {A._dtype.scalar_name} and {b} of type "
                           f"{B._dtype.scalar_name} instead")
    if A._device != B._device:
        raise RuntimeError(f"{name}: Expected all tensors to be on the same device, but found "
                           f"at least two devices, {A._device} and {B._device}!")


def _raise_info(info: Tensor, batched: bool, message: Any, exc: type = LinAlgError) -> None:
    """Raise for the first non-zero ``info`` (one device sync, as PyTorch's check)."""
    flat = info.reshape(-1)
    if flat._shape[0] == 0:
        return
    bad = (flat != 0).nonzero()
    if bad._shape[0] == 0:
        return
    at = int(bad[0, 0].item())
    where = f"(Batch element {at}): " if batched else ""
    raise exc(message(where, int(flat[at].item())))


def broadcast_batch(A: Tensor, B: Tensor, name: str) -> tuple:
    """``A`` (*, n, n) and ``B`` (*, n, k) expanded to one batch shape."""
    batch = broadcast_shapes(A._shape[:-2], B._shape[:-2], name)
    return A.expand(batch + A._shape[-2:]), B.expand(batch + B._shape[-2:])


def _rhs(A: Tensor, B: Tensor, left: bool, name: str) -> tuple:
    """PyTorch's vector case: ``B`` of shape ``A.shape[:-1]`` (or 1-D) is a batch of vectors.
    Returns ``B`` as matrices and whether to squeeze the result."""
    check_input(B, name, "B")
    vector = B.ndim == 1 or (left and B.ndim == A.ndim - 1 and B._shape == A._shape[:-1])
    if vector:
        B = B.unsqueeze(-1)
    n = A._shape[-1]
    if B._shape[-2 if left else -1] != n:
        b = B._shape[-2:] if B.ndim >= 2 else (B._shape[-1], 1)
        raise RuntimeError(f"{name}: Incompatible shapes of A and B for the equation "
                           f"{'AX = B' if left else 'XA = B'} ({n}x{n} and {b[0]}x{b[1]})")
    return B, vector


# -- Cholesky ---------------------------------------------------------------------------------
def cholesky_ex(A: Tensor, *, upper: bool = False, check_errors: bool = False) -> Any:
    """``(L, info)``: the Cholesky factor of a symmetric positive-definite ``A``."""
    name = "linalg.cholesky"
    check_square(A, name, kernel="cholesky_cpu")
    L, info = _f.run_cholesky(A)
    if check_errors:
        _raise_info(info, A.ndim > 2, _not_pd("linalg.cholesky"))
    return _cholesky_ex(L.mT if upper else L, info)


def _not_pd(name: str) -> Any:
    return lambda where, k: (f"{name}: {where}The factorization could not be completed because "
                             f"the input is not positive-definite (the leading minor of order "
                             f"{k} is not positive-definite).")


def cholesky(A: Tensor, *, upper: bool = False, name: str = "linalg.cholesky",
             kernel_only: bool = False) -> Tensor:
    """``L`` with ``A = L @ L.mT`` (``upper``: ``U`` with ``A = U.mT @ U``).

    >>> mbtorch.linalg.cholesky(mbtorch.tensor([[4.0, 2.0], [2.0, 2.0]]))
    tensor([[2., 0.],
            [1., 1.]])
    """
    check_square(A, name, kernel="cholesky_cpu", kernel_only=kernel_only)
    L, info = _f.run_cholesky(A)
    _raise_info(info, A.ndim > 2, _not_pd(name))
    return L.mT if upper else L


# -- LU ---------------------------------------------------------------------------------------
def _check_pivot(pivot: bool, name: str) -> None:
    if not pivot:
        raise RuntimeError(f"{name}: LU without pivoting is not implemented on the CPU")


def lu_factor_ex(A: Tensor, *, pivot: bool = True, check_errors: bool = False) -> Any:
    """``(LU, pivots, info)``: LAPACK's packed LU factorization with partial pivoting."""
    check_matrix(A, "torch.lu_factor", kernel_only=True)
    _check_pivot(pivot, "linalg.lu_factor")
    LU, pivots = _f.run_lu_factor(A)
    info = _f.lu_info(LU)
    if check_errors:
        _raise_info(info, A.ndim > 2, _zero_pivot("torch.linalg.lu_factor_ex"), RuntimeError)
    return _lu_factor_ex(LU, pivots, info)


def _zero_pivot(name: str) -> Any:
    return lambda where, k: (f"{name}: {where}U[{k},{k}] is zero and using it on lu_solve would "
                             "result in a division by zero. If you still want to perform the "
                             "factorization, consider calling linalg.lu(A, pivot) or "
                             "linalg.lu_factor_ex(A, pivot)")


def lu_factor(A: Tensor, *, pivot: bool = True) -> Any:
    """``(LU, pivots)`` as ``torch.linalg.lu_factor``; a zero pivot is an error."""
    check_matrix(A, "torch.lu_factor", kernel_only=True)
    _check_pivot(pivot, "linalg.lu_factor")
    LU, pivots = _f.run_lu_factor(A)
    _raise_info(_f.lu_info(LU), A.ndim > 2, _zero_pivot("torch.linalg.lu_factor"), RuntimeError)
    return _lu_factor(LU, pivots)


def unpack(LU: Tensor, pivots: Tensor, unpack_data: bool = True,
           unpack_pivots: bool = True) -> tuple:
    """``(P, L, U)`` from a packed factorization (empty tensors for what is not unpacked)."""
    m, n = LU._shape[-2:]
    k = min(m, n)
    empty = LU.new_zeros((0,))
    L = U = empty
    if unpack_data:
        eye_mk = eye(m, k, dtype=LU._dtype, device=LU._device)
        L = LU[..., :, :k].tril(-1) + eye_mk
        U = LU[..., :k, :].triu()
    P = empty
    if unpack_pivots:
        perm = _f.pivots_to_permutation(pivots, m)
        P = _f.permutation_matrix(perm, LU._dtype)
    return P, L, U


def lu(A: Tensor, *, pivot: bool = True) -> Any:
    """``(P, L, U)`` with ``A = P @ L @ U``."""
    check_matrix(A, "linalg.lu", kernel_only=True)
    _check_pivot(pivot, "linalg.lu_factor")
    LU, pivots = _f.run_lu_factor(A)
    return _lu(*unpack(LU, pivots))


def lu_solve(LU: Tensor, pivots: Tensor, B: Tensor, *, left: bool = True,
             adjoint: bool = False) -> Tensor:
    """Solve ``A X = B`` (``X A = B`` when not ``left``; ``A^H`` when ``adjoint``) from
    ``lu_factor``'s output."""
    name = "linalg.lu_solve"
    check_square(LU, name, "LU")
    check_input(pivots, name, "pivots")
    if pivots._dtype is not _dt.int32:
        raise RuntimeError(f"{name}: pivots should be a Tensor of scalar type torch.int32")
    B, _ = _rhs(LU, B, left, name)
    _check_same_dtype(LU, B, name, ("LU", "B"))
    if not left:  # X A = B  <=>  A^T X^T = B^T
        return lu_solve(LU, pivots, B.mT, left=True, adjoint=not adjoint).mT
    batch = broadcast_shapes(broadcast_shapes(LU._shape[:-2], pivots._shape[:-1], name),
                             B._shape[:-2], name)
    n = LU._shape[-1]
    LU, B = LU.expand(batch + (n, n)), B.expand(batch + B._shape[-2:])
    perm = _f.pivots_to_permutation(pivots.expand(batch + (n,)), n)
    if adjoint:  # A^T = U^T L^T P^T
        Y = _f.run_triangular_solve(LU.mT, B, False, False)
        Z = _f.run_triangular_solve(LU.mT, Y, True, True)
        # X = P Z, and P's row perm[r] is Z's row r
        return gather(Z, -2, perm.argsort(-1).unsqueeze(-1).expand(Z._shape))
    PB = gather(B, -2, perm.unsqueeze(-1).expand(B._shape))
    Y = _f.run_triangular_solve(LU, PB, False, True)
    return _f.run_triangular_solve(LU, Y, True, False)


# -- triangular and general solves ------------------------------------------------------------
def solve_triangular(A: Tensor, B: Tensor, *, upper: bool, left: bool = True,
                     unitriangular: bool = False) -> Tensor:
    """``X`` with ``A X = B`` (``X A = B`` when not ``left``) for a triangular ``A``; only
    the triangle named by ``upper`` is read."""
    name = "linalg.solve_triangular"
    check_square(A, name, kernel="triangular_solve_cpu")
    check_matrix(B, name, "B", "triangular_solve_cpu")
    B, _ = _rhs(A, B.to(A._dtype), left, name)  # PyTorch computes in A's dtype
    if not left:  # X A = B  <=>  A^T X^T = B^T, and A^T's triangle is the other one
        return solve_triangular(A.mT, B.mT, upper=not upper, unitriangular=unitriangular).mT
    A, B = broadcast_batch(A, B, name)
    return _f.run_triangular_solve(A, B, upper, unitriangular)


def _solve(A: Tensor, B: Tensor, left: bool, name: str) -> tuple:
    check_square(A, name)
    check_input(B, name, "B")
    _check_same_dtype(A, B, name)
    B, vector = _rhs(A, B, left, name)
    if not left:
        X, info = _solve(A.mT, B.mT, True, name)
        return X.mT, info
    A, B = broadcast_batch(A, B, name)
    X, info = _f.run_solve(A, B)
    return (X.squeeze(-1) if vector else X), info


def solve_ex(A: Tensor, B: Tensor, *, left: bool = True, check_errors: bool = False) -> Any:
    """``(result, info)``: ``solve`` that reports a singular ``A`` in ``info``."""
    X, info = _solve(A, B, left, "linalg.solve_ex")
    if check_errors:
        _raise_info(info, A.ndim > 2, _singular("torch.linalg.solve_ex"))
    return _solve_ex(X, info)


def _singular(name: str) -> Any:
    return lambda where, k: (f"{name}: {where}The solver failed because the input matrix is "
                             "singular.")


def solve(A: Tensor, B: Tensor, *, left: bool = True) -> Tensor:
    """``X`` with ``A X = B`` (``X A = B`` when not ``left``); ``B`` may be a (batch of)
    vector(s), and batch dims broadcast.

    >>> mbtorch.linalg.solve(mbtorch.tensor([[2.0, 0.0], [0.0, 4.0]]), mbtorch.tensor([2.0, 2.0]))
    tensor([1.0000, 0.5000])
    """
    X, info = _solve(A, B, left, "linalg.solve")
    _raise_info(info, A.ndim > 2, _singular("torch.linalg.solve"))
    return X


def inv_ex(A: Tensor, *, check_errors: bool = False, name: str = "linalg.inv") -> Any:
    """``(inverse, info)`` of a square ``A``."""
    check_square(A, name)
    n = A._shape[-1]
    identity = eye(n, dtype=A._dtype, device=A._device).expand(A._shape)
    X, info = _f.run_solve(A, identity)
    if check_errors:
        _raise_info(info, A.ndim > 2, _not_invertible(name))
    return _inv_ex(X, info)


def _not_invertible(name: str) -> Any:
    return lambda where, k: (f"{name}: {where}The diagonal element {k} is zero, the inversion "
                             "could not be completed because the input matrix is singular.")


def inv(A: Tensor, *, name: str = "linalg.inv") -> Tensor:
    """The inverse of a square ``A``; a singular ``A`` raises ``LinAlgError``."""
    return inv_ex(A, check_errors=True, name=name).inverse


# -- determinants -----------------------------------------------------------------------------
def det(A: Tensor, *, name: str = "linalg.det") -> Tensor:
    """The determinant, from the LU factorization (the product of ``U``'s diagonal, signed
    by the row swaps), as PyTorch computes it."""
    check_square(A, name)
    LU, pivots = _f.run_lu_factor(A)
    n = A._shape[-1]
    swaps = (pivots.long() != arange(n, device=A._device) + 1).sum(-1)
    parity = 1.0 - 2.0 * (swaps % 2).to(A._dtype)
    return LU.diagonal(0, -2, -1).prod(-1) * parity


def slogdet(A: Tensor, *, name: str = "linalg.slogdet") -> Any:
    """``(sign, logabsdet)``: ``det(A) = sign * exp(logabsdet)``, without overflow."""
    check_square(A, name)
    return _slogdet(*_f.run_slogdet(A))


# -- QR and least squares ---------------------------------------------------------------------
def qr(A: Tensor, mode: str = "reduced") -> Any:
    """``(Q, R)`` with ``A = Q @ R``: ``mode`` ``'reduced'`` (Q (*, m, k)), ``'complete'``
    (Q (*, m, m)) or ``'r'`` (Q empty)."""
    check_matrix(A, "linalg.qr", kernel="geqrf_cpu")
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of "
                           "'reduced' (default), 'r', or 'complete'")
    return _qr(*_f.run_qr(A, mode))

