"""VGG-11/16 with and without batch norm, torchvision's layout: ``features.N`` indices,
``avgpool`` (adaptive, 7x7, so any input of 32 pixels or more works) and ``classifier.{0,3,6}``."""

from __future__ import annotations

from typing import Any

import mbtorch as torch
from mbtorch import nn

from ._api import WeightsEnum, _build, _imagenet

__all__ = ["VGG", "VGG11_BN_Weights", "VGG11_Weights", "VGG16_BN_Weights", "VGG16_Weights",
           "vgg11", "vgg11_bn", "vgg16", "vgg16_bn"]

# channel counts of the 3x3 convolutions; "M" is a 2x2 max pool
CFGS: dict[str, list[int | str]] = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512,
          "M"],
}


class VGG(nn.Module):
    """A VGG network around a ``features`` trunk (see :func:`make_layers`)."""

    def __init__(self, features: nn.Module, num_classes: int = 1000, init_weights: bool = True,
                 dropout: float = 0.5) -> None:
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096), nn.ReLU(True), nn.Dropout(p=dropout),
            nn.Linear(4096, 4096), nn.ReLU(True), nn.Dropout(p=dropout),
            nn.Linear(4096, num_classes))
        if init_weights:
            self._init_weights()

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.constant_(m.bias, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.flatten(self.avgpool(self.features(x)), 1)
        return self.classifier(x)


def make_layers(cfg: list[int | str], batch_norm: bool = False) -> nn.Sequential:
    """The convolutional trunk: conv(+BN)+ReLU per number in ``cfg``, a max pool per "M"."""
    layers: list[nn.Module] = []
    in_channels = 3
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            continue
        conv = nn.Conv2d(in_channels, int(v), kernel_size=3, padding=1)
        layers += [conv, nn.BatchNorm2d(int(v)), nn.ReLU(True)] if batch_norm else \
            [conv, nn.ReLU(True)]
        in_channels = int(v)
    return nn.Sequential(*layers)


_URL = "https://download.pytorch.org/models/"
_RECIPE = "https://github.com/pytorch/vision/tree/main/references/classification#alexnet-and-vgg"


def _vgg_weights(file: str, num_params: int, acc1: float, acc5: float) -> Any:
    return _imagenet(_URL + file, num_params, acc1, acc5, _RECIPE, min_size=(32, 32))


class VGG11_Weights(WeightsEnum):
    IMAGENET1K_V1 = _vgg_weights("vgg11-8a719046.pth", 132_863_336, 69.020, 88.628)
    DEFAULT = IMAGENET1K_V1


class VGG11_BN_Weights(WeightsEnum):
    IMAGENET1K_V1 = _vgg_weights("vgg11_bn-6002323d.pth", 132_868_840, 70.370, 89.810)
    DEFAULT = IMAGENET1K_V1


class VGG16_Weights(WeightsEnum):
    IMAGENET1K_V1 = _vgg_weights("vgg16-397923af.pth", 138_357_544, 71.592, 90.382)
    DEFAULT = IMAGENET1K_V1


class VGG16_BN_Weights(WeightsEnum):
    IMAGENET1K_V1 = _vgg_weights("vgg16_bn-6c64b313.pth", 138_365_992, 73.360, 91.516)
    DEFAULT = IMAGENET1K_V1


def _vgg(name: str, cfg: str, batch_norm: bool, enum: type[WeightsEnum], weights: Any,
         progress: bool, kwargs: dict[str, Any]) -> VGG:
    if weights is not None:  # the checkpoint overwrites them: skip drawing 130M numbers
        kwargs["init_weights"] = False
    return _build(name, lambda **kw: VGG(make_layers(CFGS[cfg], batch_norm=batch_norm), **kw),
                  enum, weights, progress, kwargs)


def vgg11(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> VGG:
    """VGG-11, configuration "A" (132,863,336 parameters at 1000 classes).
    ``weights``: a :class:`VGG11_Weights` member or its name."""
    return _vgg("vgg11", "A", False, VGG11_Weights, weights, progress, kwargs)


def vgg11_bn(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> VGG:
    """VGG-11 with batch norm (132,868,840 parameters at 1000 classes).
    ``weights``: a :class:`VGG11_BN_Weights` member or its name."""
    return _vgg("vgg11_bn", "A", True, VGG11_BN_Weights, weights, progress, kwargs)


def vgg16(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> VGG:
    """VGG-16, configuration "D" (138,357,544 parameters at 1000 classes).
    ``weights``: a :class:`VGG16_Weights` member or its name."""
    return _vgg("vgg16", "D", False, VGG16_Weights, weights, progress, kwargs)


def vgg16_bn(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> VGG:
    """VGG-16 with batch norm (138,365,992 parameters at 1000 classes).
    ``weights``: a :class:`VGG16_BN_Weights` member or its name."""
    return _vgg("vgg16_bn", "D", True, VGG16_BN_Weights, weights, progress, kwargs)
