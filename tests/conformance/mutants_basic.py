"""The first mutants: one wrong kernel each, caught by the forward, noncontig and grad checks
(moved here from test_broken_backends.py)."""

from __future__ import annotations

import numpy as np

from mbtorch.core.op import Op

from .mutants import Mutant

__all__ = ["MUTANTS"]


def _off_by_relative_error(x):
    return np.exp(x) * (1 + 1e-5)  # invisible when printed, 84-168 float32 ULPs off


def _memory_order(x):
    """abs() that walks the input in memory order: right for contiguous input only."""
    if x.flags.c_contiguous or x.ndim == 0:
        return np.abs(x, out=...)
    offsets = sum(np.indices(x.shape)[d] * x.strides[d] for d in range(x.ndim))
    order = np.argsort(offsets.reshape(-1), kind="stable")
    return np.abs(x.reshape(-1)[order].reshape(x.shape))


def _float64_product(a, b):
    return np.multiply(np.asarray(a, np.float64), np.asarray(b, np.float64))


def _drops_nan(a, b):
    return np.fmax(a, b, out=...)


def _sub_wrong_for_scalar_first(a, b):
    # right for `x - y` and `x - 2.0`, wrong for `1.0 - x` -- which only backward formulas
    # (tanh' = 1 - y^2, sigmoid' = y (1 - y)) use, so only the gradient checks can see it
    if isinstance(a, float):
        return np.subtract(b, a, out=...)
    return np.subtract(a, b, out=...)


def _sum_ignoring_keepdim(x, dims, keepdim):
    return np.asarray(np.sum(x, axis=dims))


MUTANTS = [
    Mutant("relative_error", "exp one part in 1e5 off", {Op.EXP: _off_by_relative_error},
           ("exp",), ("exp", "forward"), tier="smoke"),
    Mutant("memory_order", "abs walks its input in memory order", {Op.ABS: _memory_order},
           ("abs",), ("abs", "noncontig"), ("abs", "forward"), tier="smoke"),
    Mutant("float64_product", "mul returns float64", {Op.MUL: _float64_product}, ("mul",),
           ("mul", "forward"), tier="smoke"),
    Mutant("drops_nan", "maximum drops NaN (fmax)", {Op.MAXIMUM: _drops_nan}, ("maximum",),
           ("maximum", "forward"), tier="smoke"),
    Mutant("sub_scalar_first", "1.0 - x computed as x - 1.0",
           {Op.SUB: _sub_wrong_for_scalar_first}, ("tanh", "sigmoid", "sub"), ("tanh", "grad"),
           ("tanh", "forward"), tier="smoke"),
    Mutant("sum_ignores_keepdim", "sum drops keepdim", {Op.SUM: _sum_ignoring_keepdim},
           ("sum",), ("sum", "forward"), tier="smoke"),
]
