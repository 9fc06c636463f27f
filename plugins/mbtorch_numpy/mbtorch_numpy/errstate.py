"""Floating-point errors stay quiet inside the kernels, and only there.

PyTorch never warns on 1/0, overflow or an invalid cast; NumPy does unless told not to. The
old way, ``np.seterr(all="ignore")``, silenced the user's own NumPy code too, so the kernels
that can raise a floating-point error now run under their own error state instead.

``np.errstate`` costs about 1-3 µs per use (it builds a context manager and a new error-state
object each time), more than a small ufunc call itself. The kernels here set NumPy's
error-state context variable to one prebuilt "ignore all" state and reset it after the call
(about 0.3 µs), which is what ``np.errstate`` does underneath; where that variable is not
found (another NumPy), they fall back to ``np.errstate``. Kernels that cannot meet a
floating-point error (views, moves, indexing, sorting, comparisons, bitwise and logical
ops, random bits) are left unwrapped: they are the hot path of every view.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Mapping

import numpy as np

from mbtorch.core.op import Op

__all__ = ["quiet", "quiet_kernels", "NEVER_WARN"]

NEVER_WARN = frozenset({
    Op.EQ, Op.LT, Op.NE, Op.LE, Op.GT, Op.GE, Op.MAXIMUM, Op.MINIMUM, Op.AMAX, Op.AMIN,
    Op.BITWISE_AND, Op.BITWISE_OR, Op.BITWISE_XOR, Op.BITWISE_NOT,
    Op.LOGICAL_NOT, Op.LOGICAL_AND, Op.LOGICAL_OR, Op.LOGICAL_XOR,
    Op.ISNAN, Op.ISINF, Op.ISFINITE, Op.ABS, Op.NEG, Op.SIGN, Op.WHERE, Op.RELU,
    Op.GATHER, Op.NONZERO, Op.SORT, Op.AS_STRIDED, Op.IOTA, Op.PHILOX,
    Op.VIEW, Op.PERMUTE, Op.EXPAND, Op.SLICE, Op.SELECT, Op.DIAGONAL, Op.UNFOLD,
    Op.CONTIGUOUS, Op.CAT, Op.FLIP, Op.TRIL, Op.TRIU, Op.INDEX_SELECT, Op.INDEX,
})
"""Ops whose NumPy kernels only move, compare or select values of one dtype: no
floating-point error can arise in them, so they run without the error-state switch."""


def _context_variable() -> tuple[Any, Any] | None:
    try:
        from numpy._core import _ufunc_config as config

        return config._extobj_contextvar, config._make_extobj(all="ignore")
    except (ImportError, AttributeError, TypeError):
        return None


_FAST = _context_variable()


def quiet(kernel: Callable) -> Callable:
    """``kernel`` run with NumPy's floating-point errors ignored, for that call only."""
    if _FAST is None:
        @functools.wraps(kernel)
        def run(*args, **kwargs):
            with np.errstate(all="ignore"):
                return kernel(*args, **kwargs)
    else:
        var, ignore = _FAST

        @functools.wraps(kernel)
        def run(*args, **kwargs):
            token = var.set(ignore)
            try:
                return kernel(*args, **kwargs)
            finally:
                var.reset(token)

    nin = getattr(kernel, "nin", None)
    if nin is not None:
        run.nin = nin  # keeps the registry's arity check on ufuncs
    return run


def quiet_kernels(table: Mapping[Op, Callable]) -> dict[Op, Callable]:
    """``table`` with every kernel that may meet a floating-point error wrapped by ``quiet``."""
    return {op: k if op in NEVER_WARN else quiet(k) for op, k in table.items()}
