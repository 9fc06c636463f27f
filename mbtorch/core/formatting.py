"""``repr`` of tensors, in PyTorch's layout with mbtorch's names, and the print options
(``mbtorch.set_printoptions``) that shape it: precision, summarisation threshold, edge items,
line width and scientific notation, with PyTorch's defaults and profiles.

The rules mirror PyTorch's ``_tensor_str``: one formatter per tensor, chosen from its
non-zero finite values (or from the edge items when summarised); widths pad every element to
the widest of those values; suffixes wrap past the line width.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import asdict, dataclass
from typing import Any, Iterator

from . import dtypes as _dt
from ._lazy import lazy_import

np = lazy_import("numpy", globals(), "np")

__all__ = ["PRINT_OPTS", "set_printoptions", "get_printoptions", "printoptions", "tensor_repr"]


@dataclass
class _PrintOptions:
    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: bool | None = None


PRINT_OPTS = _PrintOptions()
_PROFILES = {
    "default": dict(precision=4, threshold=1000, edgeitems=3, linewidth=80),
    "short": dict(precision=2, threshold=1000, edgeitems=2, linewidth=80),
    "full": dict(precision=4, threshold=math.inf, edgeitems=3, linewidth=80),
}


def set_printoptions(precision: int | None = None, threshold: float | None = None,
                     edgeitems: int | None = None, linewidth: int | None = None,
                     profile: str | None = None, sci_mode: bool | None = None) -> None:
    """Set how tensors print, as ``torch.set_printoptions``: ``profile`` (``'default'``,
    ``'short'``, ``'full'``) first, then any explicit option; ``sci_mode`` None lets each
    tensor choose. ``mbtorch.set_printoptions(profile='default')`` restores the defaults.

    >>> mbtorch.set_printoptions(precision=2)
    >>> mbtorch.tensor([1.12345])
    tensor([1.12])
    """
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(f"set_printoptions(): profile must be one of "
                             f"{', '.join(_PROFILES)}, not {profile!r}")
        for key, value in _PROFILES[profile].items():
            setattr(PRINT_OPTS, key, value)
    for key, value in (("precision", precision), ("threshold", threshold),
                       ("edgeitems", edgeitems), ("linewidth", linewidth)):
        if value is not None:
            setattr(PRINT_OPTS, key, value)
    PRINT_OPTS.sci_mode = sci_mode


def get_printoptions() -> dict[str, Any]:
    """The current print options, as keyword arguments for ``set_printoptions``."""
    return asdict(PRINT_OPTS)


@contextlib.contextmanager
def printoptions(**kwargs: Any) -> Iterator[None]:
    """Print options changed for the ``with`` block only."""
    old = get_printoptions()
    set_printoptions(**kwargs)
    try:
        yield
    finally:
        set_printoptions(**old)


class _Formatter:
    """PyTorch's element formatter: integer-valued floats print as ``3.``, wide ranges (or
    ``sci_mode=True``) in scientific notation, everything padded to one width."""

    def __init__(self, values: np.ndarray, floating: bool):
        self.floating, self.int_mode, self.sci_mode, self.width = floating, True, False, 1
        p = PRINT_OPTS.precision
        if not floating:
            self.width = max([1] + [len(_int_text(v)) for v in values.tolist()])
            return
        vals = values.astype(np.float64)
        vals = vals[np.isfinite(vals) & (vals != 0)]
        if vals.size == 0:
            return
        mag = np.abs(vals)
        lo, hi = float(mag.min()), float(mag.max())
        self.int_mode = bool(np.all(vals == np.ceil(vals)))
        auto = hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4
        self.sci_mode = auto if PRINT_OPTS.sci_mode is None else PRINT_OPTS.sci_mode
        if self.sci_mode:
            texts = [f"{v:.{p}e}" for v in vals.tolist()]
        elif self.int_mode:
            texts = [f"{v:.0f}." for v in vals.tolist()]
        else:
            texts = [f"{v:.{p}f}" for v in vals.tolist()]
        self.width = max(len(t) for t in texts)

    def format(self, value: Any) -> str:
        if not self.floating:
            text = _int_text(value)
        elif self.sci_mode:
            text = f"{value:.{PRINT_OPTS.precision}e}"
        elif self.int_mode:
            text = f"{value:.0f}" + ("" if math.isinf(value) or math.isnan(value) else ".")
        else:
            text = f"{value:.{PRINT_OPTS.precision}f}"
        return text.rjust(self.width)


class _ComplexFormatter:
    """PyTorch's complex layout: the real and the imaginary parts each get a formatter chosen
    from their own values; ``1.+2.j``, ``-3.5000-0.2500j``, ``inf+nanj``."""

    def __init__(self, values: np.ndarray):
        self.real = _Formatter(values.real, True)
        self.imag = _Formatter(values.imag, True)
        self.width = self.real.width + self.imag.width + 1  # the "j"

    def format(self, value: Any) -> str:
        real = self.real.format(value.real)
        imag = (self.imag.format(value.imag) + "j").lstrip()
        return real + imag if imag[0] in "+-" else real + "+" + imag


def _formatter(values: np.ndarray, dtype: _dt.dtype) -> Any:
    if dtype.is_complex:
        return _ComplexFormatter(values)
    return _Formatter(values, dtype.category == _dt.FLOATING_CATEGORY)


def _int_text(v: Any) -> str:
    return str(bool(v)) if isinstance(v, (bool, np.bool_)) else str(int(v))


def _summarized(arr: np.ndarray) -> np.ndarray:
    """The elements a summarised print shows (the edge items of every dim)."""
    edge = PRINT_OPTS.edgeitems
    if arr.ndim == 0:
        return arr
    if edge == 0 and arr.ndim > 1:
        return arr.reshape(-1)[:0]
    if arr.shape[0] > 2 * edge:
        arr = np.concatenate([arr[:edge], arr[arr.shape[0] - edge:]])
    if arr.ndim == 1:
        return arr
    return np.stack([_summarized(row) for row in arr])


def _edge_indices(n: int, summarize: bool) -> list:
    edge = PRINT_OPTS.edgeitems
    if summarize and n > 2 * edge:
        return list(range(edge)) + [None] + list(range(n - edge, n))
    return list(range(n))


def _render(arr: np.ndarray, fmt: _Formatter, indent: int, summarize: bool) -> str:
    if arr.ndim == 0:
        return fmt.format(arr.item())
    if arr.ndim == 1:
        if summarize and not PRINT_OPTS.edgeitems:
            items = ["..."]
        else:
            items = [" ..." if i is None else fmt.format(arr[i].item())
                     for i in _edge_indices(arr.shape[0], summarize)]
        per_line = max(1, math.floor((PRINT_OPTS.linewidth - indent) / (fmt.width + 2)))
        lines = [", ".join(items[k:k + per_line]) for k in range(0, len(items), per_line)]
        return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"
    parts = ["..." if i is None else _render(arr[i], fmt, indent + 1, summarize)
             for i in _edge_indices(arr.shape[0], summarize)]
    return "[" + ("," + "\n" * (arr.ndim - 1) + " " * (indent + 1)).join(parts) + "]"


def _add_suffixes(text: str, suffixes: list, indent: int) -> str:
    # PyTorch's rule, line-length quirk included: a suffix that would pass the line width
    # starts a new line. Lengths are measured with PyTorch's spelling ("torch.float16"), so
    # a repr breaks where PyTorch's does.
    out = [text]
    last = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        size = len(suffix.replace("mbtorch.", "torch."))
        if last + size + 2 > PRINT_OPTS.linewidth:
            out.append(",\n" + " " * indent + suffix)
            last = indent + size
        else:
            out.append(", " + suffix)
            last += size + 2
    return "".join(out) + ")"


def tensor_repr(t) -> str:
    if t._dtype._q is not None:
        return _quantized_repr(t)
    arr = t.numpy(force=True)
    if t._dtype is _dt.bfloat16:
        arr = arr.astype(np.float32)
    prefix = "tensor("
    suffixes = []
    body = _body(arr, t._dtype, prefix)
    if arr.size == 0 and t._shape != (0,):
        suffixes.append(f"size={tuple(t._shape)}")
    if t._device.type != "cpu":
        suffixes.append(f"device='{t._device}'")
    default_types = (_dt.get_default_dtype(), _dt.int64, _dt.bool, _dt.default_complex_dtype())
    if t._dtype not in default_types or (arr.size == 0 and t._dtype is not
                                         _dt.get_default_dtype()):
        suffixes.append(f"dtype=mbtorch.{t._dtype.name}")
    if t._grad_fn is not None:
        suffixes.append(f"grad_fn=<{t._grad_fn.name()}>")
    elif t._requires_grad:
        suffixes.append("requires_grad=True")
    return _add_suffixes(prefix + body, suffixes, len(prefix))


def _quantized_repr(t) -> str:
    """PyTorch's: the values it stands for, then its size, dtype and quantization."""
    from .quantized import per_tensor_affine

    q = t._dtype._q
    values = t.dequantize()
    body = "tensor(" + _body(values.numpy(force=True), values._dtype, "tensor(")
    suffixes = [f"size={tuple(t._shape)}", f"dtype=mbtorch.{t._dtype.name}"]
    if t._device.type != "cpu":
        suffixes.insert(0, f"device='{t._device}'")
    suffixes.append(f"quantization_scheme={q.scheme!r}")
    if q.scheme is per_tensor_affine or not q.per_channel:
        suffixes += [f"scale={q.scale}", f"zero_point={q.zero_point}"]
    else:
        suffixes += [f"scale={t.q_per_channel_scales()!r}",
                     f"zero_point={t.q_per_channel_zero_points()!r}", f"axis={q.axis}"]
    return _add_suffixes(body, suffixes, len("tensor("))


def _body(arr: np.ndarray, dtype: _dt.dtype, prefix: str) -> str:
    """The values of a repr, without its prefix and suffixes."""
    if arr.size == 0:
        return "[]"
    summarize = arr.size > PRINT_OPTS.threshold
    shown = _summarized(arr) if summarize else arr
    return _render(arr, _formatter(shown.reshape(-1), dtype), len(prefix), summarize)
