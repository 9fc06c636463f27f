"""Randomised low-rank SVD and PCA: ``torch.svd_lowrank`` and ``torch.pca_lowrank``, the
algorithm of ``torch/_lowrank.py`` (Halko, Martinsson & Tropp 2009, Algorithm 5.1 with ``niter``
power iterations), built on ``linalg.qr`` and ``linalg.svd``. The random test matrix comes from
``mbtorch.randn``, so results are reproducible under ``manual_seed`` but are not PyTorch's
numbers: compare the reconstructions and the leading singular values."""

from __future__ import annotations

from typing import Any

from ..tensor import Tensor
from .random import randn
from .solvers import qr
from .spectral import linalg_svd

__all__ = ["pca_lowrank", "svd_lowrank"]


def _check(A: Any, name: str) -> None:
    if not isinstance(A, Tensor):
        raise TypeError(f"{name}(): argument 'A' must be Tensor, not {type(A).__name__}")
    if A.ndim < 2:
        raise RuntimeError(f"{name}: The input tensor A must have at least 2 dimensions.")


def _approximate_basis(A: Tensor, q: int, niter: int, M: Tensor | None) -> Tensor:
    """An orthonormal ``(*, m, q)`` basis approximately spanning ``A - M``'s range."""

    def times(X: Tensor) -> Tensor:
        return A @ X if M is None else A @ X - M @ X

    def times_t(X: Tensor) -> Tensor:
        return A.mT @ X if M is None else A.mT @ X - M.mT @ X

    R = randn(A.shape[-1], q, dtype=A.dtype, device=A.device)
    Q = qr(times(R)).Q
    for _ in range(niter):
        Q = qr(times_t(Q)).Q
        Q = qr(times(Q)).Q
    return Q


def _svd_lowrank(A: Tensor, q: int, niter: int, M: Tensor | None) -> tuple:
    m, n = A.shape[-2:]
    if M is not None:
        M = M.broadcast_to(A.shape)
    if m < n:  # the algorithm assumes a tall matrix
        A = A.mT
        M = None if M is None else M.mT
    Q = _approximate_basis(A, q, niter, M)
    B = Q.mT @ A if M is None else Q.mT @ A - Q.mT @ M
    U, S, Vh = linalg_svd(B, False)
    U, V = Q @ U, Vh.mT
    return (V, S, U) if m < n else (U, S, V)


def svd_lowrank(A: Tensor, q: int | None = 6, niter: int = 2, M: Tensor | None = None) -> tuple:
    """``(U, S, V)`` of a rank-``q`` approximation of ``A - M`` (``A ~ U diag(S) V^T``), by
    randomised range finding with ``niter`` subspace iterations."""
    _check(A, "svd_lowrank")
    return _svd_lowrank(A, 6 if q is None else q, 2 if niter is None else niter, M)


def pca_lowrank(A: Tensor, q: int | None = None, center: bool = True, niter: int = 2) -> tuple:
    """``(U, S, V)`` of the rank-``q`` randomised SVD of ``A`` with its column means removed
    (``center``): the principal directions are ``V``'s columns."""
    _check(A, "pca_lowrank")
    m, n = A.shape[-2:]
    if q is None:
        q = min(6, m, n)
    elif not 0 <= q <= min(m, n):
        raise ValueError(f"q(={q}) must be non-negative integer and not greater than "
                         f"min(m, n)={min(m, n)}")
    if not niter >= 0:
        raise ValueError(f"niter(={niter}) must be non-negative integer")
    if center:
        A = A - A.mean(-2, keepdim=True)
    return _svd_lowrank(A, q, niter, None)
