"""Spectral linear algebra: ``linalg.eigh``/``eigvalsh`` and ``linalg.svd``/``svdvals`` (two
composite ops, ``EIGH`` and ``SVD``), the older ``torch.svd``, and their gradients.

``EIGH``: ``(A | uplo)`` -> ``[eigenvalues (*, n) ascending, eigenvectors (*, n, n)]``, reading
only the ``uplo`` triangle of ``A``. ``SVD``: ``(A | full_matrices)`` -> ``[U, S, Vh]``, ``S``
descending. Both take float32/float64 only (as PyTorch's cpu). Their decompositions are the
Jacobi iterations of ``_jacobi`` (mbtorch ops only: every backend runs them); the NumPy and CuPy
backends register ``xp.linalg.eigh``/``svd`` instead. Eigenvectors and singular vectors are
defined up to sign (and, for repeated values, up to a rotation of their subspace) and may differ
from PyTorch's LAPACK in that choice: compare eigenvalues, singular values, reconstructions and
projections, as PyTorch's own documentation advises.

Gradients are PyTorch's (``FunctionsManual.cpp``: ``linalg_eig_backward`` for the Hermitian case,
``svd_backward``). As in PyTorch they are well defined only for losses that do not depend on
the vectors' sign (gauge) and, when they use the vectors, only for distinct eigenvalues /
singular values: there the formulas divide by the gaps and give inf or nan, as PyTorch does.
A gradient that reaches only the eigenvalues / singular values is always finite: the gap
division is skipped where the vectors' own gradient is zero (PyTorch leaves it undefined).
"""

from __future__ import annotations

from typing import Any

from .. import dtypes as _dt
from ..host import finfo
from ..op import Op, define
from ..tensor import Tensor, method_table
from . import _jacobi
from . import creation as _c
from ._common import return_type, run
from .solvers import LinAlgError
from .ternary import where

TENSOR_METHODS: dict = {}
"""The ``Tensor`` methods this module provides, by name (installed by ``mbtorch.core.ops``)."""
tensor_method = method_table(TENSOR_METHODS)

eigh_result = return_type("linalg_eigh", ("eigenvalues", "eigenvectors"))
svd_result = return_type("linalg_svd", ("U", "S", "Vh"))
old_svd_result = return_type("svd", ("U", "S", "V"))



# -- the ops and their decompositions ----------------------------------------------------------
def _flat(A: Tensor) -> tuple[Tensor, tuple]:
    """``A`` as ``(B, m, n)`` and its batch shape."""
    batch = A.shape[:-2]
    count = 1
    for s in batch:
        count *= s
    return A.reshape(count, *A.shape[-2:]), batch


@define(Op.EIGH)
def _eigh(A: Tensor, uplo: str) -> tuple[Tensor, Tensor]:
    flat, batch = _flat(A)
    # the symmetric matrix the ``uplo`` triangle describes (the other triangle is never read)
    tri = flat.tril() if uplo == "L" else flat.triu()
    strict = flat.tril(-1) if uplo == "L" else flat.triu(1)
    try:
        L, V = _jacobi.sym_eig(tri + strict.mT)
    except _jacobi.NotConverged:
        raise LinAlgError("linalg.eigh: The algorithm failed to converge because the input "
                          "matrix is ill-conditioned or has too many repeated eigenvalues") \
            from None
    n = A.shape[-1]
    return L.reshape(*batch, n), V.reshape(*batch, n, n)


@define(Op.SVD)
def _svd(A: Tensor, full_matrices: bool) -> tuple[Tensor, Tensor, Tensor]:
    flat, batch = _flat(A)
    m, n = A.shape[-2:]
    if min(m, n) == 0:
        return _empty_svd(A, full_matrices)
    try:
        if m >= n:
            U, S, Vh = _jacobi.tall_svd(flat, full_matrices)
        else:  # A^T = U' S V'^T, so A = V' S U'^T
            V, S, Uh = _jacobi.tall_svd(flat.mT, full_matrices)
            U, Vh = Uh.mT, V.mT
    except _jacobi.NotConverged:
        raise LinAlgError("linalg.svd: The algorithm failed to converge because the input "
                          "matrix is ill-conditioned or has too many repeated singular "
                          "values") from None
    return (U.reshape(*batch, *U.shape[1:]), S.reshape(*batch, S.shape[-1]),
            Vh.reshape(*batch, *Vh.shape[1:]))


