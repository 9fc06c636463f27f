"""MobileNetV2 with torchvision's layout: ``features.0`` (stem), ``features.1..17``
(inverted residuals, ``conv.N``), ``features.18`` (1x1 to 1280), ``classifier.1``."""

from __future__ import annotations

from typing import Any

import mbtorch as torch
from mbtorch import nn

from ._api import WeightsEnum, _build, _imagenet
from ._utils import _make_divisible

__all__ = ["ConvBNReLU6", "InvertedResidual", "MobileNet_V2_Weights", "MobileNetV2",
           "mobilenet_v2"]


class ConvBNReLU6(nn.Sequential):
    """Conv (no bias) -> BatchNorm2d -> ReLU6, children ``0``, ``1``, ``2`` as torchvision's
    ``Conv2dNormActivation``."""

    def __init__(self, in_planes: int, out_planes: int, kernel_size: int = 3, stride: int = 1,
                 groups: int = 1) -> None:
        padding = (kernel_size - 1) // 2
        super().__init__(
            nn.Conv2d(in_planes, out_planes, kernel_size, stride, padding, groups=groups,
                      bias=False),
            nn.BatchNorm2d(out_planes),
            nn.ReLU6(inplace=True))
        self.out_channels = out_planes


class InvertedResidual(nn.Module):
    """Expand (1x1, skipped when ``expand_ratio`` is 1), depthwise 3x3, linear 1x1 projection;
    residual when the shape is kept."""

    def __init__(self, inp: int, oup: int, stride: int, expand_ratio: int) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"InvertedResidual: stride should be 1 or 2, got {stride}")
        hidden_dim = int(round(inp * expand_ratio))
        self.stride = stride
        self.use_res_connect = stride == 1 and inp == oup
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(ConvBNReLU6(inp, hidden_dim, kernel_size=1))
        layers += [ConvBNReLU6(hidden_dim, hidden_dim, stride=stride, groups=hidden_dim),
                   nn.Conv2d(hidden_dim, oup, 1, 1, 0, bias=False),
                   nn.BatchNorm2d(oup)]
        self.conv = nn.Sequential(*layers)
        self.out_channels = oup

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


# t (expansion), c (output channels), n (repeats), s (stride of the first repeat)
_SETTING = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1],
            [6, 160, 3, 2], [6, 320, 1, 1]]


class MobileNetV2(nn.Module):
    """MobileNetV2 (Sandler et al. 2018); ``width_mult`` scales every channel count."""

    def __init__(self, num_classes: int = 1000, width_mult: float = 1.0,
                 round_nearest: int = 8, dropout: float = 0.2) -> None:
        super().__init__()
        if width_mult <= 0:
            raise ValueError(f"MobileNetV2: width_mult must be positive, got {width_mult}")
        input_channel = _make_divisible(32 * width_mult, round_nearest)
        self.last_channel = _make_divisible(1280 * max(1.0, width_mult), round_nearest)
        features: list[nn.Module] = [ConvBNReLU6(3, input_channel, stride=2)]
        for t, c, n, s in _SETTING:
            output_channel = _make_divisible(c * width_mult, round_nearest)
            for i in range(n):
                features.append(InvertedResidual(input_channel, output_channel,
                                                  s if i == 0 else 1, expand_ratio=t))
                input_channel = output_channel
        features.append(ConvBNReLU6(input_channel, self.last_channel, kernel_size=1))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout),
                                        nn.Linear(self.last_channel, num_classes))
        self._init_weights()

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = nn.functional.adaptive_avg_pool2d(self.features(x), (1, 1))
        return self.classifier(torch.flatten(x, 1))


class MobileNet_V2_Weights(WeightsEnum):
    IMAGENET1K_V1 = _imagenet(
        "https://download.pytorch.org/models/mobilenet_v2-b0353104.pth", 3_504_872, 71.878,
        90.286, "https://github.com/pytorch/vision/tree/main/references/classification"
        "#mobilenetv2")
    IMAGENET1K_V2 = _imagenet(
        "https://download.pytorch.org/models/mobilenet_v2-7ebf99e0.pth", 3_504_872, 72.154,
        90.822, "https://github.com/pytorch/vision/issues/3995#new-recipe-with-reg-tuning",
        resize_size=232)
    DEFAULT = IMAGENET1K_V2


def mobilenet_v2(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> MobileNetV2:
    """MobileNetV2 (3,504,872 parameters at 1000 classes and width 1.0).
    ``weights``: a :class:`MobileNet_V2_Weights` member or its name."""
    return _build("mobilenet_v2", MobileNetV2, MobileNet_V2_Weights, weights, progress, kwargs)
