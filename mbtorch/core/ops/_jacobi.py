"""Jacobi iterations for the symmetric eigenproblem and the SVD, written with mbtorch ops only,
so every backend (cpu, mini, opencl) can run ``linalg.eigh`` and ``linalg.svd`` without LAPACK.

Both work on a flat batch ``(B, n, n)`` / ``(B, m, n)`` and use the round-robin (tournament)
ordering: a sweep is ``n - 1`` rounds, each rotating ``n / 2`` disjoint index pairs at once, so
one round is a handful of batched ops plus one dense rotation ``J`` (a scatter into zeros) and
its matmuls. An odd ``n`` gets one zero row/column of padding, which no rotation ever mixes in
(its off-diagonal entries stay exactly 0, so its rotations are exactly the identity).

- ``sym_eig``: two-sided cyclic Jacobi, ``A <- J^T A J``, ``V <- V J`` (Golub & Van Loan,
  Algorithm 8.5.2, parallel ordering 8.5.3).
- ``tall_svd``: one-sided (Hestenes) Jacobi on the columns of ``A`` (m >= n): the same rotations
  computed from the column Gram entries orthogonalise ``W = A V``; then ``S`` are the column
  norms and ``U = W / S``. Where ``S`` is (numerically) zero, or ``full_matrices`` asks for
  ``m > n`` columns, ``U`` is completed to an orthonormal basis by the eigenvectors of the
  projector ``I - U_r U_r^T`` (eigenvalue 1 on exactly the missing directions).

A sweep ends with a convergence test (one ``.item()``): for ``sym_eig`` the off-diagonal
Frobenius mass relative to the whole, ``<= n * eps``; for ``tall_svd`` every pair of columns
orthogonal to ``m * eps`` relative to their norms, columns below ``m * eps * |A|_F`` (the
rounding noise a rank-deficient ``A`` leaves) excepted and never rotated. Jacobi converges
quadratically once near; graded or clustered spectra take more sweeps (a 64 x 64 Hilbert matrix:
about 15). ``MAX_SWEEPS`` is a guard, not a budget. Each round costs dense ``n x n`` matmuls, so
the decompositions suit small and moderate matrices (tens of rows), not large ones.
"""

from __future__ import annotations

from functools import lru_cache

from ..host import finfo
from ..tensor import Tensor
from . import creation as _c
from .gathering import _gather_run, _scatter_run
from .joining import cat, pad_constant
from .ternary import where

__all__ = ["MAX_SWEEPS", "NotConverged", "sym_eig", "tall_svd"]

MAX_SWEEPS = 40


class NotConverged(Exception):
    """The iteration did not meet its tolerance within ``MAX_SWEEPS`` sweeps."""


