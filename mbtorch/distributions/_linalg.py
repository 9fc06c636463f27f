"""Cholesky factorisation and triangular solves composed from mbtorch ops.

mbtorch has no LAPACK-backed decompositions (see ``mbtorch.linalg``); MultivariateNormal needs
these two. They loop over the matrix dimension in Python with batched tensor ops, so they run
on every backend and autograd differentiates them; meant for the small event sizes
distributions use (tens to a few hundred), not as a general linear-algebra kernel.
"""

from __future__ import annotations

import mbtorch

from ..core.tensor import Tensor

__all__ = ["cholesky", "is_positive_definite", "logdet_pd", "solve_lower", "tri_inverse"]


def _square(a: Tensor, name: str, arg: str) -> int:
    if a.dim() < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"{name}(): {arg} must be a batch of square matrices, "
                         f"but got shape {tuple(a.shape)}")
    return a.shape[-1]


def _factor(a: Tensor) -> tuple[Tensor, Tensor]:
    # column-by-column Cholesky; a non-positive pivot is replaced by 1 so the rest stays
    # finite, and ``ok`` records per matrix whether every pivot was positive
    n = _square(a, "cholesky", "input")
    # factor the symmetric part, so the gradient comes back symmetric as PyTorch's does
    a = 0.5 * (a + a.mT)
    cols: list[Tensor] = []
    ok = mbtorch.ones_like(a[..., 0, 0], dtype=mbtorch.bool)
    for j in range(n):
        s = a[..., j:, j]
        if j:
            prev = mbtorch.stack(cols, dim=-1)  # (..., n, j)
            s = s - (prev[..., j:, :] @ prev[..., j, :].unsqueeze(-1)).squeeze(-1)
        good = s[..., 0] > 0
        ok = ok & good
        d = mbtorch.sqrt(mbtorch.where(good, s[..., 0], mbtorch.ones_like(s[..., 0])))
        d = d.unsqueeze(-1)
        col = mbtorch.cat([d, s[..., 1:] / d], dim=-1)
        if j:
            col = mbtorch.cat([mbtorch.zeros_like(a[..., :j, 0]), col], dim=-1)
        cols.append(col)
    return mbtorch.stack(cols, dim=-1), ok


def cholesky(a: Tensor) -> Tensor:
    """The lower Cholesky factor ``L`` of symmetric positive-definite ``a`` (``L L^T = a``)."""
    lower, ok = _factor(a)
    if not bool(ok.all()):
        raise RuntimeError("cholesky: The factorization could not be completed because the "
                           "input is not positive-definite.")
    return lower


def is_positive_definite(a: Tensor) -> Tensor:
    """Per matrix of the batch: whether the Cholesky factorisation succeeds."""
    return _factor(a)[1]


def solve_lower(lower: Tensor, b: Tensor) -> Tensor:
    """``X`` with ``lower @ X = b`` for lower-triangular ``lower`` (``b``: ``(..., n, k)``),
    by forward substitution; batch dimensions broadcast."""
    n = _square(lower, "solve_triangular", "A")
    if b.dim() < 2 or b.shape[-2] != n:
        raise ValueError(f"solve_triangular(): B must have {n} rows, but got shape "
                         f"{tuple(b.shape)}")
    rows: list[Tensor] = []
    for i in range(n):
        r = b[..., i, :]
        if i:
            prev = mbtorch.stack(rows, dim=-2)  # (..., i, k)
            r = r - (lower[..., i, :i].unsqueeze(-2) @ prev).squeeze(-2)
        rows.append(r / lower[..., i, i].unsqueeze(-1))
    return mbtorch.stack(rows, dim=-2)


def tri_inverse(lower: Tensor) -> Tensor:
    """The inverse of a lower-triangular matrix (lower-triangular too)."""
    n = _square(lower, "tri_inverse", "input")
    eye = mbtorch.eye(n, dtype=lower.dtype, device=lower.device)
    return solve_lower(lower, eye.expand(tuple(lower.shape)))


def logdet_pd(a: Tensor) -> Tensor:
    """``log det(a)`` of symmetric positive-definite matrices (``2 sum log diag L``); nan for
    a matrix of the batch that is not positive-definite."""
    lower, ok = _factor(a)
    logdet = 2 * lower.diagonal(dim1=-2, dim2=-1).log().sum(-1)
    return mbtorch.where(ok, logdet, mbtorch.full_like(logdet, float("nan")))
