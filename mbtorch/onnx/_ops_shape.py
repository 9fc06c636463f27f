"""ONNX translations of the views, joins, indexing, padding, windows and pooling ops. A view's
value is what ONNX computes (ONNX has values, not storage), so ``view`` is ``Reshape``,
``permute`` ``Transpose``, ``slice`` ``Slice`` and so on."""

from __future__ import annotations

__all__: list[str] = []

import numpy as np

from ..core.op import Op
from ..graph.ir import SymExpr
from ._context import Ctx, translates

_INT64_MIN = np.iinfo(np.int64).min


@translates(Op.VIEW)
def _view(c: Ctx) -> list[str]:
    shape = c.b.ints(c.arg(1), "shape")
    return [c.b.op1("Reshape", [c.input(0), shape], allowzero=1)]


@translates(Op.PERMUTE)
def _permute(c: Ctx) -> list[str]:
    return [c.b.op1("Transpose", [c.input(0)], perm=[int(d) for d in c.arg(1)])]


@translates(Op.EXPAND)
def _expand(c: Ctx) -> list[str]:
    return [c.b.op1("Expand", [c.input(0), c.b.ints(c.arg(1), "shape")])]


@translates(Op.SLICE)
def _slice(c: Ctx) -> list[str]:
    b = c.b
    _, dim, start, stop, step = c.args
    return [b.op1("Slice", [c.input(0), b.ints([start]), b.ints([stop]), b.ints([dim]),
                            b.ints([step])])]


@translates(Op.SELECT)
def _select(c: Ctx) -> list[str]:
    return [c.b.op1("Gather", [c.input(0), c.b.size(c.arg(2))], axis=int(c.arg(1)))]


@translates(Op.UNFOLD)
def _unfold(c: Ctx) -> list[str]:
    # the windows gathered by a (windows, size) index table, then the size axis moved last
    b = c.b
    dim, size, step = (int(c.arg(i)) for i in (1, 2, 3))
    length = c.static(c.shape(0)[dim], "the unfolded dim's size")
    windows = (length - size) // step + 1
    table = np.arange(windows)[:, None] * step + np.arange(size)[None, :]
    out = b.op1("Gather", [c.input(0), b.const(table.astype(np.int64), "windows")], axis=dim)
    rank = c.rank(0) + 1
    perm = [d for d in range(rank) if d != dim + 1] + [dim + 1]
    return [b.op1("Transpose", [out], perm=perm)]


@translates(Op.FULL)
def _full(c: Ctx) -> list[str]:
    from ._builder import np_dtype, tensor_proto

    shape, value = c.arg(0), c.arg(1)
    if isinstance(value, SymExpr):
        c.unsupported("a fill value that depends on a dynamic dimension")
    fill = tensor_proto(np.asarray([value], dtype=np_dtype(c.out_dtype)), "value")
    return [c.b.op1("ConstantOfShape", [c.b.ints(shape, "shape")], value=fill)]


@translates(Op.IOTA)
def _iota(c: Ctx) -> list[str]:
    b = c.b
    return [b.op1("Range", [b.size(0), b.size(c.arg(0)), b.size(1)])]


@translates(Op.CAT)
def _cat(c: Ctx) -> list[str]:
    tensors = [c.input(i) for i in range(len(c.args) - 1)]
    return [c.b.op1("Concat", tensors, axis=int(c.args[-1]))]


@translates(Op.FLIP)
def _flip(c: Ctx) -> list[str]:
    b, dims = c.b, list(c.arg(1))
    n = len(dims)
    return [b.op1("Slice", [c.input(0), b.ints([-1] * n), b.ints([_INT64_MIN] * n),
                            b.ints(dims), b.ints([-1] * n)])]


@translates(Op.TRIL, Op.TRIU)
def _tri(c: Ctx) -> list[str]:
    return [c.b.op1("Trilu", [c.input(0), c.b.size(c.arg(1))], upper=int(c.op is Op.TRIU))]


@translates(Op.INDEX_SELECT)
def _index_select(c: Ctx) -> list[str]:
    return [c.b.op1("Gather", [c.input(0), c.input(1)], axis=int(c.arg(2)))]


@translates(Op.GATHER)
def _gather(c: Ctx) -> list[str]:
    return [c.b.op1("GatherElements", [c.input(0), c.input(2)], axis=int(c.arg(1)))]


@translates(Op.SCATTER)
def _scatter(c: Ctx) -> list[str]:
    reduce = c.arg(4)
    if reduce not in ("none", "add"):
        c.unsupported(f"scatter with reduce={reduce!r}")
    return [c.b.op1("ScatterElements", [c.input(0), c.input(2), c.input(3)],
                    axis=int(c.arg(1)), reduction=reduce)]


@translates(Op.MASKED_FILL)
def _masked_fill(c: Ctx) -> list[str]:
    return [c.b.op1("Where", [c.input(1), c.input(2, c.out_dtype), c.input(0)])]


def _index_layout(c: Ctx) -> tuple[str, str, list[int], list[int]]:
    """``(x moved so the indexed dims lead, index as (*B, k), dims, rest)`` for INDEX and
    INDEX_PUT (their layout: ``core.ops.indexing``)."""
    b, dims = c.b, [int(d) for d in c.arg(2 if c.op is Op.INDEX else 3)]
    rank = c.rank(0)
    rest = [d for d in range(rank) if d not in dims]
    x = b.op1("Transpose", [c.input(0)], perm=dims + rest)
    k_rank = len(c.shape(1))
    index = b.op1("Transpose", [c.input(1)], perm=list(range(1, k_rank)) + [0])
    return x, index, dims, rest


