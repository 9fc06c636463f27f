"""Quantizers for the graph flow (``prepare_pt2e`` / ``convert_pt2e``): torchao's
``torchao.quantization.pt2e.quantizer`` names."""

from .quantizer import (
    QuantizationAnnotation,
    QuantizationConfig,
    QuantizationSpec,
    QuantizationSpecBase,
    Quantizer,
    SharedQuantizationSpec,
)
from .x86_inductor_quantizer import (
    X86InductorQuantizer,
    get_default_x86_inductor_quantization_config,
)

__all__ = ["QuantizationAnnotation", "QuantizationConfig", "QuantizationSpec",
           "QuantizationSpecBase", "Quantizer", "SharedQuantizationSpec", "X86InductorQuantizer",
           "get_default_x86_inductor_quantization_config"]
