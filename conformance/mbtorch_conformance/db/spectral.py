"""Spectral decompositions (``EIGH``, ``SVD``) against ``numpy.linalg`` in float64.

Eigenvectors and singular vectors are defined up to sign (PyTorch's documentation says the
same), so entries that involve them compare sign-free quantities: reconstructions
``V diag(L) V^T`` and ``U diag(S) Vh``, ``U^T U``, the pseudo-inverse. ``eigh`` reads one
triangle of its input while its gradient (PyTorch's formula) is symmetric, so the entries that
check gradients against finite differences symmetrise the input first (``x + x^T``), as
PyTorch's own gradchecks of ``eigh`` do. Tolerances allow the Jacobi decompositions of
backends without LAPACK a few ulps per sweep."""

from __future__ import annotations

import numpy as np

import mbtorch as mt
from mbtorch.core.op import Op

from ..samples import case
from . import Bad, Entry

__all__ = ["ENTRIES"]

_STD = ("standard", "full")
_FULL = ("full",)  # each sample is a Jacobi iteration on backends without LAPACK: keep few
_DTYPES = (mt.float32, mt.float64)
_TOL = {mt.float32: (1e-4, 1e-4), mt.float64: (1e-9, 1e-9)}

_SQUARE = [
    case((3, 3)), case((2, 4, 4)), case((1, 1)), case((2, 2)), case((3, 2, 2)), case((4, 4)),
    case((0, 3, 3), tiers=_STD), case((2, 0, 0), tiers=_STD), case((5, 5), tiers=_FULL),
    case((2, 1, 6, 6), tiers=_FULL),
]
_RECT = [
    case((3, 4)), case((4, 3)), case((2, 3, 3)), case((1, 1)), case((2, 1)), case((1, 3)),
    case((2, 2, 3)), case((3, 2)), case((0, 2, 3), tiers=_STD), case((3, 0), tiers=_STD),
    case((2, 5, 2), tiers=_FULL), case((7, 6), tiers=_FULL),
]
_NONEMPTY_RECT = [c for c in _RECT if 0 not in c.args[0]]
_BAD_SQUARE = (
    Bad(((2, 3),), {}, RuntimeError, "non-square matrix"),
    Bad(((3,),), {}, RuntimeError, "1-d input"),
    Bad(((2, 2),), {}, NotImplementedError, "integer input", mt.int64),
)
_BAD_SVD = (
    Bad(((3,),), {}, RuntimeError, "1-d input"),
    Bad(((2, 2),), {}, RuntimeError, "integer input", mt.int32),
)


def _sym(x):
    return x + np.swapaxes(x, -1, -2)


def _eigvalsh(x, UPLO="L"):  # noqa: N803 - PyTorch's argument name
    return np.linalg.eigvalsh(x, UPLO=UPLO)


def _svdvals(x):
    return np.linalg.svd(x, compute_uv=False)


def _gram(x):
    m = x.shape[-2]
    return np.broadcast_to(np.eye(m), x.shape[:-2] + (m, m))


_EIGH_RECON = ("expr:(lambda r: (r.eigenvectors * r.eigenvalues.unsqueeze(-2)) "
               "@ r.eigenvectors.mT)(mbtorch.linalg.eigh(x0 + x0.mT))")
_SVD_RECON = ("expr:(lambda r: (r.U * r.S.unsqueeze(-2)) @ r.Vh)"
              "(mbtorch.linalg.svd(x0, full_matrices=False))")

ENTRIES = [
    Entry("linalg.eigvalsh", Op.EIGH, "mbtorch.linalg.eigvalsh", _eigvalsh, _SQUARE + [
        case((4, 4), UPLO="U")], _DTYPES, tol=_TOL, grad=False, errors=_BAD_SQUARE,
          note="reads one triangle; gradients are checked by the symmetrised entries"),
    Entry("linalg.eigvalsh(x + x^T)", Op.EIGH, "expr:mbtorch.linalg.eigvalsh(x0 + x0.mT)",
          lambda x: np.linalg.eigvalsh(_sym(x)), _SQUARE, _DTYPES, tol=_TOL),
    Entry("linalg.eigh reconstruction", Op.EIGH, _EIGH_RECON, _sym, _SQUARE, _DTYPES, tol=_TOL),
    Entry("linalg.svdvals", Op.SVD, "mbtorch.linalg.svdvals", _svdvals, _RECT, _DTYPES,
          tol=_TOL, errors=_BAD_SVD),
    Entry("linalg.svd reconstruction", Op.SVD, _SVD_RECON, lambda x: x, _RECT, _DTYPES,
          tol=_TOL),
    Entry("linalg.svd U^T U", Op.SVD, "expr:(lambda U: U.mT @ U)(mbtorch.linalg.svd(x0).U)",
          _gram, _RECT, _DTYPES, tol=_TOL, grad=False),
    Entry("linalg.pinv", Op.SVD, "mbtorch.linalg.pinv", np.linalg.pinv, _NONEMPTY_RECT,
          _DTYPES, tol=_TOL),
    Entry("linalg.matrix_norm(nuc)", Op.SVD, "expr:mbtorch.linalg.matrix_norm(x0, 'nuc')",
          lambda x: np.linalg.norm(x, "nuc", axis=(-2, -1)), _NONEMPTY_RECT, _DTYPES,
          tol=_TOL, grad=False, note="the sum of svdvals, whose gradient is checked there"),
]
