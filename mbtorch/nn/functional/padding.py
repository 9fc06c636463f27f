"""Padding (constant, reflect, replicate, circular) and resampling (``interpolate``)."""

from __future__ import annotations

from typing import Any, Sequence

import mbtorch as _mt

from ...core.tensor import Tensor
from ._utils import _tuple

__all__ = ["pad", "interpolate", "upsample"]


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant", value: Any = None) -> Tensor:
    """Pad the last ``len(pad) // 2`` dims: constant, reflect, replicate or circular."""
    pad = tuple(pad)
    if len(pad) % 2:
        raise RuntimeError("pad(): Padding length must be divisible by 2")
    if len(pad) // 2 > input.dim():
        raise RuntimeError("pad(): Padding length should be less than or equal to two times "
                           "the input dimension")
    if mode == "constant":
        from ...core.ops.joining import pad_constant

        return pad_constant(input, pad, 0 if value is None else value)
    if value is not None and value != 0:
        raise ValueError(f"pad(): padding mode '{mode}' doesn't take in value argument")
    out = input
    for i in range(len(pad) // 2):
        dim = input.dim() - 1 - i
        lo, hi = pad[2 * i], pad[2 * i + 1]
        size = out.shape[dim]
        if mode == "reflect":
            if lo >= size or hi >= size:
                raise RuntimeError(f"pad(): Padding size should be less than the corresponding "
                                   f"input dimension, but got: padding ({lo}, {hi}) at "
                                   f"dimension {dim} of input {list(input.shape)}")
            idx = [abs(j) if j < 0 else (2 * (size - 1) - j if j >= size else j)
                   for j in range(-lo, size + hi)]
        elif mode == "replicate":
            idx = [min(max(j, 0), size - 1) for j in range(-lo, size + hi)]
        elif mode == "circular":
            idx = [j % size for j in range(-lo, size + hi)]
        else:
            raise NotImplementedError(f"pad(): unsupported padding mode '{mode}'")
        out = out.index_select(dim, _mt.tensor(idx, device=input.device))
    return out


def interpolate(input: Tensor, size: Any = None, scale_factor: Any = None,
                mode: str = "nearest", align_corners: bool | None = None,
                recompute_scale_factor: Any = None, antialias: bool = False) -> Tensor:
    """Resize the spatial dims (nearest, linear, bilinear), PyTorch's index conventions."""
    n = input.dim() - 2
    if n < 1:
        raise ValueError(f"interpolate(): expected at least 3D input, got {input.dim()}D")
    spatial = tuple(input.shape[2:])
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate(): only one of size or scale_factor should be defined")
    if size is not None:
        out_size = _tuple(size, n, "size", "interpolate")
        scales = [None] * n
    else:
        sf = scale_factor if isinstance(scale_factor, (tuple, list)) else [scale_factor] * n
        out_size = tuple(int(s * f) for s, f in zip(spatial, sf))
        scales = [None if recompute_scale_factor else float(f) for f in sf]
    if mode == "nearest":
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating "
                             "modes: linear | bilinear | bicubic | trilinear")
        out = input
        for i in range(n):
            ratio = (1.0 / scales[i]) if scales[i] else spatial[i] / out_size[i]
            idx = [min(int(j * ratio), spatial[i] - 1) for j in range(out_size[i])]
            out = out.index_select(2 + i, _mt.tensor(idx, device=input.device))
        return out
    if mode in ("linear", "bilinear", "trilinear"):
        out = input
        for i in range(n):
            out = _linear_1d(out, 2 + i, spatial[i], out_size[i], bool(align_corners),
                             scales[i])
        return out
    raise NotImplementedError(f"interpolate(): mode '{mode}' is not supported")


def _linear_1d(x: Tensor, dim: int, size: int, out: int, align: bool,
               scale: float | None) -> Tensor:
    if align:
        ratio = (size - 1) / (out - 1) if out > 1 else 0.0
        src = [j * ratio for j in range(out)]
    else:
        ratio = (1.0 / scale) if scale else size / out
        src = [max((j + 0.5) * ratio - 0.5, 0.0) for j in range(out)]
    lo = [min(int(s), size - 1) for s in src]
    hi = [min(i + 1, size - 1) for i in lo]
    frac = [s - i for s, i in zip(src, lo)]
    shape = [1] * x.dim()
    shape[dim] = out
    w = _mt.tensor(frac, dtype=x.dtype, device=x.device).reshape(shape)
    a = x.index_select(dim, _mt.tensor(lo, device=x.device))
    b = x.index_select(dim, _mt.tensor(hi, device=x.device))
    return a + (b - a) * w


def upsample(input: Tensor, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
             align_corners: bool | None = None) -> Tensor:
    return interpolate(input, size, scale_factor, mode, align_corners)
