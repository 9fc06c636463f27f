"""The cpu kernel table: the primitives and the composites' native kernels shared by every
NumPy-compatible backend (``mbtorch_numpy.xp``), on NumPy, with faster single-pass forms of
the hot ones below. A native composite kernel takes the decomposition's arguments, with
handles in place of tensors."""

from __future__ import annotations

import functools
from typing import Callable, Mapping

import numpy as np

from mbtorch.core.op import Op

from .jit import scatter as jit_scatter
from .jit import windows as jit_windows
from .storage import native_dtype
from .xp import HALF, composite_kernels, inplace_kernels, primitive_kernels
from .xp.quiet import for_numpy

__all__ = ["KERNELS", "INPLACE_KERNELS", "NEVER_WARN", "QUIET", "SCATTER_OUT", "quiet",
           "quiet_kernels", "out_overrides"]

_scipy_erf = None


def _erf(x):
    # SciPy's import costs about twice NumPy's: paid at the first erf, not by every cpu user
    global _scipy_erf
    if _scipy_erf is None:
        import scipy.special

        _scipy_erf = scipy.special.erf
    return _scipy_erf(x)


QUIET = for_numpy()
"""NumPy's error state switched per kernel call (``xp/quiet.py``); None on a NumPy that keeps
it elsewhere (``np.errstate`` then)."""
KERNELS = primitive_kernels(np, native_dtype, _erf, QUIET)
KERNELS.update(composite_kernels(np, QUIET))
INPLACE_KERNELS = inplace_kernels(np)


# -- hot kernels of CNN training: single-pass NumPy forms of the shared kernels -------------
_SMALL_ARG = 16  # reduced sizes up to this scan slices instead of calling NumPy's arg-reduce


def _relu(x):
    # the value's bit pattern times the 0/1 mask "not below zero": one comparison and one
    # integer multiply; -0.0 and NaN are kept as PyTorch keeps them, a negative value turns
    # into +0.0. (np.maximum(x, 0) turns -0.0 into +0.0, and copying the zeros back through
    # a mask costs two more passes.)
    bits = _BITS.get(x.itemsize) if x.dtype.kind == "f" else None
    if bits is None:
        return np.maximum(x, x.dtype.type(0), out=...)  # out=...: 0-d stays an array
    keep = np.less(x, 0, out=...)  # out=...: 0-d stays an array
    np.logical_not(keep, out=keep)
    return np.multiply(x.view(bits), keep, dtype=bits, out=...).view(x.dtype)


def _small_arg(extreme):
    """argmax/argmin over a short axis (pooling windows): NumPy's arg-reductions loop per
    output element, so for a handful of candidates comparing whole slices is several times
    faster. The first extreme wins, as NumPy and PyTorch (the caller routes NaN elsewhere)."""

    def scan(x, dim):
        # the extreme by a chain of elementwise max/min, then the first position holding it,
        # all on whole slices with small integer and bool temporaries (masked writes are slow)
        k = x.shape[dim]
        parts = [x[(slice(None),) * dim + (j,)] for j in range(k)]
        best = parts[0]
        for v in parts[1:]:
            best = extreme(best, v)
        arg = np.zeros(best.shape, np.int8)
        open_ = np.ones(best.shape, bool)
        for j in range(1, k):
            np.logical_and(open_, parts[j - 1] != best, out=open_)
            arg += open_
        return arg.astype(np.int64)

    return scan


def _arg_fast(general, extreme):
    small = _small_arg(extreme)

    def kernel(x, dim, keepdim):
        if dim is None or x.ndim < 2 or not 1 < x.shape[dim] <= _SMALL_ARG or \
                x.size < 4096 or x.dtype.kind not in "fiu":
            return general(x, dim, keepdim)
        # NaN counts as the extreme: a NaN anywhere makes the sum NaN (so does inf - inf,
        # which only costs the general path)
        if x.dtype.kind == "f" and np.isnan(np.sum(x)):
            return general(x, dim, keepdim)
        out = small(x, dim)
        return np.expand_dims(out, dim) if keepdim else out

    return kernel


_shared_scatter = KERNELS[Op.SCATTER]


