"""The op registry: every op's name, kind (primitive or composite) and decomposition.

``Op`` names every op; kernel tables, the derivative table and the conformance database are
keyed by it, and registration rejects keys that are not ``Op`` members.

**Primitives** are the ops a backend must implement (``PRIMITIVES`` below, with the calling
convention of each kernel). Everything else is a **composite**: an ``OpDef`` whose
``decomposition`` is written with other mbtorch ops, so a backend that implements only the
primitives runs the whole API. A backend may still register a native kernel for any composite.

Kernel calling convention (all primitives): kernels receive backend *handles* (the backend's
own array objects, possibly non-contiguous views) and plain Python values, and return new
handles that never alias their inputs (``AS_STRIDED`` excepted). The core has already run the
op's meta rule: dtypes are equal where the table says so, shapes are broadcast-compatible, dims
are normalised to non-negative ints. Where the table says *scalar*, an operand may be a Python
``bool``/``int``/``float`` already converted to the computation dtype's Python type.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Callable

__all__ = ["Op", "KernelSig", "PRIMITIVES", "COMPOSITE_KERNELS", "INPLACE", "OpDef", "OPS",
           "define"]


class Op(enum.IntEnum):
    """Every op in the registry. Primitives come first."""

    # -- primitives: binary elementwise
    ADD = 0
    MUL = enum.auto()
    DIV = enum.auto()
    POW = enum.auto()
    MAXIMUM = enum.auto()
    FLOOR_DIVIDE = enum.auto()
    ATAN2 = enum.auto()
    EQ = enum.auto()
    LT = enum.auto()
    BITWISE_AND = enum.auto()
    BITWISE_OR = enum.auto()
    BITWISE_XOR = enum.auto()
    # -- primitives: unary elementwise
    ABS = enum.auto()
    EXP = enum.auto()
    LOG = enum.auto()
    LOG1P = enum.auto()
    EXPM1 = enum.auto()
    SQRT = enum.auto()
    SIN = enum.auto()
    COS = enum.auto()
    TANH = enum.auto()
    FLOOR = enum.auto()
    ERF = enum.auto()
    # -- primitives: the rest
    WHERE = enum.auto()
    CAST = enum.auto()
    SUM = enum.auto()
    PROD = enum.auto()
    AMAX = enum.auto()
    MATMUL = enum.auto()
    GATHER = enum.auto()
    SCATTER = enum.auto()
    NONZERO = enum.auto()
    SORT = enum.auto()
    COPY_ = enum.auto()
    AS_STRIDED = enum.auto()
    IOTA = enum.auto()
    PHILOX = enum.auto()

    # -- composites: elementwise
    SUB = enum.auto()
    NEG = enum.auto()
    MINIMUM = enum.auto()
    NE = enum.auto()
    LE = enum.auto()
    GT = enum.auto()
    GE = enum.auto()
    REMAINDER = enum.auto()
    BITWISE_NOT = enum.auto()
    LOGICAL_NOT = enum.auto()
    LOGICAL_AND = enum.auto()
    LOGICAL_OR = enum.auto()
    LOGICAL_XOR = enum.auto()
    SIGN = enum.auto()
    EXP2 = enum.auto()
    LOG2 = enum.auto()
    LOG10 = enum.auto()
    RSQRT = enum.auto()
    TAN = enum.auto()
    ASIN = enum.auto()
    ACOS = enum.auto()
    ATAN = enum.auto()
    SINH = enum.auto()
    COSH = enum.auto()
    SIGMOID = enum.auto()
    RELU = enum.auto()
    CEIL = enum.auto()
    ROUND = enum.auto()
    TRUNC = enum.auto()
    RECIPROCAL = enum.auto()
    SQUARE = enum.auto()
    CLAMP = enum.auto()
    ISNAN = enum.auto()
    ISINF = enum.auto()
    ISFINITE = enum.auto()
    NAN_TO_NUM = enum.auto()
    LERP = enum.auto()
    ERFINV = enum.auto()
    # -- composites: reductions and scans
    AMIN = enum.auto()
    ARGMAX = enum.auto()
    ARGMIN = enum.auto()
    MEAN = enum.auto()
    VAR = enum.auto()
    LOGSUMEXP = enum.auto()
    SOFTMAX = enum.auto()
    LOG_SOFTMAX = enum.auto()
    CUMSUM = enum.auto()
    CUMPROD = enum.auto()
    ANY = enum.auto()
    ALL = enum.auto()
    VECTOR_NORM = enum.auto()
    # -- composites: views (decomposed into AS_STRIDED by the core)
    VIEW = enum.auto()
    PERMUTE = enum.auto()
    EXPAND = enum.auto()
    SLICE = enum.auto()
    SELECT = enum.auto()
    DIAGONAL = enum.auto()
    UNFOLD = enum.auto()
    # -- composites: copies, creation, indexing, linear algebra
    CONTIGUOUS = enum.auto()
    FULL = enum.auto()
    CAT = enum.auto()
    FLIP = enum.auto()
    TRIL = enum.auto()
    TRIU = enum.auto()
    INDEX_SELECT = enum.auto()
    MASKED_FILL = enum.auto()
    INDEX = enum.auto()
    INDEX_PUT = enum.auto()
    CONSTANT_PAD = enum.auto()
    # -- composites: sliding windows (convolution and pooling)
    IM2COL = enum.auto()
    COL2IM = enum.auto()
    MAX_POOL = enum.auto()
    # -- composites: factorizations and solvers (mbtorch/core/ops/factorizations.py)
    CHOLESKY = enum.auto()
    LU_FACTOR = enum.auto()
    TRIANGULAR_SOLVE = enum.auto()
    LINALG_SOLVE = enum.auto()
    SLOGDET = enum.auto()
    QR = enum.auto()
    GEQRF = enum.auto()
    LDL_FACTOR = enum.auto()
    # -- composites: complex numbers and FFT (mbtorch/core/ops/complex.py, mbtorch/fft)
    VIEW_AS_REAL = enum.auto()
    VIEW_AS_COMPLEX = enum.auto()
    CONJ_PHYSICAL = enum.auto()
    FFT = enum.auto()
    # -- composites: spectral decompositions (mbtorch/core/ops/spectral.py)
    EIGH = enum.auto()
    SVD = enum.auto()
    # -- composite: convolution as one op (mbtorch/core/ops/convolution.py)
    CONVOLUTION = enum.auto()
    # -- composites: quantization (mbtorch/core/ops/quantize.py)
    QUANTIZE = enum.auto()
    DEQUANTIZE = enum.auto()
    FAKE_QUANTIZE = enum.auto()


@dataclass(frozen=True)
class KernelSig:
    """How the core calls a primitive's kernel (the plugin author's checklist)."""

    params: str
    returns: str
    notes: str = ""


_BIN = KernelSig("a, b", "handle",
                 "a and b: handles of one dtype, broadcast-compatible; either may be a scalar")
_CMP = KernelSig("a, b", "bool handle", _BIN.notes)
_UN = KernelSig("x", "handle of x's dtype")
_UNF = KernelSig("x", "handle of x's dtype", "x is floating")
_RED = KernelSig("x, dims, keepdim", "handle of x's dtype",
                 "dims: sorted tuple of distinct non-negative ints, never empty; reduced size "
                 "may be 0 (sum 0, prod 1); float16/bfloat16 may accumulate in float32")

PRIMITIVES: dict[Op, KernelSig] = {
    Op.ADD: _BIN, Op.MUL: _BIN,
    Op.DIV: KernelSig("a, b", "handle", "true division; operands are floating"),
    Op.POW: _BIN, Op.MAXIMUM: KernelSig("a, b", "handle", "NaN propagates"),
    Op.FLOOR_DIVIDE: KernelSig("a, b", "handle", "Python's floor division; integer division "
                               "by zero raises via plugin_api.zero_division_error()"),
    Op.ATAN2: KernelSig("a, b", "handle", "floating operands"),
    Op.EQ: _CMP, Op.LT: _CMP,
    Op.BITWISE_AND: _BIN, Op.BITWISE_OR: _BIN, Op.BITWISE_XOR: _BIN,
    Op.ABS: _UN, Op.EXP: _UNF, Op.LOG: _UNF, Op.LOG1P: _UNF, Op.EXPM1: _UNF, Op.SQRT: _UNF,
    Op.SIN: _UNF, Op.COS: _UNF, Op.TANH: _UNF, Op.FLOOR: _UNF, Op.ERF: _UNF,
    Op.WHERE: KernelSig("cond, a, b", "handle", "cond: bool handle; a, b: one dtype, handles "
                        "or scalars; all three broadcast together"),
    Op.CAST: KernelSig("x, dtype", "new handle of mbtorch dtype `dtype`",
                       "float to int truncates toward zero; to bool is x != 0"),
    Op.SUM: _RED, Op.PROD: _RED,
    Op.AMAX: KernelSig(_RED.params, _RED.returns, "NaN propagates; reduced size is never 0"),
    Op.MATMUL: KernelSig("a, b", "handle (..., M, N)", "a: (..., M, K), b: (..., K, N), same "
                         "batch shape (possibly stride-0), same dtype, ndim >= 2"),
    Op.GATHER: KernelSig("x, dim, index", "handle shaped like index", "index: int64, same ndim "
                         "as x; out-of-range values raise plugin_api.index_error()"),
    Op.SCATTER: KernelSig("x, dim, index, src, reduce", "new handle shaped like x",
                          "src shaped like index; reduce is 'none' or 'add'; bounds as GATHER"),
    Op.NONZERO: KernelSig("x", "int64 handle (n, x.ndim)", "row-major order"),
    Op.SORT: KernelSig("x, dim, descending", "(values, int64 indices)",
                       "stable; NaN sorts above +inf"),
    Op.COPY_: KernelSig("dst, src", "None", "writes src into dst in place (dst may be a view); "
                        "src: handle of dst's dtype broadcastable to dst, or a scalar"),
    Op.AS_STRIDED: KernelSig("root, shape, strides, offset", "view handle",
                             "a view of root's storage; strides and offset in elements, "
                             "relative to root's first element, never negative"),
    Op.IOTA: KernelSig("n, device_index", "int64 handle [0, 1, ..., n-1]"),
    Op.PHILOX: KernelSig("seed, offset, n, device_index", "int64 handle of n uint32 words",
                         "Philox4x32-10; the exact stream is plugin_api.philox_words"),
}


# Optional in-place variants a backend may register (``BackendSpec.inplace_kernels``) to
# write an elementwise result straight into its destination: ``x.add_(y)``, the optimizers'
# updates, gradient accumulation. Without one, an in-place op computes out of place and
# copies the result in (``copy_``), which is always correct, just two passes instead of one.
# The core only calls these with grad mode off or nothing requiring grad (autograd records the
# generic path), a floating destination of the result's dtype and shape, and ``b`` already
# checked to broadcast to it.
INPLACE: dict[Op, KernelSig] = {
    op: KernelSig("out, a, b", "None", "writes op(a, b) into the handle out (possibly a view; "
                  "a is out itself, b may overlap it or be a scalar); must equal the "
                  "out-of-place kernel's result")
    for op in (Op.ADD, Op.MUL, Op.DIV, Op.SUB)
}


# Native kernels for composites (optional, ``BackendSpec.kernels``): the core calls one with
# the decomposition's arguments, handles in place of tensors (``define``'s function is the
# reference implementation), after the same meta rule as the primitives. Returned handles are
# new and never alias the inputs, except where the notes say *view* (then, as AS_STRIDED, a
# view of the input's storage). tests/core/test_kernel_signatures.py checks every composite is
# listed with the decomposition's arity and the cpu kernels against it.
_RED_C = KernelSig("x, dims, keepdim", "handle of x's dtype", "dims as SUM's")
_ARG = KernelSig("x, dim, keepdim", "int64 handle", "one dim, its size never 0; the first "
                 "index of the extreme value, NaN counting as the extreme")
_SCAN = KernelSig("x, dim", "handle of x's dtype", "x already in the output dtype")
_SOFT = KernelSig("x, dim", "handle of x's dtype", "x floating; float16/bfloat16 computed in "
                  "float32 and rounded once")
_VIEW = "view of x's storage (as AS_STRIDED)"
_TRI = KernelSig("x, diagonal", "handle of x's dtype", "x: (..., M, N); keeps the triangle")
_LA = "floating (*, n, n) operands, any batch shape *"

COMPOSITE_KERNELS: dict[Op, KernelSig] = {
    Op.SUB: _BIN, Op.MINIMUM: PRIMITIVES[Op.MAXIMUM], Op.NE: _CMP, Op.LE: _CMP, Op.GT: _CMP,
    Op.GE: _CMP, Op.REMAINDER: KernelSig("a, b", "handle", "Python's modulo (sign of b); "
                                         "integer division by zero as FLOOR_DIVIDE"),
    Op.LOGICAL_AND: KernelSig("a, b", "bool handle", "bool handles (the core converts); "
                              "either may be a scalar"),
    Op.LOGICAL_OR: KernelSig("a, b", "bool handle", "as LOGICAL_AND"),
    Op.LOGICAL_XOR: KernelSig("a, b", "bool handle", "as LOGICAL_AND"),
    **{op: _UN for op in (Op.NEG, Op.BITWISE_NOT, Op.SIGN, Op.RELU, Op.SQUARE)},
    Op.LOGICAL_NOT: KernelSig("x", "bool handle"),
    **{op: KernelSig("x", "bool handle", "x floating") for op in (Op.ISNAN, Op.ISINF,
                                                                  Op.ISFINITE)},
    **{op: _UNF for op in (Op.EXP2, Op.LOG2, Op.LOG10, Op.RSQRT, Op.TAN, Op.ASIN, Op.ACOS,
                           Op.ATAN, Op.SINH, Op.COSH, Op.SIGMOID, Op.CEIL, Op.ROUND, Op.TRUNC,
                           Op.RECIPROCAL, Op.ERFINV)},
    Op.CLAMP: KernelSig("x, lo, hi", "handle of x's dtype", "lo, hi: handles, scalars or None; "
                        "max(x, lo) then min(., hi); NaN propagates"),
    Op.NAN_TO_NUM: KernelSig("x, nan, posinf, neginf", "handle of x's dtype",
                             "x floating; the three replacements are scalars of x's type"),
    Op.LERP: KernelSig("start, end, weight", "handle", "weight: handle or scalar; PyTorch's "
                       "two-sided formula (exact at weight 1)"),
    Op.AMIN: KernelSig(_RED.params, _RED.returns, PRIMITIVES[Op.AMAX].notes),
    Op.ARGMAX: _ARG, Op.ARGMIN: _ARG,
    Op.MEAN: KernelSig(_RED.params, _RED.returns, "x floating; reduced size 0 gives NaN"),
    Op.VAR: KernelSig("x, dims, correction, keepdim", "handle of x's dtype",
                      "x floating; divides by N - correction (int or float)"),
    Op.LOGSUMEXP: KernelSig(_RED.params, _RED.returns, "x floating; stable for large x "
                            "(subtracts the maximum); reduced size 0 gives -inf"),
    Op.SOFTMAX: _SOFT, Op.LOG_SOFTMAX: _SOFT, Op.CUMSUM: _SCAN, Op.CUMPROD: _SCAN,
    Op.ANY: KernelSig(_RED.params, "bool handle", "dims as SUM's"),
    Op.ALL: KernelSig(_RED.params, "bool handle", "dims as SUM's"),
    Op.VECTOR_NORM: KernelSig("x, dims, ord, keepdim", "handle of x's dtype", "x floating; "
                              "ord a float: inf, -inf, 0 (count of non-zeros), 1, 2, other"),
    Op.VIEW: KernelSig("x, shape, strides", _VIEW, "strides: the view's, or None for "
                       "row-major"),
    Op.PERMUTE: KernelSig("x, dims", _VIEW), Op.EXPAND: KernelSig("x, shape", _VIEW),
    Op.SLICE: KernelSig("x, dim, start, stop, step", _VIEW, "0 <= start <= stop, step >= 1"),
    Op.SELECT: KernelSig("x, dim, index", _VIEW, "index non-negative, in range"),
    Op.DIAGONAL: KernelSig("x, offset, dim1, dim2", _VIEW),
    Op.UNFOLD: KernelSig("x, dim, size, step", _VIEW, "windows as the last dim"),
    Op.CONTIGUOUS: KernelSig("x", "new row-major handle of x's values"),
    Op.FULL: KernelSig("shape, value, dtype, device", "new handle", "value: scalar of dtype's "
                       "type; device: the mbtorch device"),
    Op.CAT: KernelSig("*tensors, dim", "new handle", "one dtype and rank; dim non-negative"),
    Op.FLIP: KernelSig("x, dims", "new handle of x's dtype", "dims: tuple of non-negative ints"),
    Op.TRIL: _TRI, Op.TRIU: _TRI,
    Op.INDEX_SELECT: KernelSig("x, index, dim", "new handle", "index: int64, in range, "
                               "non-negative"),
    Op.MASKED_FILL: KernelSig("x, mask, value", "new handle of x's dtype",
                              "mask: bool handle broadcast to x; value: scalar or 0-d handle"),
    Op.INDEX: KernelSig("x, index, dims", "new handle", "advanced indexing; index: int64 "
                        "(len(dims), *B), in range, non-negative"),
    Op.INDEX_PUT: KernelSig("x, index, values, dims, accumulate", "new handle shaped like x",
                            "index as INDEX's; values shaped as INDEX's result; accumulate adds "
                            "(repeated indices add up)"),
    Op.CONSTANT_PAD: KernelSig("x, pad, value", "new handle", "pad: non-negative (before, "
                               "after) per dim, first dim first"),
    Op.IM2COL: KernelSig("x, kernel, dilation, stride", "(N, C*prod(kernel), L) handle",
                         "x: (N, C, *spatial), padded by the caller"),
    Op.COL2IM: KernelSig("cols, spatial, kernel, dilation, stride", "(N, C, *spatial) handle",
                         "overlaps summed (float16/bfloat16 in float32)"),
    Op.MAX_POOL: KernelSig("x, kernel, stride, padding, dilation, ceil_mode",
                           "(values, int64 indices)", "indices: flat positions in the unpadded "
                           "input's spatial dims; NaN wins"),
    Op.CHOLESKY: KernelSig("A", "(L, int32 info)", _LA + "; LAPACK potrf's info"),
    Op.LU_FACTOR: KernelSig("A", "(LU, int32 pivots)", "(*, m, n); 1-based row swaps (getrf)"),
    Op.TRIANGULAR_SOLVE: KernelSig("A, B, upper, unitriangular", "X with A X = B",
                                   "only A's named triangle is read"),
    Op.LINALG_SOLVE: KernelSig("A, B", "(X, int32 info)", _LA + "; B (*, n, k)"),
    Op.SLOGDET: KernelSig("A", "(sign, logabsdet)", _LA + "; singular: 0 and -inf"),
    Op.QR: KernelSig("A, mode", "(Q, R)", "Householder with LAPACK's signs; mode 'reduced', "
                     "'complete' or 'r' (Q empty, shape (0,))"),
    Op.GEQRF: KernelSig("A", "(a, tau)", "LAPACK geqrf's compact form"),
    Op.LDL_FACTOR: KernelSig("A", "(LD, int32 pivots, int32 info)", "Bunch-Kaufman (sytrf)"),
    Op.VIEW_AS_REAL: KernelSig("x", _VIEW + ", real dtype, trailing dim 2"),
    Op.VIEW_AS_COMPLEX: KernelSig("x", _VIEW + ", complex dtype", "x's last dim 2, stride 1"),
    Op.CONJ_PHYSICAL: KernelSig("x", "new handle of x's dtype", "x complex"),
    Op.FFT: KernelSig("x, dim, inverse", "complex handle", "unnormalised DFT along dim "
                      "(the caller scales)"),
    Op.EIGH: KernelSig("A, uplo", "(eigenvalues, eigenvectors)", "only the uplo ('L'/'U') "
                       "triangle is read; ascending eigenvalues"),
    Op.SVD: KernelSig("A, full_matrices", "(U, S, Vh)", "S descending"),
    Op.CONVOLUTION: KernelSig("x, weight, stride, padding, dilation, groups",
                              "(N, O, *out_spatial) handle",
                              "x: (N, C, *spatial), weight: (O, C / groups, *kernel), one "
                              "floating dtype; padding: (before, after) zeros per spatial dim; "
                              "no bias"),
    Op.QUANTIZE: KernelSig("x, scale, zero_point, axis, storage", "handle of storage dtype",
                           "x float32; scale float32 (0-d, or 1-d float32/float64 along axis), "
                           "zero_point int64 alike; round(x * (1/scale) + zero_point) half "
                           "to even as one fused multiply-add rounded to float32 (int32: the "
                           "float32 product plus zero_point), clamped to storage's range"),
    Op.DEQUANTIZE: KernelSig("v, scale, zero_point, axis", "float32 handle",
                             "(v - zero_point) * scale in scale's dtype, rounded to float32"),
    Op.FAKE_QUANTIZE: KernelSig("x, scale, zero_point, axis, quant_min, quant_max",
                                "handle of x's dtype",
                                "(clamp(round(x * (1/scale)) + zero_point, quant_min, "
                                "quant_max) - zero_point) * scale; the float32 product rounded "
                                "half to even"),
}
# Destination-passing variants (``BackendSpec.out_kernels``, ``kernel(out, *args)``) are a
# separate table, open to any op whose kernel returns one new handle: compiled replays write
# results into buffers they reuse (``mbtorch.graph.buffers``); eager execution never calls them.


@dataclass(frozen=True)
class OpDef:
    """One op: its kind and, for a composite, its decomposition into other ops."""

    op: Op
    decomposition: Callable | None = None

    @property
    def is_primitive(self) -> bool:
        return self.op in PRIMITIVES


OPS: dict[Op, OpDef] = {op: OpDef(op) for op in PRIMITIVES}


def define(op: Op, decomposition: Callable | None = None) -> Callable:
    """Register a composite op's decomposition; usable as a decorator."""

    def register(fn: Callable) -> Callable:
        if not isinstance(op, Op):
            raise TypeError(f"define(): {op!r} is not an Op member")
        if op in PRIMITIVES:
            raise ValueError(f"define(): {op.name} is a primitive; it has no decomposition")
        if op in OPS:
            raise ValueError(f"define(): {op.name} is defined twice")
        OPS[op] = OpDef(op, fn)
        return fn

    return register(decomposition) if decomposition is not None else register
