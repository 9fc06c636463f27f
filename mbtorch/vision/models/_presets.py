"""The preprocessing torchvision's ImageNet checkpoints expect (``weights.transforms()``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

import mbtorch as torch

__all__ = ["ImageClassification"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class ImageClassification:
    """Resize the short side to ``resize_size`` (bilinear, antialiased, with PIL's filter as
    torchvision's PIL path), center-crop ``crop_size``, scale to [0, 1], normalize.

    Takes a PIL image or a ``(C, H, W)`` / ``(N, C, H, W)`` tensor (uint8 in [0, 255] or float
    in [0, 1]); returns float32 ``(C, H, W)`` / ``(N, C, H, W)`` on the input's device. Resizing
    runs on the host through Pillow (needed: ``pip install pillow``).

    >>> preprocess = ResNet18_Weights.IMAGENET1K_V1.transforms()
    >>> batch = preprocess(image).unsqueeze(0)
    """

    def __init__(self, *, crop_size: int, resize_size: int = 256,
                 mean: Sequence[float] = IMAGENET_MEAN,
                 std: Sequence[float] = IMAGENET_STD) -> None:
        self.crop_size, self.resize_size = crop_size, resize_size
        self.mean, self.std = tuple(mean), tuple(std)

    def __call__(self, img: Any) -> torch.Tensor:
        device = img.device if isinstance(img, torch.Tensor) else "cpu"
        array = self._to_float_array(img)
        batch = array.reshape(-1, *array.shape[-3:])
        out = np.stack([self._resize_crop(one) for one in batch])
        mean = np.asarray(self.mean, np.float32)[:, None, None]
        std = np.asarray(self.std, np.float32)[:, None, None]
        out = ((out - mean) / std).astype(np.float32)
        return torch.tensor(out.reshape(*array.shape[:-2], *out.shape[-2:]), device=device)

    @staticmethod
    def _to_float_array(img: Any) -> np.ndarray:
        if isinstance(img, torch.Tensor):
            array = img.numpy(force=True)
            if array.ndim not in (3, 4):
                raise ValueError(f"ImageClassification: expected a (C, H, W) or (N, C, H, W) "
                                 f"tensor, got shape {tuple(array.shape)}")
            return array.astype(np.float32) / (255.0 if array.dtype == np.uint8 else 1.0)
        if hasattr(img, "convert") and hasattr(img, "size"):  # a PIL image
            array = np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0
            return array.transpose(2, 0, 1)
        raise TypeError(f"ImageClassification: expected a PIL image or an mbtorch tensor, got "
                        f"{type(img).__name__}")

    def _resize_crop(self, chw: np.ndarray) -> np.ndarray:
        try:
            from PIL import Image
        except ImportError as exc:
            raise ImportError("ImageClassification needs Pillow to resize: pip install "
                              "pillow") from exc
        _, h, w = chw.shape
        short = self.resize_size
        size = (short, int(short * w / h)) if h <= w else (int(short * h / w), short)
        channels = [np.asarray(Image.fromarray(c, mode="F").resize(
            (size[1], size[0]), Image.BILINEAR)) for c in chw]
        out = np.stack(channels)
        top = int(round((size[0] - self.crop_size) / 2.0))
        left = int(round((size[1] - self.crop_size) / 2.0))
        if top < 0 or left < 0:
            raise ValueError(f"ImageClassification: crop_size {self.crop_size} is larger than "
                             f"the resized image {size}")
        return out[:, top:top + self.crop_size, left:left + self.crop_size]

    def __repr__(self) -> str:
        return (f"ImageClassification(crop_size={self.crop_size}, resize_size="
                f"{self.resize_size}, mean={list(self.mean)}, std={list(self.std)}, "
                "interpolation=bilinear, antialias=True)")
