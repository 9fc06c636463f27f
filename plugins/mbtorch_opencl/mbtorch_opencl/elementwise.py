"""The elementwise engine: one work item per output element, operands of any strides
(broadcasting through stride 0), Python scalars as kernel arguments.

Before generating code the operands' layouts are collapsed (size-1 dims dropped, dims that are
contiguous in every operand merged), so the common all-contiguous case is a rank-1 kernel with
no index arithmetic; an operand that is still contiguous after collapsing is indexed by the
flat id, the others through coordinates computed once per work item.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from mbtorch.core import dtypes as dt
from mbtorch.core.plugin_api import zero_division_error

from . import codegen as cg
from .storage import CLArray, alloc, contiguous_strides

__all__ = ["ERR_ZERO_DIV", "ERR_NEG_POW", "elementwise"]

ERR_ZERO_DIV = 1
ERR_NEG_POW = 2


def _layout(cshape: tuple, st: tuple) -> str:
    return "c" if st == contiguous_strides(cshape) else "s"


def elementwise(name: str, expr: str, operands: Sequence[Any], dtypes: Sequence[dt.dtype],
                out_dtype: dt.dtype, out: CLArray | None = None, preamble: str = "",
                errors: str | None = None) -> CLArray:
    """Evaluate C expression ``expr`` (operands are ``x0, x1, ...`` in their compute types)
    into a new contiguous array of ``out_dtype``, or into ``out`` (any strides).

    ``operands`` are ``CLArray`` handles or Python scalars; ``dtypes`` their dtypes. With
    ``errors`` set, the kernel gets ``__global long* err`` and a set flag raises on the host
    (``errors`` names the op in the message).
    """
    arrays = [o for o in operands if isinstance(o, CLArray)]
    dev = (out or arrays[0]).dev
    if out is None:
        out = alloc(dev, cg.broadcast_shape([a.shape for a in arrays]), out_dtype)
    shape = out.shape
    n = out.size
    if n == 0:
        return out
    st = out.strides
    if all(a.shape == shape and a.strides == st for a in arrays) and out.is_contiguous():
        # the hot case: everything contiguous and of one shape, a flat rank-1 kernel
        cshape, rank = (n,), 1
        layouts = ("c",) * (len(arrays) + 1)
        cst = [(1,)] * len(layouts)
        big = max(a.offset for a in (out, *arrays)) + n > cg.INT_MAX
        idx_t = "long" if big else "int"
    else:
        cshape, cst = cg.collapse(shape, [st] + [cg.broadcast_strides(a, shape) for a in arrays])
        rank = len(cshape)
        layouts = tuple(_layout(cshape, s) for s in cst)
        idx_t = cg.index_type(out, *arrays)
    kinds = tuple("a" if isinstance(o, CLArray) else "s" for o in operands)
    key = ("ew", name, expr, tuple(dtypes), out_dtype, rank, layouts, kinds, idx_t)

    def source() -> str:
        return _source(expr, kinds, dtypes, out_dtype, rank, layouts, idx_t, preamble, errors)

    kernel = dev.kernels.get(key)
    if kernel is None:
        kernel = cg.get_kernel(dev, key, "ew", source,
                               _scalar_types(kinds, dtypes, rank, layouts, idx_t, errors))
    args: list[Any] = [out.buf, out.offset]
    for o in operands:
        if isinstance(o, CLArray):
            args += [o.buf, o.offset]
        else:
            args.append(o)
    args.append(n)
    if "s" in layouts:
        args += list(cshape[1:])
        for lay, st in zip(layouts, cst):
            if lay == "s":
                args += list(st)
    if errors:
        args.append(dev.error_buffer())
    cg.launch(dev, kernel, n, *args)
    if errors:
        _raise_errors(dev, errors)
    return out


def _raise_errors(dev: Any, op: str) -> None:
    flag, _ = dev.read_error()
    if flag == ERR_ZERO_DIV:
        raise zero_division_error(op)
    if flag == ERR_NEG_POW:
        raise RuntimeError(f"{op}(): Integers to negative integer powers are not allowed.")


def _scalar_types(kinds, dtypes, rank, layouts, idx_t, errors) -> list:
    it = np.int32 if idx_t == "int" else np.int64
    types: list[Any] = [None, it]
    for k, d in zip(kinds, dtypes):
        types += [None, it] if k == "a" else [cg.NP_SCALAR[cg.ctype(d)]]
    types.append(it)
    if "s" in layouts:
        types += [it] * (rank - 1)
        types += [it] * (rank * layouts.count("s"))
    if errors:
        types.append(None)
    return types


def _source(expr, kinds, dtypes, out_dtype, rank, layouts, idx_t, preamble, errors) -> str:
    params = [f"__global {cg.sctype(out_dtype)}* out", f"{idx_t} out_off"]
    names = ["out"]
    for i, (k, d) in enumerate(zip(kinds, dtypes)):
        if k == "a":
            params += [f"__global const {cg.sctype(d)}* p{i}", f"{idx_t} p{i}_off"]
            names.append(f"p{i}")
        else:
            params.append(f"{cg.ctype(d)} x{i}")
    params.append(f"{idx_t} n")
    strided = "s" in layouts
    if strided:
        params += [f"{idx_t} sh{d}" for d in range(1, rank)]
        for lay, nm in zip(layouts, names):
            if lay == "s":
                params += [f"{idx_t} {nm}_st{d}" for d in range(rank)]
    if errors:
        params.append("__global long* err")
    body = [f"{idx_t} gid = get_global_id(0);", "if (gid >= n) return;"]
    if strided:
        body.append(cg.unravel(rank, idx_t))
    idx = {nm: (f"{nm}_off + gid" if lay == "c" else cg.offset_expr(rank, nm))
           for lay, nm in zip(layouts, names)}
    for i, (k, d) in enumerate(zip(kinds, dtypes)):
        if k == "a":
            body.append(f"{cg.ctype(d)} x{i} = {cg.load(d, f'p{i}', idx[f'p{i}'])};")
    # the widest operand type decides conversions on store (float -> int, double -> half)
    src_dt = max(dtypes, key=lambda d: (d.category, d.itemsize)) if dtypes else None
    body.append(cg.store(out_dtype, "out", idx["out"], expr, src_dt))
    return (f"{preamble}\n__kernel void ew({', '.join(params)})\n{{\n    "
            + "\n    ".join(body) + "\n}\n")
