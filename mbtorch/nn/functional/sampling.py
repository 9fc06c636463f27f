"""Spatial-transformer sampling: ``affine_grid`` and ``grid_sample`` (bilinear / nearest;
zeros, border or reflection padding; PyTorch's ``align_corners`` conventions). Sampling is
gathers weighted by the bilinear coefficients, so autograd gives the gradients with respect to
both the input and the grid."""

from __future__ import annotations

from typing import Any, Sequence

import mbtorch as _mt

from ...core.tensor import Tensor

__all__ = ["affine_grid", "grid_sample"]


def _base_coords(n: int, align_corners: bool, dtype: Any, device: Any) -> Tensor:
    """The normalised [-1, 1] positions of n pixel centres (or corners)."""
    if n <= 1:
        return _mt.zeros(max(n, 0), dtype=dtype, device=device)
    lin = _mt.linspace(-1.0, 1.0, n, dtype=dtype, device=device)
    return lin if align_corners else lin * ((n - 1) / n)


def affine_grid(theta: Tensor, size: Sequence[int], align_corners: bool | None = None) -> Tensor:
    """The (N, H, W, 2) (or (N, D, H, W, 3)) sampling grid of the affine maps ``theta``."""
    align = bool(align_corners)
    size = list(size)
    if not theta.dtype.is_floating_point:
        raise ValueError(f"Expected theta to have floating point type, but got {theta.dtype}")
    if len(size) == 4:
        if theta.dim() != 3 or tuple(theta.shape[-2:]) != (2, 3):
            raise ValueError(f"Expected a batch of 2D affine matrices of shape Nx2x3 for size "
                             f"{size}. Got {list(theta.shape)}.")
    elif len(size) == 5:
        if theta.dim() != 3 or tuple(theta.shape[-2:]) != (3, 4):
            raise ValueError(f"Expected a batch of 3D affine matrices of shape Nx3x4 for size "
                             f"{size}. Got {list(theta.shape)}.")
    else:
        raise NotImplementedError(f"affine_grid only supports 4D and 5D sizes, for 2D and 3D "
                                  f"affine transforms, respectively. Got size {size}.")
    if min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {size}")
    spatial = size[2:]
    f = {"dtype": theta.dtype, "device": theta.device}
    axes = [_base_coords(s, align, **f) for s in spatial]  # (D,) H, W
    grids = _mt.meshgrid(*axes, indexing="ij")
    # homogeneous coordinates in (x, y[, z], 1) order: x runs along the last spatial dim
    base = _mt.stack(list(reversed(grids)) + [_mt.ones_like(grids[0])], -1)
    flat = base.reshape(-1, len(spatial) + 1)
    out = flat @ theta.transpose(1, 2)  # (N, P, k)
    return out.reshape([size[0]] + spatial + [len(spatial)])


def _unnormalize(coord: Tensor, size: int, align: bool) -> Tensor:
    if align:
        return (coord + 1) / 2 * (size - 1)
    return ((coord + 1) * size - 1) / 2


def _reflect(x: Tensor, twice_low: int, twice_high: int) -> Tensor:
    if twice_low == twice_high:
        return _mt.zeros_like(x)
    low = twice_low / 2
    span = (twice_high - twice_low) / 2
    x = (x - low).abs()
    extra = _mt.fmod(x, span)
    flips = _mt.floor(x / span)
    return _mt.where(_mt.fmod(flips, 2) == 0, extra + low, span - extra + low)


def _source_index(coord: Tensor, size: int, padding_mode: str, align: bool) -> Tensor:
    x = _unnormalize(coord, size, align)
    if padding_mode == "border":
        x = x.clamp(0, size - 1)
    elif padding_mode == "reflection":
        x = _reflect(x, 0, 2 * (size - 1)) if align else _reflect(x, -1, 2 * size - 1)
        x = x.clamp(0, size - 1)
    return x


def _tap(flat: Tensor, xi: Tensor, yi: Tensor, w: int, h: int) -> tuple[Tensor, Tensor]:
    """Values at integer (xi, yi) of each (N, C) plane, and whether the tap is inside."""
    inside = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
    idx = (yi.clamp(0, h - 1) * w + xi.clamp(0, w - 1)).long()  # (N, P)
    vals = flat.gather(2, idx.unsqueeze(1).expand(flat.shape[0], flat.shape[1], idx.shape[1]))
    return vals, inside.unsqueeze(1).to(flat.dtype)


def grid_sample(input: Tensor, grid: Tensor, mode: str = "bilinear",
                padding_mode: str = "zeros", align_corners: bool | None = None) -> Tensor:
    """Sample (N, C, H, W) ``input`` at the (N, Ho, Wo, 2) normalised ``grid`` points
    (x then y, in [-1, 1])."""
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError(f"nn.functional.grid_sample(): expected mode to be 'bilinear', "
                         f"'nearest' or 'bicubic', but got: '{mode}'")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError(f"nn.functional.grid_sample(): expected padding_mode to be 'zeros', "
                         f"'border', or 'reflection', but got: '{padding_mode}'")
    if mode == "bicubic" or input.dim() != 4:
        raise NotImplementedError("grid_sample(): only 4-D input with mode 'bilinear' or "
                                  "'nearest' is supported")
    if grid.dim() != 4 or grid.shape[-1] != 2 or grid.shape[0] != input.shape[0]:
        raise RuntimeError(f"grid_sampler(): expected grid of shape (N, H_out, W_out, 2) with "
                           f"N = {input.shape[0]}, but got {list(grid.shape)}")
    align = bool(align_corners)
    n, c, h, w = input.shape
    ho, wo = grid.shape[1], grid.shape[2]
    x = _source_index(grid[..., 0].reshape(n, -1), w, padding_mode, align)
    y = _source_index(grid[..., 1].reshape(n, -1), h, padding_mode, align)
    flat = input.reshape(n, c, h * w)
    if mode == "nearest":
        vals, inside = _tap(flat, _mt.round(x), _mt.round(y), w, h)
        return (vals * inside).reshape(n, c, ho, wo)
    x0, y0 = _mt.floor(x.detach()), _mt.floor(y.detach())
    wx, wy = (x - x0).unsqueeze(1), (y - y0).unsqueeze(1)
    out = None
    for dx, dy, weight in ((0, 0, (1 - wx) * (1 - wy)), (1, 0, wx * (1 - wy)),
                           (0, 1, (1 - wx) * wy), (1, 1, wx * wy)):
        vals, inside = _tap(flat, x0 + dx, y0 + dy, w, h)
        term = vals * inside * weight
        out = term if out is None else out + term
    return out.reshape(n, c, ho, wo)
