"""PIL-image kernels of ``mbtorch.vision.transforms.functional`` (torchvision's
``_functional_pil``): each one is Pillow's own operation (``Image.resize``, ``ImageOps``,
``ImageEnhance``), so a PIL image is transformed exactly as torchvision transforms it.
Imported only when a PIL image is seen: Pillow stays an optional dependency."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
from PIL import Image, ImageEnhance, ImageOps

__all__ = [
    "adjust_brightness", "adjust_contrast", "adjust_hue", "adjust_saturation", "crop",
    "get_dimensions", "hflip", "pad", "resize", "to_grayscale", "vflip",
]


def get_dimensions(img: Image.Image) -> list[int]:
    width, height = img.size
    return [len(img.getbands()), height, width]


def hflip(img: Image.Image) -> Image.Image:
    return img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)


def vflip(img: Image.Image) -> Image.Image:
    return img.transpose(Image.Transpose.FLIP_TOP_BOTTOM)


def crop(img: Image.Image, top: int, left: int, height: int, width: int) -> Image.Image:
    """Pillow fills the part of the box outside the image with zeros."""
    return img.crop((left, top, left + width, top + height))


def resize(img: Image.Image, size: list[int], interpolation: int) -> Image.Image:
    """``size`` is ``[h, w]``; ``interpolation`` a Pillow resampling constant (Pillow always
    antialiases when it downscales)."""
    return img.resize((size[1], size[0]), interpolation)


def _parse_fill(fill: Any, img: Image.Image, fn: str) -> Any:
    channels = len(img.getbands())
    fill = 0 if fill is None else fill
    if isinstance(fill, numbers.Real) and channels > 1:
        fill = (fill,) * channels
    if isinstance(fill, (list, tuple)):
        if len(fill) == 1:
            fill = tuple(fill) * channels
        elif len(fill) != channels:
            raise ValueError(f"{fn}(): The number of elements in 'fill' does not match the "
                             f"number of channels of the image ({len(fill)} != {channels})")
        fill = tuple(fill)
    if img.mode != "F":
        fill = tuple(int(x) for x in fill) if isinstance(fill, tuple) else int(fill)
    return fill


def pad(img: Image.Image, padding: list[int], fill: Any, padding_mode: str) -> Image.Image:
    """``padding`` is ``[left, top, right, bottom]`` (negative values crop)."""
    if padding_mode == "constant" and min(padding) >= 0:
        palette = img.getpalette() if img.mode == "P" else None
        out = ImageOps.expand(img, border=tuple(padding), fill=_parse_fill(fill, img, "pad"))
        if palette is not None:
            out.putpalette(palette)
        return out
    left, top, right, bottom = padding
    crop_l, crop_t, crop_r, crop_b = (max(-p, 0) for p in padding)
    if crop_l or crop_t or crop_r or crop_b:
        img = img.crop((crop_l, crop_t, img.width - crop_r, img.height - crop_b))
    left, top, right, bottom = (max(p, 0) for p in padding)
    if padding_mode == "constant":
        return pad(img, [left, top, right, bottom], fill, padding_mode)
    palette = img.getpalette() if img.mode == "P" else None
    array = np.asarray(img)
    widths = [(top, bottom), (left, right)] + [(0, 0)] * (array.ndim - 2)
    out = Image.fromarray(np.pad(array, widths, mode=padding_mode))
    if palette is not None:
        out.putpalette(palette)
    return out


def adjust_brightness(img: Image.Image, factor: float) -> Image.Image:
    return ImageEnhance.Brightness(img).enhance(factor)


def adjust_contrast(img: Image.Image, factor: float) -> Image.Image:
    return ImageEnhance.Contrast(img).enhance(factor)


def adjust_saturation(img: Image.Image, factor: float) -> Image.Image:
    return ImageEnhance.Color(img).enhance(factor)


def adjust_hue(img: Image.Image, hue_factor: float) -> Image.Image:
    """Shift Pillow's 8-bit HSV hue by ``hue_factor * 255`` (wrapping), as torchvision."""
    mode = img.mode
    if mode in {"L", "1", "I", "F"}:
        return img
    h, s, v = img.convert("HSV").split()
    np_h = np.array(h, dtype=np.uint8)
    np_h += np.array(np.int32(hue_factor * 255)).astype(np.uint8)  # wraps around, on purpose
    h = Image.fromarray(np_h, "L")
    return Image.merge("HSV", (h, s, v)).convert(mode)


def to_grayscale(img: Image.Image, num_output_channels: int) -> Image.Image:
    if num_output_channels not in (1, 3):
        raise ValueError("rgb_to_grayscale(): num_output_channels should be either 1 or 3")
    gray = img.convert("L")
    if num_output_channels == 1:
        return gray
    np_img = np.array(gray, dtype=np.uint8)
    return Image.fromarray(np.dstack([np_img, np_img, np_img]), "RGB")
