"""``CONVOLUTION``: an N-d convolution (no bias) as one op, so a graph shows ``convolution``
where a model convolves (ONNX export writes a ``Conv`` node; a backend may register a native
kernel) instead of the im2col / matmul chain it is computed by.

The decomposition is that chain: zero padding (``CONSTANT_PAD``), ``IM2COL``, and one batched
matmul per group, ``(G, Og, Cg*K) @ (N, G, Cg*K, L) -> (N, G, Og, L)``, which comes out in NCHW
order with no transposing copy. The op has no derivative entry: with grad needed it is
recorded through those parts, whose gradients are cheap (``COL2IM``, matmul).
"""

from __future__ import annotations

from ..op import Op, define
from ..tensor import Tensor
from . import views as _v
from ._common import run
from .joining import pad_constant
from .linalg import matmul
from .windows import im2col, out_size

__all__ = ["convolution"]


@define(Op.CONVOLUTION)
def _convolution(x: Tensor, weight: Tensor, stride: tuple, padding: tuple, dilation: tuple,
                 groups: int) -> Tensor:
    n = weight.ndim - 2
    kernel = tuple(weight._shape[2:])
    if any(p for pair in padding for p in pair):
        x = pad_constant(x, [p for pair in reversed(padding) for p in pair])
    cols = im2col(x, kernel, tuple(dilation), tuple(stride))  # (N, C*K, L)
    batch, npos = cols._shape[0], cols._shape[2]
    out_sp = tuple(out_size(x._shape[2 + i], kernel[i], stride[i], 0, dilation[i])
                   for i in range(n))
    og = weight._shape[0] // groups
    w = _v.reshape(weight, (groups, og, -1))
    out = matmul(w, _v.reshape(cols, (batch, groups, cols._shape[1] // groups, npos)))
    return _v.reshape(out, (batch, groups * og) + out_sp)


def convolution(x: Tensor, weight: Tensor, stride: tuple, padding: tuple, dilation: tuple,
                groups: int) -> Tensor:
    """``x`` (N, C, *spatial) convolved with ``weight`` (O, C / groups, *kernel): ``stride``,
    ``dilation`` per spatial dim, ``padding`` a ``(before, after)`` zero pad per spatial dim.
    The caller (``nn.functional.conv*``) has checked the shapes, one floating dtype and one
    device, and that a window fits."""
    n = weight.ndim - 2
    kernel = weight._shape[2:]
    padding = tuple((int(a), int(b)) for a, b in padding)
    stride, dilation = tuple(int(s) for s in stride), tuple(int(d) for d in dilation)
    out_sp = tuple(out_size(x._shape[2 + i] + sum(padding[i]), kernel[i], stride[i], 0,
                            dilation[i]) for i in range(n))
    shape = (x._shape[0], weight._shape[0]) + out_sp
    return run(Op.CONVOLUTION, (x, weight), (stride, padding, dilation, int(groups)),
               (shape, x._dtype), x._device, x._be)
