"""Primitive kernels for NumPy-compatible array modules (NumPy, CuPy): one implementation,
shared through ``mbtorch_numpy.xp.primitive_kernels``. Each kernel follows the calling
convention of ``mbtorch.core.op.PRIMITIVES``."""

from __future__ import annotations

__all__ = [
    "build", "array_results", "binary_ufunc", "weak_scalar", "returns_scalars", "sparse_grid"
]

from typing import Any, Callable

from mbtorch.core.op import Op
from mbtorch.core.plugin_api import index_error, philox_words, zero_division_error

from .philox import philox_words_chunked
from .quiet import QuietCalls

HALF = "eE"
"""``dtype.char`` of float16 (``e``) and ml_dtypes' bfloat16 (``E``): the dtypes computed in
float32 and rounded once, as PyTorch's cpu does. Testing the char, rather than membership in a
tuple of dtype objects, leaves ml_dtypes unimported until a bfloat16 array exists (its import
costs more than NumPy's)."""


def array_results(f: Callable, scalar_results: bool, quiet: QuietCalls | None = None
                  ) -> Callable:
    """``f`` (a ufunc) made to return 0-d arrays, not scalars, where the array module returns
    scalars (NumPy: ``out=...``); one argument is passed without packing a tuple per call
    (unary ops are hot). With ``quiet``, the call runs with floating-point errors ignored
    (inline: no wrapper frame; see ``quiet.py``)."""
    if quiet is not None and scalar_results:  # NumPy: the one module whose ufuncs warn
        return _quiet_ufunc(f, quiet)
    if not scalar_results:
        return f
    if getattr(f, "nin", None) == 1:
        def kernel(x):
            return f(x, out=...)
    else:
        def kernel(*args):
            return f(*args, out=...)
    kernel.__name__ = getattr(f, "__name__", "ufunc")
    return kernel


def _quiet_ufunc(f: Callable, quiet: QuietCalls) -> Callable:
    run, retry = quiet.run, quiet.retry
    if getattr(f, "nin", None) == 1:
        def kernel(x):
            try:
                return run(f, x, out=...)
            except RuntimeError:
                return retry(f, x, out=...)
    else:
        def kernel(*args):
            try:
                return run(f, *args, out=...)
            except RuntimeError:
                return retry(f, *args, out=...)
    kernel.__name__ = getattr(f, "__name__", "ufunc")
    kernel.quiet = True
    return kernel


