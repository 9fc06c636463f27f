"""The cpu kernel table: the shared NumPy-compatible primitives, plus native kernels for
composites where NumPy has a faster or more precise routine (a native composite kernel takes
the decomposition's arguments, with handles in place of tensors)."""

from __future__ import annotations

import warnings

import numpy as np
import scipy.special

from mbtorch.core import dtypes as dt
from mbtorch.core.op import Op
from mbtorch.core.plugin_api import xp_kernels

from .storage import native_dtype


def _ufunc(f):
    def kernel(*args):
        return f(*args, out=...)

    kernel.__name__ = f.__name__
    return kernel


KERNELS = xp_kernels(np, native_dtype, scipy.special.erf)
KERNELS.update({
    Op.SUB: _ufunc(np.subtract), Op.NEG: _ufunc(np.negative), Op.MINIMUM: _ufunc(np.minimum),
    Op.NE: _ufunc(np.not_equal), Op.LE: _ufunc(np.less_equal), Op.GT: _ufunc(np.greater),
    Op.GE: _ufunc(np.greater_equal), Op.BITWISE_NOT: _ufunc(np.invert),
    Op.LOGICAL_NOT: _ufunc(np.logical_not), Op.LOGICAL_AND: _ufunc(np.logical_and),
    Op.LOGICAL_OR: _ufunc(np.logical_or), Op.LOGICAL_XOR: _ufunc(np.logical_xor),
    Op.EXP2: _ufunc(np.exp2), Op.LOG2: _ufunc(np.log2), Op.LOG10: _ufunc(np.log10),
    Op.TAN: _ufunc(np.tan), Op.ASIN: _ufunc(np.arcsin), Op.ACOS: _ufunc(np.arccos),
    Op.ATAN: _ufunc(np.arctan), Op.SINH: _ufunc(np.sinh), Op.COSH: _ufunc(np.cosh),
    Op.CEIL: _ufunc(np.ceil), Op.TRUNC: _ufunc(np.trunc), Op.SQUARE: _ufunc(np.square),
    Op.ISNAN: _ufunc(np.isnan), Op.ISINF: _ufunc(np.isinf), Op.ISFINITE: _ufunc(np.isfinite),
})


# -- reductions, scans and softmax: NumPy's single-pass routines -----------------------------
_LOW = (native_dtype(dt.float16), native_dtype(dt.bfloat16))


def _wide(x):
    """float16/bfloat16 computed in float32 and rounded once, as PyTorch's cpu."""
    return x.astype(np.float32) if x.dtype in _LOW else x


def _amin(x, dims, keepdim):
    return np.asarray(np.min(x, axis=dims, keepdims=keepdim))


def _arg(f):
    # NumPy, like PyTorch, returns the first extreme and treats NaN as the extreme
    def kernel(x, dim, keepdim):
        return np.asarray(f(x, axis=dim, keepdims=keepdim)).astype(np.int64)

    return kernel


def _quiet(f, x, dims, **kw):
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


def _mean(x, dims, keepdim):
    return np.asarray(_quiet(np.mean, _wide(x), dims, keepdims=keepdim)).astype(x.dtype)


def _var(x, dims, correction, keepdim):
    out = _quiet(np.var, _wide(x), dims, ddof=correction, keepdims=keepdim)
    return np.asarray(out).astype(x.dtype)


def _scan(f):
    def kernel(x, dim):
        return f(_wide(x), axis=dim).astype(x.dtype)

    return kernel


def _logical(f):
    def kernel(x, dims, keepdim):
        return np.asarray(f(x, axis=dims, keepdims=keepdim))

    return kernel


def _max_shift(y, dims):
    """The max over ``dims`` with infinities replaced by 0 (see the LOGSUMEXP decomposition)."""
    m = np.max(y, axis=dims, keepdims=True)
    return np.where(np.isinf(m), 0.0, m).astype(y.dtype)


def _logsumexp(x, dims, keepdim):
    y = _wide(x)
    if any(y.shape[d] == 0 for d in dims):
        out = np.log(np.sum(np.exp(y), axis=dims, keepdims=keepdim))
    else:
        m = _max_shift(y, dims)
        out = np.log(np.sum(np.exp(y - m), axis=dims, keepdims=True)) + m
        out = out if keepdim else np.squeeze(out, axis=dims)
    return np.asarray(out).astype(x.dtype)


def _softmax(x, dim):
    y = _wide(x)
    e = np.exp(y - np.max(y, axis=dim, keepdims=True)) if y.shape[dim] else y
    return (e / np.sum(e, axis=dim, keepdims=True)).astype(x.dtype)


def _log_softmax(x, dim):
    y = _wide(x)
    if not y.shape[dim]:
        return y.astype(x.dtype)
    z = y - np.max(y, axis=dim, keepdims=True)
    return (z - np.log(np.sum(np.exp(z), axis=dim, keepdims=True))).astype(x.dtype)


KERNELS.update({
    Op.AMIN: _amin, Op.ARGMAX: _arg(np.argmax), Op.ARGMIN: _arg(np.argmin),
    Op.MEAN: _mean, Op.VAR: _var, Op.CUMSUM: _scan(np.cumsum), Op.CUMPROD: _scan(np.cumprod),
    Op.ANY: _logical(np.any), Op.ALL: _logical(np.all), Op.LOGSUMEXP: _logsumexp,
    Op.SOFTMAX: _softmax, Op.LOG_SOFTMAX: _log_softmax,
})
