"""The ONNX graph under construction: node, constant and initializer bookkeeping for the
translation of an ``ExportedProgram`` (``_export``), with sizes that may be expressions of the
program's dynamic dimensions (``ir.SymExpr``), computed in the graph from the inputs' shapes.

Everything is built with the ``onnx`` package's helpers; nothing here writes protobuf by hand.
"""

from __future__ import annotations

__all__ = ["Builder", "onnx_dtype", "UnsupportedOperatorError", "OnnxExporterError"]

from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from ..graph.ir import SymExpr, Value


class OnnxExporterError(RuntimeError):
    """``torch.onnx.OnnxExporterError``: the model could not be exported."""


class UnsupportedOperatorError(OnnxExporterError):
    """``torch.onnx.errors.UnsupportedOperatorError``: an op (or an op's argument) has no
    ONNX translation; the message names the op, the graph node and the value it makes."""


_ONNX_TYPES = {
    "float32": TensorProto.FLOAT, "float64": TensorProto.DOUBLE,
    "float16": TensorProto.FLOAT16, "bfloat16": TensorProto.BFLOAT16,
    "int64": TensorProto.INT64, "int32": TensorProto.INT32, "int16": TensorProto.INT16,
    "int8": TensorProto.INT8, "uint8": TensorProto.UINT8, "bool": TensorProto.BOOL,
}


def onnx_dtype(dtype: Any, where: str) -> int:
    """The ``TensorProto`` element type of an mbtorch dtype (``where`` names the value); a
    quantized dtype's is that of its integer values (what ``QuantizeLinear`` makes)."""
    dtype = dtype._storage or dtype
    try:
        return _ONNX_TYPES[dtype.name]
    except KeyError:
        raise UnsupportedOperatorError(
            f"onnx.export(): {where} has dtype {dtype.name}, which this exporter does not "
            f"translate (supported: {', '.join(_ONNX_TYPES)})") from None


