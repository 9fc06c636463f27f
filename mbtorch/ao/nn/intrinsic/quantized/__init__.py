"""``torch.ao.nn.intrinsic.quantized``: fused patterns as int8 modules."""

from .modules import BNReLU2d, ConvReLU1d, ConvReLU2d, LinearReLU  # noqa: E402

__all__: list[str] = ["BNReLU2d", "ConvReLU1d", "ConvReLU2d", "LinearReLU"]
