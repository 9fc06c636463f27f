"""The classical orthogonal polynomials of ``torch.special``: Chebyshev ``T``, ``U``, ``V``,
``W`` (and their shifted forms on ``[0, 1]``), Hermite ``H`` and ``He``, Laguerre ``L`` and
Legendre ``P`` of integer degree ``n`` (a tensor or a number; fractional degrees truncate and
negative ones give 0, as PyTorch's).

Each is its three-term recurrence, run (in float64 where the backend has it) up to the largest
degree asked for — one host read, and a cost that grows with that degree — except the
Chebyshev polynomials inside ``[-1, 1]`` above degree 6, which use their trigonometric closed
forms (``T_n(cos t) = cos(n t)``...) as PyTorch does, so any degree costs the same there.
"""

from __future__ import annotations

import math
from typing import Any, Callable

from ..tensor import Tensor
from ._common import cast
from .gamma import float_dtype, wide
from .ternary import where

__all__: list[str] = []  # torch.special names only (mbtorch.special exports them)

_CLOSED_FROM = 6  # degrees above this use the closed forms inside [-1, 1]


def _args(name: str, input: Any, n: Any) -> tuple[Tensor, Tensor, Any]:
    if not isinstance(input, Tensor) and not isinstance(n, Tensor):
        raise TypeError(f"{name}(): expected at least one Tensor argument (input or n)")
    for v, arg in ((input, "input"), (n, "n")):
        if not isinstance(v, Tensor) and type(v) not in (bool, int, float):
            raise TypeError(f"{name}(): argument '{arg}' must be Tensor or a Python number, "
                            f"not {type(v).__name__}")
    dtype = float_dtype((input, n), name)
    ref = wide(input if isinstance(input, Tensor) else n)
    x, k = (wide(v) if isinstance(v, Tensor) else _full(v, ref) for v in (input, n))
    return x, k.trunc(), dtype


def _full(value: Any, like: Tensor) -> Tensor:
    from .creation import full

    return full((), float(value), dtype=like._dtype, device=like._device)


def _recurrence(x: Tensor, k: Tensor, p1: Tensor, step: Callable,
                skip: Tensor | None = None) -> Tensor:
    """``P_k(x)`` from ``P_0 = 1``, ``P_1 = p1`` and ``P_(j+1) = step(j, x, P_j, P_(j-1))``,
    for every element not in ``skip`` (answered otherwise)."""
    need = k if skip is None else where(skip, 0.0, k)
    top = int(float(need.max())) if need.numel() else 0
    out = where(k == 0, 1.0, where(k == 1, p1, 0.0))
    prev, cur = p1 * 0.0 + 1.0, p1
    for j in range(1, top):
        prev, cur = cur, step(j, x, cur, prev)
        out = where(k == j + 1, cur, out)
    return out


def _chebyshev(name: str, input: Any, n: Any, kind: str, shifted: bool) -> Tensor:
    x, k, dtype = _args(name, input, n)
    if shifted:
        x = 2.0 * x - 1.0
    p1 = {"t": x, "u": 2.0 * x, "v": 2.0 * x - 1.0, "w": 2.0 * x + 1.0}[kind]
    inside = (x.abs() < 1.0) & (k > _CLOSED_FROM)
    theta = where(inside, x, 0.0).acos()
    if kind == "t":
        closed = (k * theta).cos()
    elif kind == "u":
        closed = ((k + 1.0) * theta).sin() / theta.sin()
    elif kind == "v":
        closed = ((k + 0.5) * theta).cos() / (0.5 * theta).cos()
    else:
        closed = ((k + 0.5) * theta).sin() / (0.5 * theta).sin()
    rec = _recurrence(x, k, p1, lambda j, x, p, q: 2.0 * x * p - q, inside)
    out = where(inside, closed, rec)
    return cast(where(x.isnan(), math.nan, out), dtype, name)


def chebyshev_polynomial_t(input: Any, n: Any) -> Tensor:
    """The Chebyshev polynomial of the first kind ``T_n(x)``."""
    return _chebyshev("chebyshev_polynomial_t", input, n, "t", False)


def chebyshev_polynomial_u(input: Any, n: Any) -> Tensor:
    """The Chebyshev polynomial of the second kind ``U_n(x)``."""
    return _chebyshev("chebyshev_polynomial_u", input, n, "u", False)


def chebyshev_polynomial_v(input: Any, n: Any) -> Tensor:
    """The Chebyshev polynomial of the third kind ``V_n(x)``."""
    return _chebyshev("chebyshev_polynomial_v", input, n, "v", False)


def chebyshev_polynomial_w(input: Any, n: Any) -> Tensor:
    """The Chebyshev polynomial of the fourth kind ``W_n(x)``."""
    return _chebyshev("chebyshev_polynomial_w", input, n, "w", False)


def shifted_chebyshev_polynomial_t(input: Any, n: Any) -> Tensor:
    """``T_n(2x - 1)``, the first-kind Chebyshev polynomial on ``[0, 1]``."""
    return _chebyshev("shifted_chebyshev_polynomial_t", input, n, "t", True)


def shifted_chebyshev_polynomial_u(input: Any, n: Any) -> Tensor:
    """``U_n(2x - 1)``."""
    return _chebyshev("shifted_chebyshev_polynomial_u", input, n, "u", True)


def shifted_chebyshev_polynomial_v(input: Any, n: Any) -> Tensor:
    """``V_n(2x - 1)``."""
    return _chebyshev("shifted_chebyshev_polynomial_v", input, n, "v", True)


def shifted_chebyshev_polynomial_w(input: Any, n: Any) -> Tensor:
    """``W_n(2x - 1)``."""
    return _chebyshev("shifted_chebyshev_polynomial_w", input, n, "w", True)


def _plain(name: str, input: Any, n: Any, p1: Callable, step: Callable) -> Tensor:
    x, k, dtype = _args(name, input, n)
    out = _recurrence(x, k, p1(x), step)
    return cast(where(x.isnan(), math.nan, out), dtype, name)


def hermite_polynomial_h(input: Any, n: Any) -> Tensor:
    """The physicists' Hermite polynomial ``H_n(x)``."""
    return _plain("hermite_polynomial_h", input, n, lambda x: 2.0 * x,
                  lambda j, x, p, q: 2.0 * x * p - (2.0 * j) * q)


def hermite_polynomial_he(input: Any, n: Any) -> Tensor:
    """The probabilists' Hermite polynomial ``He_n(x)``."""
    return _plain("hermite_polynomial_he", input, n, lambda x: x,
                  lambda j, x, p, q: x * p - float(j) * q)


def laguerre_polynomial_l(input: Any, n: Any) -> Tensor:
    """The Laguerre polynomial ``L_n(x)``."""
    return _plain("laguerre_polynomial_l", input, n, lambda x: 1.0 - x,
                  lambda j, x, p, q: ((2.0 * j + 1.0 - x) * p - float(j) * q) / (j + 1.0))


def legendre_polynomial_p(input: Any, n: Any) -> Tensor:
    """The Legendre polynomial ``P_n(x)``."""
    return _plain("legendre_polynomial_p", input, n, lambda x: x,
                  lambda j, x, p, q: ((2.0 * j + 1.0) * x * p - float(j) * q) / (j + 1.0))
