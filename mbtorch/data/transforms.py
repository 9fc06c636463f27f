"""The old spelling of :mod:`mbtorch.vision.transforms`, kept so existing code runs
unchanged: the same objects, re-exported (new code: ``from mbtorch.vision import
transforms``). Besides PIL images and tensors, the geometric transforms here have always
taken ``H x W (x C)`` NumPy arrays, and still do."""

from __future__ import annotations

from mbtorch.vision.transforms import (
    Compose,
    Lambda,
    Normalize,
    RandomCrop,
    RandomHorizontalFlip,
    ToTensor,
)
from mbtorch.vision.transforms.functional import pad

__all__ = ["Compose", "Lambda", "Normalize", "RandomCrop", "RandomHorizontalFlip", "ToTensor",
           "pad"]
