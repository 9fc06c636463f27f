"""Reductions, scans and normalisations, against NumPy in float64.

Besides the short cases every entry has long ones (``long_reduce``, ``long_scan``): lengths just
past each power-of-two block size up to 2**16 + 1 (and just below, in the full tier), over all
dims, a non-last dim and a dim tuple, so a kernel that loses a partial block or the carry
between blocks fails. Their values are chosen so that the right answer does not depend on the
summation order (exact ``grid`` sums and norms, exact ``pow2`` products, positive data for the
variance): any correct blocking passes.
Numerically hard values (``samples.HARD_KINDS``), one kind per sample, meet the softmax family
(exponents that overflow), the variance (a large mean) and the sums (cancelling pairs)."""

from __future__ import annotations

import numpy as np

import mbtorch as mt
from mbtorch.core.op import Op

from ..samples import LONG_FULL, LONG_STD, Index, Sp, Vals, case
from . import ALL, FLOATS, NUMERIC, Bad, Entry

__all__ = ["REDUCE", "NONEMPTY", "DIM_REQUIRED", "ONE_DIM", "BAD_DIM", "long_reduce",
           "long_scan", "hard_rows", "ENTRIES"]

_STD, _FULL = ("standard", "full"), ("full",)


def long_reduce(kind: str, tuples: bool = True) -> list:
    """Long reductions of ``kind`` values: every length of ``LONG_STD`` (standard tier) and
    ``LONG_FULL`` (full) over all dims, then over a non-last dim, the last dim (keepdim) and,
    with ``tuples``, a dim tuple."""
    out = [case(Vals((n,), kind), tiers=_STD if n in LONG_STD else _FULL)
           for n in LONG_STD + LONG_FULL]
    out += [case(Vals((257, 3), kind), dim=0, tiers=_STD),
            case(Vals((3, 4097), kind), dim=1, keepdim=True, tiers=_STD),
            case(Vals((1023, 2), kind), dim=0, tiers=_FULL)]
    if tuples:
        out += [case(Vals((17, 65, 3), kind), dim=(0, 1), tiers=_STD),
                case(Vals((2, 1025, 3), kind), dim=(0, 2), tiers=_FULL)]
    return out


# the extreme in the last element, past any block or work group (the maximum's place in
# ``real`` values is left to chance)
_RISING = [case(Vals((65537,), "rising"), tiers=_STD),
           case(Vals((2, 4097), "rising"), dim=1, tiers=_STD)]


def long_scan(kind: str, rows: tuple = (1025, 4097)) -> list:
    """Scans and softmax-like ops (one explicit dim) at the long lengths, then along a non-last
    dim of ``rows[0]`` and the last dim of ``rows[1]`` (3 of each)."""
    out = [case(Vals((n,), kind), dim=0, tiers=_STD if n in LONG_STD else _FULL)
           for n in LONG_STD + LONG_FULL]
    return out + [case(Vals((rows[0], 3), kind), dim=0, tiers=_STD),
                  case(Vals((3, rows[1]), kind), dim=-1, tiers=_STD)]


# softmax's answer carries its sum's rounding: a correct sum of n terms in order (NumPy's, down
# a strided dim) is ~sqrt(n) ULPs off, so the 2-d rows, which the transposed and strided
# layouts sum that way, stay shorter (still past 256 and 1024); the 1-d rows reach 2**16 + 1
_SOFT_ROWS = (257, 1025)


def hard_rows(kinds: tuple, **kw) -> list:
    """One sample per hard kind, rows of 33 (dim 1), and the first kind down a non-last dim."""
    return [case(Vals((3, 33), k), dim=1, tiers=_STD, **kw) for k in kinds] + [
        case(Vals((65, 2), kinds[0]), dim=0, tiers=_STD, **kw)]


