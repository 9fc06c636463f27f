"""Resampling (``interpolate``: nearest, nearest-exact, (bi/tri)linear, bicubic, area, and
antialiased bilinear/bicubic in ``_antialias.py``) and pixel/channel shuffles. Interpolation
is separable: each spatial dim is resampled in turn with index selects and a weighted sum, so
autograd needs nothing special."""

from __future__ import annotations

import math
from typing import Any

import mbtorch as _mt

from ...core.tensor import Tensor
from ._antialias import resample_aa
from ._utils import _tuple

__all__ = [
    "interpolate", "upsample", "upsample_nearest", "upsample_bilinear", "pixel_shuffle",
    "pixel_unshuffle", "channel_shuffle", "native_channel_shuffle"
]

_MODES = ("nearest", "nearest-exact", "linear", "bilinear", "trilinear", "bicubic", "area")
_RANK = {"linear": 1, "bilinear": 2, "trilinear": 3, "bicubic": 2}


def _sizes(input: Tensor, size: Any, scale_factor: Any, recompute: Any,
           n: int) -> tuple[tuple[int, ...], list[float | None]]:
    spatial = tuple(input.shape[2:])
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        if recompute:
            raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
        return _tuple(size, n, "size", "interpolate"), [None] * n
    if scale_factor is None:
        raise ValueError("either size or scale_factor should be defined")
    sf = list(scale_factor) if isinstance(scale_factor, (tuple, list)) else [scale_factor] * n
    if len(sf) != n:
        raise ValueError(f"Input and scale_factor must have the same number of spatial "
                         f"dimensions, but got input with spatial dimensions of {list(spatial)} "
                         f"and scale_factor of shape {scale_factor}.")
    out = tuple(int(math.floor(s * f)) for s, f in zip(spatial, sf))
    return out, [None if recompute else float(f) for f in sf]


def interpolate(input: Tensor, size: Any = None, scale_factor: Any = None,
                mode: str = "nearest", align_corners: bool | None = None,
                recompute_scale_factor: Any = None, antialias: bool = False) -> Tensor:
    """Resize the spatial dims of an (N, C, *spatial) input, PyTorch's index conventions."""
    if mode not in _MODES:
        raise NotImplementedError(f"interpolate(): mode '{mode}' is not supported; expected "
                                  f"one of {', '.join(_MODES)}")
    n = input.dim() - 2
    if n < 1 or n > 3:
        raise NotImplementedError(f"interpolate(): Input Error: Only 3D, 4D and 5D input Tensors "
                                  f"supported (got {input.dim()}D) for the modes: "
                                  f"{', '.join(_MODES)} (got {mode})")
    if mode in _RANK and _RANK[mode] != n:
        raise NotImplementedError(f"interpolate(): Got {input.dim()}D input, but {mode} mode "
                                  f"needs {_RANK[mode] + 2}D input")
    if align_corners is not None and mode not in ("linear", "bilinear", "trilinear", "bicubic"):
        raise ValueError("align_corners option can only be set with the interpolating modes: "
                         "linear | bilinear | bicubic | trilinear")
    if antialias and not (mode in ("bilinear", "bicubic") and n == 2):
        raise ValueError("interpolate(): Anti-alias option is restricted to bilinear and bicubic "
                         "modes and requires a 4-D tensor as input")
    if mode == "area" and scale_factor is not None:
        recompute_scale_factor = True
    out_size, scales = _sizes(input, size, scale_factor, recompute_scale_factor, n)
    if mode == "area":
        from .pooling_extra import adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d

        return (adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d)[n - 1](input,
                                                                                   out_size)
    if antialias:  # PyTorch's separable filter, width first (_antialias.py)
        out = input
        for i in (1, 0):
            size_i, o = input.shape[2 + i], out_size[i]
            out = resample_aa(out, 2 + i, o, mode, _ratio(size_i, o, bool(align_corners),
                                                          scales[i]))
        return out
    out = input
    for i in range(n):
        size_i, o = input.shape[2 + i], out_size[i]
        if mode in ("nearest", "nearest-exact"):
            out = _nearest_1d(out, 2 + i, size_i, o, scales[i], mode == "nearest-exact")
        elif mode == "bicubic":
            out = _cubic_1d(out, 2 + i, size_i, o, bool(align_corners), scales[i])
        else:
            out = _linear_1d(out, 2 + i, size_i, o, bool(align_corners), scales[i])
    return out


def _ratio(size: int, out: int, align: bool, scale: float | None) -> float:
    if align:
        return (size - 1) / (out - 1) if out > 1 else 0.0
    return (1.0 / scale) if scale else size / out


def _nearest_1d(x: Tensor, dim: int, size: int, out: int, scale: float | None,
                exact: bool) -> Tensor:
    ratio = _ratio(size, out, False, scale)
    shift = 0.5 if exact else 0.0
    idx = [min(int(math.floor((j + shift) * ratio)), size - 1) for j in range(out)]
    return x.index_select(dim, _mt.tensor(idx, device=x.device))


def _source(j: int, ratio: float, align: bool, cubic: bool) -> float:
    if align:
        return j * ratio
    src = (j + 0.5) * ratio - 0.5
    return src if cubic else max(src, 0.0)


