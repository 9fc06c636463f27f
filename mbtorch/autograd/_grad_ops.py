"""Small differentiable helpers the derivative table is written with (all built from mbtorch
ops, so gradients of gradients are recorded like anything else)."""

from __future__ import annotations

from typing import Any

from ..core import dispatch
from ..core.op import Op
from ..core.ops.creation import zeros
from ..core.ops.views import expand, make_view, reshape
from ..core.tensor import Tensor

__all__ = [
    "sum_to", "unsqueeze_to", "zeros_for", "write_into", "strided_view", "inverse_permutation",
    "scalar_or_tensor_log", "reduce_sum", "run_like"
]

# members read per call: ``Op.X`` is a slow attribute on Python 3.11 (EnumType.__getattr__)
_AS_STRIDED, _SUM = Op.AS_STRIDED, Op.SUM


def sum_to(g: Tensor, shape: tuple) -> Tensor:
    """Sum ``g`` down to ``shape``: the gradient of broadcasting ``shape`` to ``g.shape``."""
    if g._shape == shape:
        return g
    lead = len(g._shape) - len(shape)
    dims = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(shape)
                                      if s == 1 and g._shape[lead + i] != 1)
    if dims:
        kept = tuple(1 if i in dims else s for i, s in enumerate(g._shape))
        g = dispatch.run(_SUM, (g,), (dims, True), (kept, g._dtype), g._device, g._be)
    return reshape(g, shape)


def unsqueeze_to(g: Tensor, shape: tuple, dims: tuple, keepdim: bool) -> Tensor:
    """``g`` of a reduction over ``dims`` of a ``shape`` tensor, expanded back to ``shape``."""
    if not keepdim:
        g = reshape(g, tuple(1 if i in dims else s for i, s in enumerate(shape)))
    return expand(g, shape)


def zeros_for(g: Tensor, shape: tuple) -> Tensor:
    """A zero tensor of ``shape`` on ``g``'s device and dtype."""
    return zeros(shape, dtype=g._dtype, device=g._device)


def write_into(base: Tensor, view: Tensor, g: Tensor) -> Tensor:
    """``view.copy_(g)`` where ``view`` is a view of ``base``; returns ``base``. Under
    ``create_graph`` the write is recorded (``CopySlices``), so this stays differentiable."""
    view.copy_(g)
    return base


def strided_view(t: Tensor, shape: tuple, strides: tuple, offset: int) -> Tensor:
    """A view of a contiguous root ``t`` with explicit geometry, recorded as AS_STRIDED."""
    if t._root is not None or not t.is_contiguous():
        from ..core.ops.copying import clone

        t = clone(t)
    out = make_view(t, shape, strides, offset)
    if dispatch.needs_grad((t,)):
        dispatch.AUTOGRAD.record(_AS_STRIDED, (t,), (shape, strides, offset), out)
    return out


def inverse_permutation(dims: tuple) -> tuple:
    inv = [0] * len(dims)
    for i, d in enumerate(dims):
        inv[d] = i
    return tuple(inv)


def scalar_or_tensor_log(x: Any) -> Any:
    import math

    from ..core.ops.unary import log

    return log(x) if isinstance(x, Tensor) else math.log(x)


def reduce_sum(g: Tensor, dims: tuple, keepdim: bool = True) -> Tensor:
    """``g.sum(dims, keepdim)`` through the SUM primitive (recorded like the public op)."""
    if not dims:
        return g
    shape = tuple(1 if i in dims else s for i, s in enumerate(g._shape)) if keepdim else \
        tuple(s for i, s in enumerate(g._shape) if i not in dims)
    return dispatch.run(_SUM, (g,), (tuple(sorted(dims)), keepdim), (shape, g._dtype),
                        g._device, g._be)


def run_like(op: Op, inputs: tuple, attrs: tuple, shape: tuple, like: Tensor) -> Tensor:
    """Run a primitive whose output has ``like``'s dtype and device."""
    return dispatch.run(op, inputs, attrs, (shape, like._dtype), like._device, like._be)