_EXP_HARD = ("large", "large_pos", "large_neg", "huge", "tiny")
REDUCE = [
    case((3, 4)), case((3, 4), dim=0), case((3, 4), dim=1, keepdim=True), case(()),
    case((2, 3, 4), dim=(0, 2)), case((2, 3, 4), dim=-1, keepdim=True, tiers=_STD),
    case((0,), tiers=_STD), case((2, 0, 3), dim=1, tiers=_STD),
    case((33, 17), dim=0, tiers=_STD), case((5,), dim=0, keepdim=True, tiers=_STD),
    case((4, 5, 6), dim=(1,), keepdim=True, tiers=("full",)), case((6, 1), dim=1),
]
NONEMPTY = [c for c in REDUCE if 0 not in c.args[0]]  # amax/argmax refuse empty reductions
DIM_REQUIRED = [  # softmax, cumsum, ...: an explicit dim
    case((3, 4), dim=0), case((3, 4), dim=1), case((), dim=0), case((7,), dim=0),
    case((2, 3, 4), dim=-1), case((2, 3, 4), dim=1, tiers=_STD), case((0, 3), dim=1, tiers=_STD),
    case((33, 17), dim=1, tiers=_STD), case((5, 1), dim=1, tiers=_STD), case(Sp(), dim=0),
]
ONE_DIM = [c for c in REDUCE if not isinstance(c.kwargs.get("dim"), tuple)]
BAD_DIM = Bad(((2, 3),), {"dim": 2}, IndexError, "dim 2 of a 2-d tensor")


def _axis(x, dim):
    if dim is None:
        return None
    return tuple(d % max(x.ndim, 1) for d in dim) if isinstance(dim, tuple) else dim % max(
        x.ndim, 1)


def _red(fn):
    def ref(x, dim=None, keepdim=False, **kw):
        if x.ndim == 0:
            return fn(x, axis=None, **kw)
        return fn(x, axis=_axis(x, dim), keepdims=keepdim, **kw)

    return ref


def _arg(fn):
    def ref(x, dim=None, keepdim=False):
        if dim is None or x.ndim == 0:
            r = fn(x.reshape(-1))
            return np.reshape(r, (1,) * x.ndim) if keepdim else np.asarray(r)
        r = fn(x, axis=dim)
        return np.expand_dims(r, dim) if keepdim else r

    return ref


def _scan(fn):
    return lambda x, dim: fn(x, axis=dim % x.ndim) if x.ndim else x


def _logsumexp(x, dim, keepdim=False):
    if x.ndim == 0:
        return x
    return np.logaddexp.reduce(x, axis=_axis(x, dim), keepdims=keepdim)