def _empty_svd(A: Tensor, full_matrices: bool) -> tuple[Tensor, Tensor, Tensor]:
    """A matrix with no rows or no columns: no singular values; the full bases are identities
    (PyTorch's and LAPACK's choice)."""
    batch, (m, n) = A.shape[:-2], A.shape[-2:]
    k = min(m, n)

    def basis(rows: int, cols: int) -> Tensor:
        eye = _c.eye(rows, cols, dtype=A.dtype, device=A.device)
        return eye.expand(*batch, rows, cols).contiguous()

    S = _c.zeros(*batch, 0, dtype=A.dtype, device=A.device)
    if full_matrices:
        return basis(m, m), S, basis(n, n)
    return basis(m, k), S, basis(k, n)


# -- argument checks ---------------------------------------------------------------------------
def _check_matrix(A: Any, name: str, kernel: str, square: bool = False) -> None:
    if not isinstance(A, Tensor):
        raise TypeError(f"{name}(): argument 'A' must be Tensor, not {type(A).__name__}")
    if A.ndim < 2:
        raise RuntimeError(f"{name}: The input tensor A must have at least 2 dimensions.")
    if square and A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"{name}: A must be batches of square matrices, but they are "
                           f"{A.shape[-2]} by {A.shape[-1]} matrices")
    dtype = A._dtype
    if dtype.category == _dt.COMPLEX_CATEGORY:
        raise NotImplementedError(f"{name}: complex inputs are not supported by mbtorch yet")
    if dtype not in (_dt.float32, _dt.float64):
        if not square and dtype.category != _dt.FLOATING_CATEGORY:
            raise RuntimeError(f"{name}: Expected a floating point or complex tensor as input. "
                               f"Got {dtype.scalar_name}")
        raise NotImplementedError(f'"{kernel}_{A.device.type}" not implemented for '
                                  f"'{dtype.scalar_name}'")


# -- public functions --------------------------------------------------------------------------
def eigh(A: Tensor, UPLO: str = "L") -> Any:
    """Eigenvalues (ascending) and eigenvectors (columns) of the symmetric matrices ``A``
    (``(*, n, n)``), reading only the ``UPLO`` ('L' or 'U') triangle.

    >>> L, Q = mbtorch.linalg.eigh(mbtorch.tensor([[2.0, 1.0], [1.0, 2.0]]))
    >>> L
    tensor([1., 3.])
    """
    _check_matrix(A, "linalg.eigh", "linalg_eigh", square=True)
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    n = A.shape[-1]
    meta = [(A.shape[:-1], A._dtype), (A.shape[:-2] + (n, n), A._dtype)]
    return eigh_result(*run(Op.EIGH, (A,), (UPLO,), meta, A._device, A._be))


def eigvalsh(A: Tensor, UPLO: str = "L") -> Tensor:
    """The eigenvalues (ascending) of the symmetric matrices ``A``; see ``eigh``."""
    return eigh(A, UPLO)[0]


def _check_driver(driver: Any) -> None:
    if driver is not None:
        raise RuntimeError("linalg.svd: keyword argument `driver=` is only supported on CUDA "
                           "inputs with cuSOLVER backend.")


def linalg_svd(A: Tensor, full_matrices: bool = True, *, driver: Any = None) -> Any:
    """``A = U diag(S) Vh`` for ``A`` of shape ``(*, m, n)``: ``S`` (``(*, k)``, ``k = min(m,
    n)``) descending; ``U`` is ``(*, m, m)`` and ``Vh`` ``(*, n, n)`` when ``full_matrices``
    (the default), else ``(*, m, k)`` and ``(*, k, n)``."""
    _check_matrix(A, "linalg.svd", "linalg_svd")
    _check_driver(driver)
    m, n = A.shape[-2:]
    k = min(m, n)
    if A.numel() and not bool(A.isfinite().all()):
        raise LinAlgError("linalg.svd: The algorithm failed to converge because the input "
                          "matrix contained non-finite values.")
    batch = A.shape[:-2]
    u_cols, vh_rows = (m, n) if full_matrices else (k, k)
    meta = [(batch + (m, u_cols), A._dtype), (batch + (k,), A._dtype),
            (batch + (vh_rows, n), A._dtype)]
    return svd_result(*run(Op.SVD, (A,), (bool(full_matrices),), meta, A._device, A._be))


