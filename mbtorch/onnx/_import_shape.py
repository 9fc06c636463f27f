"""ONNX shape, indexing and construction operators as mbtorch calls (see ``_import_ops``)."""

from __future__ import annotations

__all__: list[str] = []

from typing import Any

import numpy as np

import mbtorch as mt

from ._import_ops import Run, host_ints, imports


@imports("Shape")
def _shape(op: str, run: Run, x: Any, start: int = 0, end: int | None = None) -> list:
    dims = list(x.shape)[start:end]
    return [mt.tensor(dims, dtype=mt.int64, device=x.device)]


@imports("Size")
def _size(op: str, run: Run, x: Any) -> list:
    return [mt.tensor(x.numel(), dtype=mt.int64, device=x.device)]


@imports("Reshape")
def _reshape(op: str, run: Run, x: Any, shape: Any, allowzero: int = 0) -> list:
    dims = host_ints(shape)
    if not allowzero:
        dims = [x.shape[i] if d == 0 else d for i, d in enumerate(dims)]
    return [x.reshape(dims)]


@imports("Flatten")
def _flatten(op: str, run: Run, x: Any, axis: int = 1) -> list:
    axis %= max(x.ndim, 1) if axis < 0 else x.ndim + 1
    lead = int(np.prod(x.shape[:axis], dtype=np.int64))
    return [x.reshape(lead, -1 if x.numel() else int(np.prod(x.shape[axis:])))]


@imports("Transpose")
def _transpose(op: str, run: Run, x: Any, perm: Any = None) -> list:
    return [x.permute(*(perm if perm is not None else reversed(range(x.ndim))))]


@imports("Squeeze", "Unsqueeze")
def _squeeze(op: str, run: Run, x: Any, axes_in: Any = None, axes: Any = None) -> list:
    dims = host_ints(axes_in) if axes_in is not None else axes
    if op == "Squeeze":
        if not dims:
            return [x.squeeze()]
        return [x.squeeze(tuple(d % x.ndim for d in dims))]
    rank = x.ndim + len(dims)
    out = x
    for d in sorted(d % rank for d in dims):
        out = out.unsqueeze(d)
    return [out]


@imports("Concat")
def _concat(op: str, run: Run, *xs: Any, axis: int) -> list:
    return [mt.cat([x for x in xs if x is not None], axis)]


