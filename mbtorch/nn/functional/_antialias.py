"""``interpolate(..., antialias=True)`` for bilinear and bicubic: PyTorch's
``_upsample_{bilinear,bicubic}2d_aa`` (the same filter as Pillow's resampling). Each output
pixel averages the input pixels under a triangle (bilinear) or Keys cubic with ``a = -0.5``
(bicubic) filter stretched by the downscaling factor, its weights normalised to sum to one.
Taps and weights are computed on the host; the sums run as index selects and a weighted sum on
the input's device (so autograd needs nothing special), width first, then height, as PyTorch.
"""

from __future__ import annotations

from typing import Any

import mbtorch as _mt

from ...core.tensor import Tensor

__all__ = ["aa_taps", "resample_aa"]


def _triangle(np: Any, x: Any) -> Any:
    return np.where(x < 1.0, 1.0 - x, 0.0)


def _keys_cubic(np: Any, x: Any, a: float = -0.5) -> Any:
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    far = ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return np.where(x < 1.0, near, np.where(x < 2.0, far, 0.0))


def aa_taps(in_size: int, out_size: int, mode: str, ftype: Any = None,
            scale: float | None = None) -> tuple[Any, Any]:
    """Input indices and weights, both ``(taps, out_size)`` NumPy arrays, of the antialiased
    filter resampling ``in_size`` pixels to ``out_size``.

    Output pixel ``i`` is centred at ``scale * (i + 0.5)`` in input coordinates, ``scale``
    being PyTorch's area-pixel scale (``in_size / out_size`` unless given: ``1 /
    scale_factor``, or ``(in - 1) / (out - 1)`` with ``align_corners``); its window holds the
    input pixels within ``support`` of the centre (widened by ``scale`` when downscaling).
    Unused taps point at pixel 0 with weight 0. The arithmetic is PyTorch's, in ``ftype``
    (float32 or float64) where PyTorch computes in the input's dtype: float32 coordinates drift
    by ~1e-5 over a few hundred pixels, and following them keeps results within float rounding
    of PyTorch's."""
    import numpy as np

    ftype = ftype or np.float64
    interp_size, filt = (2, _triangle) if mode == "bilinear" else (4, _keys_cubic)
    scale = ftype(in_size) / ftype(out_size) if scale is None else ftype(scale)
    support = ftype(interp_size / 2) * scale if scale >= 1.0 else ftype(interp_size / 2)
    invscale = ftype(1.0 / float(scale)) if scale >= 1.0 else ftype(1.0)
    center = (float(scale) * (np.arange(out_size) + 0.5)).astype(ftype)
    # astype(int64) truncates toward zero, as the C++ static_cast it mirrors
    xmin = np.maximum(((center - support).astype(np.float64) + 0.5).astype(np.int64), 0)
    xmax = ((center + support).astype(np.float64) + 0.5).astype(np.int64)
    xsize = np.clip(np.minimum(xmax, in_size) - xmin, 0, None)
    j = np.arange(max(int(xsize.max()) if out_size else 1, 1))[:, None]
    used = j < xsize
    arg = ((((j + xmin).astype(ftype) - center).astype(np.float64) + 0.5) * float(invscale))
    weights = np.where(used, filt(np, np.abs(arg.astype(ftype))), 0.0).astype(ftype)
    total = np.zeros(out_size, ftype)
    for row in weights:  # PyTorch sums the taps in order
        total = (total + row).astype(ftype)
    weights = np.divide(weights, total, out=np.zeros_like(weights), where=total != 0)
    return np.where(used, xmin + j, 0), weights


def resample_aa(x: Tensor, dim: int, out_size: int, mode: str,
                scale: float | None = None) -> Tensor:
    """Antialiased resampling of the floating tensor ``x`` along ``dim`` to ``out_size``."""
    import numpy as np

    dim = dim % x.dim()
    in_size = x.shape[dim]
    ftype = np.float64 if x.dtype is _mt.float64 else np.float32
    index, weights = aa_taps(in_size, out_size, mode, ftype, scale)
    taps = index.shape[0]
    picked = x.index_select(dim, _mt.tensor(index.reshape(-1), device=x.device))
    # (..., taps * out, ...) -> (..., taps, out, ...), weighted and summed over the taps
    picked = picked.reshape(*x.shape[:dim], taps, out_size, *x.shape[dim + 1:])
    w = _mt.tensor(weights, dtype=x.dtype, device=x.device)
    w = w.reshape(taps, out_size, *([1] * (x.dim() - dim - 1)))
    return (picked * w).sum(dim=dim)