def svdvals(A: Tensor, *, driver: Any = None) -> Tensor:
    """The singular values of ``A``, descending; see ``svd``."""
    return linalg_svd(A, False, driver=driver)[1]


@tensor_method
def svd(input: Tensor, some: bool = True, compute_uv: bool = True) -> Any:
    """``torch.svd``: ``(U, S, V)`` with ``A = U diag(S) V^T`` (``V``, not ``Vh``); reduced
    unless ``some=False``. With ``compute_uv=False`` only ``S`` is computed and ``U``, ``V``
    are zero matrices of shapes ``(*, m, m)`` and ``(*, n, n)``, whatever ``some`` says."""
    if isinstance(input, Tensor) and input.ndim < 2:
        raise RuntimeError(f"linalg.svd: input should have at least 2 dimensions, but has "
                           f"{input.ndim} dimensions instead")
    if not compute_uv:
        S = svdvals(input)
        batch, (m, n) = input.shape[:-2], input.shape[-2:]
        U = _c.zeros(*batch, m, m, dtype=input.dtype, device=input.device)
        V = _c.zeros(*batch, n, n, dtype=input.dtype, device=input.device)
        return old_svd_result(U, S, V)
    U, S, Vh = linalg_svd(input, not some)
    return old_svd_result(U, S, Vh.mT)


# -- built on eigh / svd -----------------------------------------------------------------------
def _as_tolerance(value: Any, like: Tensor) -> Tensor:
    if isinstance(value, Tensor):
        return value.to(like.dtype)
    return _c.tensor(float(value), dtype=like.dtype, device=like.device)


def _tolerance(A: Tensor, atol: Any, rtol: Any, largest: Tensor) -> Tensor:
    """PyTorch's ``max(atol, rtol * largest)``: ``rtol`` defaults to ``eps * max(m, n)``, or to
    0 where a positive ``atol`` is given."""
    default = finfo(A.dtype).eps * max(A.shape[-2:])
    atol_t = _as_tolerance(0.0 if atol is None else atol, A)
    if rtol is not None:
        rtol_t = _as_tolerance(rtol, A)
    elif atol is None:
        rtol_t = _as_tolerance(default, A)
    else:
        rtol_t = where(atol_t > 0, 0.0, _as_tolerance(default, A))
    return (rtol_t.unsqueeze(-1) * largest).maximum(atol_t.unsqueeze(-1).expand_as(largest))


@tensor_method
def pinverse(input: Tensor, rcond: float = 1e-15) -> Tensor:
    """``torch.pinverse``: ``linalg.pinv`` with relative tolerance ``rcond``."""
    return pinv(input, rtol=rcond)


def pinv(A: Tensor, rcond: Any = None, hermitian: bool = False, *, atol: Any = None,
         rtol: Any = None) -> Tensor:
    """The Moore-Penrose pseudo-inverse ``(*, n, m)`` of ``A`` (``(*, m, n)``) from its SVD
    (or, with ``hermitian=True``, its eigendecomposition), singular values at or below
    ``max(atol, rtol * largest)`` treated as zero. ``rcond`` is the older name of ``rtol``."""
    if not isinstance(A, Tensor) or A.ndim < 2 or A._dtype not in (_dt.float32, _dt.float64):
        what = (f"{A._dtype.scalar_name}{{{list(A.shape)}}}" if isinstance(A, Tensor)
                else type(A).__name__)
        raise RuntimeError(f"linalg.pinv({what}): expected a tensor with 2 or more dimensions "
                           "of float, double, cfloat or cdouble types")
    if rcond is not None:
        atol, rtol = 0.0, rcond
    if A.numel() == 0:
        m, n = A.shape[-2:]
        return _c.zeros(*A.shape[:-2], n, m, dtype=A.dtype, device=A.device)
    if hermitian:
        S, U = eigh(A)
        S_abs = S.abs()
        tol = _tolerance(A, atol, rtol, S_abs.amax(-1, keepdim=True))
        S_pinv = where(S_abs > tol, S.reciprocal(), 0.0)
        return (U * S_pinv.unsqueeze(-2)) @ U.mT
    U, S, Vh = linalg_svd(A, False)
    tol = _tolerance(A, atol, rtol, S[..., :1])
    S_pinv = where(S > tol, S.reciprocal(), 0.0)
    return (Vh.mT * S_pinv.unsqueeze(-2)) @ U.mT


