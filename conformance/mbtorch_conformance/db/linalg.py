"""Factorizations and solvers (``CHOLESKY``, ``LU_FACTOR``, ``TRIANGULAR_SOLVE``,
``LINALG_SOLVE``, ``SLOGDET``, ``QR``, ``GEQRF``, ``LDL_FACTOR``) against ``numpy.linalg`` in
float64.

Random matrices are made safe where the op needs it, in the expression itself so that
gradients are checked through it too: solves and inverses lift the diagonal (``x + 5n I`` is
diagonally dominant for entries in [-4, 4]), Cholesky factors ``x x^T + n I``. Factors that
are unique only up to conventions are compared through what is convention-free (``P L U``
and ``Q R`` rebuild ``x``; ``Q^T Q`` is the identity); ``R`` itself is compared too, since
the decomposition follows LAPACK's sign choice."""

from __future__ import annotations

import numpy as np

import mbtorch as mt
from mbtorch.core.op import Op

from ..samples import case
from . import Bad, Entry

__all__ = ["ENTRIES"]

_STD = ("standard", "full")
_DTYPES = (mt.float32, mt.float64)
_TOL = {mt.float32: (1e-4, 1e-4), mt.float64: (1e-9, 1e-9)}

_SQUARE = [
    case((3, 3)), case((2, 4, 4)), case((1, 1)), case((5, 5), tiers=_STD),
    case((0, 3, 3), tiers=_STD), case((2, 0, 0), tiers=_STD), case((2, 1, 4, 4), tiers=_STD),
    case((3, 2, 2), tiers=_STD), case((6, 6), tiers=_STD), case((2, 3, 3), tiers=_STD),
    case((4, 4), tiers=_STD),
]
_RECT = [
    case((3, 4)), case((4, 3)), case((2, 5, 2), tiers=_STD), case((3, 3)),
    case((2, 3, 4), tiers=_STD), case((1, 5), tiers=_STD), case((5, 1), tiers=_STD),
    case((6, 4), tiers=_STD), case((0, 2, 3), tiers=_STD),
]
_TALL = [c for c in _RECT if c.args[0][-2] >= c.args[0][-1]] + [
    case((7, 3), tiers=_STD), case((2, 4, 4), tiers=_STD), case((3, 1), tiers=_STD),
    case((0, 3, 2), tiers=_STD)]
_SYSTEMS = [
    case((3, 3), (3, 2)), case((2, 4, 4), (2, 4, 1)), case((1, 1), (1, 3)),
    case((2, 3, 3), (3, 2), tiers=_STD), case((0, 3, 3), (0, 3, 2), tiers=_STD),
    case((4, 4), (4, 3), tiers=_STD), case((2, 2, 2), (2, 2, 1), tiers=_STD),
    case((5, 5), (5, 5), tiers=_STD),
]
_BAD_SQUARE = (
    Bad(((2, 3),), {}, RuntimeError, "non-square matrix"),
    Bad(((3,),), {}, RuntimeError, "1-d input"),
    Bad(((2, 2),), {}, RuntimeError, "integer input", mt.int64),
)


def _lift(expr: str) -> str:
    """``expr`` with ``x0`` made diagonally dominant."""
    lifted = ("(x0 + 5 * x0.shape[-1] * mbtorch.eye(x0.shape[-1], dtype=x0.dtype, "
              "device=x0.device))")
    return "expr:" + expr.replace("A", lifted)


def _np_lift(x):
    n = x.shape[-1]
    return x + 5 * n * np.eye(n)


def _np_spd(x):
    n = x.shape[-1]
    return x @ np.swapaxes(x, -1, -2) + n * np.eye(n)


def _solve(a, b):
    a = _np_lift(a)
    if a.size == 0 or b.size == 0:
        return np.zeros(np.broadcast_shapes(a.shape[:-2], b.shape[:-2]) + b.shape[-2:])
    return np.linalg.solve(a, np.broadcast_to(b, a.shape[:-2] + b.shape[-2:]))


def _solve_upper(a, b):
    return _solve(np.triu(a) + np.tril(np.zeros_like(a), -1), b) if a.size else _solve(a, b)


def _ldl_solve(a, b):
    return _solve((a + np.swapaxes(a, -1, -2)) / 2, b)


def _inv(a):
    a = _np_lift(a)
    return np.linalg.inv(a) if a.size else a


def _cholesky(x):
    s = _np_spd(x)
    return np.linalg.cholesky(s) if s.size else s


def _slogdet(x):
    return np.linalg.slogdet(x)[1] if x.size else np.zeros(x.shape[:-2])


def _sign(x):
    return np.linalg.slogdet(x)[0] if x.size else np.ones(x.shape[:-2])


def _det(x):
    return np.linalg.det(x) if x.size else np.ones(x.shape[:-2])


def _lu_packed(x):
    """LAPACK getrf by explicit per-matrix loops (partial pivoting, first largest)."""
    out = np.array(x, dtype=np.float64, copy=True)
    flat = out.reshape((-1,) + x.shape[-2:])
    m, n = x.shape[-2:]
    for a in flat:
        for j in range(min(m, n)):
            p = j + int(np.argmax(np.abs(a[j:, j])))
            a[[j, p]] = a[[p, j]]
            if a[j, j] != 0:
                a[j + 1:, j] /= a[j, j]
            a[j + 1:, j + 1:] -= np.outer(a[j + 1:, j], a[j, j + 1:])
    return out


def _qr_r(x):
    return np.linalg.qr(x)[1]


