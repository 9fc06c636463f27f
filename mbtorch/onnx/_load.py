"""``mbtorch.onnx.load``: an ONNX model as an ``nn.Module`` that runs on any mbtorch device.

The file is read and checked (``onnx.checker``) before anything else; every operator is
looked up at load time, so an unsupported one fails then, naming the operator and the node.
Weights become the module's parameters (floating) and buffers (the rest), so ``.to(device)``
moves them; a call interprets the nodes in order through mbtorch's ops (``_import_ops``,
``_import_shape``, ``_import_nn``, ``_import_quant``), after checking each input's dtype and
static dims.
"""

from __future__ import annotations

__all__ = ["load", "OnnxModule", "mbtorch_dtype", "tensor_from_proto"]

import os
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from .. import nn
from ..core import dtypes as dt
from . import _import_nn, _import_quant, _import_shape  # noqa: F401  (register operators)
from ._builder import _ONNX_TYPES, UnsupportedOperatorError
from ._import_ops import IMPORTS, Run
from ._import_quant import CONTRIB

_DTYPES = {code: name for name, code in _ONNX_TYPES.items()}  # the exporter's table, inverted
_MAX_OPSET = 23


def mbtorch_dtype(elem_type: int, where: str) -> Any:
    try:
        return getattr(dt, _DTYPES[elem_type])
    except KeyError:
        name = TensorProto.DataType.Name(elem_type) if elem_type in \
            TensorProto.DataType.values() else str(elem_type)
        raise UnsupportedOperatorError(f"mbtorch.onnx.load(): {where} has element type "
                                       f"{name}, which mbtorch does not support") from None


_TYPED_FIELDS = ("float_data", "int32_data", "int64_data", "double_data", "uint64_data",
                 "string_data")


def _check_tensor(proto: onnx.TensorProto, dtype: Any) -> None:
    """The tensor's declared size against the data it holds, before anything is allocated."""
    if any(d < 0 for d in proto.dims):
        raise ValueError(f"tensor {proto.name!r} has a negative dim: {list(proto.dims)}")
    n = 1
    for d in proto.dims:
        n *= int(d)
    if proto.HasField("raw_data"):
        have, want = len(proto.raw_data), n * dtype.itemsize
    else:  # one entry per element in the type's field (int32_data for the narrow types)
        have, want = max(len(getattr(proto, f)) for f in _TYPED_FIELDS), n
    if have != want:
        raise ValueError(f"tensor {proto.name!r} declares shape {list(proto.dims)} "
                         f"({n} elements) but holds {have} "
                         f"{'bytes' if proto.HasField('raw_data') else 'values'}")


def tensor_from_proto(proto: onnx.TensorProto, device: Any = None) -> Any:
    from ..core.ops.creation import tensor

    _check_tensor(proto, mbtorch_dtype(proto.data_type, f"tensor {proto.name!r}"))
    array = numpy_helper.to_array(proto)
    dtype = mbtorch_dtype(proto.data_type, f"tensor {proto.name!r}")
    if dtype.name == "bfloat16":
        array = np.asarray(array).astype(np.float32)
    return tensor(np.array(array), dtype=dtype, device=device)


def _read(f: Any) -> tuple[onnx.ModelProto, str]:
    """The model and a name for messages; every failure a ``ValueError`` naming the file."""
    if isinstance(f, onnx.ModelProto):
        return f, "<ModelProto>"
    if isinstance(f, (bytes, bytearray)):
        data, where = bytes(f), "<bytes>"
    elif isinstance(f, (str, os.PathLike)):
        where = os.fspath(f)
        if not os.path.isfile(where):
            raise FileNotFoundError(f"mbtorch.onnx.load(): no such file: {where!r}")
        data = None
    elif hasattr(f, "read"):
        data, where = f.read(), getattr(f, "name", "<file object>")
    else:
        raise TypeError(f"mbtorch.onnx.load(): expected a path, bytes, a file object or a "
                        f"ModelProto, got {type(f).__name__}")
    try:
        model = onnx.load(where) if data is None else onnx.load_from_string(data)
    except Exception as e:  # protobuf's DecodeError, a missing external data file, ...
        raise ValueError(f"mbtorch.onnx.load(): {where!r} is not a readable ONNX model "
                         f"({type(e).__name__}: {e})") from e
    return model, where


def _contrib(node: Any) -> bool:
    return node.domain == "com.microsoft" and node.op_type in CONTRIB


def _check(model: onnx.ModelProto, where: str) -> int:
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as e:
        raise ValueError(f"mbtorch.onnx.load(): {where!r} is not a valid ONNX model: "
                         f"{str(e).splitlines()[0]}") from e
    opset = 0
    for imp in model.opset_import:
        if imp.domain in ("", "ai.onnx"):
            opset = imp.version
        elif any(n.domain == imp.domain and not _contrib(n) for n in model.graph.node):
            raise UnsupportedOperatorError(f"mbtorch.onnx.load(): {where!r} uses the operator "
                                           f"domain {imp.domain!r}; only the default ONNX "
                                           "domain is supported (and onnxruntime's quantized "
                                           f"{', '.join(sorted(CONTRIB))} of com.microsoft)")
    if not 7 <= opset <= _MAX_OPSET:
        raise UnsupportedOperatorError(f"mbtorch.onnx.load(): {where!r} uses opset {opset}; "
                                       f"supported: 7 to {_MAX_OPSET}")
    for node in model.graph.node:
        if node.op_type not in IMPORTS and node.op_type != "Constant":
            raise UnsupportedOperatorError(
                f"mbtorch.onnx.load(): {where!r}: ONNX operator {node.op_type!r} (node "
                f"{node.name or node.output[0]!r}) is not supported by mbtorch.onnx")
    return opset


