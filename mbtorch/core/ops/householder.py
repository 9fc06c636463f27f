"""LAPACK's packed QR: ``geqrf`` (the ``GEQRF`` op: ``R`` above the diagonal, Householder
vectors below it, and their scalars ``tau``), and what consumes it: ``householder_product``
(``orgqr``: the explicit ``Q``) and ``ormqr`` (``Q`` applied to a matrix without forming it).

``GEQRF``: ``(A)`` (*, m, n) -> ``(a, tau)`` with ``tau`` (*, min(m, n)); each reflector is
``H_i = I - tau_i v_i v_i^T`` with ``v_i = [0, ..., 0, 1, a[i+1:, i]]`` (``dlarfg``'s
convention). It is not differentiable, as in PyTorch; ``householder_product`` and ``ormqr``
are compositions of mbtorch ops, so they are (through ``input`` and ``tau``).
"""

from __future__ import annotations

from typing import Any

from ..op import Op, define
from ..tensor import Tensor, method_table
from . import unary as _u
from ._common import return_type, run
from .creation import eye, zeros
from .joining import cat, stack
from .solvers import check_matrix

TENSOR_METHODS: dict = {}
"""The ``Tensor`` methods this module provides, by name (installed by ``mbtorch.core.ops``)."""
tensor_method = method_table(TENSOR_METHODS)

_geqrf = return_type("geqrf", ("a", "tau"))


@define(Op.GEQRF)
def _geqrf_decomposition(A: Tensor) -> tuple:
    m, n = A._shape[-2:]
    taus = []
    for j in range(min(m, n)):
        x = A[..., j:, j]
        alpha, rest = x[..., 0], x[..., 1:]
        sigma = (rest * rest).sum(-1)
        norm = _u.sqrt(alpha * alpha + sigma)
        beta = _u.where(alpha >= 0, -norm, norm)
        flat = sigma == 0  # nothing to zero: H = I (tau 0), alpha stays
        head = _u.where(flat, 1.0, alpha - beta)
        v = cat([A.new_ones(alpha._shape + (1,)), rest / head.unsqueeze(-1)], -1)
        tau = _u.where(flat, 0.0, (beta - alpha) / _u.where(flat, 1.0, beta))
        low = A[..., j:, j + 1:]
        low = low - (tau.unsqueeze(-1) * v).unsqueeze(-1) * (v.unsqueeze(-2) @ low)
        col = cat([_u.where(flat, alpha, beta).unsqueeze(-1), v[..., 1:]], -1)
        block = cat([col.unsqueeze(-1), low], -1)
        A = cat([A[..., :j, :], cat([A[..., j:, :j], block], -1)], -2)
        taus.append(tau)
    if not taus:
        return A, A.new_zeros(A._shape[:-2] + (0,))
    return A, stack(taus, -1)


@tensor_method
def geqrf(input: Tensor) -> Any:
    """``(a, tau)``: the QR factorization in LAPACK's packed form."""
    check_input_2d(input, "torch.geqrf")
    k = min(input._shape[-2:])
    meta = [(input._shape, input._dtype), (input._shape[:-2] + (k,), input._dtype)]
    return _geqrf(*run(Op.GEQRF, (input,), (), meta, input._device, input._be))


def check_input_2d(A: Any, name: str) -> None:
    from ._reduce import check_input

    check_input(A, name)
    if A.ndim < 2:
        raise RuntimeError(f"{name}: input must have at least 2 dimensions.")
    check_matrix(A, name, "input", "geqrf_cpu")


def _reflector(A: Tensor, i: int) -> Tensor:
    """``v_i`` (*, m): zeros above row ``i``, 1 at ``i``, ``A[i+1:, i]`` below."""
    below = A[..., i + 1:, i]
    return cat([zeros(A._shape[:-2] + (i,), dtype=A._dtype, device=A._device),
                A.new_ones(A._shape[:-2] + (1,)), below], -1)


def _apply(C: Tensor, v: Tensor, tau: Tensor, left: bool) -> Tensor:
    """``H C`` (``left``) or ``C H`` for ``H = I - tau v v^T``."""
    t = tau.unsqueeze(-1).unsqueeze(-1)
    if left:
        return C - (t * v.unsqueeze(-1)) * (v.unsqueeze(-2) @ C)
    return C - (C @ v.unsqueeze(-1)) * (t * v.unsqueeze(-2))


def _check_tau(input: Tensor, tau: Tensor, name: str) -> None:
    from ._reduce import check_input

    check_input(tau, name, "tau")
    if input._shape[-1] < tau._shape[-1]:
        raise RuntimeError(f"{name}: input.shape[-1] must be greater than or equal to "
                           "tau.shape[-1]")
    if tau._dtype is not input._dtype:
        raise RuntimeError(f"{name}: tau dtype {tau._dtype.scalar_name} does not match input "
                           f"dtype {input._dtype.scalar_name}")


def householder_product(A: Tensor, tau: Tensor) -> Tensor:
    """The first ``n`` columns of ``H_1 H_2 ... H_k`` (``orgqr``): ``Q`` from ``geqrf``."""
    name = "torch.linalg.householder_product"
    check_matrix(A, name, "input", "orgqr_cpu")
    m, n = A._shape[-2:]
    if m < n:
        raise RuntimeError(f"{name}: input.shape[-2] must be greater than or equal to "
                           "input.shape[-1]")
    _check_tau(A, tau, name)
    Q = eye(m, n, dtype=A._dtype, device=A._device).expand(A._shape)
    for i in range(tau._shape[-1] - 1, -1, -1):
        Q = _apply(Q, _reflector(A, i), tau[..., i], True)
    return Q


@tensor_method
def orgqr(input: Tensor, tau: Tensor) -> Tensor:
    """``torch.orgqr``: ``linalg.householder_product``."""
    return householder_product(input, tau)


@tensor_method
def ormqr(input: Tensor, tau: Tensor, other: Tensor, left: bool = True,
          transpose: bool = False) -> Tensor:
    """``Q @ other`` (``other @ Q`` when not ``left``; ``Q^T`` when ``transpose``) for the
    ``Q`` of ``geqrf``'s ``(input, tau)``, without forming ``Q``."""
    name = "torch.ormqr"
    check_matrix(input, name, "input", "ormqr_cpu")
    check_matrix(other, name, "other", "ormqr_cpu")
    _check_tau(input, tau, name)
    if other._shape[-2 if left else -1] != input._shape[-2]:
        side = "other.shape[-2]" if left else "other.shape[-1]"
        raise RuntimeError(f"{name}: {side} must be equal to input.shape[-2]")
    k = tau._shape[-1]
    # Q = H_1 ... H_k: the reflector nearest C is applied first
    order = range(k) if left == transpose else range(k - 1, -1, -1)
    C = other
    for i in order:
        C = _apply(C, _reflector(input, i), tau[..., i], left)
    return C


__all__ = ["geqrf", "orgqr", "ormqr"]
