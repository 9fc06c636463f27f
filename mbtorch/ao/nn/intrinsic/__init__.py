"""``torch.ao.nn.intrinsic``: fused module patterns (Conv+BN+ReLU, Linear+ReLU) and their QAT
and quantized forms."""

__all__: list[str] = ["BNReLU2d", "BNReLU3d", "ConvBn1d", "ConvBn2d", "ConvBn3d", "ConvBnReLU1d",
                      "ConvBnReLU2d", "ConvBnReLU3d", "ConvReLU1d", "ConvReLU2d", "ConvReLU3d",
                      "LinearBn1d", "LinearReLU", "qat", "quantized"]

# the float containers first: the qat and quantized subpackages import them from here
from .modules import (  # noqa: E402
    BNReLU2d,
    BNReLU3d,
    ConvBn1d,
    ConvBn2d,
    ConvBn3d,
    ConvBnReLU1d,
    ConvBnReLU2d,
    ConvBnReLU3d,
    ConvReLU1d,
    ConvReLU2d,
    ConvReLU3d,
    LinearBn1d,
    LinearReLU,
    _FusedModule,  # noqa: F401 - PyTorch exposes it here too
)
from . import qat, quantized  # noqa: E402
