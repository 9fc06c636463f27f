"""LeNet-5 (LeCun et al. 1998) for 1x32x32 inputs (28x28 MNIST padded by 2): not in
torchvision, so the names are ours: ``conv1``, ``conv2``, ``fc1``, ``fc2``, ``fc3``."""

from __future__ import annotations

from typing import Any

import mbtorch as torch
from mbtorch import nn

from ._utils import _no_weights

__all__ = ["LeNet5", "lenet5"]


class LeNet5(nn.Module):
    """conv(6,5x5) -> pool -> conv(16,5x5) -> pool -> 120 -> 84 -> ``num_classes``, with ReLU
    and max pooling (the usual modern reading of the original tanh/subsampling net).

    >>> LeNet5()(mbtorch.zeros(1, 1, 32, 32)).shape
    mbtorch.Size([1, 10])
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 6, kernel_size=5)
        self.conv2 = nn.Conv2d(6, 16, kernel_size=5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or tuple(x.shape[-2:]) != (32, 32):
            raise ValueError(f"LeNet5.forward: expected input of shape (N, C, 32, 32), got "
                             f"{tuple(x.shape)} (pad 28x28 images by 2)")
        x = nn.functional.max_pool2d(nn.functional.relu(self.conv1(x)), 2)
        x = nn.functional.max_pool2d(nn.functional.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        x = nn.functional.relu(self.fc1(x))
        x = nn.functional.relu(self.fc2(x))
        return self.fc3(x)


def lenet5(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> LeNet5:
    """LeNet-5 (61,706 parameters at 10 classes)."""
    _no_weights("lenet5", weights)
    return LeNet5(**kwargs)
