"""Native kernels for composites that walk one dim: ARGMAX/ARGMIN, CUMSUM/CUMPROD,
SOFTMAX/LOG_SOFTMAX. One work item per line along ``dim`` (all other coordinates fixed),
looping over the line in order, in float32 for float16 (float64 for float64), so each result
is rounded once, as the decompositions do.
"""

from __future__ import annotations

import numpy as np

from mbtorch.core import dtypes as dt

from . import codegen as cg
from .reduce import acc_dtype
from .storage import CLArray, alloc, contiguous_strides

__all__ = ["arg_extreme", "scan", "softmax"]

_TEMPLATE = """
__kernel void rows(__global {ot}* out, __global const {xt}* x, {it} x_off, {it} lines,
                   {it} n, {it} x_sd, {it} o_sd{params})
{{
    {it} gid = get_global_id(0);
    if (gid >= lines) return;
    {unravel}
    {it} xb = x_off + {xoff};
    {it} ob = {ooff};
{body}
}}
"""

_ARG = """
    {at} best = {load0};
    long bi = 0;
    for ({it} i = 1; i < n; ++i) {{
        {at} v = {load};
        if ({nan_best}) break;
        if ({nan_v}v {cmp} best) {{ best = v; bi = i; }}
    }}
    out[ob] = bi;"""
_SCAN = """
    {at} acc = {ident};
    for ({it} i = 0; i < n; ++i) {{
        acc = acc {op} ({at}){load};
        {store}
    }}"""
_SOFTMAX = """
    {at} m = -INFINITY;
    for ({it} i = 0; i < n; ++i) {{ {at} v = {load}; m = (isnan(m) || m > v) ? m : v; }}
    {at} s = 0;
    for ({it} i = 0; i < n; ++i) s += exp({load} - m);
    {at} ls = log(s);
    for ({it} i = 0; i < n; ++i) {{
        {at} z = {load} - m;
        {store}
    }}"""


def _run(name: str, x: CLArray, dim: int, out_dtype: dt.dtype, body: str, key: tuple,
         keepdim: bool | None = None) -> CLArray:
    dev = x.dev
    other = [d for d in range(len(x.shape)) if d != dim]
    line_shape = tuple(x.shape[d] for d in other)
    if keepdim is None:  # a scan or softmax: the output is shaped like x
        out = alloc(dev, x.shape, out_dtype)
        o_st = tuple(out.strides[d] for d in other)
        o_sd = out.strides[dim]
    else:  # an arg-reduction: one value per line
        shape = tuple(1 if d == dim else s for d, s in enumerate(x.shape)) if keepdim \
            else line_shape
        out = alloc(dev, shape, out_dtype)
        o_st, o_sd = contiguous_strides(line_shape), 0
    lines = int(np.prod(line_shape, dtype=np.int64))
    # merged line dims: each item splits its line number with one division per dim, and
    # integer division is what these kernels spend their time on (PoCL does not vectorize it)
    line_shape, (x_st, o_st) = cg.collapse(line_shape, [tuple(x.strides[d] for d in other),
                                                        o_st])
    rank = len(line_shape)
    idx_t = cg.index_type(x, out)
    it = np.int32 if idx_t == "int" else np.int64

    def source() -> str:
        params = "".join(f", {idx_t} sh{d}" for d in range(rank))
        params += "".join(f", {idx_t} {p}_st{d}" for p in ("x", "o") for d in range(rank))
        return _TEMPLATE.format(
            ot=cg.sctype(out_dtype), xt=cg.sctype(x.dtype), it=idx_t, params=params,
            unravel=cg.unravel(rank, idx_t), body=body.replace("IDX_T", idx_t),
            xoff=" + ".join(f"c{d} * x_st{d}" for d in range(rank)) or "0",
            ooff=" + ".join(f"c{d} * o_st{d}" for d in range(rank)) or "0")

    kernel = cg.get_kernel(dev, (name, x.dtype, rank, idx_t) + key, "rows", source,
                           [None, None] + [it] * (5 + 3 * rank))
    cg.launch(dev, kernel, lines, out.buf, x.buf, x.offset, lines, x.shape[dim],
              x.strides[dim], o_sd, *line_shape, *x_st, *o_st)
    return out


def _load(d: dt.dtype, i: str = "i") -> str:
    return cg.load(d, "x", f"xb + {i} * x_sd")


def arg_extreme(largest: bool):
    def kernel(x, dim, keepdim):
        d = x.dtype
        fl = d.category == dt.FLOATING_CATEGORY
        at = cg.ctype(d)
        body = _ARG.format(at=at, it="IDX_T", load0=_load(d, "0"), load=_load(d),
                           cmp=">" if largest else "<",
                           nan_best="isnan(best)" if fl else "0",
                           nan_v="isnan(v) || " if fl else "")
        return _run("arg", x, dim, dt.int64, body, (largest, keepdim), keepdim)

    kernel.__name__ = "argmax" if largest else "argmin"
    return kernel


def scan(op: str):
    def kernel(x, dim):
        d = x.dtype
        at = cg.ctype(acc_dtype(d)) if d.category == dt.FLOATING_CATEGORY else cg.ctype(d)
        body = _SCAN.format(at=at, it="IDX_T", ident="0" if op == "+" else "1", op=op,
                            load=_load(d), store=cg.store(d, "out", "ob + i * o_sd", "acc"))
        return _run("scan", x, dim, d, body, (op,))

    kernel.__name__ = "cumsum" if op == "+" else "cumprod"
    return kernel


def softmax(log: bool):
    def kernel(x, dim):
        d = x.dtype
        at = cg.ctype(acc_dtype(d))
        val = "z - ls" if log else "exp(z) / s"
        body = _SOFTMAX.format(at=at, it="IDX_T", load=f"({at}){_load(d)}",
                               store=cg.store(d, "out", "ob + i * o_sd", val))
        return _run("softmax", x, dim, d, body, (log,))

    kernel.__name__ = "log_softmax" if log else "softmax"
    return kernel
