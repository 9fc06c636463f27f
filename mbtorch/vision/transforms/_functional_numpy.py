"""NumPy-array kernels for the geometric functions (``get_dimensions``, ``crop``, ``pad``,
``hflip``, ``vflip``): an image is an ``H x W`` or ``H x W x C`` array, what a PIL image
converts to. torchvision takes only PIL images and tensors there; mbtorch also takes arrays
because ``mbtorch.data.transforms`` (the old spelling of this package) always did, and
datasets that keep their images as arrays rely on it."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["crop", "get_dimensions", "hflip", "pad", "vflip"]


def get_dimensions(img: np.ndarray) -> list[int]:
    if img.ndim not in (2, 3):
        raise ValueError(f"get_dimensions(): an image array should be 2/3 dimensional "
                         f"(H x W or H x W x C). Got {img.ndim} dimensions.")
    channels = 1 if img.ndim == 2 else img.shape[2]
    return [channels, img.shape[0], img.shape[1]]


def hflip(img: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(img[:, ::-1])


def vflip(img: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(img[::-1])


def pad(img: np.ndarray, padding: list[int], fill: Any, padding_mode: str) -> np.ndarray:
    """``padding`` is ``[left, top, right, bottom]``; negative values crop."""
    crop_l, crop_t, crop_r, crop_b = (max(-p, 0) for p in padding)
    h, w = img.shape[:2]
    img = img[crop_t:h - crop_b, crop_l:w - crop_r]
    left, top, right, bottom = (max(p, 0) for p in padding)
    widths = [(top, bottom), (left, right)] + [(0, 0)] * (img.ndim - 2)
    if padding_mode != "constant":
        return np.pad(img, widths, mode=padding_mode)
    fill = 0 if fill is None else fill
    if isinstance(fill, (list, tuple)):
        channels = 1 if img.ndim == 2 else img.shape[2]
        if len(fill) not in (1, channels):
            raise ValueError(f"pad(): The number of elements in 'fill' does not match the "
                             f"number of channels of the image ({len(fill)} != {channels})")
        hh, ww = img.shape[:2]
        out = np.empty((hh + top + bottom, ww + left + right) + img.shape[2:], img.dtype)
        out[...] = np.asarray(fill, img.dtype)
        out[top:top + hh, left:left + ww] = img
        return out
    return np.pad(img, widths, mode="constant", constant_values=fill)


def crop(img: np.ndarray, top: int, left: int, height: int, width: int) -> np.ndarray:
    """The window, a view where it lies inside the image, zero-padded where it does not."""
    h, w = img.shape[:2]
    right, bottom = left + width, top + height
    if left < 0 or top < 0 or right > w or bottom > h:
        padding_ltrb = [max(-left + min(0, right), 0), max(-top + min(0, bottom), 0),
                        max(right - max(w, left), 0), max(bottom - max(h, top), 0)]
        return pad(img[max(top, 0):bottom, max(left, 0):right], padding_ltrb, 0, "constant")
    return img[top:bottom, left:right]
