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

__all__ = ["Op", "KernelSig", "PRIMITIVES", "INPLACE", "OpDef", "OPS", "define"]


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