def load(f: Any) -> OnnxModule:
    """An ONNX model (a path, bytes, a binary file object or a ``ModelProto``) as an
    ``nn.Module`` in eval mode; ``module.to(device)`` runs it on any mbtorch device."""
    model, where = _read(f)
    opset = _check(model, where)
    try:
        return OnnxModule(model, opset, where)
    except ValueError as e:  # a weight whose declared size does not match its data
        raise ValueError(f"mbtorch.onnx.load(): {where!r}: {e}") from e


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in name) or "_"


class OnnxModule(nn.Module):
    """Runs an ONNX graph through mbtorch's ops (see the module docstring). ``weights``: the
    ONNX initializer name of each parameter or buffer."""

    def __init__(self, model: onnx.ModelProto, opset: int, where: str = "") -> None:
        super().__init__()
        graph = model.graph
        self.opset, self.where = opset, where
        self.weights: dict[str, str] = {}
        for init in graph.initializer:
            self._add_weight(init.name, tensor_from_proto(init))
        for node in graph.node:
            if node.op_type == "Constant":
                self._add_weight(node.output[0], _constant(node))
        init_names = {i.name for i in graph.initializer}
        self.inputs = [(i.name, i.type.tensor_type) for i in graph.input
                       if i.name not in init_names]
        self.output_names = [o.name for o in graph.output]
        self.nodes = [(n.op_type, list(n.input), list(n.output), n.name or n.output[0],
                       {a.name: _attr(a) for a in n.attribute})
                      for n in graph.node if n.op_type != "Constant"]
        self.eval()

    def _add_weight(self, onnx_name: str, t: Any) -> None:
        key = _safe(onnx_name)
        while hasattr(self, key):
            key += "_"
        if t.dtype.is_floating_point:
            self.register_parameter(key, nn.Parameter(t, requires_grad=False))
        else:
            self.register_buffer(key, t)
        self.weights[key] = onnx_name

    def forward(self, *args: Any) -> Any:
        if len(args) != len(self.inputs):
            raise TypeError(f"OnnxModule.forward(): the model takes {len(self.inputs)} inputs "
                            f"({', '.join(n for n, _ in self.inputs)}), got {len(args)}")
        env: dict[str, Any] = {onnx_name: getattr(self, key)
                               for key, onnx_name in self.weights.items()}
        for (name, ttype), x in zip(self.inputs, args):
            env[name] = self._checked(name, ttype, x)
        device = args[0].device if args else None
        for op, ins, outs, node_name, attrs in self.nodes:
            fn = IMPORTS[op]
            if op == "Split":
                attrs = dict(attrs, n_out=len(outs))
            values = fn(op, Run(device, self.opset, node_name),
                        *[env[i] if i else None for i in ins], **attrs)
            for name, v in zip(outs, values):
                if name:
                    env[name] = v
        results = tuple(env[n] for n in self.output_names)
        return results[0] if len(results) == 1 else results

    def _checked(self, name: str, ttype: Any, x: Any) -> Any:
        from ..core.tensor import Tensor

        want = mbtorch_dtype(ttype.elem_type, f"input {name!r}")
        dims = [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?")
                for d in ttype.shape.dim]
        text = f"{want.name}[{', '.join(map(str, dims))}]"
        if not isinstance(x, Tensor):
            raise TypeError(f"OnnxModule.forward(): input {name!r} must be a Tensor ({text}), "
                            f"got {type(x).__name__}")
        static = [(i, d) for i, d in enumerate(dims) if isinstance(d, int)]
        if x.dtype is not want or x.ndim != len(dims) or any(x.shape[i] != d
                                                              for i, d in static):
            raise RuntimeError(f"OnnxModule.forward(): input {name!r} must be {text}, got "
                               f"{x.dtype.name}{list(x.shape)}")
        return x


def _attr(a: Any) -> Any:
    """An attribute's value; strings (bytes in the protobuf) as ``str``."""
    value = helper.get_attribute_value(a)
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, list) and value and isinstance(value[0], bytes):
        return [v.decode() for v in value]
    return value


def _constant(node: Any) -> Any:
    from ..core.ops.creation import tensor

    (attr,) = node.attribute
    value = helper.get_attribute_value(attr)
    if attr.name in ("value", "sparse_value"):
        if attr.name == "sparse_value":
            raise UnsupportedOperatorError(f"mbtorch.onnx.load(): Constant {node.name!r}: "
                                           "sparse constants are not supported")
        return tensor_from_proto(value)
    kinds = {"value_float": dt.float32, "value_floats": dt.float32, "value_int": dt.int64,
             "value_ints": dt.int64}
    if attr.name not in kinds:
        raise UnsupportedOperatorError(f"mbtorch.onnx.load(): Constant {node.name!r} with "
                                       f"{attr.name!r} is not supported")
    return tensor(value, dtype=kinds[attr.name])
