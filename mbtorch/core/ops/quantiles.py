"""Order statistics: ``median``, ``nanmedian``, ``mode``, ``quantile``, ``nanquantile``.

Each is a composition: a stable sort along the reduced dim (NaN sorts last), then a ``gather``
of the wanted positions, so every backend runs it and gradients flow through ``gather`` (and
``lerp`` for interpolated quantiles) to the selected elements, as PyTorch's do.

Ties follow PyTorch's CPU kernels: the lower median, the index of the chosen element in a
stable sort (so among equal values the later one for an even split); ``mode`` picks the
smallest of the most frequent values and the index of its last occurrence.
"""

from __future__ import annotations

from typing import Any

from .. import dtypes as _dt
from ..tensor import Tensor, method_table, wrap_dim
from . import views as _v
from ._common import cast, return_type
from .creation import iota, tensor
from .gathering import gather
from .reductions import argmax, sum
from .scans import cummax
from .sorting import sort
from .ternary import lerp, where
from .unary import isnan

TENSOR_METHODS: dict = {}
"""The ``Tensor`` methods this module provides, by name (installed by ``mbtorch.core.ops``)."""
tensor_method = method_table(TENSOR_METHODS)

median_result = return_type("median", ("values", "indices"))
nanmedian_result = return_type("nanmedian", ("values", "indices"))
mode_result = return_type("mode", ("values", "indices"))

_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _check(input: Any, name: str) -> None:
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' must be Tensor, not "
                        f"{type(input).__name__}")


def _last_dim(input: Tensor, dim: int, name: str) -> tuple[Tensor, int]:
    """``input`` with ``dim`` moved last (a 0-d input viewed as 1-d), and the wrapped dim."""
    if input.ndim == 0:
        wrap_dim(dim, 1, name)
        return _v.reshape(input, (1,)), 0
    d = wrap_dim(dim, input.ndim, name)
    if input._shape[d] == 0:
        # PyTorch's message names median for nanmedian too
        label = "median" if name == "nanmedian" else name
        raise IndexError(f"{label}(): Expected reduction dim {d} to have non-zero size.")
    return _v.movedim(input, d, -1), d


def _finish(t: Tensor, input: Tensor, d: int, keepdim: bool) -> Tensor:
    """A ``(..., 1)`` result back in ``input``'s layout with dim ``d`` kept or dropped."""
    if input.ndim == 0:
        return _v.reshape(t, ())
    t = _v.movedim(t, -1, d)
    return t if keepdim else _v.squeeze(t, d)