def build(xp: Any, native_dtype: Callable, erf: Callable,
          quiet: QuietCalls | None = None) -> dict[Op, Callable]:
    f32 = xp.float32
    scalar_results = returns_scalars(xp)

    def ufunc(f: Callable) -> Callable:
        return array_results(f, scalar_results, quiet)

    def binary(f: Callable) -> Callable:
        return binary_ufunc(xp, f, scalar_results, quiet)

    # comparisons, max, abs and bitwise ops: no floating-point error can arise in them, so
    # nothing to keep quiet
    def compare(f: Callable) -> Callable:
        return binary_ufunc(xp, f, scalar_results)

    def exact(f: Callable) -> Callable:
        return array_results(f, scalar_results)

    fdiv, pow_ = binary(xp.floor_divide), binary(xp.power)

    def upcast(f: Callable) -> Callable:
        """Compute float16/bfloat16 in float32 and round once, as PyTorch's CPU does."""

        def kernel(x):
            if x.dtype.char in HALF:
                return xp.asarray(f(x.astype(f32))).astype(x.dtype)
            return xp.asarray(f(x))

        return kernel

    def floor_divide(a, b):
        dtype = _dtype_of(a, b)
        if getattr(dtype, "kind", "f") in "iub":
            if (xp.asarray(b) == 0).any():
                raise zero_division_error("floor_divide")
        elif dtype.char in HALF:
            if type(b) is float or b.ndim == 0:
                # a scalar divisor: PyTorch divides in float32 by its value, rounding once
                wide = b if type(b) is float else b.astype(f32)
                return xp.asarray(fdiv(xp.asarray(a, dtype=dtype).astype(f32), wide)).astype(
                    dtype)
            return half_floor_divide(xp.asarray(a, dtype=dtype), b)
        return fdiv(a, b)

    def half_floor_divide(a, b):
        """PyTorch's floor division (``div_floor_floating``, also NumPy's for float32/64)
        run as PyTorch runs it for float16/bfloat16: every step rounded to the dtype."""
        dtype = a.dtype

        def rnd(v):
            return v.astype(dtype).astype(f32)

        a, b = a.astype(f32), b.astype(f32)
        mod = xp.fmod(a, b)  # exact, so representable in the dtype
        div = rnd(rnd(a - mod) / b)
        div = xp.where((mod != 0) & ((b < 0) != (mod < 0)), rnd(div - 1), div)
        floor = xp.floor(div)
        floor = xp.where(rnd(div - floor) > 0.5, rnd(floor + 1), floor)
        floor = xp.where(div != 0, floor, xp.copysign(xp.zeros_like(div), a / b))
        return xp.asarray(xp.where(b != 0, floor, a / b)).astype(dtype)

    def power(a, b):
        if _dtype_of(a, b).kind in "iu" and (xp.asarray(b) < 0).any():
            raise RuntimeError("pow(): Integers to negative integer powers are not allowed.")
        return pow_(a, b)

    def where(cond, a, b):
        if type(b) is float:
            b = weak_scalar(xp, b, a)
        elif type(a) is float:
            a = weak_scalar(xp, a, b)
        return xp.asarray(xp.where(cond, a, b))

    def cast(x, dtype):
        target = native_dtype(dtype)
        if x.dtype.kind == "c" and target.kind != "c":
            x = x.real  # the core warned as PyTorch does; NumPy's ComplexWarning would repeat it
        return x.astype(target)

    def reduction(f: Callable) -> Callable:
        def kernel(x, dims, keepdim):
            if x.dtype.char in HALF:
                return xp.asarray(f(x, axis=dims, keepdims=keepdim, dtype=f32)).astype(x.dtype)
            # dtype=: NumPy would widen small integers (and bools) to int64
            return xp.asarray(f(x, axis=dims, keepdims=keepdim, dtype=x.dtype))

        return kernel

    def amax(x, dims, keepdim):
        return xp.asarray(xp.max(x, axis=dims, keepdims=keepdim))

    def matmul(a, b):
        if a.dtype.char in HALF:
            return xp.matmul(a.astype(f32), b.astype(f32)).astype(a.dtype)
        return xp.matmul(a, b)

    def check_index(op: str, index, size: int, dim: int) -> None:
        if index.size:
            lo, hi = int(index.min()), int(index.max())
            if lo < -size or hi >= size:
                raise index_error(op, "index", hi if hi >= size else lo, size, dim)

    def gather(x, dim, index):
        check_index("gather", index, x.shape[dim], dim)
        sl = tuple(slice(None) if d == dim else slice(0, index.shape[d])
                   for d in range(x.ndim))
        return xp.take_along_axis(x[sl], index, axis=dim)

    def scatter(x, dim, index, src, reduce):
        check_index("scatter", index, x.shape[dim], dim)
        out = x.copy()
        grids = sparse_grid(xp, index.shape)
        grids[dim] = index
        if reduce == "add":
            xp.add.at(out, tuple(grids), src)
        else:
            out[tuple(grids)] = src
        return out

    def nonzero(x):
        return xp.argwhere(x).astype(xp.int64)

    def sort(x, dim, descending):
        y = x.astype(f32) if x.dtype.char in HALF else x
        if descending:
            y = xp.flip(y, axis=dim)
        idx = xp.argsort(y, axis=dim, kind="stable")
        if descending:
            idx = (x.shape[dim] - 1) - xp.flip(idx, axis=dim)
        return xp.take_along_axis(x, idx, axis=dim), idx.astype(xp.int64)

    def copy_(dst, src):
        xp.copyto(dst, src, casting="unsafe")

    def as_strided(root, shape, strides, offset):
        itemsize = root.itemsize
        return xp.lib.stride_tricks.as_strided(
            root.reshape(-1)[offset:] if root.flags.c_contiguous else _shift(root, offset),
            shape, tuple(s * itemsize for s in strides))

    def _shift(root, offset):
        # a non-contiguous root: step to the element at ``offset`` through a flat view of
        # its memory span (its strides are non-negative, so that span starts at root[0...])
        span = xp.lib.stride_tricks.as_strided(root, (offset + 1,), (root.itemsize,))
        return span[offset:]

    def iota(n, device_index):
        return xp.arange(n, dtype=xp.int64)

    # on the host, the stream in cache-sized chunks (philox.py); on a GPU (CuPy), the
    # reference's whole-array expressions
    words = philox_words_chunked if xp.__name__ == "numpy" else philox_words

    def philox(seed, offset, n, device_index):
        return words(xp, seed, offset, n)

    return {
        Op.ADD: binary(xp.add), Op.MUL: binary(xp.multiply), Op.DIV: binary(xp.true_divide),
        Op.POW: power, Op.MAXIMUM: compare(xp.maximum), Op.FLOOR_DIVIDE: floor_divide,
        Op.ATAN2: binary(xp.arctan2), Op.EQ: compare(xp.equal), Op.LT: compare(xp.less),
        Op.BITWISE_AND: exact(xp.bitwise_and), Op.BITWISE_OR: exact(xp.bitwise_or),
        Op.BITWISE_XOR: exact(xp.bitwise_xor),
        Op.ABS: exact(xp.abs), Op.EXP: ufunc(xp.exp), Op.LOG: ufunc(xp.log),
        Op.LOG1P: ufunc(xp.log1p), Op.EXPM1: ufunc(xp.expm1), Op.SQRT: ufunc(xp.sqrt),
        Op.SIN: ufunc(xp.sin), Op.COS: ufunc(xp.cos), Op.TANH: ufunc(xp.tanh),
        Op.FLOOR: ufunc(xp.floor), Op.ERF: upcast(erf),
        Op.WHERE: where, Op.CAST: cast,
        Op.SUM: reduction(xp.sum), Op.PROD: reduction(xp.prod), Op.AMAX: amax,
        Op.MATMUL: matmul, Op.GATHER: gather, Op.SCATTER: scatter, Op.NONZERO: nonzero,
        Op.SORT: sort, Op.COPY_: copy_, Op.AS_STRIDED: as_strided, Op.IOTA: iota,
        Op.PHILOX: philox,
    }


