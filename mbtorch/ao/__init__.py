"""Architecture optimization (``torch.ao``): quantization of models (``mbtorch.ao.quantization``)
and the quantized, QAT and fused modules it swaps in (``mbtorch.ao.nn``)."""

__all__ = ["nn", "quantization"]

from . import nn, quantization  # noqa: E402
