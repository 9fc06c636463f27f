"""Out kernels (``BackendSpec.out_kernels``) for NumPy-compatible array modules:
``kernel(out, *args)`` writes what the op's kernel returns into ``out``, a contiguous array of
the result's shape and dtype, so that a compiled replay keeps its results in buffers it reuses
instead of allocating new ones each step. Shared through ``mbtorch_numpy.xp.out_kernels``.

Each is the same call as the plain kernel with ``out=`` (ufuncs, ``matmul``, the reductions),
or the same steps with the last one writing into ``out``: the values are the plain kernel's
bit for bit. Where a dtype takes another path in the plain kernel (float16 and bfloat16
computed in float32) the plain kernel runs and its result is copied into ``out``.
"""

from __future__ import annotations

__all__ = ["build"]

from typing import Any, Callable, Mapping

from mbtorch.core.op import Op

from .primitives import HALF, weak_scalar
from .quiet import QuietCalls

_BINARY = {
    Op.ADD: "add", Op.SUB: "subtract", Op.MUL: "multiply", Op.DIV: "true_divide",
    Op.ATAN2: "arctan2", Op.MAXIMUM: "maximum", Op.MINIMUM: "minimum", Op.EQ: "equal",
    Op.NE: "not_equal", Op.LT: "less", Op.LE: "less_equal", Op.GT: "greater",
    Op.GE: "greater_equal",
}
_UNARY = {
    Op.EXP: "exp", Op.LOG: "log", Op.LOG1P: "log1p", Op.EXPM1: "expm1", Op.SQRT: "sqrt",
    Op.SIN: "sin", Op.COS: "cos", Op.TANH: "tanh", Op.FLOOR: "floor", Op.EXP2: "exp2",
    Op.LOG2: "log2", Op.LOG10: "log10", Op.TAN: "tan", Op.ASIN: "arcsin", Op.ACOS: "arccos",
    Op.ATAN: "arctan", Op.SINH: "sinh", Op.COSH: "cosh", Op.CEIL: "ceil", Op.TRUNC: "trunc",
    Op.SQUARE: "square", Op.ABS: "abs", Op.NEG: "negative", Op.ISNAN: "isnan",
    Op.ISINF: "isinf", Op.ISFINITE: "isfinite", Op.LOGICAL_NOT: "logical_not",
    Op.BITWISE_NOT: "invert",
}


def build(xp: Any, kernels: Mapping[Op, Callable], quiet: QuietCalls | None = None
          ) -> dict[Op, Callable]:
    """The out kernels matching ``kernels`` (the backend's table as registered: the plain
    kernels some out kernels fall back on); with ``quiet``, run with the module's
    floating-point errors ignored, as the plain kernels."""
    run = _runner(xp, quiet)
    table: dict[Op, Callable] = {}
    for op, name in _BINARY.items():
        table[op] = _binary(xp, getattr(xp, name), quiet, run)
    for op, name in _UNARY.items():
        table[op] = _unary(getattr(xp, name), quiet, run)
    table.update({
        Op.RELU: _relu(xp), Op.CAST: _cast(xp, run),
        Op.MATMUL: _matmul(xp, kernels[Op.MATMUL], run),
        Op.SUM: _reduction(xp, xp.add, kernels[Op.SUM], run),
        Op.PROD: _reduction(xp, xp.multiply, kernels[Op.PROD], run),
        Op.AMAX: _reduction(xp, xp.maximum, kernels[Op.AMAX], run),
        Op.WHERE: _where(xp, kernels[Op.WHERE]), Op.IM2COL: _im2col(xp),
        Op.LOG_SOFTMAX: _log_softmax(xp, kernels[Op.LOG_SOFTMAX], run),
    })
    return table


def _runner(xp: Any, quiet: QuietCalls | None) -> Callable:
    """``run(f, *args, **kw)``: ``f`` called with floating-point errors ignored (through
    ``quiet``; else the module's ``errstate``, where it has one: CuPy's ufuncs never warn)."""
    errstate = getattr(xp, "errstate", None)
    if quiet is None:
        def run(f, *args, **kw):
            if errstate is None:
                return f(*args, **kw)
            with errstate(all="ignore"):
                return f(*args, **kw)

        return run
    qrun, retry = quiet.run, quiet.retry

    def run(f, *args, **kw):
        try:
            return qrun(f, *args, **kw)
        except RuntimeError:
            return retry(f, *args, **kw)

    return run


def _binary(xp: Any, f: Callable, quiet: QuietCalls | None, run: Callable) -> Callable:
    # the hot ones: the quiet call inline (one Python frame per call, as primitives.py)
    if quiet is None:
        def kernel(out, a, b):
            if type(b) is float:
                b = weak_scalar(xp, b, a)
            elif type(a) is float:
                a = weak_scalar(xp, a, b)
            run(f, a, b, out=out)
    else:
        qrun, retry = quiet.run, quiet.retry

        def kernel(out, a, b):
            if type(b) is float:
                b = weak_scalar(xp, b, a)
            elif type(a) is float:
                a = weak_scalar(xp, a, b)
            try:
                qrun(f, a, b, out=out)
            except RuntimeError:
                retry(f, a, b, out=out)

    kernel.__name__ = f"{f.__name__}_out"
    return kernel


