"""``mbtorch.vision.transforms``, as ``torchvision.transforms`` (v1): image transforms for PIL
images and mbtorch tensors ``[..., C, H, W]`` (``transforms.py``), and their functional forms
(``mbtorch.vision.transforms.functional``). PIL images go through Pillow's own operations,
tensors through mbtorch ops on their device; the random transforms draw from mbtorch's
generator, so ``mbtorch.manual_seed`` makes them reproducible.

>>> from mbtorch.vision import transforms as T
>>> train = T.Compose([T.RandomResizedCrop(224), T.RandomHorizontalFlip(), T.ToTensor(),
...                    T.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))])
"""

from . import functional
from .functional import InterpolationMode
from .transforms import (
    CenterCrop,
    ColorJitter,
    Compose,
    ConvertImageDtype,
    Grayscale,
    Lambda,
    Normalize,
    Pad,
    PILToTensor,
    RandomApply,
    RandomCrop,
    RandomGrayscale,
    RandomHorizontalFlip,
    RandomResizedCrop,
    RandomVerticalFlip,
    Resize,
    ToPILImage,
    ToTensor,
)

__all__ = [
    "CenterCrop", "ColorJitter", "Compose", "ConvertImageDtype", "Grayscale",
    "InterpolationMode", "Lambda", "Normalize", "PILToTensor", "Pad", "RandomApply",
    "RandomCrop", "RandomGrayscale", "RandomHorizontalFlip", "RandomResizedCrop",
    "RandomVerticalFlip", "Resize", "ToPILImage", "ToTensor", "functional",
]
