"""Resizing tensor images, torchvision's tensor path: nearest, nearest-exact, bilinear and
bicubic through ``mbtorch.nn.functional.interpolate`` on the image's device, antialiased
(``antialias=True``, torchvision's default) for bilinear and bicubic with PyTorch's filter."""

from __future__ import annotations

import mbtorch
from mbtorch import Tensor
from mbtorch.nn.functional import interpolate

__all__ = ["resize"]

_TENSOR_MODES = ("nearest", "nearest-exact", "bilinear", "bicubic")


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
    x = interpolate(x.reshape(-1, 1, h, w), size=[out_h, out_w], mode=interpolation,
                    align_corners=False, antialias=bool(antialias)).reshape(*lead, out_h, out_w)
    if not need_cast:
        return x
    if out_dtype.is_floating_point:
        return x.to(out_dtype)
    if interpolation == "bicubic":  # the cubic filter overshoots
        info = mbtorch.iinfo(out_dtype)
        x = x.clamp(info.min, info.max)
    return x.round().to(out_dtype)