def _unary(f: Callable, quiet: QuietCalls | None, run: Callable) -> Callable:
    if quiet is None:
        def kernel(out, x):
            run(f, x, out=out)
    else:
        qrun, retry = quiet.run, quiet.retry

        def kernel(out, x):
            try:
                qrun(f, x, out=out)
            except RuntimeError:
                retry(f, x, out=out)

    kernel.__name__ = f"{f.__name__}_out"
    return kernel


def _relu(xp: Any) -> Callable:
    bits_of = {2: xp.uint16, 4: xp.uint32, 8: xp.uint64}

    def kernel(out, x):
        # as the cpu kernel: the bits times "not below zero" (keeps -0.0 and NaN)
        bits = bits_of.get(x.itemsize) if x.dtype.kind == "f" else None
        if bits is None:
            xp.maximum(x, x.dtype.type(0), out=out)
            return
        keep = xp.asarray(xp.less(x, 0))  # a 0-d comparison gives a scalar
        xp.logical_not(keep, out=keep)
        xp.multiply(x.view(bits), keep, dtype=bits, out=out.view(bits))

    return kernel


def _cast(xp: Any, run: Callable) -> Callable:
    def kernel(out, x, dtype):
        if x.dtype.kind == "c" and out.dtype.kind != "c":
            x = x.real  # as the plain kernel: the core has warned
        run(xp.copyto, out, x, casting="unsafe")  # NaN to an integer: quiet, as astype

    return kernel


def _matmul(xp: Any, plain: Callable, run: Callable) -> Callable:
    def kernel(out, a, b):
        if a.dtype.char in HALF or a.ndim < 2 or b.ndim < 2:
            xp.copyto(out, plain(a, b))
        else:
            run(xp.matmul, a, b, out=out)

    return kernel


def _reduction(xp: Any, ufunc: Any, plain: Callable, run: Callable) -> Callable:
    # as the cpu kernels: the ufunc's reduce, axis=None when every dim is reduced
    reduce = ufunc.reduce
    typed = ufunc is not xp.maximum  # amax keeps the input's dtype without dtype=

    def kernel(out, x, dims, keepdim):
        if x.dtype.char in HALF:
            xp.copyto(out, plain(x, dims, keepdim))
            return
        axis = None if len(dims) == x.ndim else dims
        if typed:
            run(reduce, x, axis, x.dtype, out=out, keepdims=keepdim)
        else:
            reduce(x, axis, out=out, keepdims=keepdim)

    return kernel


def _where(xp: Any, plain: Callable) -> Callable:
    bits_of = {2: xp.uint16, 4: xp.uint32, 8: xp.uint64}

    def kernel(out, cond, a, b):
        # the cpu kernel's fast form: the value's bits times the 0/1 mask
        arr = keep = None
        if isinstance(cond, xp.ndarray) and cond.dtype == bool:
            if type(b) is float and b == 0.0 and str(b)[0] != "-":
                arr, keep = a, cond
            elif type(a) is float and a == 0.0 and str(a)[0] != "-":
                arr, keep = b, ~cond
        bits = bits_of.get(getattr(arr, "itemsize", 0))
        if isinstance(arr, xp.ndarray) and bits is not None and arr.dtype == out.dtype and \
                (arr.dtype.kind == "f" or arr.dtype.char in HALF):
            xp.multiply(arr.view(bits), keep, dtype=bits, out=out.view(bits))
        else:
            xp.copyto(out, plain(cond, a, b))

    return kernel


def _im2col(xp: Any) -> Callable:
    as_strided = xp.lib.stride_tricks.as_strided

    def kernel(out, x, kernel_size, dilation, stride):
        # the windows (windows.py) copied straight into out, seen with their shape
        n = len(kernel_size)
        outs = tuple((x.shape[2 + i] - dilation[i] * (k - 1) - 1) // stride[i] + 1
                     for i, k in enumerate(kernel_size))
        st = x.strides
        strides = st[:2] + tuple(st[2 + i] * dilation[i] for i in range(n)) + \
            tuple(st[2 + i] * stride[i] for i in range(n))
        shape = x.shape[:2] + tuple(kernel_size) + outs
        xp.copyto(out.reshape(shape), as_strided(x, shape, strides))

    return kernel


def _log_softmax(xp: Any, plain: Callable, run: Callable) -> Callable:
    def kernel(out, x, dim):
        if x.dtype.char in HALF or not x.shape[dim]:
            xp.copyto(out, plain(x, dim))
            return
        # the composite kernel's steps (composites.py), the last one into out
        z = run(xp.subtract, x, xp.max(x, axis=dim, keepdims=True))
        lse = run(xp.log, run(xp.sum, run(xp.exp, z), axis=dim, keepdims=True))
        run(xp.subtract, z, lse, out=out)

    return kernel
