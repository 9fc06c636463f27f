"""``ONNXProgram``: what ``mbtorch.onnx.export`` returns (``torch.onnx.ONNXProgram``'s
names): the checked ``model_proto``, ``save``, and a call that runs it under onnxruntime."""

from __future__ import annotations

__all__ = ["ONNXProgram"]

import os
from typing import Any

import onnx


class ONNXProgram:
    """An exported ONNX model (``model_proto``)."""

    def __init__(self, model_proto: onnx.ModelProto) -> None:
        self.model_proto = model_proto
        self._session: Any = None

    @property
    def model(self) -> onnx.ModelProto:
        return self.model_proto

    def save(self, destination: Any, *, external_data: bool | None = None) -> None:
        """Write the model to ``destination`` (a path: atomically, through a temporary file;
        or a binary file object). Weights past 2 GB go to an external data file beside a
        path (``external_data=False`` refuses such a model instead)."""
        from ._builder import OnnxExporterError
        from ._export import EXTERNAL_DATA_THRESHOLD, write_atomically

        if isinstance(destination, (str, os.PathLike)):
            write_atomically(self.model_proto, os.fspath(destination), external_data is not False)
            return
        if not hasattr(destination, "write"):
            raise TypeError(f"ONNXProgram.save(): destination must be a path or a binary file "
                            f"object, got {type(destination).__name__}")
        if self.model_proto.ByteSize() > EXTERNAL_DATA_THRESHOLD:
            raise OnnxExporterError("ONNXProgram.save(): a model over 2 GB needs a path (its "
                                    "weights go to an external data file), not a file object")
        destination.write(self.model_proto.SerializeToString())

    def __call__(self, *args: Any) -> list:
        """Run the model under onnxruntime (CPU) on mbtorch tensors or arrays; returns
        mbtorch tensors (``torch.onnx.ONNXProgram.__call__``)."""
        import numpy as np

        from ..core.ops.creation import tensor
        from ..core.tensor import Tensor

        if self._session is None:
            try:
                import onnxruntime
            except ImportError as e:
                raise ImportError("ONNXProgram(): running the model needs onnxruntime: pip "
                                  "install 'mbtorch[onnx]'") from e
            self._session = onnxruntime.InferenceSession(
                self.model_proto.SerializeToString(), providers=["CPUExecutionProvider"])
        names = [i.name for i in self._session.get_inputs()]
        if len(args) != len(names):
            raise TypeError(f"ONNXProgram(): the model takes {len(names)} inputs "
                            f"({', '.join(names)}), got {len(args)}")
        feeds = {n: a.numpy(force=True) if isinstance(a, Tensor) else np.asarray(a)
                 for n, a in zip(names, args)}
        return [tensor(out) for out in self._session.run(None, feeds)]