def _geqrf_a(x):
    if 0 in x.shape:
        return x
    return np.swapaxes(np.linalg.qr(x, mode="raw")[0], -1, -2)


def _identity_k(x):
    k = min(x.shape[-2:])
    return np.broadcast_to(np.eye(k), x.shape[:-2] + (k, k))


# the expanded layout repeats one row: the reflectors after the first one act on rounding
# noise, so the packed form is not determined (Q^T Q and Q R, checked above, still are)
_RANK_ONE = ("not differentiable, as in PyTorch; not run on non-contiguous layouts (the "
             "expanded one is rank one, where the packed form is not determined)")

# the op's gradient is checked by another entry of it (linalg.det and linalg.lu_factor_ex LU
# for LU_FACTOR, linalg.qr R for QR): the decomposed gradchecks are the slow part on mini
_GRAD_ELSEWHERE = "gradient checked by another entry of the same op"

ENTRIES = [
    Entry("linalg.cholesky(x x^T + n I)", Op.CHOLESKY,
          "expr:mbtorch.linalg.cholesky(x0 @ x0.mT + x0.shape[-1] * mbtorch.eye(x0.shape[-1], "
          "dtype=x0.dtype, device=x0.device))", _cholesky, _SQUARE, _DTYPES, tol=_TOL),
    Entry("linalg.lu reconstruction", Op.LU_FACTOR,
          "expr:(lambda r: r.P @ r.L @ r.U)(mbtorch.linalg.lu(x0))", lambda x: x,
          [c for c in _SQUARE if 0 not in c.args[0]], _DTYPES, tol=_TOL, grad=False,
          errors=(Bad(((3,),), {}, RuntimeError, "1-d input"),), note=_GRAD_ELSEWHERE),
    Entry("linalg.lu reconstruction (rectangular)", Op.LU_FACTOR,
          "expr:(lambda r: r.P @ r.L @ r.U)(mbtorch.linalg.lu(x0))", lambda x: x, _RECT,
          _DTYPES, tol=_TOL, grad=False, note=_GRAD_ELSEWHERE),
    Entry("linalg.lu_factor_ex LU", Op.LU_FACTOR,
          "expr:mbtorch.linalg.lu_factor_ex(x0).LU", _lu_packed, _RECT, _DTYPES, tol=_TOL),
    Entry("linalg.det", Op.LU_FACTOR, "mbtorch.linalg.det", _det, _SQUARE, _DTYPES,
          tol=_TOL, errors=_BAD_SQUARE),
    Entry("linalg.solve_triangular(upper)", Op.TRIANGULAR_SOLVE,
          _lift("mbtorch.linalg.solve_triangular(A, x1, upper=True)"), _solve_upper, _SYSTEMS,
          _DTYPES, tol=_TOL),
    Entry("linalg.solve", Op.LINALG_SOLVE, _lift("mbtorch.linalg.solve(A, x1)"), _solve,
          _SYSTEMS, _DTYPES, tol=_TOL),
    Entry("linalg.inv", Op.LINALG_SOLVE, _lift("mbtorch.linalg.inv(A)"), _inv, _SQUARE,
          _DTYPES, tol=_TOL),
    Entry("linalg.slogdet logabsdet", Op.SLOGDET, "expr:mbtorch.linalg.slogdet(x0).logabsdet",
          _slogdet, _SQUARE, _DTYPES, tol=_TOL, errors=_BAD_SQUARE),
    Entry("linalg.slogdet sign", Op.SLOGDET, "expr:mbtorch.linalg.slogdet(x0).sign", _sign,
          _SQUARE, _DTYPES, tol=_TOL, grad=False),
    Entry("linalg.qr R", Op.QR, "expr:mbtorch.linalg.qr(x0).R", _qr_r, _RECT, _DTYPES,
          tol=_TOL, errors=(Bad(((3,),), {}, RuntimeError, "1-d input"),)),
    Entry("linalg.qr reconstruction", Op.QR, "expr:(lambda r: r.Q @ r.R)(mbtorch.linalg.qr(x0))",
          lambda x: x, _RECT, _DTYPES, tol=_TOL, grad=False, note=_GRAD_ELSEWHERE),
    Entry("linalg.qr Q^T Q", Op.QR, "expr:(lambda Q: Q.mT @ Q)(mbtorch.linalg.qr(x0).Q)",
          _identity_k, _RECT, _DTYPES, tol=_TOL, grad=False, note=_GRAD_ELSEWHERE),
    Entry("geqrf a", Op.GEQRF, "expr:mbtorch.geqrf(x0).a", _geqrf_a, _RECT, _DTYPES, tol=_TOL,
          grad=False, errors=(Bad(((3,),), {}, RuntimeError, "1-d input"),), noncontig=False,
          note=_RANK_ONE),
    Entry("householder_product(geqrf)", Op.GEQRF,
          "expr:mbtorch.linalg.householder_product(*mbtorch.geqrf(x0))",
          lambda x: np.linalg.qr(x)[0], _TALL, _DTYPES, tol=_TOL, grad=False, noncontig=False,
          note=_RANK_ONE),
    Entry("linalg.ldl_solve(ldl_factor)", Op.LDL_FACTOR,
          _lift("(lambda S: mbtorch.linalg.ldl_solve(*mbtorch.linalg.ldl_factor(S), x1))"
                "((A + A.mT) / 2)"), _ldl_solve, _SYSTEMS, _DTYPES, tol=_TOL, grad=False,
          note="not differentiable, as in PyTorch; pivoting is covered by the unit tests"),
]
