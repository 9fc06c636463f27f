"""Matrix factorizations and solvers as registry ops: ``CHOLESKY``, ``LU_FACTOR``,
``TRIANGULAR_SOLVE``, ``LINALG_SOLVE``, ``SLOGDET`` and ``QR``.

Each decomposition is a column (or row) loop over batched, vectorised mbtorch ops, so every
backend runs it (slowly for large matrices, correctly); NumPy-compatible backends register
native kernels (``mbtorch_numpy/xp/factorizations.py``). The public functions with PyTorch's
checks and messages are in ``solvers.py``; the ``run_*`` helpers here take validated inputs.

Op attrs and outputs (``*`` is any batch shape, the same for every operand):

- ``CHOLESKY``: ``(A)`` -> ``(L, info)``; ``L`` lower, ``info`` int32 ``(*)``: 0, or the order
  of the first leading minor that is not positive-definite (LAPACK's ``potrf``).
- ``LU_FACTOR``: ``(A)`` (*, m, n) -> ``(LU, pivots)``; partial pivoting, ``pivots`` int32
  ``(*, min(m, n))`` 1-based row swaps applied in order (LAPACK's ``getrf``).
- ``TRIANGULAR_SOLVE``: ``(A, B | upper, unitriangular)`` -> ``X`` with ``A X = B``; only the
  triangle named by ``upper`` is read (and not its diagonal when ``unitriangular``).
- ``LINALG_SOLVE``: ``(A, B)`` (B is (*, n, k)) -> ``(X, info)``; ``info`` as ``getrf``'s.
- ``SLOGDET``: ``(A)`` -> ``(sign, logabsdet)``, sign 0 and -inf for a singular matrix.
- ``QR``: ``(A | mode)`` -> ``(Q, R)`` by Householder reflections with LAPACK's sign choice
  (``geqrf``), so values match PyTorch's; ``mode`` ``'reduced'``, ``'complete'`` or ``'r'``
  (then ``Q`` is empty, shape (0,)).
"""

from __future__ import annotations

from .. import dtypes as _dt
from ..op import Op, define
from ..tensor import Tensor
from . import unary as _u
from ._common import run
from .creation import arange, eye, zeros
from .gathering import gather
from .joining import cat, stack

__all__ = [
    "run_cholesky", "run_lu_factor", "run_triangular_solve", "run_solve",
    "run_slogdet", "run_qr", "pivots_to_permutation", "permutation_matrix", "lu_info",
]




def _batch(A: Tensor) -> tuple:
    return A._shape[:-2]


def _rows(n: int, like: Tensor) -> Tensor:
    return arange(n, device=like._device)


# -- CHOLESKY ---------------------------------------------------------------------------------
@define(Op.CHOLESKY)
def _cholesky(A: Tensor) -> tuple:
    n = A._shape[-1]
    info = zeros(_batch(A), dtype=_dt.int32, device=A._device)
    L = A.new_zeros(A._shape)
    for j in range(n):
        done = L[..., j, :j]  # row j of L so far, (*, j)
        d = A[..., j, j] - (done * done).sum(-1)
        # not d > 0 also catches NaN, as potrf does
        info = _u.where((info == 0) & ~(d > 0), j + 1, info)
        root = _u.sqrt(d)
        below = A[..., j + 1:, j] - (L[..., j + 1:, :j] @ done.unsqueeze(-1)).squeeze(-1)
        col = cat([A.new_zeros(_batch(A) + (j,)), root.unsqueeze(-1),
                   below / root.unsqueeze(-1)], -1)
        L = cat([L[..., :j], col.unsqueeze(-1), L[..., j + 1:]], -1)
    return L, info


def run_cholesky(A: Tensor) -> tuple:
    meta = [(A._shape, A._dtype), (_batch(A), _dt.int32)]
    return run(Op.CHOLESKY, (A,), (), meta, A._device, A._be)


