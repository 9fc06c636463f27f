"""``torch.ao.nn.quantized.modules``: the quantized modules ``convert`` swaps in."""

from .activation import ELU, Hardswish, LeakyReLU, ReLU6, Sigmoid, Softmax
from .conv import Conv1d, Conv2d
from .dropout import Dropout
from .functional_modules import FloatFunctional, FXFloatFunctional, QFunctional
from .linear import Linear
from .normalization import BatchNorm2d, LayerNorm
from .quant_dequant import DeQuantize, Quantize

__all__ = [
    "BatchNorm2d", "Conv1d", "Conv2d", "DeQuantize", "ELU", "Hardswish", "LayerNorm",
    "LeakyReLU", "Linear", "Quantize", "ReLU6", "Sigmoid", "Softmax", "Dropout",
    "FloatFunctional", "FXFloatFunctional", "QFunctional",
]
