"""``torch.onnx.errors``: the exporter's exception types."""

from __future__ import annotations

__all__ = ["OnnxExporterError", "UnsupportedOperatorError"]

from ._builder import OnnxExporterError, UnsupportedOperatorError
