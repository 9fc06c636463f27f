"""``mbtorch.onnx``: ``torch.onnx``'s names for model deployment.

``export(model, args, f)`` translates the model's ``mbtorch.export`` graph into an ONNX model
(``onnx`` helpers, opset 18 by default, weights as initializers, external data past 2 GB),
checks it with ``onnx.checker.check_model(full_check=True)`` and writes it atomically. An op
with no translation raises ``UnsupportedOperatorError`` naming the op and the graph node.
Quantized models export in QDQ form (``QuantizeLinear``/``DequantizeLinear`` around float
ops, integer weights as int8 initializers), which onnxruntime runs with integer kernels.
``load(f)`` reads an ONNX model (ours, ``torch.onnx.export``'s, anyone's in the default
domain) as an ``nn.Module`` that runs on any mbtorch device through the op registry,
including QDQ models and the integer operators onnxruntime's quantization tools write (with
its ``com.microsoft`` ``QGemm`` and ``QLinear*`` contrib operators).
Needs the ``onnx`` extra (``pip install 'mbtorch[onnx]'``); ``import mbtorch`` never imports
``onnx``.
"""

from __future__ import annotations

__all__ = ["export", "load", "ONNXProgram", "OnnxModule", "OnnxExporterError", "errors",
           "is_in_onnx_export"]

try:
    import onnx as _onnx  # noqa: F401
except ImportError as _e:  # pragma: no cover - exercised without the extra installed
    raise ImportError("mbtorch.onnx needs the onnx package: pip install 'mbtorch[onnx]'") from _e

from . import errors
from ._builder import OnnxExporterError
from ._export import export
from ._load import OnnxModule, load
from ._program import ONNXProgram


def is_in_onnx_export() -> bool:
    """``torch.onnx.is_in_onnx_export``: False (the exporter traces through
    ``mbtorch.export``, which runs the model as in eager mode)."""
    return False
