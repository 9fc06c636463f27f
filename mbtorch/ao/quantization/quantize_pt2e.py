"""The graph flow of static quantization (torchao's ``prepare_pt2e`` / ``convert_pt2e``):

    ep = mbtorch.export.export(model.eval(), (example,))
    quantizer = X86InductorQuantizer().set_global(get_default_x86_inductor_quantization_config())
    prepared = prepare_pt2e(ep.module(), quantizer)   # observers on the annotated values
    for x in calibration_batches: prepared(x)
    quantized = convert_pt2e(prepared)                # quantize -> dequantize around them

The quantizer annotates the program's op nodes (``quantizer.quantizer``); ``prepare_pt2e``
puts an observer on each value to quantize (an activation at the output of the node that
makes it, for all its users, or on one input edge; a weight) and runs the graph with them.
``convert_pt2e`` rewrites the graph: an activation becomes ``quantize`` then ``dequantize``
with the observer's scale and zero point; a weight becomes an integer constant (folded
through its transpose) and a ``dequantize``; its float parameter leaves the program. The
result runs on any device, and ``mbtorch.onnx.export`` writes it in QDQ form, which
onnxruntime runs with int8 kernels.
"""

from __future__ import annotations

from typing import Any

import mbtorch as mt
from mbtorch.core.op import Op
from mbtorch.export import ExportedProgram
from mbtorch.export._module import ExportedModule
from mbtorch.graph.ir import OP, PLACEHOLDER, Graph, Node, Value

from ...nn.modules.module import Module
from .quantizer.quantizer import QuantizationSpec, Quantizer, SharedQuantizationSpec

__all__ = ["prepare_pt2e", "convert_pt2e", "PreparedModule"]

_QDTYPE = {mt.int8: mt.qint8, mt.uint8: mt.quint8, mt.int32: mt.qint32}


class _Point:
    """One place to quantize: a value for all its users (``user`` None) or one input edge,
    with its spec and (after prepare) its observer's name."""

    def __init__(self, value: Value, spec: Any, user: Node | None) -> None:
        self.value, self.spec, self.user, self.observer = value, spec, user, None


class PreparedModule(Module):
    """An exported program with observers: calling it runs the graph and shows each observed
    value to its observer (``activation_post_process_<n>`` submodules, as PyTorch names
    them). ``convert_pt2e`` turns it into the quantized program."""

    def __init__(self, program: ExportedProgram, points: list) -> None:
        super().__init__()
        self.inner = ExportedModule(program)
        object.__setattr__(self, "_program", program)
        object.__setattr__(self, "_points", points)
        for i, p in enumerate(points):
            if isinstance(p.spec, QuantizationSpec):
                p.observer = f"activation_post_process_{i}"
                self.add_module(p.observer, _observer(p.spec))

    def forward(self, *args: Any) -> Any:
        observe = {}
        for p in self._points:
            if p.observer is not None:
                observer = self._modules[p.observer]
                observe.setdefault(p.value, []).append(observer)
        calls = {v: _fan_out(obs) for v, obs in observe.items()}
        tensors = [a for a in args if isinstance(a, mt.Tensor)]
        state = dict(self.inner.named_parameters())
        state.update(self.inner.named_buffers())
        outs = self._program.run(tensors, state, calls)
        return outs[0] if len(outs) == 1 else tuple(outs)


def _fan_out(observers: list) -> Any:
    def show(t: mt.Tensor) -> None:
        with mt.no_grad():
            for o in observers:
                o(t.detach())

    return show


def _observer(spec: QuantizationSpec) -> Module:
    kwargs = dict(dtype=_QDTYPE[spec.dtype], quant_min=spec.quant_min,
                  quant_max=spec.quant_max)
    if spec.qscheme is not None:
        kwargs["qscheme"] = spec.qscheme
    if spec.ch_axis is not None and spec.per_channel:
        kwargs["ch_axis"] = spec.ch_axis
    return spec.observer_or_fake_quant_ctr(**kwargs)


def _program_of(model: Any, op: str) -> ExportedProgram:
    if isinstance(model, ExportedProgram):
        return model
    if isinstance(model, ExportedModule):
        program = model._program
        state = dict(model.named_parameters())
        state.update(model.named_buffers())
        return ExportedProgram(program.graph, {k: t.detach() for k, t in state.items()},
                               dict(program.constants), program.range_constraints,
                               program.dim_names)
    raise TypeError(f"{op}(): expected the module of an exported program "
                    "(mbtorch.export.export(model, args).module()) or the ExportedProgram, got "
                    f"{type(model).__name__}")