def _scatter_rows(x, index, src, out=None):
    """Writes along the last dim with full rows of indices (max pooling's gradient): compiled
    for float values (``jit/scatter.py``), else one flat fancy-index write instead of a
    broadcast grid of index arrays (~1.6x faster)."""
    if jit_scatter.takes(x, index, src) and x.size:
        done = jit_scatter.scatter_rows(x, index, src, out)
        if done is not None:
            return done
        return _into(out, _shared_scatter(x, x.ndim - 1, index, src, "none"))  # wraps or raises
    size = x.shape[-1]
    lo, hi = int(index.min()), int(index.max())
    if lo < 0 or hi >= size:
        return _into(out, _shared_scatter(x, x.ndim - 1, index, src, "none"))  # wraps or raises
    out = _into(out, x, fresh=False)
    rows = out.size // size
    flat = index.reshape(rows, -1) + (np.arange(rows, dtype=np.int64) * size)[:, None]
    out.reshape(-1)[flat.reshape(-1)] = src.reshape(-1)
    return out


def _scatter(x, dim, index, src, reduce, out=None):
    """The scatter kernel; with ``out`` (a contiguous array of x's shape and dtype, the out
    kernel's), the result is written there instead of into a copy of ``x``."""
    if reduce == "none" and dim == x.ndim - 1 and index.ndim == x.ndim and index.size and \
            index.shape[:-1] == x.shape[:-1] and getattr(src, "shape", None) == index.shape:
        return _scatter_rows(x, index, src, out)
    # one index per row along ``dim`` (cross-entropy's gradient) has no repeated targets, so
    # add = read, add, write back (np.add.at handles repeats and is ~4x slower)
    if reduce != "add" or index.shape[dim] != 1 or index.ndim != x.ndim or index.size == 0:
        return _into(out, _shared_scatter(x, dim, index, src, reduce))
    size = x.shape[dim]
    lo, hi = int(index.min()), int(index.max())
    if lo < -size or hi >= size:
        return _into(out, _shared_scatter(x, dim, index, src, reduce))  # raises the error
    out = _into(out, x, fresh=False)
    if lo >= 0 and dim == x.ndim - 1 and index.shape[:-1] == x.shape[:-1] and \
            getattr(src, "shape", None) == index.shape:
        # every row: one flat fancy index (take_along_axis builds a grid per call)
        flat = index.reshape(-1) + np.arange(index.size, dtype=np.int64) * size
        out.reshape(-1)[flat] += src.reshape(-1)
        return out
    sl = tuple(slice(None) if d == dim else slice(0, index.shape[d]) for d in range(x.ndim))
    region = out[sl]
    np.put_along_axis(region, index, np.take_along_axis(region, index, dim) + src, dim)
    return out


def _into(out, value, fresh=True):
    """``value`` in ``out`` when given (copied), else ``value`` itself where it is a ``fresh``
    array, else a copy."""
    if out is None:
        return value if fresh else value.copy()
    np.copyto(out, value)
    return out


_shared_where = KERNELS[Op.WHERE]
_BITS = {2: np.uint16, 4: np.uint32, 8: np.uint64}


def _where(cond, a, b):
    # where(mask, g, 0.0), the gradient of relu, dropout, clamp...: np.where branches per
    # element and crawls on a random mask (~10x slower than a multiply); multiplying the
    # value's bit pattern by the 0/1 mask gives the same bits, +0.0 where the mask is off
    # (NaN and inf included, which ``g * mask`` would not)
    if type(cond) is np.ndarray and cond.dtype == bool:
        if type(b) is float and b == 0.0 and str(b)[0] != "-":
            arr, keep = a, cond
        elif type(a) is float and a == 0.0 and str(a)[0] != "-":
            arr, keep = b, ~cond
        else:
            return _shared_where(cond, a, b)
        bits = _BITS.get(getattr(arr, "itemsize", 0))
        if type(arr) is np.ndarray and bits is not None and \
                (arr.dtype.kind == "f" or arr.dtype.char in HALF):
            return np.multiply(arr.view(bits), keep, dtype=bits, out=...).view(arr.dtype)
    return _shared_where(cond, a, b)


KERNELS.update({
    Op.RELU: _relu, Op.WHERE: _where, Op.ARGMAX: _arg_fast(KERNELS[Op.ARGMAX], np.maximum),
    Op.ARGMIN: _arg_fast(KERNELS[Op.ARGMIN], np.minimum), Op.SCATTER: _scatter,
    # 2-D float windows compiled by Numba (jit/windows.py), the rest as shared
    Op.MAX_POOL: jit_windows.max_pool(KERNELS[Op.MAX_POOL]),
    Op.COL2IM: jit_windows.col2im(KERNELS[Op.COL2IM]),
    Op.IM2COL: jit_windows.im2col(KERNELS[Op.IM2COL]),
})


