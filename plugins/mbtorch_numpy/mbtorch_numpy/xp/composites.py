"""Native kernels for composites, for NumPy-compatible array modules (NumPy, CuPy): the
module's single-call routines (``xp.subtract``, ``xp.argmax``, ``xp.var``, ``xp.cumsum``...)
instead of the decompositions. Shared through ``mbtorch_numpy.xp.composite_kernels``; each
kernel takes its decomposition's arguments with handles in place of tensors."""

from __future__ import annotations

__all__ = ["build"]

import warnings
from typing import Any, Callable

from mbtorch.core.op import Op

from . import factorizations, spectral, windows
from . import fft as complex_fft
from .primitives import HALF, array_results, binary_ufunc, returns_scalars
from .quiet import QuietCalls


def build(xp: Any, quiet: QuietCalls | None = None) -> dict[Op, Callable]:
    scalar_results = returns_scalars(xp)

    def ufunc(f: Callable) -> Callable:
        return array_results(f, scalar_results, quiet)

    def binary(f: Callable) -> Callable:
        return binary_ufunc(xp, f, scalar_results, quiet)

    # comparisons, min and logical ops: no floating-point error can arise, nothing to quiet
    def compare(f: Callable) -> Callable:
        return binary_ufunc(xp, f, scalar_results)

    def exact(f: Callable) -> Callable:
        return array_results(f, scalar_results)

    def wide(x):
        """float16/bfloat16 computed in float32 and rounded once, as PyTorch's cpu."""
        return x.astype(xp.float32) if x.dtype.char in HALF else x

    def amin(x, dims, keepdim):
        return xp.asarray(xp.min(x, axis=dims, keepdims=keepdim))

    def arg(f):
        # like PyTorch: the first extreme, NaN counted as the extreme
        def kernel(x, dim, keepdim):
            return xp.asarray(f(x, axis=dim, keepdims=keepdim)).astype(xp.int64)

        return kernel

    def mean(x, dims, keepdim):
        return xp.asarray(_quiet(xp.mean, wide(x), dims, keepdims=keepdim)).astype(x.dtype)

    def var(x, dims, correction, keepdim):
        out = _quiet(xp.var, wide(x), dims, ddof=correction, keepdims=keepdim)
        return xp.asarray(out).astype(x.dtype)

    def scan(f):
        def kernel(x, dim):
            return f(wide(x), axis=dim).astype(x.dtype)

        return kernel

    def logical(f):
        def kernel(x, dims, keepdim):
            return xp.asarray(f(x, axis=dims, keepdims=keepdim))

        return kernel

    def logsumexp(x, dims, keepdim):
        y = wide(x)
        if any(y.shape[d] == 0 for d in dims):
            out = xp.log(xp.sum(xp.exp(y), axis=dims, keepdims=keepdim))
        else:  # shift by the max, infinities replaced by 0 (as the decomposition)
            m = xp.max(y, axis=dims, keepdims=True)
            m = xp.where(xp.isinf(m), 0.0, m).astype(y.dtype)
            out = xp.log(xp.sum(xp.exp(y - m), axis=dims, keepdims=True)) + m
            out = out if keepdim else xp.squeeze(out, axis=dims)
        return xp.asarray(out).astype(x.dtype)

    def softmax(x, dim):
        y = wide(x)
        e = xp.exp(y - xp.max(y, axis=dim, keepdims=True)) if y.shape[dim] else y
        return (e / xp.sum(e, axis=dim, keepdims=True)).astype(x.dtype)

    def log_softmax(x, dim):
        y = wide(x)
        if not y.shape[dim]:
            return y.astype(x.dtype)
        z = y - xp.max(y, axis=dim, keepdims=True)
        return (z - xp.log(xp.sum(xp.exp(z), axis=dim, keepdims=True))).astype(x.dtype)

    return {
        **windows.build(xp), **factorizations.build(xp), **spectral.build(xp),
        **complex_fft.build(xp),
        Op.SUB: binary(xp.subtract), Op.NEG: exact(xp.negative),
        Op.MINIMUM: compare(xp.minimum), Op.NE: compare(xp.not_equal),
        Op.LE: compare(xp.less_equal), Op.GT: compare(xp.greater),
        Op.GE: compare(xp.greater_equal), Op.BITWISE_NOT: exact(xp.invert),
        Op.LOGICAL_NOT: exact(xp.logical_not), Op.LOGICAL_AND: exact(xp.logical_and),
        Op.LOGICAL_OR: exact(xp.logical_or), Op.LOGICAL_XOR: exact(xp.logical_xor),
        Op.EXP2: ufunc(xp.exp2), Op.LOG2: ufunc(xp.log2), Op.LOG10: ufunc(xp.log10),
        Op.TAN: ufunc(xp.tan), Op.ASIN: ufunc(xp.arcsin), Op.ACOS: ufunc(xp.arccos),
        Op.ATAN: ufunc(xp.arctan), Op.SINH: ufunc(xp.sinh), Op.COSH: ufunc(xp.cosh),
        Op.CEIL: ufunc(xp.ceil), Op.TRUNC: ufunc(xp.trunc), Op.SQUARE: ufunc(xp.square),
        Op.ISNAN: exact(xp.isnan), Op.ISINF: exact(xp.isinf), Op.ISFINITE: exact(xp.isfinite),
        Op.AMIN: amin, Op.ARGMAX: arg(xp.argmax), Op.ARGMIN: arg(xp.argmin),
        Op.MEAN: mean, Op.VAR: var, Op.CUMSUM: scan(xp.cumsum), Op.CUMPROD: scan(xp.cumprod),
        Op.ANY: logical(xp.any), Op.ALL: logical(xp.all), Op.LOGSUMEXP: logsumexp,
        Op.SOFTMAX: softmax, Op.LOG_SOFTMAX: log_softmax,
    }


def _quiet(f: Callable, x: Any, dims: tuple, **kw) -> Any:
    """``f`` without NumPy's warnings for empty slices and ddof >= n (PyTorch is silent:
    mean of nothing is nan, variance over too few samples is inf or nan)."""
    n = 1
    for d in dims:
        n *= x.shape[d]
    if n > kw.get("ddof", 0):
        return f(x, axis=dims, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return f(x, axis=dims, **kw)
