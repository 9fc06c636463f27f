"""Matrix functions the orthogonal parametrization needs, written with matmuls so that every
backend runs them and autograd differentiates them: ``matrix_exp`` (scaling and squaring of a
Taylor series), ``householder_product``, and the Q of a QR factorisation (Gram-Schmidt)."""

from __future__ import annotations

import math

import mbtorch as _mt

from ...core.tensor import Tensor

__all__ = ["matrix_exp", "householder_product", "qr_q", "geqrf"]

_TAYLOR_DEGREE = 18  # for ||A|| <= 1/2 the remainder is below 1e-22: float64 exact


def matrix_exp(a: Tensor) -> Tensor:
    """exp(A) of a square matrix or a batch of them."""
    n = a.shape[-1]
    norm = float(a.detach().abs().sum(-1).max()) if a.numel() else 0.0
    squarings = max(0, math.ceil(math.log2(norm / 0.5))) if norm > 0.5 else 0
    a = a / (2.0 ** squarings)
    eye = _mt.eye(n, dtype=a.dtype, device=a.device).expand_as(a)
    out = eye
    for k in range(_TAYLOR_DEGREE, 0, -1):  # Horner: I + A/1 (I + A/2 (I + ...))
        out = eye + (a @ out) / k
    for _ in range(squarings):
        out = out @ out
    return out


def householder_product(a: Tensor, tau: Tensor) -> Tensor:
    """The first n columns of H_1 H_2 ... H_k, H_i = I - tau_i v_i v_i^H, with v_i the i-th
    column of ``a`` (m, n) below the diagonal and a 1 on it (LAPACK's orgqr)."""
    m, n = a.shape[-2], a.shape[-1]
    rows = _mt.arange(m, device=a.device)
    q = _mt.eye(m, dtype=a.dtype, device=a.device).expand(tuple(a.shape[:-2]) + (m, m))
    for i in range(tau.shape[-1]):
        below = (rows > i).to(a.dtype)
        unit = (rows == i).to(a.dtype)
        v = a[..., :, i] * below + unit  # (..., m)
        qv = (q @ v.unsqueeze(-1))  # (..., m, 1)
        q = q - (qv * tau[..., i].unsqueeze(-1).unsqueeze(-1)) @ v.unsqueeze(-2)
    return q[..., :, :n]


def qr_q(a: Tensor) -> Tensor:
    """Q of the reduced QR factorisation with a positive diagonal of R (modified
    Gram-Schmidt, run twice for orthogonality to working precision)."""
    cols = []
    for j in range(a.shape[-1]):
        v = a[..., :, j]
        for _ in range(2):
            for q in cols:
                v = v - (q * v).sum(-1, keepdim=True) * q
        cols.append(v / _mt.linalg.vector_norm(v, 2, -1, keepdim=True))
    return _mt.stack(cols, -1)


def geqrf(a: Tensor) -> tuple[Tensor, Tensor]:
    """LAPACK's Householder QR of an (..., m, n) matrix, m >= n: R on and above the diagonal,
    the reflectors' tails below it, and their ``tau`` (no gradient)."""
    m, n = a.shape[-2], a.shape[-1]
    a = a.detach().clone()
    taus = []
    rows = _mt.arange(m, device=a.device)
    for i in range(min(m, n)):
        col = a[..., :, i]
        alpha = col[..., i]
        tail = col * (rows > i).to(a.dtype)
        xnorm = _mt.linalg.vector_norm(tail, 2, -1)
        sign = _mt.where(alpha >= 0, 1.0, -1.0).to(a.dtype)
        beta = -sign * _mt.sqrt(alpha * alpha + xnorm * xnorm)
        trivial = xnorm == 0  # H = I: LAPACK's tau = 0, and the column stays
        safe = _mt.where(trivial, 1.0, alpha - beta)
        tau = _mt.where(trivial, 0.0, (beta - alpha) / _mt.where(trivial, 1.0, beta))
        v = tail / safe.unsqueeze(-1) + (rows == i).to(a.dtype)
        # apply H = I - tau v v^T to the columns right of i
        w = (v.unsqueeze(-2) @ a).squeeze(-2)  # (..., n)
        right = (_mt.arange(n, device=a.device) > i).to(a.dtype)
        a = a - tau.unsqueeze(-1).unsqueeze(-1) * v.unsqueeze(-1) * (w * right).unsqueeze(-2)
        above = col * (rows < i).to(a.dtype)  # R's entries from the earlier reflections
        new_col = _mt.where(trivial.unsqueeze(-1), col,
                            above + tail / safe.unsqueeze(-1) + beta.unsqueeze(-1) * (rows == i))
        a[..., :, i] = new_col
        taus.append(tau)
    return a, _mt.stack(taus, -1)
