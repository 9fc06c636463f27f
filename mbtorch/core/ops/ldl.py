"""``linalg.ldl_factor`` / ``ldl_factor_ex`` / ``ldl_solve``: the Bunch-Kaufman factorization
of a symmetric matrix, LAPACK's ``sytf2`` with ``uplo='L'`` (the lower triangle is read).

``LDL_FACTOR``: ``(A)`` -> ``(LD, pivots, info)``. ``LD`` holds ``D``'s 1x1 and 2x2 blocks on
and below the diagonal and the unit lower ``L`` below them (zeros above); ``pivots`` (int32,
1-based) is LAPACK's: ``k`` for a 1x1 block whose step swapped rows ``i`` and ``k``, ``-k``
twice for a 2x2 block. The pivot choice depends on the values, so the decomposition loops over
the batch and reads each step's choice to the host (slow, correct on every backend); the
NumPy-compatible backends run the same algorithm on arrays. Not differentiable, as in PyTorch.
"""

from __future__ import annotations

import math
from typing import Any

from .. import dtypes as _dt
from ..op import Op, define
from ..tensor import Tensor
from ._common import return_type, run
from ._reduce import check_input
from .creation import tensor
from .joining import cat, stack
from .solvers import LinAlgError, check_square

__all__ = ["ldl_factor", "ldl_factor_ex", "ldl_solve", "bunch_kaufman_step"]

ALPHA = (1.0 + math.sqrt(17.0)) / 8.0  # Bunch-Kaufman's growth bound
_ldl = return_type("linalg_ldl_factor", ("LD", "pivots"))
_ldl_ex = return_type("linalg_ldl_factor_ex", ("LD", "pivots", "info"))


def bunch_kaufman_step(absakk: float, colmax: float, imax: int, rowmax: float,
                       absimax: float) -> tuple[int, int]:
    """``(kp, kstep)`` in the trailing block's indices: sytf2's choice between a 1x1 pivot in
    place, a 1x1 pivot swapped in from ``imax``, or a 2x2 pivot with ``imax``."""
    if absakk >= ALPHA * colmax or absakk >= ALPHA * colmax * (colmax / rowmax):
        return 0, 1
    if absimax >= ALPHA * rowmax:
        return imax, 1
    return imax, 2


def _choose(T: Tensor) -> tuple[int, int]:
    """The pivot for the symmetric trailing block ``T`` (-1 marks a zero column)."""
    a = T.abs()
    absakk = float(a[0, 0].item())
    if T._shape[0] == 1:
        return (-1, 1) if absakk == 0 or math.isnan(absakk) else (0, 1)
    col = a[1:, 0]
    imax = int(col.argmax().item()) + 1
    colmax = float(col[imax - 1].item())
    if max(absakk, colmax) == 0 or math.isnan(absakk):
        return -1, 1
    if absakk >= ALPHA * colmax:
        return 0, 1
    others = cat([a[imax, :imax], a[imax, imax + 1:]])
    return bunch_kaufman_step(absakk, colmax, imax, float(others.amax().item()),
                              float(a[imax, imax].item()))


def _swap(T: Tensor, i: int, j: int) -> Tensor:
    order = list(range(T._shape[0]))
    order[i], order[j] = j, i
    idx = tensor(order, device=T._device)
    return T.index_select(0, idx).index_select(1, idx)


def _lower_sym(T: Tensor) -> Tensor:
    """The symmetric matrix of ``T``'s lower triangle (sytf2 updates only that triangle)."""
    return T.tril() + T.tril(-1).mT