def _adjacent(dims: list[int]) -> bool:
    return dims == list(range(dims[0], dims[0] + len(dims)))


@translates(Op.INDEX)
def _index(c: Ctx) -> list[str]:
    x, index, dims, rest = _index_layout(c)
    out = c.b.op1("GatherND", [x, index])
    n_b = len(c.shape(1)) - 1
    if _adjacent(dims) and dims[0] > 0:  # the indexed block stays where it was
        order = list(range(n_b, n_b + dims[0])) + list(range(n_b))
        order += list(range(n_b + dims[0], n_b + len(rest)))
        out = c.b.op1("Transpose", [out], perm=order)
    return [out]


@translates(Op.INDEX_PUT)
def _index_put(c: Ctx) -> list[str]:
    b = c.b
    x, index, dims, rest = _index_layout(c)
    values = c.input(2)
    n_b = len(c.shape(1)) - 1
    if _adjacent(dims) and dims[0] > 0:  # values' indexed block sits at dims[0]
        order = list(range(dims[0], dims[0] + n_b)) + list(range(dims[0]))
        order += list(range(dims[0] + n_b, n_b + len(rest)))
        values = b.op1("Transpose", [values], perm=order)
    out = b.op1("ScatterND", [x, index, values], reduction="add" if c.arg(4) else "none")
    order = dims + rest
    inverse = [order.index(d) for d in range(len(order))]
    return [b.op1("Transpose", [out], perm=inverse)]


@translates(Op.CONSTANT_PAD)
def _constant_pad(c: Ctx) -> list[str]:
    pads = c.arg(1)
    flat = [p[0] for p in pads] + [p[1] for p in pads]
    value = c.input(2, c.out_dtype)
    return [c.b.op1("Pad", [c.input(0), c.b.ints(flat, "pads"), value], mode="constant")]


@translates(Op.IM2COL)
def _im2col(c: Ctx) -> list[str]:
    # a convolution with a one-hot kernel per (channel, kernel offset) gathers the windows in
    # IM2COL's order (channel outer, then the kernel's offsets row-major)
    from ._builder import np_dtype

    b = c.b
    kernel, dilation, stride = (list(c.static(c.arg(i), "the window")) for i in (1, 2, 3))
    channels = c.static(c.shape(0)[1], "the channel count")
    k = int(np.prod(kernel))
    eye = np.eye(channels * k, dtype=np_dtype(c.out_dtype)).reshape(channels * k, channels,
                                                                     *kernel)
    cols = b.op1("Conv", [c.input(0), b.const(eye, "im2col_kernel")], kernel_shape=kernel,
                 strides=stride, dilations=dilation)
    n, ck, length = c.outputs[0].shape
    return [b.op1("Reshape", [cols, b.ints([n, ck, length])], allowzero=1)]


@translates(Op.CONVOLUTION)
def _convolution(c: Ctx) -> list[str]:
    stride, padding, dilation, groups = (c.static(c.arg(i), "the convolution's geometry")
                                         for i in (2, 3, 4, 5))
    pads = [p[0] for p in padding] + [p[1] for p in padding]
    kernel = list(c.static(c.shape(1)[2:], "the kernel size"))
    return [c.b.op1("Conv", [c.input(0), c.input(1)], kernel_shape=kernel,
                    strides=list(stride), pads=pads, dilations=list(dilation),
                    group=int(groups))]


@translates(Op.COL2IM)
def _col2im(c: Ctx) -> list[str]:
    b = c.b
    spatial, kernel, dilation, stride = (list(c.arg(i)) for i in (1, 2, 3, 4))
    pads = [0] * (2 * len(kernel))
    return [b.op1("Col2Im", [c.input(0), b.ints(spatial), b.ints(kernel)],
                  dilations=dilation, pads=pads, strides=stride)]


@translates(Op.MAX_POOL)
def _max_pool(c: Ctx) -> list[str]:
    b = c.b
    kernel, stride, padding, dilation, ceil_mode = (c.static(c.arg(i), "the window")
                                                    for i in (1, 2, 3, 4, 5))
    values, flat = b.op("MaxPool", [c.input(0)], 2, kernel_shape=list(kernel),
                        strides=list(stride), pads=list(padding) * 2,
                        dilations=list(dilation), ceil_mode=int(ceil_mode))
    # ONNX counts positions over the whole input; PyTorch within each (n, c) plane
    plane = 1
    for s in c.shape(0)[2:]:
        plane = plane * s
    return [values, b.op1("Mod", [flat, b.size(plane)])]


@translates(Op.NONZERO)
def _nonzero(c: Ctx) -> list[str]:
    return [c.b.op1("Transpose", [c.b.op1("NonZero", [c.input(0)])], perm=[1, 0])]


@translates(Op.SORT)
def _sort(c: Ctx) -> list[str]:
    dim, descending = int(c.arg(1)), bool(c.arg(2))
    k = c.b.size(c.shape(0)[dim], one_d=True)
    return c.b.op("TopK", [c.input(0), k], 2, axis=dim, largest=int(descending), sorted=1)

