"""Modules that quantization swaps in: ``quantized`` (int8 inference), ``quantized.dynamic``,
``qat`` (fake-quantized training), ``intrinsic`` (fused patterns)."""

__all__ = ["intrinsic", "qat", "quantized"]

from . import intrinsic, qat, quantized  # noqa: E402
