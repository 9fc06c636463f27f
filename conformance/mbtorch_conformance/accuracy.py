"""Accuracy classes: how many ULPs each op may be off, per dtype, and where the absolute floor
near zero starts. ``tolerance_for`` turns an entry's class into the ``UlpTolerance`` (or, for
normwise linear algebra, the ``(rtol, atol)``) a sample is judged by.

The measured error is the distance to the float64 reference rounded to the output dtype, so
an answer within ``b`` ULPs of the exact value is within ``b`` of the rounded reference
(both lie on the dtype's grid), and a correctly rounded answer is 0 off.

- ``exact``: correctly rounded or exact ops (add, sub, mul, div, sqrt, comparisons, casts,
  abs/neg, min/max, where, copies, views, indexing): 0 ULP. PyTorch computes float16 and
  bfloat16 in float32 and rounds once, which is correctly rounded for these ops (float32 has
  more than twice their precision plus two bits), and IEEE div/sqrt are correctly rounded on
  CPU and on CUDA (its default ``-prec-div``/``-prec-sqrt``), except PyTorch's own CPU float32
  sqrt (SLEEF's 0.5001-ULP vector loop), 1 ULP off now and then: float32 sqrt allows 1.
  ``floor_divide`` and ``remainder`` are floor(a / b) and a - b * floor(a / b) in PyTorch, not
  correctly rounded: composites.
- ``transcendental``: the per-function bounds of the CUDA C++ Programming Guide's tables of
  maximum ULP error ("Mathematical Functions" appendix), raised where the reference backend
  (NumPy's SIMD float32 loops) measures more, and never above the OpenCL C specification's
  full-profile bounds (section 7.4, "Relative Error as ULPs"). float16/bfloat16: 1 ULP
  (computed in float32, rounded once: at most one step away when float32's result sits next to
  a rounding boundary). Where a backend runs the core's decomposition of one (log10 as
  log(x) / ln 10, asin through atan2), the decomposition's steps are added up instead, as a
  composite's: a backend is not failed for the core's formula. float64's reference is NumPy's
  float64 itself, whose libm is about a ULP off too: float64 bounds are CUDA's double ones,
  which cover that where measured.
- ``composite``: several rounded steps (softmax, lerp, reductions, matmul): the bound is the
  steps' bounds added up, and where that is loose or the steps are the backend's choice (the
  order of a sum), what ``cpu``, ``mini`` and ``opencl`` (PoCL and a second driver) measure
  on the standard tier, with a margin; each says which.
- ``normwise``: linear algebra and FFT, whose error bounds are normwise and scale with a
  condition number, not elementwise: judged by the entry's ``tol`` (rtol, atol) as before.

The floor: every class allows an absolute error of the smallest normal number near zero (a
backend may flush subnormals). A composite whose rounding errors scale with its inputs
(cancellation in ``a + w * (b - a)``, ``x - logsumexp(x)``, a sum of mixed signs) has
``floor = k * eps * scale [* sqrt(n)]`` (``eps`` float32's for float16 and bfloat16, which
PyTorch computes in float32): ``scale`` the largest finite input magnitude of the
sample, ``n`` the longest accumulation an output depends on (at least input
numel / output numel and the longest input dimension), grown as sqrt(n) as rounding errors of
n terms do on average. The ULP bound of such a class grows by 2 log2(n) ULPs of the compute
dtype: the worst case of a pairwise or tree sum of n terms, as PyTorch's CPU (cascade sums) and
CUDA (tree reductions) compute them (the order is the backend's; a sequential float32 sum of
thousands of terms is less accurate than PyTorch and fails). For float16 and bfloat16,
accumulated in float32, that is a fraction of their ULP. The floor applies only below
``floor / (ulp * eps)`` (see ``tolerances.py``), where an error that size is more than ``ulp``
ULPs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

import numpy as np

import mbtorch as mt
from mbtorch.core.op import Op

from .db import Entry
from .samples import Sample
from .tolerances import UlpTolerance, tolerance, ulp_tolerance

__all__ = ["Accuracy", "EXACT", "SQRT", "NORMWISE", "BY_OP", "BY_NAME", "accuracy",
           "tolerance_for", "accumulation_length"]

_F16, _BF16, _F32, _F64 = mt.float16, mt.bfloat16, mt.float32, mt.float64


@dataclass(frozen=True)
class Accuracy:
    """An op's accuracy class: allowed ULPs per floating dtype (``None``: normwise, judged by
    the entry's rtol/atol) and the floor near zero (``k * eps * scale [* sqrt(n)]``)."""

    kind: str  # exact | transcendental | composite | normwise
    ulps: Mapping | None
    k: float = 0.0
    grows: bool = False  # bound and floor grow with the accumulation length
    why: str = ""
    decomposed: Mapping | None = None  # ULPs when run as the core's decomposition