_shared_as_strided = KERNELS[Op.AS_STRIDED]


def _as_strided(root, shape, strides, offset):
    # every view goes through here (x.t() in each linear layer, the windows of each conv):
    # a new ndarray over a contiguous root's buffer costs ~0.6 µs where stride_tricks'
    # as_strided costs ~3 µs; NumPy checks the geometry fits the buffer, and anything it
    # refuses (a non-contiguous root, an extent it cannot prove in bounds) takes the shared path
    if root.flags.c_contiguous:
        size = root.itemsize
        try:
            return np.ndarray(shape, root.dtype, root, offset * size,
                              tuple(s * size for s in strides))
        except (TypeError, ValueError):
            pass
    return _shared_as_strided(root, shape, strides, offset)


KERNELS[Op.AS_STRIDED] = _as_strided


# -- floating-point errors stay quiet inside the kernels, and only there -----------------------
# (``xp/quiet.py``): the ufunc kernels built above do it inline; ``quiet_kernels`` wraps the
# rest, but for the kernels that cannot meet a floating-point error (views, moves, indexing,
# sorting, comparisons, bitwise and logical ops, random bits): the hot path of every view.

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


def quiet(kernel: Callable) -> Callable:
    """``kernel`` run with NumPy's floating-point errors ignored, for that call only."""
    if QUIET is not None:
        return QUIET.wrap(kernel)

    @functools.wraps(kernel)
    def run(*args):
        with np.errstate(all="ignore"):
            return kernel(*args)

    run.quiet = True
    nin = getattr(kernel, "nin", None)
    if nin is not None:
        run.nin = nin
    return run


def quiet_kernels(table: Mapping[Op, Callable]) -> dict[Op, Callable]:
    """``table`` with every kernel that may meet a floating-point error wrapped by ``quiet``."""
    return {op: k if op in NEVER_WARN or getattr(k, "quiet", False) else quiet(k)
            for op, k in table.items()}


def _reduction(ufunc, shared):
    # np.sum/np.prod/np.max run a Python wrapper (~2x the reduction itself on small tensors,
    # the whole cost of ``loss.sum()``): call the ufunc's reduce directly. ``out=...`` keeps a
    # full reduction a 0-d array; axis=None for every dim is NumPy's fastest form.
    # Half precision accumulates in float32 in the shared kernel; the rest is kept quiet
    # inline, as the ufunc kernels (a sum can overflow).
    reduce = ufunc.reduce

    def plain(x, dims, keepdim):
        dtype = x.dtype
        if dtype.char in HALF:
            return shared(x, dims, keepdim)
        return reduce(x, None if len(dims) == x.ndim else dims, dtype, out=...,
                      keepdims=keepdim)

    if QUIET is None:
        return plain
    run, retry = QUIET.run, QUIET.retry
    quiet_shared = quiet(shared)

    def kernel(x, dims, keepdim):
        dtype = x.dtype
        if dtype.char in HALF:
            return quiet_shared(x, dims, keepdim)
        axis = None if len(dims) == x.ndim else dims
        try:
            return run(reduce, x, axis, dtype, out=..., keepdims=keepdim)
        except RuntimeError:
            return retry(reduce, x, axis, dtype, out=..., keepdims=keepdim)

    kernel.quiet = True
    return kernel


def _amax(x, dims, keepdim):
    return np.maximum.reduce(x, None if len(dims) == x.ndim else dims, out=...,
                             keepdims=keepdim)


KERNELS.update({
    Op.SUM: _reduction(np.add, KERNELS[Op.SUM]), Op.PROD: _reduction(np.multiply,
                                                                      KERNELS[Op.PROD]),
    Op.AMAX: _amax,
})


def _scatter_out(out, x, dim, index, src, reduce):
    _scatter(x, dim, index, src, reduce, out)


SCATTER_OUT = quiet(_scatter_out)
"""The out kernel of ``SCATTER`` (``BackendSpec.out_kernels``): the scatter written into
``out`` where the kernel would copy ``x`` first (``xp/out.py`` has the others)."""


def out_overrides(shared: Mapping[Op, Callable]) -> dict[Op, Callable]:
    """The cpu plugin's own out kernels on top of the shared ones (``xp/out.py``): scatter
    into ``out`` directly, 2-D im2col compiled (``jit/windows.py``)."""
    return {Op.SCATTER: SCATTER_OUT, Op.IM2COL: jit_windows.im2col_out(shared[Op.IM2COL])}