def _factor_one(A: Tensor) -> tuple:
    """sytf2 on one matrix: ``(LD columns, pivots, info)``."""
    n = A._shape[-1]
    T = _lower_sym(A)
    cols, pivots, info, k = [], [], 0, 0
    while k < n:
        kp, kstep = _choose(T)
        above = T.new_zeros((k,))
        if kp < 0:  # a zero column: D[k, k] = 0 (info), nothing to eliminate
            info = info or k + 1
            cols.append(cat([above, T[:, 0]]))
            pivots.append(k + 1)
            T = T[1:, 1:]
        elif kstep == 1:
            T = _swap(T, 0, kp) if kp else T
            x, d11 = T[1:, 0], 1.0 / T[0, 0]
            cols.append(cat([above, T[:1, 0], x * d11]))
            T = _lower_sym(T[1:, 1:] - x.unsqueeze(-1) * (x * d11).unsqueeze(-2))
            pivots.append(k + kp + 1)
        else:
            T = _swap(T, 1, kp) if kp != 1 else T
            wk, wkp1, X = _two_by_two(T)
            cols.append(cat([above, T[:2, 0], wk]))
            cols.append(cat([above, T.new_zeros((1,)), T[1:2, 1], wkp1]))
            T = _lower_sym(T[2:, 2:] - X[:, :1] * wk.unsqueeze(-2) - X[:, 1:] * wkp1.unsqueeze(-2))
            pivots.extend([-(k + kp + 1)] * 2)
        k += kstep
    return cols, pivots, info


def _two_by_two(T: Tensor) -> tuple:
    """sytf2's multipliers for a 2x2 pivot ``T[:2, :2]``: the columns of ``L``."""
    d21 = T[1, 0]
    d11, d22 = T[1, 1] / d21, T[0, 0] / d21
    t = 1.0 / (d11 * d22 - 1.0)
    d21 = t / d21
    X = T[2:, :2]
    return d21 * (d11 * X[:, 0] - X[:, 1]), d21 * (d22 * X[:, 1] - X[:, 0]), X


@define(Op.LDL_FACTOR)
def _ldl_factor(A: Tensor) -> tuple:
    n = A._shape[-1]
    flat = A.reshape((math.prod(A._shape[:-2]), n, n))
    lds, pivs, infos = [], [], []
    for b in range(flat._shape[0]):
        cols, pivots, info = _factor_one(flat[b])
        lds.append(stack(cols, -1) if cols else flat[b])
        pivs.append(pivots)
        infos.append(info)
    batch = A._shape[:-2]
    if not lds:
        return A.clone(), A.new_zeros(batch + (n,)).to(_dt.int32), A.new_zeros(batch).to(
            _dt.int32)
    LD = stack(lds).reshape(A._shape)
    pivots = tensor(pivs, dtype=_dt.int32, device=A._device).reshape(batch + (n,))
    return LD, pivots, tensor(infos, dtype=_dt.int32, device=A._device).reshape(batch)


def _run(A: Tensor) -> tuple:
    batch, n = A._shape[:-2], A._shape[-1]
    meta = [(A._shape, A._dtype), (batch + (n,), _dt.int32), (batch, _dt.int32)]
    return run(Op.LDL_FACTOR, (A,), (), meta, A._device, A._be)


def ldl_factor_ex(A: Tensor, *, hermitian: bool = False, check_errors: bool = False) -> Any:
    """``(LD, pivots, info)``: the Bunch-Kaufman factorization ``A = P L D L^T P^T`` of a
    symmetric ``A`` (its lower triangle is read; ``hermitian`` is the same for real input)."""
    name = "torch.linalg.ldl_factor_ex"
    check_square(A, name, kernel="linalg_ldl_factor_ex_cpu")
    LD, pivots, info = _run(A)
    if check_errors:
        _check(info, name)
    return _ldl_ex(LD, pivots, info)


def _check(info: Tensor, name: str) -> None:
    bad = (info.reshape(-1) != 0).nonzero()
    if bad._shape[0]:
        k = int(info.reshape(-1)[int(bad[0, 0].item())].item())
        # PyTorch fails here with an internal assertion; this says what happened
        raise LinAlgError(f"{name}: The factorization could not be completed because the "
                          f"block diagonal matrix D has a zero at D[{k}, {k}] (the input is "
                          "singular).")


