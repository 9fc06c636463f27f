"""The translation of an ``ExportedProgram``'s graph into an ONNX ``ModelProto``: inputs and
weights declared, each live node translated in order (``TRANSLATIONS``: ``_ops_math``,
``_ops_shape``, ``_ops_quant``; writes: ``_writes``), outputs named, the result checked with
``onnx.checker.check_model(full_check=True)``."""

from __future__ import annotations

__all__ = ["to_model_proto"]

from typing import Any, Sequence

import onnx
from onnx import helper

from ..graph.ir import OP, PLACEHOLDER, TRANSFER, WRITE, Graph, SymExpr, Value
from . import _ops_math, _ops_quant, _ops_shape  # noqa: F401  (register the translations)
from ._builder import Builder, OnnxExporterError, UnsupportedOperatorError, onnx_dtype
from ._context import TRANSLATIONS, Ctx
from ._fold import fold_conv_bias
from ._writes import VIEW_OPS, Aliases


def to_model_proto(ep: Any, opset: int, input_names: Sequence[str],
                   output_names: Sequence[str] | None) -> onnx.ModelProto:
    """The ONNX model of ``ep``, checked."""
    graph: Graph = ep.graph
    b = Builder(opset)
    dim_names = dict(ep.dim_names)
    inputs = _declare_inputs(b, graph, list(input_names), dim_names)
    used = _live_values(graph)
    _declare_weights(b, ep, used)
    aliases = Aliases({n.outputs[0]: n.role for n in graph.placeholders()})
    for i, node in enumerate(graph.nodes):
        if node.kind == PLACEHOLDER:
            continue
        if node.kind == OP and node.op in VIEW_OPS:
            aliases.on_view(node)
        if node.kind == WRITE:
            aliases.write(b, node, f"node {i} ({node.format()}; at {node.source})")
        elif any(v in used for v in node.outputs):
            _translate(b, node, i)
    outputs = _declare_outputs(b, graph, output_names, dim_names)
    # a translation may read a weight's data and write it anew (a quantize node's int64 zero
    # point as uint8), leaving the original unread
    b.nodes = fold_conv_bias(b.nodes, b.initializers, {o.name for o in outputs})
    read = {name for n in b.nodes for name in n.input}
    weights = [t for t in b.initializers if t.name in read]
    onnx_graph = helper.make_graph(b.nodes, "main_graph", inputs, outputs, weights)
    model = helper.make_model(onnx_graph, producer_name="mbtorch",
                              opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = min(model.ir_version, 10)  # what onnxruntime 1.17+ reads
    try:
        onnx.checker.check_model(model, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as e:
        raise OnnxExporterError(f"onnx.export(): the ONNX checker refused the model (a bug in "
                                f"the exporter): {e}") from e
    return model


def _live_values(graph: Graph) -> set:
    """The values the outputs depend on (dead nodes are not translated). Writes are always
    translated (through a view they change its root), so what they read is live."""
    live = {v for v in graph.outputs if isinstance(v, Value)}
    for node in reversed(graph.nodes):
        if node.kind == WRITE or any(v in live for v in node.outputs):
            live.update(x for x in node.inputs if isinstance(x, Value))
    return live


def _value_info(name: str, v: Value, dim_names: dict, where: str) -> Any:
    shape = [_dim(d, dim_names) for d in v.shape]
    return helper.make_tensor_value_info(name, onnx_dtype(v.dtype, where), shape)


def _dim(d: Any, dim_names: dict) -> Any:
    if not isinstance(d, SymExpr):
        return int(d)
    if d.is_symbol():
        (s,) = d.free_symbols
        return dim_names.get(s, s)
    text = str(d)
    for s, name in dim_names.items():
        text = text.replace(s, name)
    return text


def _declare_inputs(b: Builder, graph: Graph, names: list[str], dim_names: dict) -> list:
    nodes = graph.placeholders("input")
    if len(names) != len(nodes):
        raise ValueError(f"onnx.export(): input_names has {len(names)} names for "
                         f"{len(nodes)} inputs")
    out = []
    for name, node in zip(names, nodes):
        v = node.outputs[0]
        b.names[v] = b.claim(str(name))
        out.append(_value_info(b.names[v], v, dim_names, f"input {name!r}"))
        for axis, d in enumerate(v.shape):
            if isinstance(d, SymExpr) and d.is_symbol():
                b.sym_dims.setdefault(next(iter(d.free_symbols)), (b.names[v], axis))
    return out


def _declare_weights(b: Builder, ep: Any, used: set) -> None:
    from ._builder import tensor_proto

    for node in ep.graph.placeholders():
        v = node.outputs[0]
        if node.role == "input" or v not in used:
            continue
        t = ep.constants[node.target] if node.role == "constant" else ep.state_dict[node.target]
        b.names[v] = b.claim(node.target)
        if t.is_quantized:  # its integers; the graph's dequantize nodes carry its qparams
            t = t.int_repr()
        b.initializers.append(tensor_proto(t.detach().numpy(force=True), b.names[v]))


def _declare_outputs(b: Builder, graph: Graph, names: Sequence[str] | None,
                     dim_names: dict) -> list:
    values = list(graph.outputs)
    if any(not isinstance(v, Value) for v in values):
        raise UnsupportedOperatorError("onnx.export(): the model returns a non-tensor value")
    if names is None:
        names = ["output"] if len(values) == 1 else [f"output_{i}" for i in range(len(values))]
    if len(names) != len(values):
        raise ValueError(f"onnx.export(): output_names has {len(names)} names for "
                         f"{len(values)} outputs")
    out = []
    for name, v in zip(names, values):
        b.nodes.append(helper.make_node("Identity", [b.name_of(v)], [b.claim(str(name))],
                                        name=b.fresh("node_output")))
        out.append(_value_info(str(name), v, dim_names, f"output {name!r}"))
    return out


def _translate(b: Builder, node: Any, index: int) -> None:
    outs = node.outputs
    if node.kind == TRANSFER:  # a device transfer: values are the same
        b.names[outs[0]] = b.name_of(node.inputs[0])
        return
    if node.kind != OP:
        raise UnsupportedOperatorError(f"onnx.export(): node {index} ({node.format()}) has no "
                                       "ONNX translation")
    where = f"op {node.op.name.lower()} (node {index}: {node.format()}; at {node.source})"
    fn = TRANSLATIONS.get(node.op)
    if fn is None:
        raise UnsupportedOperatorError(f"onnx.export(): {where} has no ONNX translation")
    names = fn(Ctx(b, node, where))
    if len(names) < len(outs):
        raise OnnxExporterError(f"onnx.export(): {where}: the translation made {len(names)} "
                                f"outputs for {len(outs)} (a bug in the exporter)")
    for v, name in zip(outs, names):
        b.names[v] = name
