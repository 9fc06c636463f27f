"""The Fashion-MNIST CNN of ``mbtorch-train`` (``python -m mbtorch.train``) as a zoo model, with
weights trained by this project and shipped inside the package.

The architecture is defined here once: :func:`build_fashion_cnn` takes an ``nn`` namespace, so
``mbtorch.train.build_model`` builds the same modules (and ``build_fashion_cnn(torch.nn)`` the
same module names in PyTorch). ``FashionCNN_Weights.FASHION_MNIST`` points at the shipped
safetensors file through a ``file://`` URL, so it loads through :mod:`mbtorch.hub` exactly as a
download does: copied into the hub cache with its sha256 checked against the prefix in its
name (a damaged file is refused and nothing is cached), then loaded with ``mbtorch.load``.

    >>> model = fashion_cnn(weights="FASHION_MNIST").eval()
    >>> preprocess = FashionCNN_Weights.DEFAULT.transforms()
    >>> logits = model(preprocess(uint8_images))  # (N, 28, 28) uint8 -> (N, 10)
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

import mbtorch as torch
from mbtorch import nn

from ..datasets.mnist import FashionMNIST
from ..transforms import functional as F
from ._api import Weights, WeightsEnum, _build

__all__ = ["FASHION_MNIST_MEAN", "FASHION_MNIST_STD", "FashionCNN_Weights",
           "FashionMNISTClassification", "build_fashion_cnn", "fashion_cnn"]

# Fashion-MNIST's training-set pixel mean and standard deviation (in [0, 1]); mbtorch.train
# normalizes with these
FASHION_MNIST_MEAN, FASHION_MNIST_STD = 0.2860, 0.3530
_SIZE = 28
_WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"


def build_fashion_cnn(nn: Any = nn, num_classes: int = 10) -> Any:
    """Two 3x3 convolutions, each followed by max pooling, batch norm and ReLU, then two linear
    layers, as an ``nn.Sequential`` of ``nn`` (``mbtorch.nn`` or ``torch.nn``): keys ``0.weight``
    (conv), ``2.*`` (norm), ``4.weight``, ``6.*``, ``9.*`` (linear), ``11.*`` (the head).

    Pooling comes before batch norm and ReLU (the same function while the norm's scale is
    positive, as both are monotonic per channel) so they run on a quarter of the values.
    206,970 parameters at 10 classes; input ``(N, 1, 28, 28)``.
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"build_fashion_cnn(): num_classes must be a positive int, got "
                         f"{num_classes!r}")
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1, bias=False), nn.MaxPool2d(2), nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1, bias=False), nn.MaxPool2d(2), nn.BatchNorm2d(32),
        nn.ReLU(),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, num_classes))


class FashionMNISTClassification:
    """The preprocessing the Fashion-MNIST CNN was trained with: pixels scaled to [0, 1] (as
    torchvision's ``ToTensor``), then ``(x - mean) / std`` with the training set's statistics.

    Takes one 28x28 grayscale image — a PIL image (converted to ``"L"``), or a NumPy array or
    mbtorch tensor of shape ``(28, 28)`` or ``(1, 28, 28)`` — or a batch ``(N, 1, 28, 28)``
    (``(N, 28, 28)`` for arrays and tensors with ``N > 1`` too). uint8 values are in [0, 255],
    floating ones already in [0, 1]. Returns float32 ``(1, 28, 28)`` or ``(N, 1, 28, 28)`` on
    the input tensor's device (cpu otherwise). Other sizes are refused: resize first.

    >>> FashionCNN_Weights.DEFAULT.transforms()(np.zeros((28, 28), np.uint8)).shape
    mbtorch.Size([1, 28, 28])
    """

    def __init__(self, *, mean: float = FASHION_MNIST_MEAN, std: float = FASHION_MNIST_STD):
        if not std > 0:
            raise ValueError(f"FashionMNISTClassification: std must be positive, got {std!r}")
        self.mean, self.std = float(mean), float(std)

    def __call__(self, img: Any) -> torch.Tensor:
        x = self._to_tensor(img)
        shape = tuple(x.shape)
        if x.ndim == 2:
            x = x.unsqueeze(0)
        elif x.ndim == 3 and x.shape[0] > 1:  # a batch of (H, W) images
            x = x.unsqueeze(1)
        if x.ndim not in (3, 4) or tuple(x.shape[-3:]) != (1, _SIZE, _SIZE):
            raise ValueError(f"FashionMNISTClassification: expected a 28x28 grayscale image "
                             f"((28, 28), (1, 28, 28)) or a batch (N, 1, 28, 28), got shape "
                             f"{shape}; resize it to 28x28")
        if x.dtype is not torch.uint8 and not x.dtype.is_floating_point:
            raise TypeError(f"FashionMNISTClassification: expected uint8 or floating pixels, "
                            f"got {x.dtype.name}")
        x = F.convert_image_dtype(x, torch.float32)  # uint8 / 255; floats as they are
        return F.normalize(x, mean=[self.mean], std=[self.std])

    @staticmethod
    def _to_tensor(img: Any) -> torch.Tensor:
        if isinstance(img, torch.Tensor):
            return img
        if isinstance(img, np.ndarray):
            return torch.from_numpy(img)
        if F._is_pil_image(img):
            return F.pil_to_tensor(img.convert("L"))[0]
        raise TypeError(f"FashionMNISTClassification: expected a PIL image, a NumPy array or "
                        f"an mbtorch tensor, got {type(img).__name__}")

    def __repr__(self) -> str:
        return f"FashionMNISTClassification(size=28, mean={self.mean}, std={self.std})"


def _shipped(name: str, sha256: str, accuracy: float, num_params: int, recipe: str) -> Weights:
    """Weights shipped in ``weights/``: a ``file://`` URL, so the hub checks and caches them."""
    return Weights(
        url=(_WEIGHTS_DIR / name).as_uri(),
        transforms=partial(FashionMNISTClassification),
        meta={"num_params": num_params, "num_classes": 10, "categories": list(FashionMNIST.classes),
              "min_size": (_SIZE, _SIZE), "recipe": recipe, "sha256": sha256,
              "_metrics": {"Fashion-MNIST": {"acc@1": accuracy}},
              "_docs": "Trained by this project with its recipe command; acc@1 is measured on "
                       "the 10,000 test images by `python -m bench.zoo_fashion_cnn`."})


class FashionCNN_Weights(WeightsEnum):  # noqa: N801 - torchvision's naming
    FASHION_MNIST = _shipped(
        "fashion_cnn-dc50a9eb.safetensors",
        "dc50a9eba01ace8c456e21a3ebf9075f456afcff2b1c4f617dcf8cb78a428c6d",
        accuracy=91.60, num_params=206_970,
        recipe="python -m mbtorch.train --epochs 3 --out /tmp/fashion_zoo --no-progress "
               "--data-root /usr/share/datasets/fashion-mnist")
    DEFAULT = FASHION_MNIST


def fashion_cnn(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> Any:
    """The Fashion-MNIST CNN of ``mbtorch-train`` (206,970 parameters at 10 classes);
    ``weights="FASHION_MNIST"`` (or ``"DEFAULT"``) loads the shipped, hash-checked weights.

    >>> model = fashion_cnn(weights=FashionCNN_Weights.DEFAULT).eval()
    """
    return _build("fashion_cnn", partial(build_fashion_cnn, nn), FashionCNN_Weights, weights,
                  progress, kwargs)