def _log_softmax(x, dim):
    if x.ndim == 0:
        return np.zeros_like(x)
    m = np.max(x, axis=dim % x.ndim, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    return x - m - np.log(np.sum(np.exp(x - m), axis=dim % x.ndim, keepdims=True))


def _softmax(x, dim):
    """In extended precision where the platform has it: ``exp(log_softmax)`` in float64 is
    |log p| float64 ULPs off, more than the float64 answer may be."""
    if x.ndim == 0:
        return np.ones_like(x)
    d = dim % x.ndim
    z = np.asarray(x, np.longdouble)
    m = np.max(z, axis=d, keepdims=True)
    e = np.exp(z - np.where(np.isfinite(m), m, 0.0))
    return (e / np.sum(e, axis=d, keepdims=True)).astype(np.float64)


def _var(x, dim=None, keepdim=False, correction=1):
    if x.ndim == 0:
        return np.asarray(np.nan if correction else 0.0)
    n = x.size if dim is None else int(np.prod([x.shape[d] for d in np.atleast_1d(dim)]))
    v = np.var(x, axis=_axis(x, dim), keepdims=keepdim) * n
    with np.errstate(divide="ignore", invalid="ignore"):
        return v / max(n - correction, 0)


def _cross_entropy(x, target, reduction="mean"):
    cd = 0 if x.ndim == 1 else 1
    picked = -np.take_along_axis(_log_softmax(x, cd), np.expand_dims(target, cd), cd)
    picked = np.squeeze(picked, cd)
    return picked if reduction == "none" else (
        np.sum(picked) if reduction == "sum" else np.mean(picked))


def _vector_norm(x, ord=2, dim=None, keepdim=False):
    a = np.abs(x)
    if ord == np.inf:
        return _red(np.max)(a, dim, keepdim) if a.size else _red(np.sum)(a, dim, keepdim)
    if ord == -np.inf:
        return _red(np.min)(a, dim, keepdim)
    if ord == 0:
        return _red(np.sum)((a != 0).astype(x.dtype), dim, keepdim)
    return _red(np.sum)(a**ord, dim, keepdim) ** (1.0 / ord)


def _sum_dtype(d: mt.dtype) -> mt.dtype:
    return d if d.is_floating_point else mt.int64


def _any_dtype(d: mt.dtype) -> mt.dtype:
    return mt.uint8 if d is mt.uint8 else mt.bool


# long positive data, and a large mean (``offset``), where the one-pass formula cancels
_VAR_CASES = REDUCE + [
    case((4, 5), dim=1, correction=0), case((6,), correction=2)] + long_reduce("pos") + [
    case(Vals((257,), "offset"), tiers=_STD), case(Vals((3, 65), "offset"), dim=1, tiers=_STD),
    case(Vals((1025, 2), "offset"), dim=0, correction=0, tiers=_STD)]
_ONE_NONEMPTY = [c for c in NONEMPTY if not isinstance(c.kwargs.get("dim"), tuple)]
# pairs that cancel exactly around small integers: every partial sum is exact (samples.py)
_CANCEL = [case(Vals((257,), "cancel"), tiers=_STD),
           case(Vals((4, 129), "cancel"), dim=1, tiers=_STD)]
# logits (batch, classes [, d]) and class indices; the long ones cross a block in classes and
# in the batch, and hard logits (one kind each) overflow a log_softmax without the max shift
CROSS_ENTROPY = [
    case((4, 5), Index((4,), 5)), case((1, 3), Index((1,), 3)), case((7, 2), Index((7,), 2)),
    case((3, 33), Index((3,), 33), tiers=_STD), case((2, 5), Index((2,), 5), reduction="sum"),
    case((6, 4), Index((6,), 4), reduction="none"), case((5, 3, 4), Index((5, 4), 3)),
    case((8, 10), Index((8,), 10)), case((5,), Index((), 5), tiers=_STD),
    case(Vals((2, 4097), "small"), Index((2,), 4097), tiers=_STD),
    case(Vals((1025, 3), "small"), Index((1025,), 3), reduction="sum", tiers=_STD),
] + [case(Vals((4, 33), k), Index((4,), 33), tiers=_STD, reduction="none") for k in _EXP_HARD]
_INT_MEAN = Bad(((3,),), {}, RuntimeError, "mean of an integer tensor", mt.int64)
# PyTorch itself computes these in the input's precision: x - max - log(sum) cancels
_SOFT_TOL = {mt.float32: (1e-5, 1e-5), mt.float16: (1e-3, 1e-3), mt.bfloat16: (1.6e-2, 8e-3)}
ENTRIES = [
    Entry("sum", Op.SUM, "Tensor.sum", _red(np.sum), REDUCE + long_reduce("grid") + _CANCEL,
          ALL, out=_sum_dtype, errors=(BAD_DIM,), specials=True),
    Entry("prod", Op.PROD, "Tensor.prod", _red(np.prod), ONE_DIM + long_reduce("pow2", False),
          ALL, ("small",), out=_sum_dtype, grad_domain="nonzero"),
    Entry("amax", Op.AMAX, "mbtorch.amax", _red(np.max), NONEMPTY + long_reduce("real") + _RISING,
          ALL, grad=False, specials=True,
          errors=(Bad(((0,),), {"dim": 0}, IndexError, "empty reduction"),)),
    Entry("amin", Op.AMIN, "mbtorch.amin", _red(np.min), NONEMPTY + long_reduce("real") + _RISING,
          ALL, grad=False, specials=True),
    Entry("argmax", Op.ARGMAX, "mbtorch.argmax", _arg(np.argmax), _ONE_NONEMPTY + long_reduce(
        "real", False) + _RISING, NUMERIC, out="int64", grad=False),
    Entry("argmin", Op.ARGMIN, "mbtorch.argmin", _arg(np.argmin), _ONE_NONEMPTY + long_reduce(
        "real", False) + _RISING, NUMERIC, out="int64", grad=False),
    Entry("mean", Op.MEAN, "Tensor.mean", _red(np.mean), REDUCE + long_reduce("grid") + _CANCEL,
          FLOATS, errors=(_INT_MEAN,), tol={mt.float32: (1.3e-6, 2e-5)}, specials=True),
    Entry("var", Op.VAR, "Tensor.var", _var, _VAR_CASES, FLOATS, tol={mt.float32: (1e-5, 1e-5)}),
    Entry("logsumexp", Op.LOGSUMEXP, "mbtorch.logsumexp", _logsumexp, DIM_REQUIRED + [
        case((3, 4), dim=(0, 1), keepdim=True)] + long_scan("small") + hard_rows(_EXP_HARD) + [
        case(Vals((17, 65, 3), "large"), dim=(0, 1), keepdim=True, tiers=_STD)], FLOATS,
          tol=_SOFT_TOL),
    Entry("softmax", Op.SOFTMAX, "mbtorch.softmax", _softmax,
          DIM_REQUIRED + long_scan("small", _SOFT_ROWS) + hard_rows(_EXP_HARD), FLOATS,
          tol=_SOFT_TOL),
    Entry("log_softmax", Op.LOG_SOFTMAX, "mbtorch.log_softmax", _log_softmax,
          DIM_REQUIRED + long_scan("small", _SOFT_ROWS) + hard_rows(_EXP_HARD), FLOATS,
          tol=_SOFT_TOL),
    Entry("cross_entropy", Op.LOG_SOFTMAX, "expr:mbtorch.nn.functional.cross_entropy(x0, x1, "
          "**kw)", _cross_entropy, CROSS_ENTROPY, FLOATS, tol=_SOFT_TOL),
    Entry("std", Op.VAR, "Tensor.std", lambda *a, **kw: np.sqrt(_var(*a, **kw)), _VAR_CASES,
          FLOATS, tol={mt.float32: (1e-5, 1e-5)}),
    Entry("cumsum", Op.CUMSUM, "mbtorch.cumsum", _scan(np.cumsum), DIM_REQUIRED + long_scan(
        "grid") + [case(Vals((257,), "cancel"), dim=0, tiers=_STD)], ALL, out=_sum_dtype,
          errors=(BAD_DIM,)),
    Entry("cumprod", Op.CUMPROD, "mbtorch.cumprod", _scan(np.cumprod), DIM_REQUIRED + long_scan(
        "pow2"), ALL, ("small",), out=_sum_dtype, grad_domain="nonzero"),
    Entry("vector_norm", Op.VECTOR_NORM, "mbtorch.linalg.vector_norm", _vector_norm, REDUCE + [
        case((3, 4), ord=1), case((3, 4), ord=np.inf, dim=1), case((5,), ord=3.0),
        case((2, 3), ord=0), case((4, 3), ord=-np.inf, dim=0, keepdim=True)] + long_reduce(
        "grid") + [case(Vals((3, 33), "huge"), dim=1, tiers=_STD),
                  case(Vals((3, 33), "huge"), ord=1, dim=1, tiers=_STD),
                  case(Vals((4097,), "huge"), ord=np.inf, tiers=_STD),
                  case(Vals((3, 33), "large"), dim=1, tiers=_STD)], FLOATS,
          grad_domain="nonzero", specials=True, tol={mt.float32: (1e-5, 1e-5)}),
    Entry("any", Op.ANY, "Tensor.any", _red(np.any), ONE_DIM + long_reduce("small", False),
          ALL, out=_any_dtype, grad=False, specials=True),
    Entry("all", Op.ALL, "Tensor.all", _red(np.all), ONE_DIM + long_reduce("pos", False), ALL,
          out=_any_dtype, grad=False, specials=True),
]