def prepare_pt2e(model: Any, quantizer: Quantizer) -> PreparedModule:
    """``model`` (``export(...).module()``) with the observers ``quantizer`` asks for."""
    if not isinstance(quantizer, Quantizer):
        raise TypeError("prepare_pt2e(): argument 'quantizer' must be a Quantizer, got "
                        f"{type(quantizer).__name__}")
    program = quantizer.transform_for_annotation(_program_of(model, "prepare_pt2e"))
    annotations = quantizer.annotate(program)
    quantizer.validate(program)
    return PreparedModule(program, _points(program.graph, annotations))


def _points(graph: Graph, annotations: dict) -> list:
    """The quantization points of the annotations, in graph order: outputs first for a value
    (an input edge whose value is already quantized at its output reuses that)."""
    outputs: dict = {}
    points: list = []
    for node in graph.nodes:
        ann = annotations.get(node)
        if ann is None:
            continue
        for value, spec in ann.input_qspec_map.items():
            if spec is not None and value not in outputs:
                points.append(_Point(value, spec, node))
        if ann.output_qspec is not None:
            value = ann.output_value or node.outputs[0]
            outputs[value] = _Point(value, ann.output_qspec, None)
            points.append(outputs[value])
    return points


def convert_pt2e(model: PreparedModule, use_reference_representation: bool = False,
                 fold_quantize: bool = True) -> ExportedModule:
    """The quantized program of a calibrated ``prepare_pt2e`` module, as a module."""
    if not isinstance(model, PreparedModule):
        raise TypeError("convert_pt2e(): expected the module prepare_pt2e returned, got "
                        f"{type(model).__name__}")
    if use_reference_representation or not fold_quantize:
        raise NotImplementedError("convert_pt2e(): only the folded QDQ representation "
                                  "(use_reference_representation=False, fold_quantize=True)")
    rewrite = _Rewrite(model)
    return ExportedModule(rewrite.program())


