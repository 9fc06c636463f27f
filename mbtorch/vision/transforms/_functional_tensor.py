"""Tensor kernels of ``mbtorch.vision.transforms.functional`` (torchvision's
``_functional_tensor``): an image is an mbtorch tensor ``[..., C, H, W]`` (or ``[H, W]``),
integer dtypes hold ``[0, max]`` and floats ``[0, 1]``. Every kernel is written with mbtorch
ops, so it runs on the image's device; only index maps are computed on the host."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

import mbtorch
from mbtorch import Tensor

__all__ = [
    "adjust_brightness", "adjust_contrast", "adjust_hue", "adjust_saturation",
    "convert_image_dtype", "crop", "get_dimensions", "hflip", "max_value", "normalize", "pad",
    "rgb_to_grayscale", "vflip",
]

_PAD_MODES = ("constant", "edge", "reflect", "symmetric")


def _check_image(img: Tensor, fn: str) -> None:
    if img.ndim < 2:
        raise TypeError(f"{fn}(): Tensor is not a torch image.")


def get_dimensions(img: Tensor, fn: str = "get_dimensions") -> list[int]:
    """``[channels, height, width]``; a ``[H, W]`` tensor has one channel."""
    _check_image(img, fn)
    channels = 1 if img.ndim == 2 else img.shape[-3]
    return [channels, img.shape[-2], img.shape[-1]]


def _check_channels(img: Tensor, permitted: Sequence[int], fn: str) -> None:
    c = get_dimensions(img, fn)[0]
    if c not in permitted:
        raise TypeError(f"{fn}(): Input image tensor permitted channel values are "
                        f"{list(permitted)}, but found {c}")


def max_value(dtype: mbtorch.dtype) -> int:
    """The value of full intensity: 1 for floating dtypes and bool, the integer maximum else."""
    if dtype.is_floating_point or dtype is mbtorch.bool:
        return 1
    return int(mbtorch.iinfo(dtype).max)


def convert_image_dtype(image: Tensor, dtype: mbtorch.dtype) -> Tensor:
    """Cast and rescale so full intensity maps to full intensity (torchvision's rules)."""
    if image.dtype is dtype:
        return image
    if image.is_floating_point():
        if dtype.is_floating_point:
            return image.to(dtype)
        if (image.dtype is mbtorch.float32 and dtype in (mbtorch.int32, mbtorch.int64)) or (
                image.dtype is mbtorch.float64 and dtype is mbtorch.int64):
            raise RuntimeError(f"convert_image_dtype(): The cast from {image.dtype} to {dtype} "
                               "cannot be performed safely.")
        # max + 1 - eps spreads [0, 1] evenly over the integers (only 1.0 maps to max)
        return image.mul(max_value(dtype) + 1.0 - 1e-3).to(dtype)
    input_max = max_value(image.dtype)
    if dtype.is_floating_point:
        return image.to(dtype) / input_max
    output_max = max_value(dtype)
    if input_max > output_max:
        factor = (input_max + 1) // (output_max + 1)
        return mbtorch.div(image, factor, rounding_mode="floor").to(dtype)
    return image.to(dtype) * ((output_max + 1) // (input_max + 1))


def hflip(img: Tensor) -> Tensor:
    _check_image(img, "hflip")
    return img.flip(-1)


def vflip(img: Tensor) -> Tensor:
    _check_image(img, "vflip")
    return img.flip(-2)


def crop(img: Tensor, top: int, left: int, height: int, width: int) -> Tensor:
    """The window ``[top, top + height) x [left, left + width)``; outside the image: zeros."""
    _, h, w = get_dimensions(img, "crop")
    right, bottom = left + width, top + height
    if left < 0 or top < 0 or right > w or bottom > h:
        padding_ltrb = [max(-left + min(0, right), 0), max(-top + min(0, bottom), 0),
                        max(right - max(w, left), 0), max(bottom - max(h, top), 0)]
        return pad(img[..., max(top, 0):bottom, max(left, 0):right], padding_ltrb, fill=0)
    return img[..., top:bottom, left:right]


def parse_padding(padding: Any, fn: str) -> list[int]:
    """torchvision's padding forms (int, [all], [left/right, top/bottom], [l, t, r, b]) ->
    ``[left, top, right, bottom]``."""
    if isinstance(padding, numbers.Integral) and not isinstance(padding, bool):
        return [int(padding)] * 4
    if not isinstance(padding, (tuple, list)):
        raise TypeError(f"{fn}(): Got inappropriate padding arg")
    if len(padding) not in (1, 2, 4):
        raise ValueError(f"{fn}(): Padding must be an int or a 1, 2, or 4 element tuple, not a "
                         f"{len(padding)} element tuple")
    if not all(isinstance(p, numbers.Integral) and not isinstance(p, bool) for p in padding):
        raise TypeError(f"{fn}(): Got inappropriate padding arg: {padding}")
    padding = [int(p) for p in padding]
    if len(padding) == 1:
        return [padding[0]] * 4
    if len(padding) == 2:
        return [padding[0], padding[1], padding[0], padding[1]]
    return list(padding)


def pad_index_map(size: int, before: int, after: int, mode: str) -> np.ndarray:
    """Source index of every output row/column for the non-constant modes (edge, reflect,
    symmetric are NumPy's modes of the same names)."""
    return np.pad(np.arange(size), (before, after), mode=mode)


def pad(img: Tensor, padding: Any, fill: Any = 0, padding_mode: str = "constant") -> Tensor:
    """Pad the last two dims; negative padding crops, as torch's ``pad``."""
    _check_image(img, "pad")
    fill = 0 if fill is None else fill
    if isinstance(fill, bool) or not isinstance(fill, numbers.Real):
        raise TypeError("pad(): Got inappropriate fill arg (a tensor image takes a number)")
    if not isinstance(padding_mode, str):
        raise TypeError("pad(): Got inappropriate padding_mode arg")
    left, top, right, bottom = parse_padding(padding, "pad")
    if padding_mode not in _PAD_MODES:
        raise ValueError("pad(): Padding mode should be either constant, edge, reflect or "
                         "symmetric")
    if min(left, top, right, bottom) < 0:
        h, w = img.shape[-2:]
        img = img[..., max(-top, 0):h - max(-bottom, 0), max(-left, 0):w - max(-right, 0)]
        left, top, right, bottom = (max(p, 0) for p in (left, top, right, bottom))
    h, w = img.shape[-2:]
    if padding_mode == "constant":
        out = mbtorch.full((*img.shape[:-2], h + top + bottom, w + left + right), fill,
                           dtype=img.dtype, device=img.device)
        out.narrow(-2, top, h).narrow(-1, left, w).copy_(img)
        return out
    if h == 0 or w == 0:
        raise RuntimeError(f"pad(): {padding_mode} padding needs a non-empty image, got "
                           f"{h} x {w}")
    rows = pad_index_map(h, top, bottom, padding_mode)
    cols = pad_index_map(w, left, right, padding_mode)
    img = img.index_select(-2, mbtorch.tensor(rows, device=img.device))
    return img.index_select(-1, mbtorch.tensor(cols, device=img.device))


def rgb_to_grayscale(img: Tensor, num_output_channels: int = 1) -> Tensor:
    """ITU-R 601 luma ``0.2989 R + 0.587 G + 0.114 B``, in the image's dtype (truncated).
    ``num_output_channels=3`` gives three equal channels also for a 1-channel image, as
    torchvision documents (its tensor code returns one channel there)."""
    if img.ndim < 3:
        raise TypeError(f"rgb_to_grayscale(): Input image tensor should have at least 3 "
                        f"dimensions, but found {img.ndim}")
    _check_channels(img, [1, 3], "rgb_to_grayscale")
    if num_output_channels not in (1, 3):
        raise ValueError("rgb_to_grayscale(): num_output_channels should be either 1 or 3")
    if img.shape[-3] == 3:
        r, g, b = img.unbind(-3)
        gray = (0.2989 * r + 0.587 * g + 0.114 * b).to(img.dtype).unsqueeze(-3)
    else:
        gray = img.clone()
    if num_output_channels == 3:
        return gray.expand(*img.shape[:-3], 3, *img.shape[-2:])
    return gray


def _blend(img1: Tensor, img2: Tensor, ratio: float) -> Tensor:
    ratio = float(ratio)
    bound = max_value(img1.dtype)
    return (ratio * img1 + (1.0 - ratio) * img2).clamp(0, bound).to(img1.dtype)


def _check_factor(value: float, name: str, fn: str) -> None:
    if value < 0:
        raise ValueError(f"{fn}(): {name} ({value}) is not non-negative.")


def adjust_brightness(img: Tensor, brightness_factor: float) -> Tensor:
    _check_factor(brightness_factor, "brightness_factor", "adjust_brightness")
    _check_channels(img, [1, 3], "adjust_brightness")
    return _blend(img, mbtorch.zeros_like(img), brightness_factor)


def adjust_contrast(img: Tensor, contrast_factor: float) -> Tensor:
    _check_factor(contrast_factor, "contrast_factor", "adjust_contrast")
    _check_channels(img, [1, 3], "adjust_contrast")
    dtype = img.dtype if img.is_floating_point() else mbtorch.float32
    gray = rgb_to_grayscale(img) if get_dimensions(img)[0] == 3 else img
    dims = (-3, -2, -1) if img.ndim >= 3 else (-2, -1)
    mean = gray.to(dtype).mean(dim=dims, keepdim=True)
    return _blend(img, mean, contrast_factor)


def adjust_saturation(img: Tensor, saturation_factor: float) -> Tensor:
    _check_factor(saturation_factor, "saturation_factor", "adjust_saturation")
    _check_channels(img, [1, 3], "adjust_saturation")
    if get_dimensions(img)[0] == 1:  # as PIL: a gray image has no saturation to change
        return img
    return _blend(img, rgb_to_grayscale(img), saturation_factor)


def adjust_hue(img: Tensor, hue_factor: float) -> Tensor:
    """Rotate the hue in HSV space by ``hue_factor`` turns (computed in float32)."""
    if not -0.5 <= hue_factor <= 0.5:
        raise ValueError(f"adjust_hue(): hue_factor ({hue_factor}) is not in [-0.5, 0.5].")
    _check_channels(img, [1, 3], "adjust_hue")
    if get_dimensions(img)[0] == 1:
        return img
    orig_dtype = img.dtype
    h, s, v = _rgb2hsv(convert_image_dtype(img, mbtorch.float32)).unbind(-3)
    h = _frac(h + hue_factor)
    rgb = _hsv2rgb(mbtorch.stack((h, s, v), dim=-3))
    return convert_image_dtype(rgb, orig_dtype)


def _frac(x: Tensor) -> Tensor:
    """``x % 1.0`` for the hue values here (in [-1, 2)), rounded as torch's remainder."""
    return x - mbtorch.floor(x)


def _rgb2hsv(img: Tensor) -> Tensor:
    """Pillow's RGB -> HSV (``Convert.c``), all channels in [0, 1]."""
    r, g, b = img.unbind(-3)
    maxc = img.max(dim=-3).values
    minc = img.min(dim=-3).values
    # where max == min, S and H are 0: replacing the divisors by 1 there avoids NaN
    eqc = maxc == minc
    cr = maxc - minc
    ones = mbtorch.ones_like(maxc)
    s = cr / mbtorch.where(eqc, ones, maxc)
    cr_divisor = mbtorch.where(eqc, ones, cr)
    rc = (maxc - r) / cr_divisor
    gc = (maxc - g) / cr_divisor
    bc = (maxc - b) / cr_divisor
    hr = (maxc == r) * (bc - gc)
    hg = ((maxc == g) & (maxc != r)) * (2.0 + rc - bc)
    hb = ((maxc != g) & (maxc != r)) * (4.0 + gc - rc)
    h = _frac((hr + hg + hb) / 6.0 + 1.0)
    return mbtorch.stack((h, s, maxc), dim=-3)


def _hsv2rgb(img: Tensor) -> Tensor:
    h, s, v = img.unbind(-3)
    i = mbtorch.floor(h * 6.0)
    f = h * 6.0 - i
    i = i.to(mbtorch.int32) % 6
    p = (v * (1.0 - s)).clamp(0.0, 1.0)
    q = (v * (1.0 - s * f)).clamp(0.0, 1.0)
    t = (v * (1.0 - s * (1.0 - f))).clamp(0.0, 1.0)
    # sector i of the hue circle picks (R, G, B) from (v, q, p, p, t, v) etc.
    sector = i.unsqueeze(-3) == mbtorch.arange(6, device=img.device).view(-1, 1, 1)
    candidates = mbtorch.stack((mbtorch.stack((v, q, p, p, t, v), dim=-3),
                                mbtorch.stack((t, v, v, q, p, p), dim=-3),
                                mbtorch.stack((p, p, t, v, v, q), dim=-3)), dim=-4)
    return (sector.to(img.dtype).unsqueeze(-4) * candidates).sum(dim=-3)


def normalize(tensor: Tensor, mean: Sequence[float], std: Sequence[float],
              inplace: bool = False) -> Tensor:
    _check_image(tensor, "normalize")
    if not tensor.is_floating_point():
        raise TypeError(f"normalize(): Input tensor should be a float tensor. Got "
                        f"{tensor.dtype}.")
    if tensor.ndim < 3:
        raise ValueError(f"normalize(): Expected tensor to be a tensor image of size "
                         f"(..., C, H, W). Got tensor.size() = {tensor.size()}")
    dtype, device = tensor.dtype, tensor.device
    mean_t = mbtorch.as_tensor(mean, dtype=dtype, device=device)
    std_t = mbtorch.as_tensor(std, dtype=dtype, device=device)
    channels = tensor.shape[-3]
    for name, value in (("mean", mean_t), ("std", std_t)):
        if value.ndim == 1 and value.numel() not in (1, channels):
            raise RuntimeError(f"normalize(): {name} has {value.numel()} values but the image "
                               f"has {channels} channels")
    if bool((std_t == 0).any()):
        raise ValueError(f"normalize(): std evaluated to zero after conversion to {dtype}, "
                         "leading to division by zero.")
    if mean_t.ndim == 1:
        mean_t = mean_t.view(-1, 1, 1)
    if std_t.ndim == 1:
        std_t = std_t.view(-1, 1, 1)
    if not inplace:
        tensor = tensor.clone()
    return tensor.sub_(mean_t).div_(std_t)
