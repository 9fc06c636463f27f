"""Native kernels of the factorization composites (``CHOLESKY``, ``LU_FACTOR``,
``TRIANGULAR_SOLVE``, ``LINALG_SOLVE``, ``SLOGDET``, ``QR``, ``GEQRF``, ``LDL_FACTOR``) for
NumPy-compatible array modules, merged into ``composites``. They take the decompositions'
arguments (``mbtorch/core/ops/factorizations.py``, ``householder.py``, ``ldl.py``) with arrays
in place of tensors.

``xp.linalg`` runs where it has the routine (``cholesky``, ``solve``, ``slogdet``, ``qr`` and
its ``'raw'`` mode for ``geqrf``; NumPy and CuPy both have them, batched). It has no LU with
partial pivoting and no triangular solve, so those are written here as column loops
vectorised over the batch (and over the right-hand sides): LAPACK's ``getrf`` pivot choice
(the first largest magnitude) and its 1-based pivots, so the factors equal PyTorch's. Where
``xp.linalg`` refuses a batch (a matrix that is not positive-definite, a singular one), the
loop versions give the per-matrix ``info`` PyTorch reports. The Bunch-Kaufman ``LDL_FACTOR``
chooses its pivots by value, so it runs matrix by matrix (``sytf2``'s steps, as ``ldl.py``).
"""

from __future__ import annotations

__all__ = ["build"]

import math
from contextlib import nullcontext
from typing import Any, Callable

import numpy as np

from mbtorch.core.op import Op
from mbtorch.core.ops.ldl import ALPHA, bunch_kaufman_step

_BLOCK = 32  # panel width of the blocked LU and triangular solve


