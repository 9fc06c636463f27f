"""Datasets with torchvision's layout (``mbtorch.vision.datasets`` mirrors
``torchvision.datasets``): ``MNIST``, ``FashionMNIST``, ``KMNIST`` (IDX files), ``CIFAR10`` and
``CIFAR100`` (the binary distribution: nothing is unpickled), ``DatasetFolder`` and
``ImageFolder``, on the ``VisionDataset`` base. Samples are ``(Pillow image, int)`` as in
torchvision; Pillow is imported on first use (``pip install 'mbtorch[vision]'``).

The folder helpers (``default_loader``, ``pil_loader``, ``has_file_allowed_extension``,
``IMG_EXTENSIONS``, ``find_classes``, ``make_dataset``) live in ``.folder`` as in torchvision
and are importable from here too; the download helpers are in ``.utils``.
"""

from . import utils
from .cifar import CIFAR10, CIFAR100
from .folder import (
    IMG_EXTENSIONS,
    DatasetFolder,
    ImageFolder,
    default_loader,
    find_classes,
    has_file_allowed_extension,
    make_dataset,
    pil_loader,
)
from .mnist import KMNIST, MNIST, FashionMNIST
from .vision import StandardTransform, VisionDataset

__all__ = ["CIFAR10", "CIFAR100", "IMG_EXTENSIONS", "KMNIST", "MNIST", "DatasetFolder",
           "FashionMNIST", "ImageFolder", "StandardTransform", "VisionDataset", "default_loader",
           "find_classes", "has_file_allowed_extension", "make_dataset", "pil_loader", "utils"]
