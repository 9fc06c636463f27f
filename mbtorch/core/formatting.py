"""``repr`` of tensors, in PyTorch's layout with mbtorch's names."""

from __future__ import annotations

import numpy as np

from . import dtypes as _dt

_SUMMARIZE = 1000
_EDGE = 3
_LINE = 80


def _float_formatter(vals: np.ndarray):
    finite = vals[np.isfinite(vals)]
    if finite.size == 0:
        return lambda v: _special(v) or f"{v:.4f}"
    a = np.abs(finite)
    amax = float(a.max())
    ints = bool(np.all(finite == np.round(finite)))
    nonzero = a[a > 0]
    nz_min = float(nonzero.min()) if nonzero.size else 0.0
    wide_range = bool(nz_min) and amax / nz_min > 1e3
    if ints and amax < 1e8 and not wide_range:
        return lambda v: _special(v) or f"{v:.0f}."
    if amax >= 1e8 or (nz_min and nz_min < 1e-4) or wide_range:
        return lambda v: _special(v) or f"{v:.4e}"
    return lambda v: _special(v) or f"{v:.4f}"


def _special(v: float) -> str:
    if np.isnan(v):
        return "nan"
    if np.isinf(v):
        return "inf" if v > 0 else "-inf"
    return ""


def _formatter(arr: np.ndarray, dtype: _dt.dtype):
    if dtype is _dt.bool:
        return lambda v: "True" if v else "False"
    if dtype.category == 1:
        return lambda v: str(int(v))
    return _float_formatter(arr.astype(np.float64).reshape(-1))


def _render(arr: np.ndarray, fmt, width: int, indent: int, summarize: bool) -> str:
    if arr.ndim == 0:
        return fmt(arr.item()).rjust(width)
    n = arr.shape[0]
    idx = list(range(n))
    if summarize and n > 2 * _EDGE:
        idx = list(range(_EDGE)) + [None] + list(range(n - _EDGE, n))
    if arr.ndim == 1:
        items = [" ..." if i is None else fmt(arr[i].item()).rjust(width) for i in idx]
        per_line = max(1, (_LINE - indent) // (width + 2))
        lines = [", ".join(items[k:k + per_line]) for k in range(0, len(items), per_line)]
        return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"
    sep = "," + "\n" * (arr.ndim - 1) + " " * (indent + 1)
    parts = ["..." if i is None else _render(arr[i], fmt, width, indent + 1, summarize)
             for i in idx]
    return "[" + sep.join(parts) + "]"


def tensor_repr(t) -> str:
    arr = t.numpy(force=True)
    if t._dtype is _dt.bfloat16:
        arr = arr.astype(np.float32)
    prefix = "tensor("
    summarize = arr.size > _SUMMARIZE
    suffixes = []
    if arr.size == 0:
        body = "[]"
        if t._shape != (0,):
            suffixes.append(f"size={tuple(t._shape)}")
    else:
        flat = arr.reshape(-1)
        if summarize:
            flat = np.concatenate([flat[:_EDGE], flat[-_EDGE:]])
        fmt = _formatter(flat, t._dtype)
        width = max(len(fmt(v.item())) for v in flat)
        body = _render(arr, fmt, width, len(prefix), summarize)
    if t._device.type != "cpu":
        suffixes.append(f"device='{t._device}'")
    default_types = (_dt.get_default_dtype(), _dt.int64, _dt.bool)
    if t._dtype not in default_types or (arr.size == 0 and t._dtype is not
                                         _dt.get_default_dtype()):
        suffixes.append(f"dtype=mbtorch.{t._dtype.name}")
    if t._grad_fn is not None:
        suffixes.append(f"grad_fn=<{t._grad_fn.name()}>")
    elif t._requires_grad:
        suffixes.append("requires_grad=True")
    return prefix + body + "".join(", " + s for s in suffixes) + ")"