def _weighted(x: Tensor, dim: int, taps: list[list[int]], weights: list[list[float]]) -> Tensor:
    """sum_k x[taps[k]] * weights[k] along ``dim``."""
    shape = [1] * x.dim()
    shape[dim] = len(taps[0])
    out = None
    for idx, w in zip(taps, weights):
        wt = _mt.tensor(w, dtype=x.dtype, device=x.device).reshape(shape)
        term = x.index_select(dim, _mt.tensor(idx, device=x.device)) * wt
        out = term if out is None else out + term
    return out


def _linear_1d(x: Tensor, dim: int, size: int, out: int, align: bool,
               scale: float | None) -> Tensor:
    ratio = _ratio(size, out, align, scale)
    src = [_source(j, ratio, align, False) for j in range(out)]
    lo = [min(int(s), size - 1) for s in src]
    hi = [min(i + 1, size - 1) for i in lo]
    frac = [s - i for s, i in zip(src, lo)]
    return _weighted(x, dim, [lo, hi], [[1.0 - f for f in frac], frac])


def _cubic_weights(t: float, a: float = -0.75) -> list[float]:
    """Keys' cubic convolution weights for taps at -1, 0, 1, 2 (PyTorch's A = -0.75)."""
    def near(v: float) -> float:
        return ((a + 2) * v - (a + 3)) * v * v + 1

    def far(v: float) -> float:
        return ((a * v - 5 * a) * v + 8 * a) * v - 4 * a

    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


def _cubic_1d(x: Tensor, dim: int, size: int, out: int, align: bool,
              scale: float | None) -> Tensor:
    ratio = _ratio(size, out, align, scale)
    taps: list[list[int]] = [[], [], [], []]
    weights: list[list[float]] = [[], [], [], []]
    for j in range(out):
        src = _source(j, ratio, align, True)
        base = math.floor(src)
        for k, w in enumerate(_cubic_weights(src - base)):
            taps[k].append(min(max(base - 1 + k, 0), size - 1))
            weights[k].append(w)
    return _weighted(x, dim, taps, weights)


def upsample(input: Tensor, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
             align_corners: bool | None = None) -> Tensor:
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input: Tensor, size: Any = None, scale_factor: Any = None) -> Tensor:
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input: Tensor, size: Any = None, scale_factor: Any = None) -> Tensor:
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(*, C*r*r, H, W) -> (*, C, H*r, W*r)."""
    r = upscale_factor
    if input.dim() < 3:
        raise RuntimeError(f"pixel_shuffle expects input to have at least 3 dimensions, but got "
                           f"input with {input.dim()} dimension(s)")
    if r <= 0:
        raise RuntimeError(f"pixel_shuffle expects a positive upscale_factor, but got {r}")
    c, h, w = input.shape[-3:]
    if c % (r * r):
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be "
                           f"divisible by the square of upscale_factor, but input.size(-3)={c} "
                           f"is not divisible by {r * r}")
    lead = tuple(input.shape[:-3])
    nd = len(lead)
    x = input.reshape(lead + (c // (r * r), r, r, h, w))
    x = x.permute(tuple(range(nd)) + tuple(nd + i for i in (0, 3, 1, 4, 2)))
    return x.reshape(lead + (c // (r * r), h * r, w * r))


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """(*, C, H*r, W*r) -> (*, C*r*r, H, W)."""
    r = downscale_factor
    if input.dim() < 3:
        raise RuntimeError(f"pixel_unshuffle expects input to have at least 3 dimensions, but "
                           f"got input with {input.dim()} dimension(s)")
    if r <= 0:
        raise RuntimeError(f"pixel_unshuffle expects a positive downscale_factor, but got {r}")
    c, h, w = input.shape[-3:]
    if h % r or w % r:
        raise RuntimeError(f"pixel_unshuffle expects height and width to be divisible by "
                           f"downscale_factor, but got input of size {list(input.shape)} and "
                           f"downscale_factor={r}")
    lead = tuple(input.shape[:-3])
    nd = len(lead)
    x = input.reshape(lead + (c, h // r, r, w // r, r))
    x = x.permute(tuple(range(nd)) + tuple(nd + i for i in (0, 2, 4, 1, 3)))
    return x.reshape(lead + (c * r * r, h // r, w // r))


def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """(N, g*k, *) -> channels reordered as (k, g): ShuffleNet's shuffle."""
    if input.dim() < 3:
        raise RuntimeError(f"channel_shuffle expects input to have at least 3 dimensions, but "
                           f"got input with {input.dim()} dimension(s)")
    if groups <= 0:
        raise RuntimeError(f"Number of groups to divide channels in must be positive. Value of "
                           f"groups:{groups}")
    c = input.shape[1]
    if c % groups:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {c} channels "
                           f"and {groups} groups.")
    rest = tuple(input.shape[2:])
    x = input.reshape((input.shape[0], groups, c // groups) + rest).transpose(1, 2)
    return x.reshape((input.shape[0], c) + rest)


native_channel_shuffle = channel_shuffle
