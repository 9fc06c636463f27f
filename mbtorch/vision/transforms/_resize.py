"""Resizing tensor images, torchvision's tensor path: nearest, nearest-exact, bilinear and
bicubic through ``mbtorch.nn.functional.interpolate``, and the antialiased bilinear/bicubic
(``antialias=True``, torchvision's default) here, because ``interpolate`` has no
``antialias``. The antialiased filter is PyTorch's ``_upsample_{bilinear,bicubic}2d_aa`` (the
same as Pillow's resampling): each output pixel averages the input pixels under a triangle
(bilinear) or Keys cubic with ``a = -0.5`` (bicubic) filter stretched by the downscaling
factor, with weights normalised to sum to one. The taps and weights are computed on the host;
the sums run as mbtorch ops on the image's device, width first, then height."""

from __future__ import annotations

import numpy as np

import mbtorch
from mbtorch import Tensor
from mbtorch.nn.functional import interpolate

__all__ = ["aa_taps", "resize"]

_TENSOR_MODES = ("nearest", "nearest-exact", "bilinear", "bicubic")


def _triangle(x: np.ndarray) -> np.ndarray:
    return np.where(x < 1.0, 1.0 - x, 0.0)


def _keys_cubic(x: np.ndarray, a: float = -0.5) -> np.ndarray:
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    far = ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return np.where(x < 1.0, near, np.where(x < 2.0, far, 0.0))


def aa_taps(in_size: int, out_size: int, mode: str,
            ftype: type = np.float64) -> tuple[np.ndarray, np.ndarray]:
    """Input indices and weights, both ``(taps, out_size)``, of the antialiased filter.

    Output pixel ``i`` is centred at ``scale * (i + 0.5)`` in input coordinates; its window
    holds the input pixels within ``support`` of the centre (widened by ``scale`` when
    downscaling). Unused taps point at pixel 0 with weight 0. The arithmetic is PyTorch's, in
    ``ftype`` where PyTorch computes in the image's dtype (float32 coordinates drift by ~1e-5
    over a few hundred pixels; matching them keeps results within float rounding of PyTorch's).
    """
    interp_size, filt = (2, _triangle) if mode == "bilinear" else (4, _keys_cubic)
    scale = ftype(in_size) / ftype(out_size)
    support = ftype(interp_size / 2) * scale if scale >= 1.0 else ftype(interp_size / 2)
    invscale = ftype(1.0 / float(scale)) if scale >= 1.0 else ftype(1.0)
    center = (float(scale) * (np.arange(out_size) + 0.5)).astype(ftype)
    # astype(int64) truncates toward zero, as the C++ static_cast it mirrors
    xmin = np.maximum(((center - support).astype(np.float64) + 0.5).astype(np.int64), 0)
    xmax = ((center + support).astype(np.float64) + 0.5).astype(np.int64)
    xsize = np.minimum(xmax, in_size) - xmin
    j = np.arange(max(int(xsize.max()), 1))[:, None]
    used = j < xsize
    arg = ((((j + xmin).astype(ftype) - center).astype(np.float64) + 0.5) * float(invscale))
    weights = np.where(used, filt(np.abs(arg.astype(ftype))), 0.0).astype(ftype)
    total = np.zeros(out_size, ftype)
    for row in weights:  # PyTorch sums the taps in order
        total = (total + row).astype(ftype)
    weights = np.divide(weights, total, out=np.zeros_like(weights), where=total != 0)
    return np.where(used, xmin + j, 0), weights


def _resample_aa(x: Tensor, dim: int, out_size: int, mode: str) -> Tensor:
    """Antialiased resampling of ``x`` (float) along ``dim`` (-1 or -2) to ``out_size``."""
    in_size = x.shape[dim]
    if in_size == out_size:
        return x
    ftype = np.float64 if x.dtype is mbtorch.float64 else np.float32
    index, weights = aa_taps(in_size, out_size, mode, ftype)
    taps = index.shape[0]
    picked = x.index_select(dim, mbtorch.tensor(index.reshape(-1), device=x.device))
    w = mbtorch.tensor(weights, dtype=x.dtype, device=x.device)
    if dim == -1:  # (..., H, taps * out) -> (..., H, taps, out), summed over the taps
        picked = picked.reshape(*x.shape[:-1], taps, out_size)
        return (picked * w).sum(dim=-2)
    picked = picked.reshape(*x.shape[:-2], taps, out_size, x.shape[-1])
    return (picked * w.unsqueeze(-1)).sum(dim=-3)


def resize(img: Tensor, size: list[int], interpolation: str = "bilinear",
           antialias: bool | None = True) -> Tensor:
    """Resize the last two dims of ``img`` to ``size`` = ``[h, w]``.

    Integer images are resampled in float32 and rounded back (bicubic results clamped to the
    dtype's range first), as torchvision; nearest modes gather the pixels directly."""
    if interpolation not in _TENSOR_MODES:
        raise NotImplementedError(f"resize(): interpolation '{interpolation}' is only supported "
                                  f"for PIL images; tensors support {', '.join(_TENSOR_MODES)}")
    out_h, out_w = size
    h, w = img.shape[-2:]
    lead = tuple(img.shape[:-2])
    if interpolation in ("nearest", "nearest-exact"):
        x = img.reshape(-1, 1, h, w)
        return interpolate(x, size=[out_h, out_w], mode=interpolation).reshape(
            *lead, out_h, out_w)
    out_dtype = img.dtype
    need_cast = out_dtype not in (mbtorch.float32, mbtorch.float64)
    x = img.to(mbtorch.float32) if need_cast else img
    if antialias:
        x = _resample_aa(_resample_aa(x, -1, out_w, interpolation), -2, out_h, interpolation)
    else:
        x = interpolate(x.reshape(-1, 1, h, w), size=[out_h, out_w], mode=interpolation,
                        align_corners=False).reshape(*lead, out_h, out_w)
    if not need_cast:
        return x
    if out_dtype.is_floating_point:
        return x.to(out_dtype)
    if interpolation == "bicubic":  # the cubic filter overshoots
        info = mbtorch.iinfo(out_dtype)
        x = x.clamp(info.min, info.max)
    return x.round().to(out_dtype)
