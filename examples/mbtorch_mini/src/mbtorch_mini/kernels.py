"""The ``mini`` kernel table: exactly the primitives of ``mbtorch.core.op.PRIMITIVES``, each
written here in plain NumPy.

Every other op (softmax, var, conv, indexing, ...) runs through its decomposition into these,
which is the point of the template: a new device is usable once its primitives are. Each
kernel's arguments and result follow the table in README.md (generated from
``PRIMITIVES``): handles are NumPy arrays, possibly non-contiguous views, and kernels return
new arrays (0-d results as 0-d arrays, never NumPy scalars). Replace the NumPy calls with your
device's.

float16 and bfloat16 (ml_dtypes' dtype) compute in float32 where NumPy would lose precision or
has no loop (``erf``, ``matmul``, reductions, sorting) and round once, as PyTorch's cpu does.
"""

from __future__ import annotations

__all__ = ["erf", "KERNELS"]

import math

import numpy as np

from mbtorch.core.op import Op
from mbtorch.core.plugin_api import index_error, philox_words, zero_division_error

from .storage import native_dtype

HALF = ("float16", "bfloat16")


def _is_half(a: np.ndarray) -> bool:
    return a.dtype.name in HALF


def _array(value, like: np.ndarray) -> np.ndarray:
    """A scalar operand (a Python bool/int/float already of the computation's kind) as a 0-d
    array of the other operand's dtype, so that it never widens the result's dtype."""
    if isinstance(value, np.ndarray):
        return value
    return np.asarray(value, dtype=like.dtype)


def _operands(a, b):
    if not isinstance(a, np.ndarray):
        a = _array(a, b)
    return a, _array(b, a)


# -- elementwise: binary ---------------------------------------------------------------------

def _binary(f):
    def kernel(a, b):
        a, b = _operands(a, b)
        return np.asarray(f(a, b))

    kernel.__name__ = f.__name__
    return kernel


def power(a, b):
    a, b = _operands(a, b)
    if a.dtype.kind in "iu" and (b < 0).any():
        raise RuntimeError("pow(): Integers to negative integer powers are not allowed.")
    return np.asarray(np.power(a, b))


def floor_divide(a, b):
    if isinstance(a, np.ndarray) and _is_half(a) and type(b) is float:
        # PyTorch divides a half tensor by the Python float itself (in float32), not by the
        # float rounded to half: 1.973 // 1.9730656 is 0, not 1
        return np.asarray(np.floor_divide(a.astype(np.float32), np.float32(b))).astype(a.dtype)
    a, b = _operands(a, b)
    if a.dtype.kind in "iub":
        if (b == 0).any():
            raise zero_division_error("floor_divide")
        return np.asarray(np.floor_divide(a, b))
    if _is_half(a):
        return np.asarray(np.floor_divide(a.astype(np.float32), b.astype(np.float32))).astype(
            a.dtype)
    return np.asarray(np.floor_divide(a, b))


# -- elementwise: unary ------------------------------------------------------------------------

def _unary(f):
    def kernel(x):
        return np.asarray(f(x))

    kernel.__name__ = f.__name__
    return kernel


_erf_float64 = np.vectorize(math.erf, otypes=[np.float64])


def erf(x):
    """NumPy has no erf; Python's, one element at a time (a real device has its own)."""
    return _erf_float64(x).astype(x.dtype)


# -- selection and conversion ------------------------------------------------------------------

def where(cond, a, b):
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = _operands(a, b)
    return np.asarray(np.where(cond, a, b))


def cast(x, dtype):
    return x.astype(native_dtype(dtype))


# -- reductions --------------------------------------------------------------------------------

def _reduction(f):
    def kernel(x, dims, keepdim):
        if _is_half(x):
            return np.asarray(f(x.astype(np.float32), axis=dims, keepdims=keepdim)).astype(
                x.dtype)
        # dtype=: NumPy would widen small integers and bools to int64
        return np.asarray(f(x, axis=dims, keepdims=keepdim, dtype=x.dtype))

    kernel.__name__ = f.__name__
    return kernel


def amax(x, dims, keepdim):
    return np.asarray(np.max(x, axis=dims, keepdims=keepdim))