def _u(f32: int, f64: int, half: int = 1) -> dict:
    return {_F16: half, _BF16: half, _F32: f32, _F64: f64}


def _t(f32: int, f64: int, why: str, decomposed: tuple | None = None) -> Accuracy:
    return Accuracy("transcendental", _u(f32, f64), why=why,
                    decomposed=_u(*decomposed) if decomposed else None)


def _c(ulps: dict, why: str, k: float = 0.0, grows: bool = False) -> Accuracy:
    return Accuracy("composite", ulps, k, grows, why)


EXACT = Accuracy("exact", _u(0, 0, 0), why="correctly rounded or exact")
# PyTorch's own CPU float32 sqrt (SLEEF's 0.5001-ULP vector sqrt) is 1 off now and then
SQRT = Accuracy("exact", _u(1, 0, 0), why="correctly rounded; PyTorch's CPU float32: 1")
NORMWISE = Accuracy("normwise", None, why="normwise error bound (condition number): rtol/atol")

# float32 / float64 bounds: "CUDA a/b" = the CUDA guide's single/double maximum ULP error,
# "OpenCL c" = the OpenCL C full-profile float bound; "cpu m" = what NumPy's loops measure.
_TRANSCENDENTAL = {
    Op.EXP: _t(2, 1, "CUDA 2/1; OpenCL 3"),
    Op.EXP2: _t(2, 1, "CUDA 2/1; OpenCL 3"),
    Op.EXPM1: _t(2, 1, "CUDA 1/1, cpu 2; OpenCL 3"),
    Op.LOG: _t(2, 1, "CUDA 1/1, cpu 2; OpenCL 3"),
    # decomposed: the core's log(x) / ln(b): log's 2, ln(b)'s and the division's roundings
    Op.LOG2: _t(3, 2, "CUDA 1/1, cpu 2; OpenCL 3", decomposed=(4, 3)),
    Op.LOG10: _t(3, 2, "CUDA 2/1; OpenCL 3", decomposed=(4, 3)),
    Op.LOG1P: _t(1, 1, "CUDA 1/1; OpenCL 2"),
    Op.SIN: _t(2, 2, "CUDA 2/2; OpenCL 4"),
    Op.COS: _t(2, 2, "CUDA 2/2; OpenCL 4"),
    Op.TAN: _t(4, 2, "CUDA 4/2; OpenCL 4"),
    Op.SINH: _t(3, 2, "CUDA 3/2; OpenCL 4"),
    Op.COSH: _t(2, 1, "CUDA 2/1; OpenCL 4"),
    Op.TANH: _t(2, 1, "CUDA 2/1; OpenCL 4"),
    # decomposed: atan2(x, sqrt((1 - x)(1 + x))) and friends: atan2's 3 and a rounding
    Op.ASIN: _t(2, 2, "CUDA 2/2; OpenCL 4", decomposed=(4, 3)),
    Op.ACOS: _t(2, 2, "CUDA 2/2; OpenCL 4", decomposed=(4, 3)),
    Op.ATAN: _t(2, 2, "CUDA 2/2; OpenCL 5", decomposed=(4, 3)),
    Op.ATAN2: _t(3, 2, "CUDA 3/2; OpenCL 6"),
    Op.ERF: _t(2, 2, "CUDA 2/2; OpenCL 16"),
    Op.ERFINV: _t(2, 5, "CUDA 2/5 (no OpenCL builtin)"),
    Op.POW: _t(4, 2, "CUDA 4/2; OpenCL 16"),
    Op.RSQRT: _t(2, 1, "CUDA 2/1; OpenCL 2"),
    Op.SIGMOID: _t(3, 2, "1 / (1 + exp(-x)) as CUDA's PyTorch kernel: exp's 2 + 1 rounding"),
}

