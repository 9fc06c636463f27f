"""The preprocessing torchvision's ImageNet checkpoints expect (``weights.transforms()``),
built from :mod:`mbtorch.vision.transforms.functional` (one resize/crop/normalize for the
whole package)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import mbtorch as torch

from ..transforms import functional as F
from ..transforms.functional import InterpolationMode

__all__ = ["ImageClassification"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class ImageClassification:
    """Resize the short side to ``resize_size`` (bilinear, antialiased), center-crop
    ``crop_size``, scale to [0, 1], normalize.

    Takes a PIL image (converted to RGB) or a ``(C, H, W)`` / ``(N, C, H, W)`` tensor (uint8
    in [0, 255] or float in [0, 1]); returns float32 ``(C, H, W)`` / ``(N, C, H, W)`` on the
    input's device. Unlike torchvision, which resizes uint8 data (Pillow for a PIL image) and
    rounds, the image is converted to float32 first and resized with the tensor path's
    antialiased filter (PyTorch's, which is Pillow's): no rounding to 8 bits, and a PIL image
    and the same pixels as a tensor give the same result.

    >>> preprocess = ResNet18_Weights.IMAGENET1K_V1.transforms()
    >>> batch = preprocess(image).unsqueeze(0)
    """

    def __init__(self, *, crop_size: int, resize_size: int = 256,
                 mean: Sequence[float] = IMAGENET_MEAN,
                 std: Sequence[float] = IMAGENET_STD,
                 interpolation: InterpolationMode = InterpolationMode.BILINEAR) -> None:
        self.crop_size, self.resize_size = crop_size, resize_size
        self.mean, self.std = tuple(mean), tuple(std)
        self.interpolation = interpolation

    def __call__(self, img: Any) -> torch.Tensor:
        img = F.convert_image_dtype(self._to_tensor(img), torch.float32)
        img = F.resize(img, [self.resize_size], self.interpolation, antialias=True)
        img = F.center_crop(img, self.crop_size)
        return F.normalize(img, mean=self.mean, std=self.std)

    @staticmethod
    def _to_tensor(img: Any) -> torch.Tensor:
        if isinstance(img, torch.Tensor):
            if img.ndim not in (3, 4):
                raise ValueError(f"ImageClassification: expected a (C, H, W) or (N, C, H, W) "
                                 f"tensor, got shape {tuple(img.shape)}")
            return img
        if F._is_pil_image(img):
            return F.pil_to_tensor(img.convert("RGB"))
        raise TypeError(f"ImageClassification: expected a PIL image or an mbtorch tensor, got "
                        f"{type(img).__name__}")

    def __repr__(self) -> str:
        return (f"ImageClassification(crop_size={self.crop_size}, resize_size="
                f"{self.resize_size}, mean={list(self.mean)}, std={list(self.std)}, "
                f"interpolation={self.interpolation.value}, antialias=True)")