def matrix_rank(A: Tensor, tol: Any = None, hermitian: bool = False, *, atol: Any = None,
                rtol: Any = None) -> Tensor:
    """The number of singular values (``|eigenvalues|`` with ``hermitian=True``) above
    ``max(atol, rtol * largest)``, an int64 tensor of ``A``'s batch shape. ``tol`` is the
    older name of ``atol`` (with ``rtol=0``)."""
    if not isinstance(A, Tensor):
        raise TypeError(f"linalg.matrix_rank(): argument 'A' must be Tensor, not "
                        f"{type(A).__name__}")
    if A.ndim < 2:
        raise RuntimeError("torch.linalg.matrix_rank: The input tensor input must have at "
                           "least 2 dimensions.")
    if A._dtype not in (_dt.float32, _dt.float64):
        raise RuntimeError("This function doesn't handle types other than float and double")
    if tol is not None:
        atol, rtol = tol, 0.0
    if A.numel() == 0:
        return _c.zeros(*A.shape[:-2], dtype=_dt.int64, device=A.device)
    if hermitian:
        S = eigvalsh(A).abs()
        largest = S.amax(-1, keepdim=True)
    else:
        S = svdvals(A)
        largest = S[..., :1]
    return (S > _tolerance(A, atol, rtol, largest)).sum(-1)


_COND_ORDERS = (1, -1, float("inf"), float("-inf"), "fro", "nuc")


def cond(A: Tensor, p: Any = None) -> Tensor:
    """The condition number of ``A`` in the norm ``p``: ``None``/2 (largest over smallest
    singular value), -2 (its reciprocal), or, for square ``A``, ``'fro'``, ``'nuc'``, 1, -1,
    ``inf``, ``-inf`` (``norm(A) * norm(inv(A))``; inf for a singular ``A``)."""
    if not isinstance(A, Tensor):
        raise TypeError(f"linalg.cond(): argument 'A' must be Tensor, not {type(A).__name__}")
    if A.ndim < 2:
        raise RuntimeError("linalg.cond: The input tensor A must have at least 2 dimensions.")
    if p is not None and p not in (2, -2) + _COND_ORDERS or isinstance(p, bool):
        raise RuntimeError(f"linalg.cond got an invalid norm type: {p}")
    if p is None or p in (2, -2):
        if A.numel() == 0:
            return _c.zeros(*A.shape[:-2], dtype=A.dtype, device=A.device)
        S = svdvals(A)
        ratio = S[..., -1] / S[..., 0] if p == -2 else S[..., 0] / S[..., -1]
        return ratio
    label = p if isinstance(p, str) else int(p) if abs(p) == 1 else ("inf" if p > 0 else "-inf")
    _check_matrix(A, f"linalg.cond(ord={label})", "linalg_inv", square=True)
    if A.numel() == 0:
        return _c.zeros(*A.shape[:-2], dtype=A.dtype, device=A.device)
    from .norms import matrix_norm
    from .solvers import inv_ex

    inverse, info = inv_ex(A)
    # a singular A (by LU, as PyTorch) is infinitely ill-conditioned; its failed inverse is
    # kept out of the norm (PyTorch's inf-filled one gives 'nuc' an SVD of infinities)
    singular = info > 0
    inverse = where(singular.unsqueeze(-1).unsqueeze(-1), 0.0, inverse)
    result = matrix_norm(A, p) * matrix_norm(inverse, p)
    return where(singular, float("inf"), result)


