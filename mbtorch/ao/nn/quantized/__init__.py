"""``torch.ao.nn.quantized``: modules that take and return quantized tensors."""

from . import dynamic, functional, modules  # noqa: E402
from .modules import (BatchNorm2d, Conv1d, Conv2d, DeQuantize, Dropout, ELU,  # noqa: E402
                      FloatFunctional, FXFloatFunctional, Hardswish, LayerNorm, LeakyReLU,
                      Linear, QFunctional, Quantize, ReLU6, Sigmoid, Softmax)

__all__: list[str] = [
    "BatchNorm2d", "Conv1d", "Conv2d", "DeQuantize", "Dropout", "ELU", "FloatFunctional",
    "FXFloatFunctional", "Hardswish", "LayerNorm", "LeakyReLU", "Linear", "QFunctional",
    "Quantize", "ReLU6", "Sigmoid", "Softmax", "dynamic", "functional", "modules",
]
