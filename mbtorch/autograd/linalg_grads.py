"""Gradients of the factorization ops (``CHOLESKY``, ``LU_FACTOR``, ``TRIANGULAR_SOLVE``,
``LINALG_SOLVE``, ``SLOGDET``, ``QR``), PyTorch's formulas from ``FunctionsManual.cpp``
(``cholesky_backward``, ``linalg_lu_backward``, ``linalg_solve_triangular_backward``,
``linalg_qr_backward``, the solve-based ``slogdet_backward``), written with mbtorch ops so
higher-order gradients compose. Referenced by the table in ``derivatives.py``.

Multi-output ops receive ``g`` as a tuple with ``None`` for outputs no gradient reached.
Real dtypes only, so every ``^H`` of the C++ is a transpose here.
"""

from __future__ import annotations

from ..core.ops import factorizations as F
from ..core.ops.creation import eye, zeros
from ..core.ops.joining import cat
from ..core.ops.solvers import solve_triangular, unpack
from ..core.tensor import Tensor

__all__ = [
    "grad_cholesky", "grad_lu_factor", "grad_triangular_solve_A", "grad_triangular_solve_B",
    "grad_solve_A", "grad_solve_B", "grad_slogdet", "grad_qr",
]


def grad_cholesky(g, result):
    # cf. Iain Murray (2016), arXiv 1602.07527: gA = L^-T Phi(L^T gL) L^-1, symmetrised
    gL, L = g[0], result[0]
    if gL is None:
        return None
    phi = (L.mT @ gL).tril()
    phi = (phi + phi.tril(-1).mT) * 0.5
    gA = solve_triangular(L.mT, phi, upper=True)
    return solve_triangular(L, gA, upper=False, left=False)


def grad_lu_factor(g, result):
    # A = P L U (linalg_lu_backward); gLU's strict lower part is L's, its upper part U's
    gLU = g[0]
    if gLU is None:
        return None
    LU, pivots = result
    m, n = LU._shape[-2:]
    k = min(m, n)
    P, L, U = unpack(LU, pivots)
    gL, gU = gLU[..., :, :k].tril(-1), gLU[..., :k, :].triu()
    if m == n:  # P L^-T [tril(L^T gL, -1) + triu(gU U^T)] U^-T
        phi = (L.mT @ gL).tril(-1) + (gU @ U.mT).triu()
        X = solve_triangular(U.mT, phi, upper=False, left=False)
        return P @ solve_triangular(L.mT, X, upper=True, unitriangular=True)
    if m < n:  # wide: U = [U1 U2]
        X = (L.mT @ gL - gU @ U.mT).tril(-1)
        X = solve_triangular(U[..., :k].mT, X, upper=False, left=False)
        X = cat([X + gU[..., :k], gU[..., k:]], -1)
        return P @ solve_triangular(L.mT, X, upper=True, unitriangular=True)
    # tall: L = [L1; L2]
    X = (gU @ U.mT - L.mT @ gL).triu()
    X = solve_triangular(L[..., :k, :].mT, X, upper=True, unitriangular=True)
    X = cat([X + gL[..., :k, :], gL[..., k:, :]], -2)
    return P @ solve_triangular(U.mT, X, upper=False, left=False)


def grad_triangular_solve_B(g, A, upper, unitriangular):
    return F.run_triangular_solve(A.mT, g, not upper, unitriangular)


def grad_triangular_solve_A(g, A, result, upper, unitriangular):
    gB = F.run_triangular_solve(A.mT, g, not upper, unitriangular)
    gA = -(gB @ result.mT)
    # only the triangle read (without its diagonal when unitriangular) gets a gradient
    return gA.triu(int(unitriangular)) if upper else gA.tril(-int(unitriangular))


def grad_solve_B(g, A):
    return None if g[0] is None else F.run_solve(A.mT, g[0])[0]


def grad_solve_A(g, A, result):
    if g[0] is None:
        return None
    gB = F.run_solve(A.mT, g[0])[0]
    return -(gB @ result[0].mT)


def grad_slogdet(g, A):
    # d logabsdet = tr(A^-1 dA): the gradient is g * A^-T; the sign is piecewise constant
    glogabsdet = g[1]
    if glogabsdet is None:
        return None
    n = A._shape[-1]
    identity = eye(n, dtype=A._dtype, device=A._device).expand(A._shape)
    inv_t = F.run_solve(A.mT, identity)[0]
    return glogabsdet.unsqueeze(-1).unsqueeze(-1) * inv_t


def _qr_check(Q: Tensor, R: Tensor, mode: str) -> None:
    if mode == "r":
        raise RuntimeError("The derivative of linalg.qr depends on Q, which is not computed "
                           "when mode='r'. Please use linalg.qr(A, mode='reduced') if you are "
                           "going to differentiate through linalg.qr.")
    if mode == "complete" and Q._shape[-2] > R._shape[-1]:
        raise RuntimeError("The QR decomposition is not differentiable when mode='complete' "
                           "and nrows > ncols.")


def grad_qr(g, result, mode):
    gQ, gR = g
    Q, R = result
    _qr_check(Q, R, mode)
    if gQ is None and gR is None:
        return None
    m, n = Q._shape[-2], R._shape[-1]
    gA = None if gR is None else gR @ R.mT
    if gQ is not None:
        gA = -(Q.mT @ gQ) if gA is None else gA - Q.mT @ gQ
    if m >= n:
        sym = gA.triu()
        sym = sym + sym.mT
        sym = sym - (sym.diagonal(0, -2, -1) * 0.5).diag_embed()
        gA = Q @ sym
        if gQ is not None:
            gA = gA + gQ
        return solve_triangular(R.mT, gA, upper=False, left=False)
    X = -gA
    gA = Q @ (X - X.mT).tril()
    gA = solve_triangular(R[..., :m].mT, gA, upper=False, left=False)
    gA = cat([gA, zeros(gA._shape[:-1] + (n - m,), dtype=gA._dtype, device=gA._device)], -1)
    return gA if gR is None else gA + Q @ gR
