"""``X86InductorQuantizer``: the static int8 recipe of PyTorch's x86 backend, over an mbtorch
exported graph. Convolutions and linear layers take uint8 activations (affine, histogram
observer) and int8 weights (per output channel, symmetric); a convolution's output, after
its bias and a following ReLU, is quantized; a linear layer's only when a ReLU follows it;
max pooling and reshapes keep their input's scale (``SharedQuantizationSpec``). Everything
else stays in floating point between dequantize and quantize, which is what onnxruntime and
int8 backends fuse into integer kernels."""

from __future__ import annotations

import functools
from typing import Any

import mbtorch as mt
from mbtorch.core.op import Op
from mbtorch.graph.ir import OP, PLACEHOLDER, Value

from ..observer import HistogramObserver, PerChannelMinMaxObserver
from .quantizer import (
    QuantizationAnnotation,
    QuantizationConfig,
    QuantizationSpec,
    Quantizer,
    SharedQuantizationSpec,
)

__all__ = ["X86InductorQuantizer", "get_default_x86_inductor_quantization_config"]

_EPS = 2 ** -12


def get_default_x86_inductor_quantization_config(is_qat: bool = False,
                                                 is_dynamic: bool = False,
                                                 reduce_range: bool = False
                                                 ) -> QuantizationConfig:
    """uint8 activations in [0, 255] (in [0, 127] with ``reduce_range``) from a histogram
    observer, int8 per-channel symmetric weights: torchao's defaults."""
    if is_qat or is_dynamic:
        raise NotImplementedError("get_default_x86_inductor_quantization_config(): is_qat and "
                                  "is_dynamic are not supported by the mbtorch graph flow; use "
                                  "prepare_qat / quantize_dynamic (eager)")
    act = QuantizationSpec(mt.uint8, functools.partial(HistogramObserver, eps=_EPS), 0,
                           127 if reduce_range else 255, mt.per_tensor_affine)
    weight = QuantizationSpec(mt.int8, functools.partial(PerChannelMinMaxObserver, eps=_EPS),
                              -128, 127, mt.per_channel_symmetric, ch_axis=0)
    return QuantizationConfig(act, act, weight)


class X86InductorQuantizer(Quantizer):
    """``set_global(config)`` then hand it to ``prepare_pt2e``."""

    def __init__(self) -> None:
        self.global_config: QuantizationConfig | None = None

    def set_global(self, quantization_config: QuantizationConfig) -> X86InductorQuantizer:
        if not isinstance(quantization_config, QuantizationConfig):
            raise TypeError("X86InductorQuantizer.set_global(): expected a QuantizationConfig, "
                            f"got {type(quantization_config).__name__}")
        self.global_config = quantization_config
        return self

    def annotate(self, program: Any) -> dict:
        config = self.global_config
        if config is None:
            raise RuntimeError("X86InductorQuantizer.annotate(): no configuration; call "
                               "set_global(get_default_x86_inductor_quantization_config()) "
                               "first")
        graph = program.graph
        users = _users(graph)
        out: dict = {}
        quantized: set = set()  # values whose output is quantized: sharing can follow them
        for node in graph.nodes:
            if node.kind != OP:
                continue
            ann = _annotate_compute(node, config, users) or _annotate_shared(node, quantized)
            if ann is not None:
                out[node] = ann
                value = ann.output_value or (node.outputs[0] if ann.output_qspec else None)
                if value is not None:
                    quantized.add(value)
        return out


def _users(graph: Any) -> dict:
    users: dict = {}
    for node in graph.nodes:
        for a in node.inputs:
            if isinstance(a, Value):
                users.setdefault(a, []).append(node)
    return users


def _is_parameter(v: Any) -> bool:
    p = getattr(v, "producer", None)
    return p is not None and p.kind == PLACEHOLDER and p.role in ("parameter", "buffer",
                                                                   "constant")


def _transposed_parameter(v: Any) -> bool:
    p = getattr(v, "producer", None)
    return (p is not None and p.kind == OP and p.op is Op.PERMUTE and p.attrs[0] == (1, 0)
            and _is_parameter(p.inputs[0]))


def _epilogue(node: Any, users: dict) -> tuple[Any, bool]:
    """The value after ``node``'s bias add and ReLU (each taken only if it is the one user),
    and whether a ReLU was among them."""
    value, relu = node.outputs[0], False
    for want in (Op.ADD, Op.RELU):
        nxt = users.get(value, [])
        if len(nxt) != 1 or nxt[0].op is not want:
            continue
        if want is Op.ADD and not any(_bias_like(a) for a in nxt[0].inputs if a is not value):
            break
        value, relu = nxt[0].outputs[0], relu or want is Op.RELU
    return value, relu


def _bias_like(v: Any) -> bool:
    p = getattr(v, "producer", None)
    if p is not None and p.kind == OP and p.op is Op.VIEW:
        return _is_parameter(p.inputs[0])
    return _is_parameter(v)


def _annotate_compute(node: Any, config: QuantizationConfig, users: dict) -> Any:
    if node.op is Op.CONVOLUTION and _is_parameter(node.inputs[1]):
        weight = config.weight
        out, _ = _epilogue(node, users)
        return QuantizationAnnotation({node.inputs[0]: config.input_activation,
                                       node.inputs[1]: weight},
                                      config.output_activation, out, True)
    if node.op is Op.MATMUL and _transposed_parameter(node.inputs[1]):
        w = config.weight
        # the weight is used transposed, (in, out): its output channels are dim 1
        weight = QuantizationSpec(w.dtype, w.observer_or_fake_quant_ctr, w.quant_min,
                                  w.quant_max, w.qscheme, 1 if w.per_channel else None)
        out, relu = _epilogue(node, users)
        return QuantizationAnnotation({node.inputs[0]: config.input_activation,
                                       node.inputs[1]: weight},
                                      config.output_activation if relu else None,
                                      out if relu else None, True)
    return None


def _annotate_shared(node: Any, quantized: set) -> Any:
    """Max pooling and reshapes of a quantized value keep its scale and zero point."""
    if node.op in (Op.MAX_POOL, Op.VIEW) and node.inputs and node.inputs[0] in quantized:
        return QuantizationAnnotation({}, SharedQuantizationSpec(node.inputs[0]),
                                      node.outputs[0], True)
    return None
