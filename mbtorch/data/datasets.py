"""The old spelling of :mod:`mbtorch.vision.datasets`'s MNIST family: ``MNIST`` and
``FashionMNIST`` (and ``KMNIST``) are defined there and re-exported here unchanged, so code
written as ``from mbtorch.data.datasets import FashionMNIST`` keeps working. New code imports
them from ``mbtorch.vision.datasets``, as ``torchvision.datasets`` in PyTorch."""

from __future__ import annotations

from mbtorch.vision.datasets.mnist import KMNIST, MNIST, FashionMNIST

__all__ = ["KMNIST", "MNIST", "FashionMNIST"]