class _Rewrite:
    """The converted graph: quantize/dequantize pairs and integer weight constants."""

    def __init__(self, model: PreparedModule) -> None:
        self.model = model
        self.src: ExportedProgram = model._program
        self.graph = Graph()
        self.graph._names = dict(self.src.graph._names)
        self.constants = dict(self.src.constants)
        self.state = {k: t.detach().clone() for k, t in model.inner.state_dict().items()}
        self.qparams: dict = {}  # value -> (scale, zero_point, axis, storage dtype)
        self.head: list[Node] = []  # new constant placeholders, placed first
        self.remap: dict = {}  # (value, user or None) -> the value that replaces it

    def program(self) -> ExportedProgram:
        by_producer: dict = {}
        for p in self.model._points:
            by_producer.setdefault(p.value, []).append(p)
        body: list[Node] = []
        for node in self.src.graph.nodes:
            body.append(self._renamed(node))
            for v in node.outputs:
                for p in by_producer.get(v, []):
                    body += self._quantize(p)
        self.graph.nodes = self._prune(self.head + [n for n in body if n.kind == PLACEHOLDER]
                                       + [n for n in body if n.kind != PLACEHOLDER])
        self.graph.outputs = [self._use(v, None) for v in self.src.graph.outputs]
        self.graph.output_spec = self.src.graph.output_spec
        kept = {n.target for n in self.graph.placeholders() if n.role != "input"}
        state = {k: t for k, t in self.state.items() if k in kept}
        constants = {k: t for k, t in self.constants.items() if k in kept}
        return ExportedProgram(self.graph, state, constants, self.src.range_constraints,
                               self.src.dim_names)

    def _renamed(self, node: Node) -> Node:
        if node.kind == PLACEHOLDER:
            return node
        inputs = tuple(self._use(a, node) for a in node.inputs)
        return Node(node.kind, node.op, inputs, node.attrs, node.outputs, node.role,
                    node.target, node.multi, node.kernel, node.source)

    def _use(self, a: Any, user: Node | None) -> Any:
        if not isinstance(a, Value):
            return a
        return self.remap.get((a, user), self.remap.get((a, None), a))

    def _quantize(self, p: _Point) -> list[Node]:
        if isinstance(p.spec, SharedQuantizationSpec):
            params = self.qparams.get(self._root(p.spec.edge_or_node))
            if params is None:
                return []
            self.qparams[p.value] = params
        else:
            params = self._calibrated(p)
        if _is_weight(p.value):
            return self._weight(p, params)
        scale, zero_point, axis, storage = params
        s, z = self._constant("scale", scale), self._constant("zero_point", zero_point)
        v = p.value
        q = self.graph.new_value("quantize", v.shape, storage, v.device)
        dq = self.graph.new_value("dequantize", v.shape, mt.float32, v.device)
        self.remap[(v, p.user)] = dq
        return [Node(OP, Op.QUANTIZE, (v, s, z), (axis, storage), [q]),
                Node(OP, Op.DEQUANTIZE, (q, s, z), (axis,), [dq])]

    def _root(self, v: Value) -> Value:
        for (value, _user), new in self.remap.items():
            if new is v:
                return value
        return v

    def _calibrated(self, p: _Point) -> tuple:
        observer = self.model._modules[p.observer]
        if not _has_seen_data(observer):
            raise RuntimeError(f"convert_pt2e(): observer {p.observer} (for %{p.value.name}) "
                               "has seen no data: run the prepared module on calibration "
                               "inputs before converting")
        scale, zero_point = observer.calculate_qparams()
        axis = p.spec.ch_axis if p.spec.per_channel else None
        scale = scale.to(mt.float32)
        zero_point = zero_point.to(mt.int64)
        if axis is None:
            scale, zero_point = scale.reshape(()), zero_point.reshape(())
        params = (scale, zero_point, axis, p.spec.dtype)
        self.qparams[p.value] = params
        return params

    def _weight(self, p: _Point, params: tuple) -> list[Node]:
        """A weight (a parameter, or its transpose) as an integer constant and a dequantize."""
        scale, zero_point, axis, storage = params
        value = self._fold(p.value)
        if axis is None:
            q = mt.quantize_per_tensor(value, scale, zero_point, _QDTYPE[storage])
        else:
            q = mt.quantize_per_channel(value, scale, zero_point, axis, _QDTYPE[storage])
        ints = self._constant("weight_int", q.int_repr())
        s, z = self._constant("scale", scale), self._constant("zero_point", zero_point)
        v = p.value
        dq = self.graph.new_value("dequantize", v.shape, mt.float32, v.device)
        self.remap[(v, p.user)] = dq
        return [Node(OP, Op.DEQUANTIZE, (ints, s, z), (axis,), [dq])]

    def _fold(self, v: Value) -> mt.Tensor:
        producer = v.producer
        if producer.kind == PLACEHOLDER:
            return self._stored(producer)
        return self._stored(producer.inputs[0].producer).permute(*producer.attrs[0])

    def _stored(self, node: Node) -> mt.Tensor:
        store = self.constants if node.role == "constant" else self.state
        return store[node.target].detach()

    def _constant(self, hint: str, t: mt.Tensor) -> Value:
        v = self.graph.new_value(hint, tuple(t.shape), t.dtype, t.device)
        target = f"_quant_{v.name}"
        self.constants[target] = t.contiguous()
        node = Node(PLACEHOLDER, None, (), (), [v], "constant", target)
        v.producer = node
        self.head.append(node)
        return v

    def _prune(self, nodes: list[Node]) -> list[Node]:
        """Drop what no longer feeds anything (a weight's float parameter and transpose)."""
        live = {self._use(v, None) for v in self.src.graph.outputs if isinstance(v, Value)}
        kept: list[Node] = []
        for node in reversed(nodes):
            needed = (node.kind == PLACEHOLDER and node.role == "input") or \
                node.kind != OP and node.kind != PLACEHOLDER or \
                any(v in live for v in node.outputs)
            if needed:
                kept.append(node)
                live |= {a for a in node.inputs if isinstance(a, Value)}
        return kept[::-1]


def _is_weight(v: Value) -> bool:
    p = v.producer
    if p is not None and p.kind == PLACEHOLDER:
        return p.role in ("parameter", "buffer", "constant")
    return p is not None and p.kind == OP and p.op is Op.PERMUTE and _is_weight(p.inputs[0])


def _has_seen_data(observer: Module) -> bool:
    for name in ("min_val", "max_val"):
        t = getattr(observer, name, None)
        if isinstance(t, mt.Tensor):
            return t.numel() > 0 and bool(mt.isfinite(t).all().item())
    histogram = getattr(observer, "histogram", None)
    if isinstance(histogram, mt.Tensor):
        return bool((histogram.sum() > 0).item())
    return True