def spectral_matrix_norm(A: Tensor, ord: Any, dims: tuple, keepdim: bool) -> Tensor:
    """``matrix_norm`` for ``ord`` 2 (largest singular value), -2 (smallest) and ``'nuc'``
    (their sum) over ``dims`` (checked, distinct); ``A`` already in the requested dtype."""
    d0, d1 = dims
    _check_matrix(A, "linalg.matrix_norm", "linalg_svd")
    S = svdvals(A.movedim((d0, d1), (-2, -1)))
    if ord == "nuc":
        out = S.sum(-1)
    elif S.shape[-1] == 0 and ord == 2:
        out = S.sum(-1)  # PyTorch: 0 for an empty matrix
    else:
        out = S.amax(-1) if ord == 2 else S.amin(-1)
    if keepdim:
        for d in sorted((d0, d1)):
            out = out.unsqueeze(d)
    return out


def nuclear_norm(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """``torch.nuclear_norm``: the sum of the singular values over ``dim`` (the last two
    dims by default); ``linalg.matrix_norm(input, 'nuc', dim, keepdim)``."""
    from .norms import matrix_norm

    if isinstance(dim, bool):  # nuclear_norm(input, keepdim)
        dim, keepdim = None, dim
    if dim is None:
        dim = (-2, -1)
    return matrix_norm(input, "nuc", dim, keepdim)


def frobenius_norm(input: Tensor, dim: Any, keepdim: bool = False) -> Tensor:
    """``torch.frobenius_norm``: ``linalg.vector_norm(input, 2, dim, keepdim)`` over at most
    two dims."""
    from .norms import vector_norm

    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    if len(dims) > 2:
        raise RuntimeError(f"Expected at most 2 dimensions, but got {len(dims)} dimensions "
                           "instead.")
    return vector_norm(input, 2, dims, keepdim)


# -- gradients (used by mbtorch/autograd/derivatives.py) ----------------------------------------
def _safe_div(num: Tensor, den: Tensor) -> Tensor:
    """``num / den`` where ``num`` is non-zero, 0 where it is zero: a vector gradient that is
    zero stands for PyTorch's undefined one, whose terms PyTorch never computes."""
    return where(num == 0, 0.0, num / den)


def _gaps(L: Tensor) -> Tensor:
    """``E_ij = L_j - L_i`` with 1 on the diagonal (whose numerators are 0)."""
    n = L.shape[-1]
    return L.unsqueeze(-2) - L.unsqueeze(-1) + _c.eye(n, dtype=L.dtype, device=L.device)


def eigh_backward(g: tuple, result: tuple) -> Tensor:
    """``gA = V (diag(gL) + skew(V^T gV) / E) V^T`` with ``E_ij = L_j - L_i`` (PyTorch's
    ``linalg_eig_backward`` for Hermitian input); symmetric."""
    gL, gV = g
    L, V = result
    VhgV = V.mT @ gV
    inner = _safe_div((VhgV - VhgV.mT) * 0.5, _gaps(L))
    inner = inner + gL.diag_embed()
    return V @ inner @ V.mT


def svd_backward(g: tuple, result: tuple, full_matrices: bool) -> Tensor:
    """PyTorch's ``svd_backward`` (real case); with ``full_matrices`` only the first ``k``
    columns of ``U`` / rows of ``Vh`` (and their gradients) take part, as in PyTorch."""
    gU, gS, gVh = g
    U, S, Vh = result
    k = S.shape[-1]
    if full_matrices:
        U, gU, Vh, gVh = U[..., :k], gU[..., :k], Vh[..., :k, :], gVh[..., :k, :]
    m, n = U.shape[-2], Vh.shape[-1]
    UhgU = U.mT @ gU
    UhgU = UhgU - UhgU.mT
    VhgV = Vh @ gVh.mT
    VhgV = VhgV - VhgV.mT
    E = _gaps(S * S)
    Srow, Scol = S.unsqueeze(-2), S.unsqueeze(-1)
    inner = _safe_div(UhgU * Srow, E) + _safe_div(Scol * VhgV, E) + gS.diag_embed()
    if m > n:  # the part of gU outside U's column space
        gUSinv = _safe_div(gU, Srow)
        gA = U @ inner + gUSinv - U @ (U.mT @ gUSinv)
        return gA @ Vh
    if m < n:
        SinvgVh = _safe_div(gVh, Scol)
        gA = inner @ Vh + SinvgVh - (SinvgVh @ Vh.mT) @ Vh
        return U @ gA
    return U @ inner @ Vh


__all__ = ["frobenius_norm", "nuclear_norm", "pinverse", "svd"]