# -- LU_FACTOR --------------------------------------------------------------------------------
@define(Op.LU_FACTOR)
def _lu_factor(A: Tensor) -> tuple:
    m, n = A._shape[-2:]
    rows = _rows(m, A)
    pivots = []
    for j in range(min(m, n)):
        p = A[..., j:, j].abs().argmax(-1) + j  # the first largest magnitude, as idamax
        pu = p.unsqueeze(-1)
        swap = _u.where(rows == j, pu, _u.where(rows == pu, j, rows))
        A = gather(A, -2, swap.unsqueeze(-1).expand(A._shape))
        pivots.append(p)
        pivot = A[..., j, j]
        # a zero pivot means a zero column: getrf leaves it unscaled (and zero)
        scale = A[..., j + 1:, j] / _u.where(pivot == 0, 1.0, pivot).unsqueeze(-1)
        trail = A[..., j + 1:, j + 1:] - scale.unsqueeze(-1) * A[..., j, j + 1:].unsqueeze(-2)
        lower = cat([A[..., j + 1:, :j], scale.unsqueeze(-1), trail], -1)
        A = cat([A[..., :j + 1, :], lower], -2)
    if not pivots:
        return A, zeros(_batch(A) + (0,), dtype=_dt.int32, device=A._device)
    return A, (stack(pivots, -1) + 1).to(_dt.int32)


def run_lu_factor(A: Tensor) -> tuple:
    k = min(A._shape[-2:])
    meta = [(A._shape, A._dtype), (_batch(A) + (k,), _dt.int32)]
    return run(Op.LU_FACTOR, (A,), (), meta, A._device, A._be)


def lu_info(LU: Tensor) -> Tensor:
    """getrf's info from a factorization: 0, or the 1-based index of the first zero on U's
    diagonal (int32, batch-shaped)."""
    diag = LU.diagonal(0, -2, -1)
    k = diag._shape[-1]
    if k == 0:
        return zeros(diag._shape[:-1], dtype=_dt.int32, device=LU._device)
    order = _u.where(diag == 0, _rows(k, LU) + 1, k + 1).amin(-1)
    return _u.where(order > k, 0, order).to(_dt.int32)


def pivots_to_permutation(pivots: Tensor, m: int) -> Tensor:
    """The row order ``perm`` (int64, (*, m)) with ``A[..., perm, :] == L @ U`` for getrf's
    sequential 1-based row swaps ``pivots``."""
    rows = _rows(m, pivots)
    perm = rows.expand(pivots._shape[:-1] + (m,))
    for i in range(pivots._shape[-1]):
        j = pivots[..., i:i + 1].long() - 1
        here, there = perm[..., i:i + 1], gather(perm, -1, j)
        perm = _u.where(rows == i, there, _u.where(rows == j, here, perm))
    return perm


def permutation_matrix(perm: Tensor, dtype: _dt.dtype) -> Tensor:
    """``P`` with ``P[perm[r], r] = 1``, so that ``A == P @ A[..., perm, :]``."""
    m = perm._shape[-1]
    return (perm.unsqueeze(-2) == _rows(m, perm).unsqueeze(-1)).to(dtype)


# -- TRIANGULAR_SOLVE -------------------------------------------------------------------------
@define(Op.TRIANGULAR_SOLVE)
def _triangular_solve(A: Tensor, B: Tensor, upper: bool, unitriangular: bool) -> Tensor:
    n = A._shape[-1]
    X = B[..., :0, :]
    for i in (range(n - 1, -1, -1) if upper else range(n)):
        r = B[..., i, :]
        if X._shape[-2]:  # subtract the solved rows' share
            coef = A[..., i, i + 1:] if upper else A[..., i, :i]
            r = r - (coef.unsqueeze(-2) @ X).squeeze(-2)
        if not unitriangular:
            r = r / A[..., i, i].unsqueeze(-1)
        X = cat([r.unsqueeze(-2), X] if upper else [X, r.unsqueeze(-2)], -2)
    return X


def run_triangular_solve(A: Tensor, B: Tensor, upper: bool, unitriangular: bool) -> Tensor:
    """``A^-1 B`` for a triangular ``A`` (*, n, n) and ``B`` (*, n, k), equal batch shapes."""
    return run(Op.TRIANGULAR_SOLVE, (A, B), (bool(upper), bool(unitriangular)),
               (B._shape, B._dtype), B._device, B._be)