@lru_cache(maxsize=64)
def _pairs(m: int) -> tuple:
    """The ``m - 1`` rounds of a round-robin schedule for an even ``m``: each round a tuple
    ``(p, q, pq, rot)`` of index lists: the pairs, the flat positions of ``(p, q)``, and those
    of the rotation's ``[c at (p,p), c at (q,q), s at (p,q), -s at (q,p)]`` entries."""
    players = list(range(m))
    rounds = []
    for _ in range(m - 1):
        pairs = [tuple(sorted((players[i], players[m - 1 - i]))) for i in range(m // 2)]
        p = [a for a, _ in pairs]
        q = [b for _, b in pairs]
        rot = ([a * m + a for a in p] + [b * m + b for b in q] + [a * m + b for a, b in pairs]
               + [b * m + a for a, b in pairs])
        rounds.append((p, q, [a * m + b for a, b in pairs], rot))
        players = [players[0], players[-1]] + players[1:-1]
    return tuple(rounds)


def _schedule(m: int, device) -> list:
    return [tuple(_c.tensor(ix, device=device) for ix in r) for r in _pairs(m)]


def _rotation(app: Tensor, aqq: Tensor, apq: Tensor) -> tuple[Tensor, Tensor]:
    """``(c, s)`` of the symmetric Schur rotation that zeroes ``apq`` (Golub & Van Loan,
    Algorithm 8.4.1): ``t`` is the smaller root of ``t^2 + 2 tau t - 1``; ``apq == 0`` gives
    the identity (and no 0/0 where the diagonal entries are equal too)."""
    zero = apq == 0
    tau = (aqq - app) / (where(zero, 1.0, apq) * 2)
    t = 1 / (tau.abs() + (tau * tau + 1).sqrt())  # tau**2 overflowing to inf gives t = 0
    t = where(zero, 0.0, where(tau >= 0, t, -t))
    c = (t * t + 1).rsqrt()
    return c, t * c


def _rotation_matrix(c: Tensor, s: Tensor, rot: Tensor, m: int) -> Tensor:
    batch = c.shape[0]
    values = cat([c, c, s, -s], -1)
    flat = _c.zeros(batch, m * m, dtype=c.dtype, device=c.device)
    return _scatter_run(flat, 1, rot.expand(batch, 2 * m), values, "none").reshape(batch, m, m)


def _pick(x: Tensor, index: Tensor) -> Tensor:
    """``x[..., index]`` by the GATHER primitive (the schedule's indices are in range by
    construction: no bounds check, which would cost a reduction per call)."""
    shape = x.shape[:-1] + index.shape
    return _gather_run(x, x.ndim - 1, index.expand(*shape))


def _identity(batch: int, m: int, like: Tensor) -> Tensor:
    return _c.eye(m, dtype=like.dtype, device=like.device).expand(batch, m, m)


def _tolerance(x: Tensor, n: int) -> float:
    return max(n, 1) * finfo(x.dtype).eps


def sym_eig(A: Tensor) -> tuple[Tensor, Tensor]:
    """Eigenvalues (ascending, ``(B, n)``) and orthonormal eigenvectors (columns, ``(B, n, n)``)
    of the symmetric ``A`` (``(B, n, n)``); raises ``NotConverged``."""
    batch, n = A.shape[0], A.shape[-1]
    m = n + n % 2
    if m != n:
        A = pad_constant(A, [0, 1, 0, 1])
    V = _identity(batch, m, A)
    if n > 1 and batch > 0:
        A, V = _sym_sweeps(A, V, m, _tolerance(A, n) ** 2)
    L = A.diagonal(0, -2, -1)[:, :n]
    V = V[:, :n, :n]
    L, order = L.sort(-1)
    return L, V.gather(-1, order.unsqueeze(-2).expand(batch, n, n))


def _sym_sweeps(A: Tensor, V: Tensor, m: int, tol2: float) -> tuple[Tensor, Tensor]:
    batch = A.shape[0]
    rounds = _schedule(m, A.device)
    off_diagonal = 1 - _c.eye(m, dtype=A.dtype, device=A.device)
    for _ in range(MAX_SWEEPS):
        for p, q, pq, rot in rounds:
            d = A.diagonal(0, -2, -1)
            app, aqq = _pick(d, p), _pick(d, q)
            apq = _pick(A.reshape(batch, m * m), pq)
            J = _rotation_matrix(*_rotation(app, aqq, apq), rot, m)
            A = J.mT @ A @ J
            A = (A + A.mT) * 0.5  # rounding makes it drift from symmetric: noise that the
            V = V @ J             # rotations (which read one triangle) would chase forever
        # the off-diagonal mass summed directly (total minus diagonal would cancel to noise)
        squares = A * A
        off = (squares * off_diagonal).sum((-2, -1))
        if not bool((off > squares.sum((-2, -1)) * tol2).any()):
            return A, V
    raise NotConverged


def tall_svd(A: Tensor, full_matrices: bool) -> tuple[Tensor, Tensor, Tensor]:
    """``(U, S, Vh)`` of ``A`` (``(B, m, n)``, ``m >= n >= 1``), ``S`` descending; ``U`` is
    ``(B, m, m)`` when ``full_matrices``, else ``(B, m, n)``. Raises ``NotConverged``."""
    batch, m, n = A.shape
    k = n + n % 2
    W = pad_constant(A, [0, 1]) if k != n else A
    V = _identity(batch, k, A)
    tol = _tolerance(A, m)
    # columns below tol * |A|_F are rounding noise (a rank-deficient A leaves such columns):
    # they are never rotated, and they count as null directions of U
    small2 = (W * W).sum((-2, -1), keepdim=True) * (tol * tol)
    if k > 1 and batch > 0:
        W, V = _one_sided_sweeps(W, V, k, tol, small2)
    S = (W * W).sum(-2).sqrt()[:, :n]
    S, order = S.sort(-1, descending=True)
    W = W[:, :, :n].gather(-1, order.unsqueeze(-2).expand(batch, m, n))
    V = V[:, :n, :n].gather(-1, order.unsqueeze(-2).expand(batch, n, n))
    # numerically zero singular values have no direction of their own in W
    valid = S * S > small2.squeeze(-1)
    U = where(valid.unsqueeze(-2), W / where(valid, S, 1.0).unsqueeze(-2), 0.0)
    if (full_matrices and m > n) or not bool(valid.all()):
        U = _complete(U, valid, full_matrices)
    return U, S, V.mT


def _one_sided_sweeps(W: Tensor, V: Tensor, k: int, tol: float,
                      small2: Tensor) -> tuple[Tensor, Tensor]:
    rounds = _schedule(k, W.device)
    off_diagonal = 1 - _c.eye(k, dtype=W.dtype, device=W.device)
    for _ in range(MAX_SWEEPS):
        for p, q, _, rot in rounds:
            norms = (W * W).sum(-2)
            alpha, beta = _pick(norms, p), _pick(norms, q)
            wp, wq = _pick(W, p), _pick(W, q)
            gamma = where((alpha <= small2[:, 0]) | (beta <= small2[:, 0]), 0.0, (wp * wq).sum(-2))
            J = _rotation_matrix(*_rotation(alpha, beta, gamma), rot, k)
            W = W @ J
            V = V @ J
        # converged when every pair of columns is orthogonal relative to their norms
        G = W.mT @ W
        d = G.diagonal(0, -2, -1)
        big = d > small2[:, 0]
        pairs = (big.unsqueeze(-1) & big.unsqueeze(-2)).to(W.dtype) * off_diagonal
        excess = (G * G - d.unsqueeze(-1) * d.unsqueeze(-2) * (tol * tol)) * pairs
        if not bool((excess > 0).any()):
            return W, V
    raise NotConverged


def _complete(U: Tensor, valid: Tensor, full_matrices: bool) -> Tensor:
    """``U``'s valid columns (a prefix: ``S`` is sorted) kept, the others (and, for
    ``full_matrices``, columns up to ``m``) filled with an orthonormal basis of their
    orthogonal complement: the eigenvectors of ``I - U U^T`` for eigenvalue 1, which the
    ascending sort puts exactly after the ``r`` eigenvalues 0."""
    batch, m, n = U.shape
    P = _identity(batch, m, U) - U @ U.mT
    _, E = sym_eig((P + P.mT) / 2)
    if m > n:
        U = pad_constant(U, [0, m - n])
        valid = pad_constant(valid, [0, m - n], False)
    full = where(valid.unsqueeze(-2), U, E)
    return full if full_matrices else full[:, :, :n]
