"""``torch.ao.nn.intrinsic.quantized``: fused patterns as quantized modules. ``LinearReLU``,
``ConvReLU1d``/``ConvReLU2d`` apply the ReLU before requantizing (one rounding, as the fused
kernels do); ``BNReLU2d`` likewise for batch norm."""

from __future__ import annotations

from .....core.tensor import Tensor
from .....nn import functional as F
from ...quantized import functional as qF
from ...quantized.modules.conv import Conv1d, Conv2d
from ...quantized.modules.linear import Linear
from ...quantized.modules.normalization import BatchNorm2d

__all__ = ["LinearReLU", "ConvReLU1d", "ConvReLU2d", "BNReLU2d"]


def _fused(name: str) -> type:
    """The float fused class (``torch.ao.nn.intrinsic.<name>``), imported on use: the
    intrinsic package imports this one."""
    from ... import intrinsic

    return getattr(intrinsic, name)


class LinearReLU(Linear):
    """A quantized ``Linear`` followed by ReLU (``torch.ao.nn.intrinsic.quantized``)."""

    def forward(self, x: Tensor) -> Tensor:
        return qF._linear(x, self._qweight, self._bias, self.scale, self.zero_point, relu=True)

    def _get_name(self) -> str:
        return "QuantizedLinearReLU"

    @classmethod
    def _is_fused(cls) -> bool:
        return True

    @classmethod
    def _float_modules(cls) -> tuple:
        return (_fused("LinearReLU"),)


class ConvReLU1d(Conv1d):
    """A quantized ``Conv1d`` followed by ReLU."""

    _fused_relu = True

    def _get_name(self) -> str:
        return "QuantizedConvReLU1d"

    @classmethod
    def _is_fused(cls) -> bool:
        return True

    @classmethod
    def _float_modules(cls) -> tuple:
        return (_fused("ConvReLU1d"),)


class ConvReLU2d(Conv2d):
    """A quantized ``Conv2d`` followed by ReLU."""

    _fused_relu = True

    def _get_name(self) -> str:
        return "QuantizedConvReLU2d"

    @classmethod
    def _is_fused(cls) -> bool:
        return True

    @classmethod
    def _float_modules(cls) -> tuple:
        return (_fused("ConvReLU2d"),)


class BNReLU2d(BatchNorm2d):
    """A quantized ``BatchNorm2d`` followed by ReLU."""

    def forward(self, input: Tensor) -> Tensor:
        self._check_input_dim(input)
        x = qF._dequant(input, "batch_norm2d_relu")
        y = F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                         False, 0.0, self.eps)
        return qF._quant(F.relu(y), *self._qparams, input.dtype)

    def _get_name(self) -> str:
        return "QuantizedBNReLU2d"

    @classmethod
    def _is_fused(cls) -> bool:
        return True