def _median_at(input: Tensor, dim: int, keepdim: bool, ignore_nan: bool, name: str) -> tuple:
    x, d = _last_dim(input, dim, name)
    values, perm = sort(x, -1)
    n = x._shape[-1]
    if input._dtype.is_floating_point:
        valid = sum(~isnan(values), -1, keepdim=True)
        if ignore_nan:  # the lower median of the non-NaN values (all NaN: the first NaN)
            pos = (valid - 1).clamp_min(0) // 2
        else:  # a NaN anywhere is the answer: the first NaN in sorted order
            pos = where(valid < n, valid, (n - 1) // 2)
    else:
        pos = tensor((n - 1) // 2, device=x._device).expand(x._shape[:-1] + (1,))
    return (_finish(gather(values, -1, pos), input, d, keepdim),
            _finish(gather(perm, -1, pos), input, d, keepdim))


def _median_all(input: Tensor, ignore_nan: bool, name: str) -> Tensor:
    flat = _v.reshape(input, (-1,))
    if flat._shape[0] == 0:
        from .creation import full

        return full((), float("nan"), dtype=input._dtype, device=input._device)
    return _median_at(flat, 0, False, ignore_nan, name)[0]


@tensor_method
def median(input: Tensor, dim: Any = None, keepdim: bool = False) -> Any:
    """The lower median of all elements, or ``(values, indices)`` along ``dim``; NaN if the
    reduced elements hold a NaN.

    >>> mbtorch.tensor([4.0, 1.0, 3.0, 2.0]).median()
    tensor(2.)
    """
    _check(input, "median")
    if dim is None:
        return _median_all(input, False, "median")
    return median_result(*_median_at(input, dim, keepdim, False, "median"))


@tensor_method
def nanmedian(input: Tensor, dim: Any = None, keepdim: bool = False) -> Any:
    """``median`` that ignores NaN (NaN only where every reduced element is NaN)."""
    _check(input, "nanmedian")
    if dim is None:
        return _median_all(input, True, "nanmedian")
    return nanmedian_result(*_median_at(input, dim, keepdim, True, "nanmedian"))


@tensor_method
def mode(input: Tensor, dim: int = -1, keepdim: bool = False) -> Any:
    """``(values, indices)``: the most frequent value along ``dim`` (the smallest on a tie)
    and the index of its last occurrence.

    >>> mbtorch.tensor([1, 2, 2, 3, 3, 1, 5]).mode().values
    tensor(1)
    """
    _check(input, "mode")
    x, d = _last_dim(input, dim, "mode")
    values, perm = sort(x, -1)
    n = x._shape[-1]
    pos = iota(n, x._device, x._be).expand(x._shape)
    starts = pos == 0
    if n > 1:
        from .joining import cat

        last = x.ndim - 1
        differs = _v.slice_dim(values, last, 1, n) != _v.slice_dim(values, last, 0, n - 1)
        starts = cat([_v.slice_dim(starts, last, 0, 1), differs], -1)
    # the length of the run so far at each sorted position; the first maximum ends the run of
    # the smallest most frequent value, whose last element is its last occurrence
    run_start = cummax(where(starts, pos, 0), -1).values
    best = argmax(pos - run_start, -1, keepdim=True)
    return mode_result(_finish(gather(values, -1, best), input, d, keepdim),
                       _finish(gather(perm, -1, best), input, d, keepdim))


def _q_tensor(input: Tensor, q: Any, name: str) -> Tensor:
    if isinstance(q, Tensor):
        if q._dtype is not input._dtype:
            raise RuntimeError(f"{name}() q tensor must be same dtype as the input tensor")
        if q.ndim > 1:
            raise RuntimeError(f"{name}() q must be a scalar or 1D tensor")
        values = q.tolist() if q.ndim else [q.item()]
        qt = q
    else:
        if isinstance(q, bool) or not isinstance(q, (int, float)):
            raise TypeError(f"{name}(): argument 'q' must be float or Tensor, not "
                            f"{type(q).__name__}")
        values = [float(q)]
        qt = tensor(float(q), dtype=input._dtype, device=input._device)
    for v in values:
        if not 0 <= v <= 1:
            raise RuntimeError(f"{name}() q must be in the range [0, 1] but got {v}")
    return qt


def _check_quantile(input: Any, interpolation: str, name: str) -> None:
    _check(input, name)
    if input._dtype not in (_dt.float32, _dt.float64):
        raise RuntimeError(f"{name}() input tensor must be either float or double dtype")
    if input.numel() == 0:
        raise RuntimeError(f"{name}() input tensor must be non-empty")
    if interpolation not in _INTERPOLATIONS:
        raise RuntimeError(f"{name}() interpolation must be one of linear, lower, higher, "
                           f"midpoint or nearest, but got {interpolation}")


def _ranks(values: Tensor, qv: Tensor, ignore_nan: bool, interpolation: str) -> Tensor:
    """Fractional sorted positions ``q * (k - 1)``, NaN results pointed at the last slot."""
    n = values._shape[-1]
    if ignore_nan:
        k = cast(sum(~isnan(values), -1, keepdim=True), values._dtype)
        ranks = qv * (k - 1)
        ranks = where(ranks < 0, float(n - 1), ranks)  # all NaN: the result is NaN
    else:
        last = _v.slice_dim(values, values.ndim - 1, n - 1, n)
        ranks = where(isnan(last), float(n - 1), qv * (n - 1))
    if interpolation == "lower":
        return ranks.floor()
    if interpolation == "higher":
        return ranks.ceil()
    if interpolation == "nearest":
        return ranks.round()
    return ranks


def _quantile(input: Tensor, q: Any, dim: Any, keepdim: bool, interpolation: str,
              ignore_nan: bool, name: str) -> Tensor:
    _check_quantile(input, interpolation, name)
    qt = _q_tensor(input, q, name)
    x = _v.reshape(input, (-1,)) if dim is None else input
    d = 0 if dim is None else wrap_dim(dim, max(input.ndim, 1), name)
    x = _v.reshape(x, (1,)) if x.ndim == 0 else _v.movedim(x, d, -1)
    values = _v.unsqueeze(sort(x, -1).values, 0)  # (1, ..., n)
    qv = _v.reshape(qt, (-1,) + (1,) * x.ndim)  # (nq, 1, ..., 1)
    ranks = _ranks(values, qv, ignore_nan, interpolation)
    values = _v.expand(values, (ranks._shape[0],) + values._shape[1:])
    below = cast(ranks, _dt.int64)
    out = gather(values, -1, below)
    if interpolation in ("linear", "midpoint"):
        above = gather(values, -1, cast(ranks.ceil(), _dt.int64))
        weight = 0.5 if interpolation == "midpoint" else ranks - below
        out = lerp(out, above, weight)
    out = _v.squeeze(out, -1)  # (nq, ...)
    if keepdim:
        out = (_v.reshape(out, (out._shape[0],) + (1,) * input.ndim) if dim is None
               else _v.unsqueeze(out, d + 1) if input.ndim else out)
    return out if qt.ndim else _v.squeeze(out, 0)


@tensor_method
def quantile(input: Tensor, q: Any, dim: Any = None, keepdim: bool = False, *,
             interpolation: str = "linear") -> Tensor:
    """The ``q``-th quantiles (a float or 1-d tensor in [0, 1]; a tensor adds a leading dim)
    along ``dim`` (all elements for ``None``); NaN where a NaN is among the inputs.

    >>> mbtorch.quantile(mbtorch.tensor([1.0, 2.0, 3.0, 4.0]), 0.5)
    tensor(2.5000)
    """
    return _quantile(input, q, dim, keepdim, interpolation, False, "quantile")


@tensor_method
def nanquantile(input: Tensor, q: Any, dim: Any = None, keepdim: bool = False, *,
                interpolation: str = "linear") -> Tensor:
    """``quantile`` over the non-NaN values (NaN where all are NaN)."""
    return _quantile(input, q, dim, keepdim, interpolation, True, "nanquantile")


__all__ = ["median", "mode", "nanmedian", "nanquantile", "quantile"]