class Builder:
    """Collects ONNX nodes and initializers. ``names`` maps graph values to ONNX names;
    ``sym_dims`` maps each dynamic symbol to ``(input name, axis)`` where its size is read."""

    def __init__(self, opset: int) -> None:
        self.opset = opset
        self.nodes: list = []
        self.initializers: list = []
        self.names: dict[Value, str] = {}
        self.sym_dims: dict[str, tuple[str, int]] = {}
        self._used: set[str] = set()
        self._consts: dict[tuple, str] = {}
        self._sizes: dict[Any, str] = {}

    # names ------------------------------------------------------------------------------
    def fresh(self, hint: str) -> str:
        base = hint.replace("%", "") or "v"
        name, n = base, 0
        while name in self._used:
            n += 1
            name = f"{base}_{n}"
        self._used.add(name)
        return name

    def claim(self, name: str) -> str:
        """Reserve ``name`` exactly (inputs, outputs, initializers keep the names given)."""
        if name in self._used:
            raise OnnxExporterError(f"onnx.export(): the name {name!r} is used twice")
        self._used.add(name)
        return name

    def name_of(self, v: Value) -> str:
        try:
            name = self.names[v]
        except KeyError:
            raise OnnxExporterError(f"onnx.export(): value %{v.name} is used before it is "
                                    "made (a bug in the exporter)") from None
        if name is None:
            raise UnsupportedOperatorError(
                f"onnx.export(): %{v.name} is read after a write through another view of its "
                "base, and its own view cannot be recomputed (a dynamic or strided view)")
        return name

    # nodes ------------------------------------------------------------------------------
    def op(self, op_type: str, inputs: list, n_out: int = 1, hint: str | None = None,
           **attrs: Any) -> list[str]:
        """Append a node; returns its output names (``""`` inputs are omitted optionals)."""
        outs = [self.fresh(f"{hint or op_type.lower()}") for _ in range(n_out)]
        self.nodes.append(helper.make_node(op_type, list(inputs), outs,
                                           name=self.fresh(f"node_{op_type}"), **attrs))
        return outs

    def op1(self, op_type: str, inputs: list, hint: str | None = None, **attrs: Any) -> str:
        return self.op(op_type, inputs, 1, hint, **attrs)[0]

    # constants --------------------------------------------------------------------------
    def const(self, array: np.ndarray, hint: str = "const") -> str:
        """An initializer holding ``array`` (small constants are shared by value)."""
        array = np.asarray(array)
        key = (array.dtype.str, array.shape, array.tobytes()) if array.size <= 64 else None
        if key is not None and key in self._consts:
            return self._consts[key]
        name = self.fresh(hint)
        self.initializers.append(tensor_proto(array, name))
        if key is not None:
            self._consts[key] = name
        return name

    def scalar(self, value: Any, dtype: Any) -> str:
        """A 0-d constant of mbtorch ``dtype`` (a ``SymExpr`` becomes a computed size)."""
        if isinstance(value, SymExpr):
            size = self.size(value)
            return self.op1("Cast", [size], to=onnx_dtype(dtype, "a size operand"))
        return self.const(np.asarray(value, dtype=np_dtype(dtype)), "scalar")

    def ints(self, values: Any, hint: str = "ints") -> str:
        """A 1-D int64 tensor of ``values`` (ints or ``SymExpr``s computed in the graph)."""
        values = list(values)
        if not any(isinstance(v, SymExpr) for v in values):
            return self.const(np.asarray(values, dtype=np.int64).reshape(len(values)), hint)
        parts = [self.size(v, one_d=True) for v in values]
        return self.op1("Concat", parts, hint=hint, axis=0)

    def size(self, expr: Any, one_d: bool = False) -> str:
        """An int64 tensor (0-d, or shape ``[1]`` with ``one_d``) holding ``expr``: an int or a
        polynomial of the dynamic symbols, each read from an input's shape."""
        key = (str(expr), one_d)
        if key in self._sizes:
            return self._sizes[key]
        if not isinstance(expr, SymExpr):
            out = self.const(np.asarray([int(expr)] if one_d else int(expr), dtype=np.int64))
        else:
            total = None
            for mono, coef in expr.terms:
                term = self.const(np.asarray([coef], dtype=np.int64))
                for s in mono:
                    term = self.op1("Mul", [term, self._symbol(s)], hint="size")
                total = term if total is None else self.op1("Add", [total, term], hint="size")
            out = total if one_d else self.op1("Squeeze", [total], hint="size")
        self._sizes[key] = out
        return out

    def _symbol(self, s: str) -> str:
        if s not in self.sym_dims:
            raise OnnxExporterError(f"onnx.export(): the size symbol {s} is not a dimension of "
                                    "any input (a bug in the exporter)")
        key = ("symbol", s)
        if key not in self._sizes:
            source, axis = self.sym_dims[s]
            self._sizes[key] = self.op1("Shape", [source], hint=f"dim_{s}", start=axis,
                                        end=axis + 1)
        return self._sizes[key]


def np_dtype(dtype: Any) -> Any:
    """The NumPy dtype a constant of mbtorch ``dtype`` is written with."""
    dtype = dtype._storage or dtype
    if dtype.name == "bfloat16":
        import ml_dtypes

        return ml_dtypes.bfloat16
    return np.dtype(dtype.name if dtype.name != "bool" else np.bool_)


def tensor_proto(array: np.ndarray, name: str) -> onnx.TensorProto:
    """``numpy_helper.from_array``, with bfloat16 (ml_dtypes) written as its raw bits."""
    array = np.array(array, order="C", copy=None)  # not ascontiguousarray: it makes 0-d 1-d
    if array.dtype.name == "bfloat16":
        bits = array.view(np.uint16)
        return helper.make_tensor(name, TensorProto.BFLOAT16, array.shape, bits.tobytes(),
                                  raw=True)
    return numpy_helper.from_array(array, name)
