"""Peephole rewrites of the translated ONNX nodes that runtimes rely on to pick fast kernels.

mbtorch's graph has a convolution's bias as its own ``add`` of the bias viewed as
``(1, C, 1, ...)`` (the ``CONVOLUTION`` op has no bias), which translates to ``Conv`` ->
``Add``. onnxruntime fuses a quantized convolution (``DequantizeLinear`` -> ``Conv`` ->
``QuantizeLinear``) into its integer ``QLinearConv`` only when nothing stands between ``Conv``
and ``QuantizeLinear``, so ``fold_conv_bias`` moves such a bias into ``Conv``'s third input.
The values computed are the same (ONNX's ``Conv`` adds ``B`` per output channel).
"""

from __future__ import annotations

__all__ = ["fold_conv_bias"]

from typing import Any

from onnx import numpy_helper


def fold_conv_bias(nodes: list, initializers: list, outputs: set[str]) -> list:
    """``nodes`` with each ``Conv`` (no bias) whose only reader is an ``Add`` of a 1-D
    initializer reshaped by a constant ``(1, C, 1, ...)`` given that initializer as its bias.
    ``outputs``: names the graph returns (always kept)."""
    consts = {t.name: t for t in initializers}
    producer = {name: n for n in nodes for name in n.output}
    readers: dict[str, list] = {}
    for n in nodes:
        for name in n.input:
            readers.setdefault(name, []).append(n)
    dropped: set[int] = set()
    for conv in nodes:
        if conv.op_type != "Conv" or len([i for i in conv.input if i]) != 2:
            continue
        out = conv.output[0]
        users = readers.get(out, [])
        if out in outputs or len(users) != 1 or users[0].op_type != "Add":
            continue
        add = users[0]
        other = add.input[1] if add.input[0] == out else add.input[0]
        bias = _channel_bias(producer.get(other), consts, _rank(conv))
        if bias is None:
            continue
        del conv.input[2:]
        conv.input.append(bias)
        conv.output[0] = add.output[0]
        dropped.add(id(add))
        if len(readers.get(other, [])) == 1 and other not in outputs:
            dropped.add(id(producer[other]))
    return [n for n in nodes if id(n) not in dropped]


def _rank(conv: Any) -> int | None:
    """The rank of a ``Conv``'s output, from its ``kernel_shape`` (None without one)."""
    for a in conv.attribute:
        if a.name == "kernel_shape":
            return len(a.ints) + 2
    return None


def _channel_bias(reshape: Any, consts: dict, rank: int | None) -> str | None:
    """The 1-D initializer a ``Reshape`` to ``(1, C, 1, ...)`` of ``rank`` dims makes, or
    None."""
    if reshape is None or reshape.op_type != "Reshape" or len(reshape.input) != 2:
        return None
    source, shape = (consts.get(name) for name in reshape.input)
    if source is None or shape is None or len(source.dims) != 1:
        return None
    dims = numpy_helper.to_array(shape).tolist()
    if len(dims) != rank or dims[0] != 1 or dims[1] != source.dims[0] or any(d != 1 for d in
                                                                          dims[2:]):
        return None
    return reshape.input[0]