@imports("Split")
def _split(op: str, run: Run, x: Any, split: Any = None, axis: int = 0,
           num_outputs: int | None = None, n_out: int = 1) -> list:
    if split is not None:
        return list(mt.split(x, host_ints(split), axis))
    parts = num_outputs or n_out
    size = -(-x.shape[axis] // parts)
    return list(mt.split(x, size, axis))


@imports("Slice")
def _slice(op: str, run: Run, x: Any, starts: Any, ends: Any, axes: Any = None,
           steps: Any = None) -> list:
    starts, ends = host_ints(starts), host_ints(ends)
    axes = host_ints(axes) if axes is not None else list(range(len(starts)))
    steps = host_ints(steps) if steps is not None else [1] * len(starts)
    index = [slice(None)] * x.ndim
    flips = []
    for s, e, a, st in zip(starts, ends, axes, steps):
        a %= x.ndim
        n = x.shape[a]
        if st > 0:
            index[a] = slice(*slice(s, e, st).indices(n))
        else:  # a negative step: slice the flipped tensor forward
            lo, hi, _ = slice(s, e, st).indices(n)
            count = len(range(lo, hi, st))
            first = n - 1 - lo
            index[a] = slice(first, first + max(count, 0) * -st, -st)
            flips.append(a)
    out = mt.flip(x, tuple(flips)) if flips else x
    return [out[tuple(index)]]


@imports("Gather")
def _gather(op: str, run: Run, x: Any, index: Any, axis: int = 0) -> list:
    axis %= x.ndim
    index = mt.where(index < 0, index + x.shape[axis], index)
    if index.ndim == 0:
        return [x.select(axis, int(index.item()))]
    flat = mt.index_select(x, axis, index.reshape(-1))
    shape = list(x.shape[:axis]) + list(index.shape) + list(x.shape[axis + 1:])
    return [flat.reshape(shape)]


@imports("GatherElements")
def _gather_elements(op: str, run: Run, x: Any, index: Any, axis: int = 0) -> list:
    axis %= x.ndim
    return [mt.gather(x, axis, mt.where(index < 0, index + x.shape[axis], index))]


@imports("GatherND")
def _gather_nd(op: str, run: Run, x: Any, index: Any, batch_dims: int = 0) -> list:
    if batch_dims:
        raise run.error(op, f"batch_dims={batch_dims} is not supported")
    k = index.shape[-1]
    parts = tuple(index[..., i] for i in range(k))
    return [x[parts]]


@imports("ScatterElements", "Scatter")
def _scatter_elements(op: str, run: Run, x: Any, index: Any, updates: Any, axis: int = 0,
                      reduction: str = "none") -> list:
    axis %= x.ndim
    index = mt.where(index < 0, index + x.shape[axis], index)
    if reduction == "none":
        return [mt.scatter(x, axis, index, updates)]
    if reduction in ("add", "mul"):
        return [mt.scatter_reduce(x, axis, index, updates,
                                  "sum" if reduction == "add" else "prod")]
    raise run.error(op, f"reduction={reduction!r} is not supported")


@imports("ScatterND")
def _scatter_nd(op: str, run: Run, x: Any, index: Any, updates: Any,
                reduction: str = "none") -> list:
    k = index.shape[-1]
    parts = tuple(index[..., i] for i in range(k))
    if reduction not in ("none", "add"):
        raise run.error(op, f"reduction={reduction!r} is not supported")
    return [x.index_put(parts, updates, accumulate=reduction == "add")]


@imports("Expand")
def _expand(op: str, run: Run, x: Any, shape: Any) -> list:
    # ONNX's Expand broadcasts both ways: a 1 in shape keeps x's size
    target = host_ints(shape)
    rank = max(len(target), x.ndim)
    target = [1] * (rank - len(target)) + target
    have = [1] * (rank - x.ndim) + list(x.shape)
    return [x.expand(*[h if t == 1 else t for t, h in zip(target, have)])]


@imports("Tile")
def _tile(op: str, run: Run, x: Any, repeats: Any) -> list:
    return [x.repeat(*host_ints(repeats))]


@imports("ConstantOfShape")
def _constant_of_shape(op: str, run: Run, shape: Any, value: Any = None) -> list:
    from ._load import tensor_from_proto

    fill = (mt.zeros(1, device=run.device) if value is None
            else tensor_from_proto(value, run.device))
    return [mt.full(host_ints(shape), fill.reshape(()).item(), dtype=fill.dtype,
                    device=run.device)]


@imports("Range")
def _range(op: str, run: Run, start: Any, limit: Any, delta: Any) -> list:
    return [mt.arange(start.item(), limit.item(), delta.item(), dtype=start.dtype,
                      device=run.device)]


@imports("Trilu")
def _trilu(op: str, run: Run, x: Any, k: Any = None, upper: int = 1) -> list:
    diagonal = int(k.item()) if k is not None else 0
    return [mt.triu(x, diagonal) if upper else mt.tril(x, diagonal)]


@imports("NonZero")
def _nonzero(op: str, run: Run, x: Any) -> list:
    return [mt.nonzero(x).t()]


@imports("TopK")
def _topk(op: str, run: Run, x: Any, k: Any, axis: int = -1, largest: int = 1,
          sorted: int = 1) -> list:  # noqa: A002
    values, indices = mt.topk(x, host_ints(k)[0], axis, bool(largest), True)
    return [values, indices]


@imports("Einsum")
def _einsum(op: str, run: Run, *xs: Any, equation: str) -> list:
    return [mt.einsum(equation, *xs)]


@imports("MatMul")
def _matmul(op: str, run: Run, a: Any, b: Any) -> list:
    return [mt.matmul(a, b)]


@imports("Gemm")
def _gemm(op: str, run: Run, a: Any, b: Any, c: Any = None, alpha: float = 1.0,
          beta: float = 1.0, transA: int = 0, transB: int = 0) -> list:  # noqa: N803
    out = mt.matmul(a.t() if transA else a, b.t() if transB else b)
    if alpha != 1.0:
        out = out * alpha
    if c is not None:
        out = out + (c * beta if beta != 1.0 else c)
    return [out]


@imports("Pad")
def _pad(op: str, run: Run, x: Any, pads: Any, value: Any = None, axes: Any = None,
         mode: str = "constant") -> list:
    p = host_ints(pads)
    n = len(p) // 2
    dims = host_ints(axes) if axes is not None else list(range(n))
    begin, end = {d % x.ndim: v for d, v in zip(dims, p[:n])}, \
        {d % x.ndim: v for d, v in zip(dims, p[n:])}
    torch_pads: list[int] = []
    for d in reversed(range(x.ndim)):  # torch's order: last dim first
        torch_pads += [begin.get(d, 0), end.get(d, 0)]
    while len(torch_pads) > 2 and torch_pads[-2:] == [0, 0]:
        torch_pads = torch_pads[:-2]
    modes = {"constant": "constant", "reflect": "reflect", "edge": "replicate",
             "wrap": "circular"}
    if mode not in modes:
        raise run.error(op, f"mode={mode!r} is not supported")
    fill = None if value is None or mode != "constant" else value.reshape(()).item()
    return [mt.nn.functional.pad(x, torch_pads, modes[mode], fill)]