def binary_ufunc(xp: Any, f: Callable, scalar_results: bool,
                 quiet: QuietCalls | None = None) -> Callable:
    """The kernel of a binary ufunc ``f``. A Python float operand takes the array operand's
    dtype when that is float16/bfloat16, as NEP 50 does for NumPy's own dtypes: ml_dtypes'
    bfloat16 would otherwise promote ``bf16_array + 3.0`` to float32. Two arrays (the hot
    path) go straight to ``f``; with ``quiet``, with floating-point errors ignored (inline:
    no wrapper frame; see ``quiet.py``)."""
    if quiet is not None and scalar_results:  # NumPy: the one module whose ufuncs warn
        run, retry = quiet.run, quiet.retry

        def kernel(a, b):
            if type(b) is float:
                b = weak_scalar(xp, b, a)
            elif type(a) is float:
                a = weak_scalar(xp, a, b)
            try:
                return run(f, a, b, out=...)  # out=... keeps NumPy's 0-d results arrays
            except RuntimeError:
                return retry(f, a, b, out=...)

        kernel.quiet = True
    elif scalar_results:
        def kernel(a, b):
            if type(b) is float:
                b = weak_scalar(xp, b, a)
            elif type(a) is float:
                a = weak_scalar(xp, a, b)
            return f(a, b, out=...)  # out=... keeps NumPy's 0-d results arrays
    else:
        def kernel(a, b):
            if type(b) is float:
                b = weak_scalar(xp, b, a)
            elif type(a) is float:
                a = weak_scalar(xp, a, b)
            return f(a, b)

    kernel.__name__ = getattr(f, "__name__", "ufunc")
    return kernel


def weak_scalar(xp: Any, value: float, array: Any) -> Any:
    """``value`` as a 0-d array of ``array``'s dtype where that is float16/bfloat16."""
    dtype = getattr(array, "dtype", None)
    if dtype is not None and dtype.char in HALF:
        return xp.asarray(value, dtype=dtype)
    return value


def returns_scalars(xp: Any) -> bool:
    """Whether ``xp``'s ufuncs turn 0-d results into scalars (NumPy's do; ``out=...`` keeps
    them arrays). CuPy's always return arrays and reject ``out=...``."""
    import numpy

    return isinstance(xp.add, numpy.ufunc)


def sparse_grid(xp: Any, shape: tuple) -> list:
    """``xp.indices(shape, sparse=True)`` (CuPy's ``indices`` has no ``sparse``)."""
    n = len(shape)
    return [xp.arange(size, dtype=xp.int64).reshape((1,) * d + (size,) + (1,) * (n - d - 1))
            for d, size in enumerate(shape)]


def _dtype_of(a, b):
    return a.dtype if hasattr(a, "dtype") else b.dtype