_EXACT_OPS = (
    Op.ADD, Op.SUB, Op.MUL, Op.DIV, Op.MAXIMUM, Op.MINIMUM, Op.EQ, Op.LT, Op.NE,
    Op.LE, Op.GT, Op.GE, Op.ABS, Op.NEG, Op.SIGN, Op.FLOOR, Op.CEIL, Op.ROUND, Op.TRUNC,
    Op.RELU, Op.RECIPROCAL, Op.SQUARE, Op.CLAMP, Op.NAN_TO_NUM, Op.WHERE, Op.CAST, Op.AMAX,
    Op.AMIN, Op.ARGMAX, Op.ARGMIN, Op.GATHER, Op.SCATTER, Op.NONZERO, Op.SORT, Op.COPY_,
    Op.QUANTIZE, Op.DEQUANTIZE, Op.FAKE_QUANTIZE,
    Op.AS_STRIDED, Op.IOTA, Op.PHILOX, Op.VIEW, Op.PERMUTE, Op.EXPAND, Op.SLICE, Op.SELECT,
    Op.DIAGONAL, Op.UNFOLD, Op.CONTIGUOUS, Op.FULL, Op.CAT, Op.FLIP, Op.TRIL, Op.TRIU,
    Op.INDEX_SELECT, Op.MASKED_FILL, Op.INDEX, Op.INDEX_PUT, Op.CONSTANT_PAD, Op.IM2COL,
    Op.MAX_POOL, Op.VIEW_AS_REAL, Op.VIEW_AS_COMPLEX, Op.CONJ_PHYSICAL, Op.ANY, Op.ALL,
    Op.ISNAN, Op.ISINF, Op.ISFINITE, Op.LOGICAL_NOT, Op.LOGICAL_AND, Op.LOGICAL_OR,
    Op.LOGICAL_XOR, Op.BITWISE_AND, Op.BITWISE_OR, Op.BITWISE_XOR, Op.BITWISE_NOT,
)

_NORMWISE_OPS = (Op.CHOLESKY, Op.LU_FACTOR, Op.TRIANGULAR_SOLVE, Op.LINALG_SOLVE, Op.SLOGDET,
                 Op.QR, Op.GEQRF, Op.LDL_FACTOR, Op.EIGH, Op.SVD, Op.FFT)

_SUMS = "cpu (pairwise) and opencl (tree) measure 6-8 below 64 terms"
_COMPOSITE = {
    Op.FLOOR_DIVIDE: _c(_u(1, 1, 1), "floor(a / b): the division's rounding can cross an "
                        "integer (PyTorch's CPU float16 is 1 off)"),
    Op.REMAINDER: _c(_u(0, 0, 0), "a - b * floor(a / b): cancellation, absolute near zero",
                     k=2),
    Op.LERP: _c(_u(2, 2, 1), "a + w * (b - a): three roundings; cancellation near zero", k=4),
    Op.SUM: _c(_u(8, 8, 1), _SUMS, k=4, grows=True),
    Op.MEAN: _c(_u(8, 8, 1), _SUMS + "; then one division", k=4, grows=True),
    Op.CUMSUM: _c(_u(8, 8, 1), _SUMS, k=4, grows=True),
    Op.PROD: _c(_u(8, 8, 1), "n roundings of a product: cpu/opencl measure 3", k=4,
                grows=True),
    Op.CUMPROD: _c(_u(8, 8, 1), "n roundings of a product", k=4, grows=True),
    Op.VAR: _c(_u(8, 8, 1), "two passes of sums; cancellation for near-constant data", k=8,
               grows=True),
    Op.VECTOR_NORM: _c(_u(4, 4, 1), "a sum of powers then a root: the sum's error halved, "
                       "pow's 2", k=4, grows=True),
    Op.LOGSUMEXP: _c(_u(4, 4, 1), "max + log(sum(exp(x - max))): exp 2, sum, log 1", k=4,
                     grows=True),
    Op.SOFTMAX: _c(_u(8, 16, 1), "exp(x - max) / sum: exp 2, the sum's relative error, div 0 "
                   "(no cancellation: no floor); cpu/opencl measure 6 below 64 terms. float64: "
                   "the reference, exp(log_softmax), is itself |log p| ULPs off",
                   grows=True),
    Op.LOG_SOFTMAX: _c(_u(4, 4, 1), "x - max - log(sum): cancellation near zero", k=4,
                       grows=True),
    Op.MATMUL: _c(_u(8, 8, 1), "dot products: sums of n products", k=4, grows=True),
    Op.COL2IM: _c(_u(8, 8, 1), "sums of overlapping patches", k=4, grows=True),
    Op.CONVOLUTION: _c(_u(8, 8, 1), "dot products of C/groups * prod(kernel) terms", k=4,
                       grows=True),
}