def build(xp: Any) -> dict[Op, Callable]:
    errors = (xp.linalg.LinAlgError, np.linalg.LinAlgError)

    def checked():
        """CuPy's solvers check LAPACK's info only when asked to (otherwise a singular or
        non-positive-definite matrix gives garbage silently); NumPy's always raise."""
        if xp.__name__ == "cupy":
            import cupyx

            return cupyx.errstate(linalg="raise")
        return nullcontext()

    def flat(a):
        """(*, m, n) as a contiguous (B, m, n) copy, and the batch shape."""
        batch = a.shape[:-2]
        size = 1
        for s in batch:
            size *= s
        return xp.array(a.reshape((size,) + a.shape[-2:]), copy=True), batch

    def quiet():
        """Division by a zero pivot gives inf/nan silently, as PyTorch (CuPy never warns)."""
        errstate = getattr(xp, "errstate", None)
        return errstate(invalid="ignore", divide="ignore") if errstate else nullcontext()

    def cholesky_loop(a):
        A, batch = flat(a)
        n = A.shape[-1]
        L = xp.zeros_like(A)
        info = xp.zeros(A.shape[0], xp.int32)
        with quiet():
            for j in range(n):
                done = L[:, j, :j]
                d = A[:, j, j] - xp.sum(done * done, axis=-1)
                info = xp.where((info == 0) & ~(d > 0), j + 1, info).astype(xp.int32)
                root = xp.sqrt(d)
                L[:, j, j] = root
                below = A[:, j + 1:, j] - xp.matmul(L[:, j + 1:, :j], done[:, :, None])[..., 0]
                L[:, j + 1:, j] = below / root[:, None]
        return L.reshape(a.shape), info.reshape(batch)

    def cholesky(a):
        try:
            with checked():
                L = xp.linalg.cholesky(a)
        except errors:
            return cholesky_loop(a)
        return xp.ascontiguousarray(L), xp.zeros(a.shape[:-2], xp.int32)

    def lu_factor(a):
        # right-looking blocked getrf: a column loop inside each panel of _BLOCK columns,
        # then one triangular solve and one matmul for the rest, so large matrices spend
        # their time in BLAS rather than in the loop
        A, batch = flat(a)
        b, m, n = A.shape
        k = min(m, n)
        at = xp.arange(b)
        piv = xp.zeros((b, k), xp.int32)
        with quiet():
            for j0 in range(0, k, _BLOCK):
                j1 = min(j0 + _BLOCK, k)
                for j in range(j0, j1):
                    p = xp.argmax(xp.abs(A[:, j:, j]), axis=-1) + j
                    piv[:, j] = p + 1
                    row = A[at, p].copy()  # swap whole rows, as dlaswp
                    A[at, p] = A[:, j]
                    A[:, j] = row
                    pivot = A[:, j, j]
                    # a zero pivot means a zero column: getrf leaves it unscaled
                    scale = A[:, j + 1:, j] / xp.where(pivot == 0, 1, pivot).astype(A.dtype)[
                        :, None]
                    A[:, j + 1:, j] = scale
                    A[:, j + 1:, j + 1:j1] -= scale[:, :, None] * A[:, j, None, j + 1:j1]
                if j1 < n:
                    A[:, j0:j1, j1:] = substitute(A[:, j0:j1, j0:j1], A[:, j0:j1, j1:], False,
                                                  True)
                    A[:, j1:, j1:] -= xp.matmul(A[:, j1:, j0:j1], A[:, j0:j1, j1:])
        return A.reshape(a.shape), piv.reshape(batch + (k,))

    def substitute(A, B, upper, unitriangular):
        """Row-by-row substitution, (b, n, n) and (b, n, k) arrays."""
        n = A.shape[-1]
        X = xp.zeros_like(B)
        for i in (range(n - 1, -1, -1) if upper else range(n)):
            lo, hi = (i + 1, n) if upper else (0, i)
            r = B[:, i] - xp.matmul(A[:, i, None, lo:hi], X[:, lo:hi])[:, 0]
            X[:, i] = r if unitriangular else r / A[:, i, i, None]
        return X

    def triangular_solve(a, bmat, upper, unitriangular):
        # blocked: substitution within _BLOCK rows, one matmul for the rows already solved
        A, _ = flat(a)
        B, _ = flat(bmat)
        n = A.shape[-1]
        X = xp.zeros_like(B)
        blocks = [(i, min(i + _BLOCK, n)) for i in range(0, n, _BLOCK)]
        with quiet():
            for i0, i1 in (reversed(blocks) if upper else blocks):
                done = slice(i1, n) if upper else slice(0, i0)
                rhs = B[:, i0:i1] - xp.matmul(A[:, i0:i1, done], X[:, done])
                X[:, i0:i1] = substitute(A[:, i0:i1, i0:i1], rhs, upper, unitriangular)
        return X.reshape(bmat.shape)

    def lu_info(LU):
        zero = xp.diagonal(LU, 0, -2, -1) == 0
        first = xp.argmax(zero, axis=-1) + 1
        return xp.where(xp.any(zero, axis=-1), first, 0).astype(xp.int32)

    def permute_rows(b, piv):
        B, batch = flat(b)
        P = piv.reshape(-1, piv.shape[-1])
        at = xp.arange(B.shape[0])
        for i in range(P.shape[-1]):
            p = P[:, i].astype(xp.int64) - 1
            row = B[at, p].copy()
            B[at, p] = B[:, i]
            B[:, i] = row
        return B.reshape(b.shape)

    def solve(a, b):
        try:
            with checked():
                X = xp.linalg.solve(a, b)
        except errors:
            LU, piv = lu_factor(a)
            Y = triangular_solve(LU, permute_rows(b, piv), False, True)
            return triangular_solve(LU, Y, True, False), lu_info(LU)
        return xp.ascontiguousarray(X), xp.zeros(a.shape[:-2], xp.int32)

    def slogdet(a):
        if a.shape[-1] == 0:  # the empty product: det 1
            return xp.ones(a.shape[:-2], a.dtype), xp.zeros(a.shape[:-2], a.dtype)
        sign, logabsdet = xp.linalg.slogdet(a)
        return xp.asarray(sign, a.dtype), xp.asarray(logabsdet, a.dtype)

    def qr(a, mode):
        m, n = a.shape[-2:]
        k = min(m, n)
        if k == 0:  # LAPACK is not called on empty matrices: Q the identity, R empty
            q = xp.broadcast_to(xp.eye(m, dtype=a.dtype), a.shape[:-2] + (m, m))
            r = xp.zeros(a.shape[:-2] + ((m if mode == "complete" else k), n), a.dtype)
            q = xp.zeros((0,), a.dtype) if mode == "r" else q[..., :(m if mode == "complete"
                                                                      else k)]
            return xp.ascontiguousarray(q), r
        if mode == "r":
            return xp.zeros((0,), a.dtype), xp.ascontiguousarray(xp.linalg.qr(a, mode="r"))
        q, r = xp.linalg.qr(a, mode=mode)
        return xp.ascontiguousarray(q), xp.ascontiguousarray(r)

    def geqrf(a):
        k = min(a.shape[-2:])
        if k == 0 or a.size == 0:
            return xp.array(a, copy=True), xp.zeros(a.shape[:-2] + (k,), a.dtype)
        h, tau = xp.linalg.qr(a, mode="raw")  # h is the packed factor transposed (Fortran)
        return xp.ascontiguousarray(xp.swapaxes(h, -1, -2)), xp.asarray(tau, a.dtype)

    def ldl_choose(T):
        """sytf2's pivot for the symmetric trailing block (-1: a zero column)."""
        a = xp.abs(T)
        absakk = float(a[0, 0])
        if T.shape[0] == 1:
            return (-1, 1) if absakk == 0 or math.isnan(absakk) else (0, 1)
        imax = int(xp.argmax(a[1:, 0])) + 1
        colmax = float(a[imax, 0])
        if max(absakk, colmax) == 0 or math.isnan(absakk):
            return -1, 1
        if absakk >= ALPHA * colmax:
            return 0, 1
        rowmax = float(xp.max(xp.concatenate([a[imax, :imax], a[imax, imax + 1:]])))
        return bunch_kaufman_step(absakk, colmax, imax, rowmax, float(a[imax, imax]))

    def ldl_one(a):
        n = a.shape[-1]
        W = xp.tril(a) + xp.swapaxes(xp.tril(a, -1), -1, -2)  # sytf2 reads the lower triangle
        LD = xp.zeros_like(a)
        piv, info, k = [0] * n, 0, 0
        while k < n:
            T = W[k:, k:]
            kp, kstep = ldl_choose(T)
            if kp < 0:  # a zero column: D[k, k] = 0, nothing to eliminate
                info = info or k + 1
                LD[k:, k] = T[:, 0]
                piv[k] = k + 1
            elif kstep == 1:
                swap_sym(T, 0, kp)
                x, d11 = T[1:, 0].copy(), 1.0 / T[0, 0]
                LD[k, k], LD[k + 1:, k] = T[0, 0], x * d11
                T[1:, 1:] = lower_sym(T[1:, 1:] - x[:, None] * (x * d11)[None, :])
                piv[k] = k + kp + 1
            else:
                swap_sym(T, 1, kp)
                d21 = T[1, 0]
                d11, d22 = T[1, 1] / d21, T[0, 0] / d21
                d21 = (1.0 / (d11 * d22 - 1.0)) / d21
                X = T[2:, :2].copy()
                wk, wkp1 = d21 * (d11 * X[:, 0] - X[:, 1]), d21 * (d22 * X[:, 1] - X[:, 0])
                LD[k:k + 2, k], LD[k + 1, k + 1] = T[:2, 0], T[1, 1]
                LD[k + 2:, k], LD[k + 2:, k + 1] = wk, wkp1
                T[2:, 2:] = lower_sym(T[2:, 2:] - X[:, :1] * wk[None, :] - X[:, 1:] * wkp1[None, :])
                piv[k] = piv[k + 1] = -(k + kp + 1)
            k += kstep
        return LD, piv, info

    def swap_sym(T, i, j):
        if i != j:
            T[[i, j]] = T[[j, i]]
            T[:, [i, j]] = T[:, [j, i]]

    def lower_sym(T):
        return xp.tril(T) + xp.swapaxes(xp.tril(T, -1), -1, -2)

    def ldl_factor(a):
        A, batch = flat(a)
        n = A.shape[-1]
        results = [ldl_one(m) for m in A]
        LD = xp.stack([r[0] for r in results]) if results else A
        piv = xp.asarray([r[1] for r in results], dtype=xp.int32).reshape(batch + (n,))
        info = xp.asarray([r[2] for r in results], dtype=xp.int32).reshape(batch)
        return LD.reshape(a.shape), piv, info

    return {
        Op.CHOLESKY: cholesky, Op.LU_FACTOR: lu_factor, Op.TRIANGULAR_SOLVE: triangular_solve,
        Op.LINALG_SOLVE: solve, Op.SLOGDET: slogdet, Op.QR: qr, Op.GEQRF: geqrf,
        Op.LDL_FACTOR: ldl_factor,
    }
