"""``torch.lobpcg``: a few extreme eigenpairs of a large symmetric (generalised) eigenproblem
``A x = lambda B x`` by the locally optimal block preconditioned conjugate gradient method
(Knyazev 2001), with PyTorch's arguments, defaults and result order.

Each iteration takes the Ritz vectors of ``span[X, W, P]`` (``W = iK R`` the preconditioned
residuals, ``P`` the previous step's new directions) by Rayleigh-Ritz with ``linalg.eigh``; the
basis is B-orthonormalised through the eigendecomposition of its Gram matrix (twice, for
accuracy), dropping the directions that have become numerically dependent near convergence.
A pair has converged when ``|A x - lambda B x| <= tol (|A| + |lambda| |B|) |x|`` (Frobenius
norms), PyTorch's relative residual. PyTorch's ``'ortho'`` and ``'basic'`` methods converge to
the same eigenpairs; both names run this one. ``tracker`` and the ``ortho_*`` tuning
dictionaries of PyTorch's implementation are not supported (``NotImplementedError``).
"""

from __future__ import annotations

from typing import Any

from ..host import finfo
from ..tensor import Tensor
from .joining import cat, stack
from .random import randn
from .spectral import eigh

__all__ = ["lobpcg"]


def _check(A: Any, B: Any, method: Any, extras: dict) -> None:
    if not isinstance(A, Tensor):
        raise TypeError(f"lobpcg(): argument 'A' must be Tensor, not {type(A).__name__}")
    if A.ndim < 2 or A.shape[-2] != A.shape[-1]:
        raise AssertionError(f"A must be square, got shape {A.shape}")  # PyTorch's type
    if B is not None and tuple(B.shape) != tuple(A.shape):
        raise AssertionError(f"B must have the shape of A {A.shape}, got {B.shape}")
    if method not in (None, "ortho", "basic"):
        raise ValueError(f"lobpcg: method must be 'ortho' or 'basic', got {method!r}")
    given = [name for name, value in extras.items() if value is not None]
    if given:
        raise NotImplementedError(f"lobpcg: {', '.join(given)} is not supported by mbtorch")


def lobpcg(A: Tensor, k: int | None = None, B: Tensor | None = None, X: Tensor | None = None,
           n: int | None = None, iK: Tensor | None = None, niter: int | None = None,
           tol: float | None = None, largest: bool | None = None, method: str | None = None,
           tracker: Any = None, ortho_iparams: dict | None = None,
           ortho_fparams: dict | None = None, ortho_bparams: dict | None = None) -> tuple:
    """``(E, X)``: the ``k`` largest (``largest=False``: smallest) eigenvalues of the
    symmetric ``A`` (``(*, m, m)``; with ``B``, of ``A x = lambda B x``), descending (resp.
    ascending), and their eigenvectors as columns. ``X`` (``(*, m, n)``) is the initial block
    (random by default), ``iK`` a preconditioner, ``niter`` the iteration limit (1000; -1
    until convergence), ``tol`` the relative residual (default ``sqrt(eps)``)."""
    _check(A, B, method, {"tracker": tracker, "ortho_iparams": ortho_iparams,
                          "ortho_fparams": ortho_fparams, "ortho_bparams": ortho_bparams})
    m = A.shape[-1]
    k = (1 if X is None else X.shape[-1]) if k is None else k
    n = (k if n is None else n) if X is None else X.shape[-1]
    if m < 3 * n:
        raise ValueError(f"LOBPCG algorithm is not applicable when the number of A rows "
                         f"(={m}) is smaller than 3 x the number of requested eigenpairs "
                         f"(={n})")
    tol = finfo(A.dtype).eps ** 0.5 if tol is None else tol
    niter = 1000 if niter is None else niter
    if X is None:
        X = randn(*A.shape[:-1], n, dtype=A.dtype, device=A.device)
    largest = True if largest is None else largest
    if A.ndim == 2:
        E, V = _solve(A, B, X, iK, n, niter, tol, largest)
        return E[:k], V[:, :k]
    parts = [_solve(A[i], None if B is None else B[i], X[i], iK, n, niter, tol, largest)
             for i in range(A.shape[0])]
    return stack([E for E, _ in parts])[..., :k], stack([V for _, V in parts])[..., :k]


def _solve(A: Tensor, B: Tensor | None, X: Tensor, iK: Tensor | None, n: int, niter: int,
           tol: float, largest: bool) -> tuple[Tensor, Tensor]:
    a_norm = A.norm()
    b_norm = 1.0 if B is None else B.norm()
    X, E = _rayleigh_ritz(A, B, X, n, largest)
    P = None
    step = 0
    while niter < 0 or step < niter:
        BX = X if B is None else B @ X
        R = A @ X - BX * E
        scale = (a_norm + E.abs() * b_norm) * X.norm(dim=0)
        if bool((R.norm(dim=0) <= scale * tol).all()):
            break
        W = R if iK is None else iK @ R
        S = cat([X, W] if P is None else [X, W, P], 1)
        X_new, E = _rayleigh_ritz(A, B, S, n, largest)
        # the new search directions: the part of the step B-orthogonal to the old block
        P = X_new - X @ (BX.mT @ X_new)
        X = X_new
        step += 1
    return E, X


def _orthonormal(B: Tensor | None, S: Tensor) -> Tensor:
    """A B-orthonormal basis of ``span(S)`` without its numerically dependent directions."""
    for _ in range(2):
        S = S / S.norm(dim=0).clamp_min(finfo(S.dtype).tiny)
        G = S.mT @ (S if B is None else B @ S)
        lam, V = eigh((G + G.mT) * 0.5)
        keep = int((lam > lam[-1] * finfo(S.dtype).eps ** 0.5).sum().item())
        S = (S @ V[:, -keep:]) / lam[-keep:].sqrt()
    return S


def _rayleigh_ritz(A: Tensor, B: Tensor | None, S: Tensor, n: int,
                   largest: bool) -> tuple[Tensor, Tensor]:
    """The ``n`` extreme Ritz pairs ``(vectors, values)`` of ``A`` in ``span(S)``."""
    Q = _orthonormal(B, S)
    T = Q.mT @ A @ Q
    theta, C = eigh((T + T.mT) * 0.5)
    if largest:
        theta, C = theta.flip(0)[:n], C.flip(1)[:, :n]
    else:
        theta, C = theta[:n], C[:, :n]
    return Q @ C, theta