# -- LINALG_SOLVE -----------------------------------------------------------------------------
@define(Op.LINALG_SOLVE)
def _solve(A: Tensor, B: Tensor) -> tuple:
    LU, pivots = run_lu_factor(A)
    perm = pivots_to_permutation(pivots, A._shape[-1])
    PB = gather(B, -2, perm.unsqueeze(-1).expand(B._shape))
    Y = run_triangular_solve(LU, PB, False, True)
    return run_triangular_solve(LU, Y, True, False), lu_info(LU)


def run_solve(A: Tensor, B: Tensor) -> tuple:
    meta = [(B._shape, B._dtype), (_batch(A), _dt.int32)]
    return run(Op.LINALG_SOLVE, (A, B), (), meta, A._device, A._be)


# -- SLOGDET ----------------------------------------------------------------------------------
@define(Op.SLOGDET)
def _slogdet(A: Tensor) -> tuple:
    LU, pivots = run_lu_factor(A)
    diag = LU.diagonal(0, -2, -1)
    n = diag._shape[-1]
    swaps = (pivots.long() != _rows(n, A) + 1).sum(-1)
    parity = 1.0 - 2.0 * (swaps % 2).to(A._dtype)
    sign = _u.sign(diag).prod(-1) * parity
    return sign, _u.log(diag.abs()).sum(-1)


def run_slogdet(A: Tensor) -> tuple:
    meta = [(_batch(A), A._dtype)] * 2
    return run(Op.SLOGDET, (A,), (), meta, A._device, A._be)


# -- QR ---------------------------------------------------------------------------------------
def _reflect(Q: Tensor, R: Tensor, j: int) -> tuple:
    """Apply the Householder reflection that zeroes ``R[..., j+1:, j]`` to R and Q."""
    x = R[..., j:, j]
    alpha, rest = x[..., 0], x[..., 1:]
    sigma = (rest * rest).sum(-1)
    norm = _u.sqrt(alpha * alpha + sigma)
    beta = _u.where(alpha >= 0, -norm, norm)
    v = cat([(alpha - beta).unsqueeze(-1), rest], -1)
    vv = (v * v).sum(-1)
    # nothing to zero: dlarfg's tau = 0, the identity, so R's diagonal keeps its sign
    c = _u.where(sigma == 0, 0.0, 2.0 / _u.where(vv == 0, 1.0, vv)).unsqueeze(-1).unsqueeze(-1)
    col, row = v.unsqueeze(-1), v.unsqueeze(-2)
    low = R[..., j:, :]
    R = cat([R[..., :j, :], low - (c * col) * (row @ low)], -2)
    right = Q[..., :, j:]
    Q = cat([Q[..., :, :j], right - ((right @ col) * c) * row], -1)
    return Q, R


@define(Op.QR)
def _qr(A: Tensor, mode: str) -> tuple:
    m, n = A._shape[-2:]
    k = min(m, n)
    Q = eye(m, dtype=A._dtype, device=A._device).expand(_batch(A) + (m, m))
    R = A
    for j in range(k):
        Q, R = _reflect(Q, R, j)
    R = R.triu()
    if mode == "complete":
        return Q.contiguous(), R
    R = R[..., :k, :].contiguous()
    if mode == "r":
        return A.new_zeros((0,)), R
    return Q[..., :, :k].contiguous(), R


def qr_shapes(shape: tuple, mode: str) -> tuple:
    batch, (m, n) = shape[:-2], shape[-2:]
    k = min(m, n)
    if mode == "complete":
        return batch + (m, m), batch + (m, n)
    return ((0,) if mode == "r" else batch + (m, k)), batch + (k, n)


def run_qr(A: Tensor, mode: str) -> tuple:
    q, r = qr_shapes(A._shape, mode)
    return run(Op.QR, (A,), (mode,), [(q, A._dtype), (r, A._dtype)], A._device, A._be)
