"""Evenly spaced sequences beyond ``arange``/``linspace``: ``logspace`` and the deprecated
``range`` (whose end is inclusive).

Values are computed in float64 (PyTorch's accumulation type for them) and rounded once to the
requested dtype.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

from .. import dtypes as _dt
from ..tensor import Tensor
from . import binary as _b
from ._common import cast
from .creation import arange, linspace


def _number(v: Any, name: str, arg: str) -> Any:
    if isinstance(v, Tensor):
        if v.numel() != 1:
            raise RuntimeError(f"{name}() expected a 0-D tensor for '{arg}', but got a tensor "
                               f"with {v.ndim} dims")
        return v.item()
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise TypeError(f"{name}(): argument '{arg}' must be Number, not {type(v).__name__}")
    return v


def logspace(start: Any, end: Any, steps: int, base: float = 10.0, *, dtype: Any = None,
             layout: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """``steps`` values ``base ** e`` for ``e`` evenly spaced from ``start`` to ``end``.

    >>> mbtorch.logspace(0, 2, 3)
    tensor([  1.,  10., 100.])
    """
    start, end = _number(start, "logspace", "start"), _number(end, "logspace", "end")
    if not isinstance(steps, int) or isinstance(steps, bool):
        raise TypeError(f"logspace(): argument 'steps' must be int, not {type(steps).__name__}")
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    dtype = _dt.get_default_dtype() if dtype is None else _dt.as_dtype(dtype, "logspace")
    exponents = linspace(float(start), float(end), steps, dtype=_dt.float64, device=device)
    out = cast(_b.pow(float(base), exponents), dtype)
    return out.requires_grad_(True) if requires_grad else out


def range(start: Any = 0, end: Any = None, step: Any = 1, *,  # noqa: A001 - torch's name
          dtype: Any = None, layout: Any = None, device: Any = None,
          requires_grad: bool = False) -> Tensor:
    """Deprecated: ``[start, start + step, ...]`` up to and including ``end`` (default dtype
    unless ``dtype`` is given); use ``arange``, whose end is exclusive."""
    warnings.warn("torch.range is deprecated and will be removed in a future release because "
                  "its behavior is inconsistent with Python's range builtin. Instead, use "
                  "torch.arange, which produces values in [start, end).", UserWarning,
                  stacklevel=2)
    if end is None:
        start, end = 0, start
    start, end = _number(start, "range", "start"), _number(end, "range", "end")
    step = _number(step, "range", "step")
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if not (math.isfinite(start) and math.isfinite(end)):
        raise RuntimeError(f"unsupported range: {start} -> {end}")
    if (end - start) / step < 0:
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    n = int((end - start) / step) + 1
    dtype = _dt.get_default_dtype() if dtype is None else _dt.as_dtype(dtype, "range")
    k = arange(n, dtype=_dt.float64 if dtype.is_floating_point else _dt.int64, device=device)
    out = cast(k * step + start, dtype)
    return out.requires_grad_(True) if requires_grad else out


__all__ = ["logspace", "range"]