def matmul(a, b):
    if _is_half(a):
        return np.matmul(a.astype(np.float32), b.astype(np.float32)).astype(a.dtype)
    return np.matmul(a, b)


# -- indexing ----------------------------------------------------------------------------------

def _check_index(op: str, index, size: int, dim: int) -> None:
    if index.size:
        lo, hi = int(index.min()), int(index.max())
        if lo < -size or hi >= size:
            raise index_error(op, "index", hi if hi >= size else lo, size, dim)


def gather(x, dim, index):
    _check_index("gather", index, x.shape[dim], dim)
    # index may be smaller than x in the other dims: gather from the matching corner of x
    corner = tuple(slice(None) if d == dim else slice(0, index.shape[d]) for d in range(x.ndim))
    return np.take_along_axis(x[corner], index, axis=dim)


def scatter(x, dim, index, src, reduce):
    _check_index("scatter", index, x.shape[dim], dim)
    out = x.copy()
    # the position of every index element, with ``dim``'s coordinate replaced by its value
    where_ = list(np.indices(index.shape, sparse=True))
    where_[dim] = index
    if reduce == "add":
        np.add.at(out, tuple(where_), src)  # repeated targets accumulate
    else:
        out[tuple(where_)] = src
    return out


def nonzero(x):
    return np.argwhere(x).astype(np.int64)


def sort(x, dim, descending):
    keys = x.astype(np.float32) if _is_half(x) else x
    if descending:
        # a stable descending order: sort the reversed array ascending, then map back, so that
        # equal elements keep their original order (NaN, which NumPy sorts last, comes first)
        idx = np.argsort(np.flip(keys, axis=dim), axis=dim, kind="stable")
        idx = (x.shape[dim] - 1) - np.flip(idx, axis=dim)
    else:
        idx = np.argsort(keys, axis=dim, kind="stable")
    return np.take_along_axis(x, idx, axis=dim), idx.astype(np.int64)


# -- memory ------------------------------------------------------------------------------------

def copy_(dst, src):
    np.copyto(dst, src, casting="unsafe")


def as_strided(root, shape, strides, offset):
    size = root.itemsize
    # root's memory as a flat run of elements from its first one, then the requested geometry
    memory = np.lib.stride_tricks.as_strided(root, (offset + 1,), (size,))
    return np.lib.stride_tricks.as_strided(memory[offset:], shape,
                                           tuple(s * size for s in strides))


# -- creation and randomness -------------------------------------------------------------------

def iota(n, device_index):
    return np.arange(n, dtype=np.int64)


def philox(seed, offset, n, device_index):
    # the stream's definition is the core's reference, written for any NumPy-like module; a
    # device with its own arrays ports it (see mbtorch_opencl/random.py)
    return philox_words(np, seed, offset, n)


KERNELS = {
    Op.ADD: _binary(np.add), Op.MUL: _binary(np.multiply), Op.DIV: _binary(np.true_divide),
    Op.POW: power, Op.MAXIMUM: _binary(np.maximum), Op.FLOOR_DIVIDE: floor_divide,
    Op.ATAN2: _binary(np.arctan2), Op.EQ: _binary(np.equal), Op.LT: _binary(np.less),
    Op.BITWISE_AND: _binary(np.bitwise_and), Op.BITWISE_OR: _binary(np.bitwise_or),
    Op.BITWISE_XOR: _binary(np.bitwise_xor),
    Op.ABS: _unary(np.abs), Op.EXP: _unary(np.exp), Op.LOG: _unary(np.log),
    Op.LOG1P: _unary(np.log1p), Op.EXPM1: _unary(np.expm1), Op.SQRT: _unary(np.sqrt),
    Op.SIN: _unary(np.sin), Op.COS: _unary(np.cos), Op.TANH: _unary(np.tanh),
    Op.FLOOR: _unary(np.floor), Op.ERF: erf,
    Op.WHERE: where, Op.CAST: cast,
    Op.SUM: _reduction(np.sum), Op.PROD: _reduction(np.prod), Op.AMAX: amax,
    Op.MATMUL: matmul, Op.GATHER: gather, Op.SCATTER: scatter, Op.NONZERO: nonzero,
    Op.SORT: sort, Op.COPY_: copy_, Op.AS_STRIDED: as_strided, Op.IOTA: iota,
    Op.PHILOX: philox,
}
