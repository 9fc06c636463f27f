"""Run a captured graph op by op through the dispatcher, on the device its placeholders are
fed from (every backend: kernels, decompositions and autograd work as in eager mode).

The recorded meta rules' shapes and dtypes stand in for the public functions' checks: a feed
must match its placeholder's shape and dtype (static shapes), and each node runs the same
registry op with the same attrs it was recorded with. A graph with dynamic dimensions
(``ir.SymExpr`` in shapes and attrs) runs with ``sizes`` binding its symbols: every shape,
attr and scalar operand is evaluated at them first.
"""

from __future__ import annotations

__all__ = ["interpret"]

from typing import Any

from ..core import dispatch
from ..core.device import device as Device
from ..core.ops._common import empty_on, resolve_device
from ..core.ops.views import make_view
from ..core.tensor import Tensor
from .ir import ALLOC, OP, PLACEHOLDER, TRANSFER, WRITE, Graph, Value, substitute

_COPY, _AS_STRIDED = dispatch.Op.COPY_, dispatch.Op.AS_STRIDED


def interpret(graph: Graph, feeds: dict[Value, Tensor], device: Any = None,
              sizes: dict[str, int] | None = None, observe: dict | None = None) -> list:
    """The graph's outputs for ``feeds`` (a tensor per placeholder value). Ops with no tensor
    input (factories, random bits) run on ``device`` (default: where they were recorded).
    ``sizes``: the value of each symbol of a graph with dynamic dimensions. ``observe``:
    a callable per value, given its tensor once it is computed (the observers of
    ``mbtorch.ao.quantization.quantize_pt2e``)."""
    env: dict[Value, Tensor] = {}
    for node in graph.nodes:
        if node.kind == PLACEHOLDER:
            v = node.outputs[0]
            env[v] = _checked_feed(v, feeds.get(v), node.target, sizes)
        elif node.kind == OP:
            _run_op(node, env, device, sizes)
        elif node.kind == WRITE:
            _run_write(node, env, sizes)
        elif node.kind == TRANSFER:
            env[node.outputs[0]] = env[node.inputs[0]].to(node.attrs[0])
        elif node.kind == ALLOC:  # a new buffer a decomposition fills (primitive graphs)
            shape, dtype, dev = substitute(node.attrs, sizes) if sizes else node.attrs
            d, be = resolve_device(device if device is not None else dev, "empty")
            env[node.outputs[0]] = empty_on(shape, dtype, d, be)
        else:  # pragma: no cover - Graph holds only these kinds
            raise RuntimeError(f"interpret(): unknown node kind {node.kind!r}")
        if observe:
            for v in node.outputs:
                if v in observe:
                    observe[v](env[v])
    return [env[v] if isinstance(v, Value) else v for v in graph.outputs]


def _checked_feed(v: Value, t: Any, target: str, sizes: dict | None) -> Tensor:
    if not isinstance(t, Tensor):
        raise TypeError(f"interpret(): placeholder {target!r} needs a Tensor, got "
                        f"{type(t).__name__}")
    shape = substitute(v.shape, sizes) if sizes else v.shape
    if t._dtype._q is not None and t._dtype._storage is v.dtype:  # the integers it holds
        from ..core.quantized import int_view

        t = int_view(t)
    if t._shape != shape or t._dtype is not v.dtype:
        raise RuntimeError(f"interpret(): placeholder {target!r} was traced as "
                           f"{v.type_str()}, got {t._dtype.name}{list(t._shape)}")
    return t


def _run_op(node: Any, env: dict, device: Any, sizes: dict | None) -> None:
    inputs = tuple(env[a] if isinstance(a, Value) else a for a in node.inputs)
    attrs = node.attrs
    if sizes:
        inputs, attrs = substitute(inputs, sizes), substitute(attrs, sizes)
    if node.op is _AS_STRIDED:  # a view: the core's geometry, not a new root
        env[node.outputs[0]] = make_view(inputs[0], *attrs)
        return
    ref = next((x for x in inputs if isinstance(x, Tensor)), None)
    if ref is not None:
        dev, be = ref._device, ref._be
    else:
        dev, be = resolve_device(device if device is not None else node.outputs[0].device,
                                 node.op.name.lower())
        if device is not None:  # factories: made where the program runs
            attrs = tuple(dev if isinstance(a, Device) else a for a in attrs)
    metas = [(substitute(v.shape, sizes) if sizes else v.shape, v.dtype) for v in node.outputs]
    out = dispatch.run(node.op, inputs, attrs, metas if node.multi else metas[0], dev, be)
    for v, t in zip(node.outputs, out if node.multi else (out,)):
        env[v] = t


def _run_write(node: Any, env: dict, sizes: dict | None) -> None:
    dst = env[node.inputs[0]]
    src = node.inputs[1]
    src = env[src] if isinstance(src, Value) else substitute(src, sizes) if sizes else src
    if node.op is _COPY or dispatch.writes_in_place(node.op, dst._be):
        dispatch.write(node.op, dst, src)
    else:  # this backend has no in-place kernel for it: out of place, then copied in
        out = dispatch.run(node.op, (dst, src), (), (dst._shape, dst._dtype), dst._device,
                           dst._be)
        dispatch.write(_COPY, dst, out)
