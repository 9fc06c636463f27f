"""Reductions, scans and normalisations, against NumPy in float64."""

from __future__ import annotations

import numpy as np

import mbtorch as mt
from mbtorch.core.op import Op

from ..samples import Sp, case
from . import ALL, FLOATS, NUMERIC, Bad, Entry

__all__ = ["REDUCE", "NONEMPTY", "DIM_REQUIRED", "ONE_DIM", "BAD_DIM", "ENTRIES"]

_STD = ("standard", "full")
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


def _var(x, dim=None, keepdim=False, correction=1):
    if x.ndim == 0:
        return np.asarray(np.nan if correction else 0.0)
    n = x.size if dim is None else int(np.prod([x.shape[d] for d in np.atleast_1d(dim)]))
    v = np.var(x, axis=_axis(x, dim), keepdims=keepdim) * n
    with np.errstate(divide="ignore", invalid="ignore"):
        return v / max(n - correction, 0)


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


_INT_MEAN = Bad(((3,),), {}, RuntimeError, "mean of an integer tensor", mt.int64)
# PyTorch itself computes these in the input's precision: x - max - log(sum) cancels
_SOFT_TOL = {mt.float32: (1e-5, 1e-5), mt.float16: (1e-3, 1e-3), mt.bfloat16: (1.6e-2, 8e-3)}
ENTRIES = [
    Entry("sum", Op.SUM, "Tensor.sum", _red(np.sum), REDUCE, ALL, out=_sum_dtype,
          errors=(BAD_DIM,), specials=True),
    Entry("prod", Op.PROD, "Tensor.prod", _red(np.prod), [
        c for c in ONE_DIM], ALL, ("small",), out=_sum_dtype, grad_domain="nonzero"),
    Entry("amax", Op.AMAX, "mbtorch.amax", _red(np.max), NONEMPTY, ALL, grad=False,
          specials=True,
          errors=(Bad(((0,),), {"dim": 0}, IndexError, "empty reduction"),)),
    Entry("amin", Op.AMIN, "mbtorch.amin", _red(np.min), NONEMPTY, ALL, grad=False,
          specials=True),
    Entry("argmax", Op.ARGMAX, "mbtorch.argmax", _arg(np.argmax),
          [c for c in NONEMPTY if not isinstance(c.kwargs.get("dim"), tuple)], NUMERIC,
          out="int64", grad=False),
    Entry("argmin", Op.ARGMIN, "mbtorch.argmin", _arg(np.argmin),
          [c for c in NONEMPTY if not isinstance(c.kwargs.get("dim"), tuple)], NUMERIC,
          out="int64", grad=False),
    Entry("mean", Op.MEAN, "Tensor.mean", _red(np.mean), REDUCE, FLOATS, errors=(_INT_MEAN,),
          tol={mt.float32: (1.3e-6, 2e-5)}, specials=True),
    Entry("var", Op.VAR, "Tensor.var", _var, REDUCE + [
        case((4, 5), dim=1, correction=0), case((6,), correction=2)], FLOATS,
          tol={mt.float32: (1e-5, 1e-5)}),
    Entry("logsumexp", Op.LOGSUMEXP, "mbtorch.logsumexp", _logsumexp, DIM_REQUIRED + [
        case((3, 4), dim=(0, 1), keepdim=True)], FLOATS, tol=_SOFT_TOL),
    Entry("softmax", Op.SOFTMAX, "mbtorch.softmax", lambda x, dim: np.exp(_log_softmax(x, dim)),
          DIM_REQUIRED, FLOATS, tol=_SOFT_TOL),
    Entry("log_softmax", Op.LOG_SOFTMAX, "mbtorch.log_softmax", _log_softmax, DIM_REQUIRED,
          FLOATS, tol=_SOFT_TOL),
    Entry("cumsum", Op.CUMSUM, "mbtorch.cumsum", _scan(np.cumsum), DIM_REQUIRED, ALL,
          out=_sum_dtype, errors=(BAD_DIM,)),
    Entry("cumprod", Op.CUMPROD, "mbtorch.cumprod", _scan(np.cumprod), DIM_REQUIRED, ALL,
          ("small",), out=_sum_dtype, grad_domain="nonzero"),
    Entry("vector_norm", Op.VECTOR_NORM, "mbtorch.linalg.vector_norm", _vector_norm, REDUCE + [
        case((3, 4), ord=1), case((3, 4), ord=np.inf, dim=1), case((5,), ord=3.0),
        case((2, 3), ord=0), case((4, 3), ord=-np.inf, dim=0, keepdim=True)], FLOATS,
          grad_domain="nonzero", specials=True, tol={mt.float32: (1e-5, 1e-5)}),
    Entry("any", Op.ANY, "Tensor.any", _red(np.any), ONE_DIM, ALL, out=_any_dtype, grad=False,
          specials=True),
    Entry("all", Op.ALL, "Tensor.all", _red(np.all), ONE_DIM, ALL, out=_any_dtype, grad=False,
          specials=True),
]