BY_OP: dict = {**{op: EXACT for op in _EXACT_OPS}, **{op: NORMWISE for op in _NORMWISE_OPS},
               **_TRANSCENDENTAL, **_COMPOSITE, Op.SQRT: SQRT}

# entries whose spelling computes more than their Op's primitive
BY_NAME: dict = {
    "scatter_add": _c(_u(8, 8, 1), "sums of the scattered values", k=4, grows=True),
}


def accuracy(entry: Entry) -> Accuracy:
    """The entry's accuracy class (by name, else by its ``Op``)."""
    acc = BY_NAME.get(entry.name) or BY_OP.get(entry.op)
    if acc is None:
        raise LookupError(f"accuracy: entry {entry.name!r} ({entry.op.name}) has no accuracy "
                          "class: add its Op to mbtorch_conformance/accuracy.py")
    return acc


# ops whose terms per output element the generic estimate below cannot see
_TERMS = {
    # a convolution's output element sums one output channel's weights times a window
    Op.CONVOLUTION: lambda ins: ins[1].size // max(ins[1].shape[0], 1) if len(ins) > 1 else 1,
}


def accumulation_length(sample: Sample, outputs: list[np.ndarray],
                        op: Op | None = None) -> int:
    """The longest accumulation an output element can depend on: at least input numel over
    output numel, and the longest dimension of any input (``op``'s own count where known)."""
    ins = sample.tensors()
    n_in = max((a.size for a in ins), default=1)
    n_out = max(outputs[0].size if outputs else 1, 1)
    longest = max((max(a.shape, default=1) for a in ins), default=1)
    terms = _TERMS[op](ins) if op in _TERMS else 1
    return max(1, n_in // n_out, longest, terms)


def _magnitude(args: list) -> float:
    """The largest finite magnitude among the floating tensors and Python numbers of a
    sample (index and mask tensors are not values)."""
    top = 0.0
    for a in args:
        if isinstance(a, bool) or not isinstance(a, (np.ndarray, int, float)):
            continue
        v = np.asarray(a)
        if isinstance(a, np.ndarray) and v.dtype.kind != "f" and v.dtype.name != "bfloat16":
            continue
        v = v.astype(np.float64)
        v = v[np.isfinite(v)]
        if v.size:
            top = max(top, float(np.abs(v).max()))
    return top


def _compute_dtype(dtype: mt.dtype) -> mt.dtype:
    """PyTorch computes float16 and bfloat16 in float32: cancellation errors are float32's."""
    return _F32 if dtype in (_F16, _BF16) else dtype


def tolerance_for(entry: Entry, dtype: mt.dtype, sample: Sample, expected: list[np.ndarray],
                  native: bool = True) -> UlpTolerance | tuple[float, float]:
    """How one sample's floating output of dtype ``dtype`` is judged; ``native=False``: the
    backend runs the core's decomposition of the op, judged by its steps' bounds added up."""
    acc = accuracy(entry)
    if not dtype.is_floating_point:
        return (0.0, 0.0)  # integer and bool results are exact
    if acc.ulps is None:
        return tolerance(dtype, entry.tol)
    eps, compute_eps = float(mt.finfo(dtype).eps), float(mt.finfo(_compute_dtype(dtype)).eps)
    n = accumulation_length(sample, expected, entry.op) if acc.grows else 1
    # a tree or pairwise sum of n terms: 2 log2(n) of the compute dtype's ULPs at worst
    ulps = acc.decomposed if acc.decomposed and not native else acc.ulps
    ulp = ulps[dtype] + int(2 * math.log2(n) * compute_eps / eps)
    floor = acc.k * compute_eps * _magnitude(list(sample.args)) * math.sqrt(n)
    return ulp_tolerance(dtype, ulp, floor)