def ldl_factor(A: Tensor, *, hermitian: bool = False) -> Any:
    """``(LD, pivots)``; a singular ``A`` raises ``LinAlgError``."""
    LD, pivots, info = ldl_factor_ex(A, hermitian=hermitian)
    _check(info, "torch.linalg.ldl_factor")
    return _ldl(LD, pivots)


def _set_row(B: Tensor, i: int, row: Tensor) -> Tensor:
    return cat([B[:i], row.unsqueeze(0), B[i + 1:]])


def _swap_rows(B: Tensor, i: int, j: int) -> Tensor:
    if i == j:
        return B
    order = list(range(B._shape[0]))
    order[i], order[j] = j, i
    return B.index_select(0, tensor(order, device=B._device))


def _solve_one(LD: Tensor, piv: list, B: Tensor) -> Tensor:
    """sytrs (``uplo='L'``) on one system: ``L D`` forward, then ``L^T`` backward."""
    n, k = LD._shape[-1], 0
    while k < n:
        if piv[k] > 0:
            B = _swap_rows(B, k, piv[k] - 1)
            B = cat([B[:k], (B[k] / LD[k, k]).unsqueeze(0),
                     B[k + 1:] - LD[k + 1:, k:k + 1] * B[k:k + 1]])
            k += 1
            continue
        B = _swap_rows(B, k + 1, -piv[k] - 1)
        rest = (B[k + 2:] - LD[k + 2:, k:k + 1] * B[k:k + 1]
                - LD[k + 2:, k + 1:k + 2] * B[k + 1:k + 2])
        akm1k = LD[k + 1, k]
        akm1, ak = LD[k, k] / akm1k, LD[k + 1, k + 1] / akm1k
        denom = akm1 * ak - 1.0
        bkm1, bk = B[k] / akm1k, B[k + 1] / akm1k
        B = cat([B[:k], ((ak * bkm1 - bk) / denom).unsqueeze(0),
                 ((akm1 * bk - bkm1) / denom).unsqueeze(0), rest])
        k += 2
    k = n - 1
    while k >= 0:
        step = 1 if piv[k] > 0 else 2
        for j in range(k, k - step, -1):  # the block's rows take the solved rows' share
            B = _set_row(B, j, B[j] - (LD[k + 1:, j].unsqueeze(0) @ B[k + 1:]).squeeze(0))
        B = _swap_rows(B, k, abs(piv[k]) - 1)
        k -= step
    return B


def ldl_solve(LD: Tensor, pivots: Tensor, B: Tensor, *, hermitian: bool = False) -> Tensor:
    """Solve ``A X = B`` from ``ldl_factor``'s ``(LD, pivots)``."""
    name = "torch.linalg.ldl_solve"
    check_square(LD, name, "LD", "linalg_ldl_solve_cpu")
    check_input(pivots, name, "pivots")
    check_input(B, name, "B")
    if B.ndim < 2:
        raise IndexError(f"Dimension out of range (expected to be in range of [-{max(B.ndim, 1)}"
                         f", {max(B.ndim, 1) - 1}], but got -2)")
    n = LD._shape[-1]
    if B._shape[-2] != n:
        raise RuntimeError(f"Incompatible matrix sizes for {name}: each A matrix is {n} by {n} "
                           f"but each b matrix is {B._shape[-2]} by {B._shape[-1]}")
    from ..meta import broadcast_shapes

    batch = broadcast_shapes(LD._shape[:-2], B._shape[:-2], name)
    size = math.prod(batch)
    LDs = LD.expand(batch + (n, n)).reshape((size, n, n))
    piv = pivots.expand(batch + (n,)).reshape((size, n)).tolist()
    Bs = B.expand(batch + B._shape[-2:]).reshape((size,) + B._shape[-2:])
    out = [_solve_one(LDs[i], piv[i], Bs[i]) for i in range(Bs._shape[0])]
    if not out:
        return Bs.reshape(batch + B._shape[-2:]).clone()
    return stack(out).reshape(batch + B._shape[-2:])
