"""``linalg.lstsq``: least squares with PyTorch's four LAPACK drivers' results.

- ``'gels'``: QR, for a full-rank ``A`` (the minimum-norm solution when ``A`` is wide);
  ``residuals`` (the squared residual norms) when ``A`` is tall; ``rank`` and
  ``singular_values`` empty.
- ``'gelsy'`` (the default, as on PyTorch's CPU), ``'gelsd'``, ``'gelss'``: the minimum-norm
  solution for any rank, ``pinv(A) @ B`` with singular values at or below ``rcond`` times the
  largest treated as zero (``rcond`` defaults to ``eps * max(m, n)``); ``rank`` filled;
  ``gelsd``/``gelss`` also give ``singular_values`` and, for a tall full-rank ``A``,
  ``residuals``. LAPACK's ``gelsy`` decides the rank from a column-pivoted QR rather than the
  singular values: the same rank except for matrices right at the threshold.

Gradients are those of the parts (QR and triangular solves, or the SVD behind ``pinv``).
"""

from __future__ import annotations

from typing import Any

from .. import dtypes as _dt
from ..host import finfo
from ..tensor import Tensor
from . import factorizations as _f
from ._common import return_type
from ._reduce import check_input
from .creation import zeros
from .solvers import broadcast_batch, check_matrix

__all__ = ["lstsq"]

_lstsq = return_type("linalg_lstsq", ("solution", "residuals", "rank", "singular_values"))
_DRIVERS = ("gels", "gelsy", "gelsd", "gelss")
_NAME = "torch.linalg.lstsq"


def _check(A: Any, B: Any, driver: Any) -> None:
    check_input(A, _NAME, "input")
    check_input(B, _NAME, "other")
    for x in (A, B):
        if x._dtype not in (_dt.float32, _dt.float64):
            raise RuntimeError("This function doesn't handle types other than float and double")
    check_matrix(A, _NAME, "input", "geqrf_cpu")
    if driver is not None and driver not in _DRIVERS:
        raise RuntimeError(f"{_NAME}: parameter `driver` should be one of (gels, gelsy, gelsd, "
                           "gelss)")
    if A._dtype is not B._dtype:
        raise RuntimeError(f"{_NAME}: Expected input and other to have the same dtype, but got "
                           f"input's dtype {A._dtype.scalar_name} and other's dtype "
                           f"{B._dtype.scalar_name}")


def _by_qr(A: Tensor, B: Tensor) -> tuple:
    m, n = A._shape[-2:]
    if m >= n:
        Q, R = _f.run_qr(A, "reduced")
        X = _f.run_triangular_solve(R, Q.mT @ B, True, False)
        return X, (((A @ X - B) ** 2).sum(-2) if m > n else A.new_zeros((0,)))
    Q, R = _f.run_qr(A.mT, "reduced")  # the minimum-norm solution: A^T = Q R, X = Q R^-T B
    return Q @ _f.run_triangular_solve(R.mT, B, False, False), A.new_zeros((0,))


def _by_svd(A: Tensor, B: Tensor, rcond: Any, driver: str) -> tuple:
    from .spectral import pinv, svdvals

    m, n = A._shape[-2:]
    if rcond is None or rcond < 0:  # LAPACK: a negative rcond means machine precision
        rcond = finfo(A._dtype).eps * max(m, n)
    S = svdvals(A)
    k = S._shape[-1]
    if k:
        rank = (S > S[..., :1] * rcond).sum(-1)
    else:
        rank = zeros(S._shape[:-1], dtype=_dt.int64, device=A._device)
    X = pinv(A, rtol=rcond) @ B
    svd_driver = driver in ("gelsd", "gelss")
    res = A.new_zeros((0,))
    if svd_driver and m > n and bool((rank == n).all().item()):
        res = ((A @ X - B) ** 2).sum(-2)
    return X, res, rank, (S if svd_driver else A.new_zeros((0,)))


def lstsq(A: Tensor, B: Tensor, rcond: float | None = None, *,
          driver: str | None = None) -> Any:
    """``(solution, residuals, rank, singular_values)`` minimising ``|A X - B|``; ``B`` of
    ``A``'s rank minus one is a batch of vectors. See the module docstring for the drivers."""
    _check(A, B, driver)
    vector = B.ndim == A.ndim - 1
    B = B.unsqueeze(-1) if vector else B
    if A._shape[-2] != B._shape[-2]:
        raise RuntimeError(f"{_NAME}: input.size(-2) should match other.size(-2)")
    A, B = broadcast_batch(A, B, _NAME)
    if driver == "gels":
        X, res = _by_qr(A, B)
        rank = zeros((0,), dtype=_dt.int64, device=A._device)
        S = A.new_zeros((0,))
    else:
        X, res, rank, S = _by_svd(A, B, rcond, driver or "gelsy")
    return _lstsq(X.squeeze(-1) if vector else X, res, rank, S)
