"""The elementwise engine: operands of any strides (broadcasting through stride 0), Python
scalars as kernel arguments, one ``Pointwise`` object per computation (op, dtypes).

Two kernel shapes:

- **flat**: every array operand and the output have one shape and are contiguous (the common
  case, and every tiny op). A rank-1 kernel with no index arithmetic; when the expression is
  valid on OpenCL vector types (``vector=True``) and every array has the output's dtype, each
  work item loads and stores ``vw`` elements as one vector (``vw`` from the device's
  preferred vector width, see ``ladder``), a scalar loop doing the tail. The vector kernel
  runs only when every element offset is a multiple of ``MAX_VW`` (buffers are aligned far
  beyond that), the scalar one otherwise, so its loads are aligned vector loads through a
  cast pointer. ``vloadN`` would take any offset but measured 1.5-3x slower on PoCL (3.0 and
  3.1), and PoCL 3.1 compiles ``vload_half8`` on a misaligned pointer into an aligned load
  that faults (a segfault in ``maximum`` on a float16 view at offset 1). float16 goes through
  ``vloada_halfN``/``vstorea_halfN_rte``, bfloat16 through ``ushortN`` with the same rounding
  as the scalar store.
- **strided**: the operands' layouts are collapsed (size-1 dims dropped, dims contiguous in
  every operand merged); when all are contiguous after collapsing they are indexed by the flat
  id, otherwise every array goes through its strides, so there is one program per rank rather
  than one per mix of layouts (each costs 0.3-1.4 s to compile). A work item takes a run of up
  to ``row_chunk`` elements of one row (the innermost collapsed dim): the outer coordinates are
  computed once per run and the run is a loop the compiler vectorizes, where one element per
  item with coordinates from a division per element made a bias add (128, 256) + (256,) 4-6x
  slower than the same add on contiguous operands on PoCL.

The per-call path is kept short because a tiny op costs little more than its enqueue: for
offset-0 contiguous arrays and a new output the flat kernel of a ``Pointwise`` is one dict hit
on the device (otherwise on ``(device, kinds, index width, alignment)``), the arguments go to
the kernel's generated setter and the launch is one enqueue, never a wait (except ops with
``errors``, whose flag must be read back to raise).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pyopencl as cl

from mbtorch.core import dtypes as dt
from mbtorch.core.plugin_api import zero_division_error

from . import codegen as cg
from . import probe
from .storage import CLArray, CLDevice, alloc, check_dtype, contiguous_strides

__all__ = ["ERR_ZERO_DIV", "ERR_NEG_POW", "elementwise"]

ERR_ZERO_DIV = 1
ERR_NEG_POW = 2
# vector widths to try, fastest first; the width used for a dtype is the smaller of the
# variant's and the device's preferred width for the compute type (probe.select-compatible)
LADDER = ({"vw": 8}, {"vw": 4}, {"vw": 1})
MAX_VW = 8
PROBE = "mbtorch_opencl.elementwise:probe_variant"
FRESH_MAX = 1 << 30  # sizes below this index with 32-bit ints whatever the vector width
# work-group shape on CPU devices: PoCL runs a work-group as a loop over its items, so a few
# large groups beat many small ones (measured on PoCL 3.0/3.1: 1024-item groups of the scalar
# kernel, 512 items of 8 elements for the vector one, are the fastest or within noise of it)
CPU_GROUP_ELEMENTS = 4096
CPU_GROUP_ITEMS = 1024
# elements of one row a strided work item loops over on CPU devices (PoCL, measured on a
# (128, 256) + (256,) add: 16 -> 45 us, 64 and 256 -> 20 us, one per item with a division
# per element 120 us); GPUs keep one element per item so neighbouring items touch
# neighbouring memory
CPU_ROW_CHUNK = 64
_SHAPES: dict[tuple, tuple] = {}  # shape -> (contiguous strides, size)
_VARIANT: dict[int, dict] = {}  # id(device) -> the chosen LADDER entry
_GROUP: dict[tuple, int] = {}


def _shape_info(shape: tuple) -> tuple:
    if len(_SHAPES) > 4096:  # bounded: a model sees few shapes, a sweep should not grow this
        _SHAPES.clear()
    n = 1
    for s in shape:
        n *= s
    info = _SHAPES[shape] = (contiguous_strides(shape), n)
    return info


def ladder(dev: CLDevice) -> list[dict]:
    """The vector-width variants for ``dev``, fastest first (``probe.select``'s ladder)."""
    return [dict(v) for v in LADDER]


def variant(dev: CLDevice) -> dict:
    """The variant the flat kernels use on ``dev``: the first of the ladder whose probe passes
    in a child process (``probe.select``; verdicts cached on disk per device and driver)."""
    v = _VARIANT.get(id(dev))
    if v is None:
        v = _VARIANT[id(dev)] = probe.select(dev, "elementwise", ladder(dev), PROBE)
    return v


def vector_width(dev: CLDevice, d: dt.dtype, cap: int) -> int:
    """Elements per work item for dtype ``d``: the device's preferred width for the compute
    type, at most ``cap`` (and ``MAX_VW``), a power of two (1: scalar code); a vector never
    outgrows the buffers' base alignment."""
    ct = cg.ctype(d)
    name = {"uchar": "char", "ushort": "short"}.get(ct, ct)
    pref = int(getattr(dev.device, f"preferred_vector_width_{name}", 1) or 1)
    align = int(dev.device.mem_base_addr_align) // 8  # bits -> bytes
    w = 1
    while w * 2 <= min(pref, cap, MAX_VW) and w * 2 * d.itemsize <= align:
        w *= 2
    return w


def row_chunk(dev: CLDevice) -> int:
    """Elements of one row per work item in the strided kernels on ``dev``."""
    return CPU_ROW_CHUNK if dev.device.type & cl.device_type.CPU else 1


def group_size(dev: CLDevice, vw: int) -> int:
    """The fixed local size of elementwise launches (PoCL compiles one per size)."""
    ls = _GROUP.get((id(dev), vw))
    if ls is None:
        ls = dev.local_size
        if dev.device.type & cl.device_type.CPU:
            ls = max(1, min(CPU_GROUP_ELEMENTS // vw, CPU_GROUP_ITEMS,
                            dev.device.max_work_group_size))
        _GROUP[(id(dev), vw)] = ls
    return ls


class Pointwise:
    """C expression ``expr`` over operands ``x0, x1, ...`` (in their compute types), stored as
    ``out_dtype``. ``dtypes`` are the operands' dtypes; ``vector`` says ``expr`` means the same
    on OpenCL vector types (no literal without a ``(CT)`` cast, no scalar-only helper);
    ``errors`` names the op when the kernel may set the error flag (see ``_raise_errors``).
    """

    def __init__(self, name: str, expr: str, dtypes: Sequence[dt.dtype], out_dtype: dt.dtype,
                 preamble: str = "", errors: str | None = None, vector: bool = False):
        self.name, self.expr, self.preamble, self.errors = name, expr, preamble, errors
        self.dtypes, self.out_dtype = tuple(dtypes), out_dtype
        self.vector = (vector and out_dtype is not dt.bool and errors is None
                       and all(d is out_dtype for d in self.dtypes))
        self.itemsize = out_dtype.itemsize
        # (device, kinds, needs 64-bit indices, offsets aligned) -> (kernel, vw, local size)
        self._flat: dict = {}
        self._fresh: dict = {}  # device -> the same, for ``_fresh_call``
        self._strided: dict = {}  # (device, layouts) -> ``_strided_plan``'s launch plan

    def __call__(self, *operands: Any, out: CLArray | None = None) -> CLArray:
        """Evaluate into a new contiguous array, or into ``out`` (any strides)."""
        if out is None and not self.errors:
            res = self._fresh_call(operands)
            if res is not None:
                return res
        res = self._flat_call(operands, out)
        return res if res is not None else self._strided_call(operands, out)

    def _fresh_call(self, operands: tuple) -> CLArray | None:
        """The commonest call, kept to the fewest steps: every operand an array of one
        contiguous shape at offset 0, a new output."""
        a = operands[0]
        if type(a) is not CLArray or a.offset:
            return None
        shape, strides = a.shape, a.strides
        args = [None, 0, a.buf, 0]
        for o in operands[1:]:
            if type(o) is not CLArray or o.offset or o.shape != shape or o.strides != strides:
                return None
            args += (o.buf, 0)
        info = _SHAPES.get(shape)
        if info is None or strides != info[0] or not 0 < info[1] < FRESH_MAX:
            return None
        n = info[1]
        dev = a.dev
        entry = self._fresh.get(dev)
        if entry is None:
            entry = self._fresh[dev] = self._flat_kernel(
                (dev, (1 << len(operands)) - 1, False, True), len(operands))
        kernel, vw, ls = entry
        buf = args[0] = dev.allocate(n * self.itemsize)
        args.append(n)
        items = -(-n // vw)
        kernel(dev.queue, (-(-items // ls) * ls,), (ls,), *args)
        return CLArray(buf, shape, strides, 0, self.out_dtype, dev)

    def _flat_call(self, operands: tuple, out: CLArray | None) -> CLArray | None:
        shape = strides = dev = None
        kinds = hi = offs = 0
        args: list[Any] = [None, 0]
        i = 0
        for o in operands:
            if type(o) is CLArray:
                if shape is None:
                    shape, strides, dev = o.shape, o.strides, o.dev
                elif o.shape != shape or o.strides != strides:
                    return None
                off = o.offset
                kinds |= 1 << i
                offs |= off
                if off > hi:
                    hi = off
                args += (o.buf, off)
            else:
                args.append(o)
            i += 1
        if out is not None:
            if shape is None:
                shape, strides, dev = out.shape, out.strides, out.dev
            elif out.shape != shape or out.strides != strides:
                return None
            offs |= out.offset
            if out.offset > hi:
                hi = out.offset
        elif shape is None:
            return None  # scalars only: the strided path raises the error
        info = _SHAPES.get(shape)
        if info is None:
            info = _shape_info(shape)
        if strides != info[0]:
            return None
        n = info[1]
        key = (dev, kinds, hi + n + MAX_VW > cg.INT_MAX, not offs & (MAX_VW - 1))
        entry = self._flat.get(key)
        if entry is None:
            entry = self._flat_kernel(key, len(operands))
        kernel, vw, ls = entry
        if out is None:
            out = CLArray(dev.allocate((n or 1) * self.out_dtype.itemsize), shape, strides, 0,
                          self.out_dtype, dev)
        if n == 0:
            return out
        args[0] = out.buf
        args[1] = out.offset
        args.append(n)
        if self.errors:
            args.append(dev.error_buffer())
        items = -(-n // vw)
        kernel(dev.queue, (-(-items // ls) * ls,), (ls,), *args)
        if self.errors:
            _raise_errors(dev, self.errors)
        return out

    def _flat_kernel(self, key: tuple, arity: int) -> tuple:
        dev, kinds, big, aligned = key
        check_dtype(dev, self.out_dtype)
        kind = tuple("a" if kinds >> i & 1 else "s" for i in range(arity))
        idx_t = "long" if big else "int"
        vw = 1
        if self.vector and aligned:
            vw = vector_width(dev, self.out_dtype, variant(dev)["vw"])
        layouts = ("c",) * (kind.count("a") + 1)
        kernel_key = ("ew", self.name, self.expr, self.dtypes, self.out_dtype, 1, layouts, kind,
                      idx_t, vw)

        def source() -> str:
            if vw > 1:
                return _vector_source(self, kind, idx_t, vw)
            return _source(self, kind, 1, layouts, idx_t)

        kernel = cg.get_kernel(dev, kernel_key, "ew", source,
                               _scalar_types(self, kind, 1, layouts, idx_t))
        entry = self._flat[key] = (kernel, vw, group_size(dev, vw))
        return entry

    def _strided_call(self, operands: tuple, out: CLArray | None) -> CLArray:
        """Any layouts and broadcasting: the launch plan is kept per layout of the operands
        (``_strided_plan``), so a repeated call costs the arguments and the enqueue."""
        sig: list[Any] = [out is None or (out.shape, out.strides)]
        hi = 0 if out is None else out.offset
        dev = None if out is None else out.dev
        for o in operands:
            if type(o) is CLArray:
                sig.append((o.shape, o.strides))
                hi = max(hi, o.offset)
                dev = dev or o.dev
            else:
                sig.append(None)
        if dev is None:
            raise TypeError("opencl: an elementwise kernel needs at least one tensor operand")
        key = (dev, *sig)
        plan = self._strided.get(key)
        if plan is None or hi > plan[5]:
            plan = self._strided_plan(dev, operands, out)
            if hi <= plan[5]:
                if len(self._strided) > 256:  # bounded: a model sees few layouts
                    self._strided.clear()
                self._strided[key] = plan
        kernel, shape, items, tail, local, _ = plan
        if out is None:
            out = alloc(dev, shape, self.out_dtype)
        if items == 0:
            return out
        args: list[Any] = [out.buf, out.offset]
        for o in operands:
            args += (o.buf, o.offset) if type(o) is CLArray else (o,)
        args += tail
        if self.errors:
            args.append(dev.error_buffer())
        kernel(dev.queue, (-(-items // local) * local,), (local,), *args)
        if self.errors:
            _raise_errors(dev, self.errors)
        return out

    def _strided_plan(self, dev: CLDevice, operands: tuple, out: CLArray | None) -> tuple:
        """``(kernel, output shape, work items, arguments after the operands, local size,
        the largest offset the index width allows)`` for these operands' layouts."""
        arrays = [o for o in operands if isinstance(o, CLArray)]
        if out is None:
            shape = cg.broadcast_shape([a.shape for a in arrays])
            out_strides = contiguous_strides(shape)
        else:
            shape, out_strides = out.shape, out.strides
        n = 1
        for d in shape:
            n *= d
        if n == 0:
            return None, shape, 0, (), 1, cg.INT_MAX
        cshape, cst = cg.collapse(shape, [out_strides] +
                                  [cg.broadcast_strides(a, shape) for a in arrays])
        # contiguous operands stay flat only when all are; otherwise every array is indexed
        # through its strides: one program per rank rather than one per mix of layouts (each
        # program costs 0.3-1.4 s to compile on PoCL, and a mix saves only index arithmetic)
        contig = contiguous_strides(cshape)
        layouts = ("c" if all(s == contig for s in cst) else "s",) * len(cst)
        rank = len(cshape)
        reach = max(sum((d - 1) * abs(st) for d, st in zip(sh, a_st)) + 1
                    for sh, a_st in [(shape, out_strides)] + [(a.shape, a.strides)
                                                              for a in arrays])
        hi = max([0 if out is None else out.offset] + [a.offset for a in arrays])
        idx_t = "long" if hi + reach > cg.INT_MAX else "int"
        kind = tuple("a" if isinstance(o, CLArray) else "s" for o in operands)
        ch = row_chunk(dev) if "s" in layouts else 1
        key = ("ew", self.name, self.expr, self.dtypes, self.out_dtype, rank, layouts, kind,
               idx_t, 1, ch)
        kernel = dev.kernels.get(key)
        if kernel is None:
            kernel = cg.get_kernel(dev, key, "ew",
                                   lambda: _source(self, kind, rank, layouts, idx_t, ch),
                                   _scalar_types(self, kind, rank, layouts, idx_t))
        items, tail = n, (n,)
        if "s" in layouts:
            inner = cshape[-1]
            per_row = -(-inner // ch)
            items = n // inner * per_row
            tail = (items, inner, per_row, *cshape[1:-1], *(x for st in cst for x in st))
        limit = cg.INT_MAX - reach if idx_t == "int" else 2**62
        return kernel, shape, items, tail, group_size(dev, ch), limit


_POINTWISE: dict[tuple, Pointwise] = {}


def elementwise(name: str, expr: str, operands: Sequence[Any], dtypes: Sequence[dt.dtype],
                out_dtype: dt.dtype, out: CLArray | None = None, preamble: str = "",
                errors: str | None = None, vector: bool = False) -> CLArray:
    """Evaluate ``expr`` over ``operands`` (``CLArray`` handles or Python scalars; see
    ``Pointwise``) into a new contiguous array of ``out_dtype``, or into ``out``. Hot callers
    keep their ``Pointwise`` instead of passing the strings on every call."""
    key = (name, expr, tuple(dtypes), out_dtype, preamble, errors, vector)
    pw = _POINTWISE.get(key)
    if pw is None:
        pw = _POINTWISE[key] = Pointwise(name, expr, dtypes, out_dtype, preamble, errors,
                                         vector)
    return pw(*operands, out=out)


def _raise_errors(dev: Any, op: str) -> None:
    flag, _ = dev.read_error()
    if flag == ERR_ZERO_DIV:
        raise zero_division_error(op)
    if flag == ERR_NEG_POW:
        raise RuntimeError(f"{op}(): Integers to negative integer powers are not allowed.")


def _scalar_types(pw: Pointwise, kinds: tuple, rank: int, layouts: tuple, idx_t: str) -> list:
    it = np.int32 if idx_t == "int" else np.int64
    types: list[Any] = [None, it]
    for k, d in zip(kinds, pw.dtypes):
        types += [None, it] if k == "a" else [cg.NP_SCALAR[cg.ctype(d)]]
    types.append(it)
    if "s" in layouts:  # inner, per_row, sh1..sh{rank-2}, every array's strides
        types += [it] * (2 + max(rank - 2, 0) + rank * layouts.count("s"))
    if pw.errors:
        types.append(None)
    return types


def _params(pw: Pointwise, kinds: tuple, idx_t: str) -> tuple[list[str], list[str]]:
    params = [f"__global {cg.sctype(pw.out_dtype)}* out", f"{idx_t} out_off"]
    names = ["out"]
    for i, (k, d) in enumerate(zip(kinds, pw.dtypes)):
        if k == "a":
            params += [f"__global const {cg.sctype(d)}* p{i}", f"{idx_t} p{i}_off"]
            names.append(f"p{i}")
        else:
            params.append(f"{cg.ctype(d)} x{i}")
    params.append(f"{idx_t} n")
    return params, names


def _scalar_body(pw: Pointwise, kinds: tuple, idx: dict) -> list[str]:
    body = [f"{cg.ctype(d)} x{i} = {cg.load(d, f'p{i}', idx[f'p{i}'])};"
            for i, (k, d) in enumerate(zip(kinds, pw.dtypes)) if k == "a"]
    # the widest operand type decides conversions on store (float -> int, double -> half)
    src_dt = max(pw.dtypes, key=lambda d: (d.category, d.itemsize)) if pw.dtypes else None
    body.append(cg.store(pw.out_dtype, "out", idx["out"], pw.expr, src_dt))
    return body


def _source(pw: Pointwise, kinds: tuple, rank: int, layouts: tuple, idx_t: str,
            chunk: int = 1) -> str:
    """The scalar kernel: flat (``layouts`` all ``"c"``: one element per item at the flat
    id) or strided (``n`` items, each a run of at most ``chunk`` elements of one row)."""
    params, names = _params(pw, kinds, idx_t)
    strided = "s" in layouts
    if strided:
        params += [f"{idx_t} inner", f"{idx_t} per_row"]
        params += [f"{idx_t} sh{d}" for d in range(1, rank - 1)]
        for nm in names:
            params += [f"{idx_t} {nm}_st{d}" for d in range(rank)]
    if pw.errors:
        params.append("__global long* err")
    body = [f"{idx_t} gid = get_global_id(0);", "if (gid >= n) return;"]
    if not strided:
        body += _scalar_body(pw, kinds, {nm: f"{nm}_off + gid" for nm in names})
    else:
        body += [f"{idx_t} row = gid / per_row;",
                 f"{idx_t} j = (gid - row * per_row) * {chunk};",
                 f"{idx_t} j1 = min(j + {chunk}, inner);", cg.unravel(rank - 1, idx_t, "row")]
        body += [f"{idx_t} {nm}_o = {cg.offset_expr(rank - 1, nm)};" for nm in names]
        inner = rank - 1
        idx = {nm: f"{nm}_o + j * {nm}_st{inner}" for nm in names}
        body += ["for (; j < j1; j++) {"] + \
            ["    " + line for line in _scalar_body(pw, kinds, idx)] + ["}"]
    return (f"{pw.preamble}\n__kernel void ew({', '.join(params)})\n{{\n    "
            + "\n    ".join(body) + "\n}\n")


_BF16_VEC = """
inline floatN bf16_loadN(ushortN h) { return as_floatN(convert_uintN(h) << (uint)16); }
inline ushortN bf16_roundN(floatN f) {
    uintN u = as_uintN(f);
    uintN r = (u + (uint)0x7FFF + ((u >> 16) & (uint)1)) >> 16;
    return convert_ushortN(select(r, (u >> 16) | (uint)0x40, isnan(f)));
}
"""


def _vector_source(pw: Pointwise, kinds: tuple, idx_t: str, vw: int) -> str:
    """The flat kernel with ``vw`` elements per work item (every array of ``pw.out_dtype``)."""
    d = pw.out_dtype
    vt = f"{cg.ctype(d)}{vw}"
    params, names = _params(pw, kinds, idx_t)
    st = f"{cg.sctype(d)}{vw}"

    def vload(p: str) -> str:
        if d is dt.float16:
            return f"vloada_half{vw}(gid, {p} + {p}_off)"
        v = f"((__global const {st}*)({p} + {p}_off))[gid]"
        return f"bf16_load{vw}({v})" if d is dt.bfloat16 else v

    if d is dt.float16:
        vstore = f"vstorea_half{vw}_rte(r, gid, out + out_off);"
    else:
        val = f"bf16_round{vw}(r)" if d is dt.bfloat16 else "r"
        vstore = f"((__global {st}*)(out + out_off))[gid] = {val};"
    vec = [f"{vt} {nm.replace('p', 'x')} = {vload(nm)};" for nm in names[1:]]
    vec += [f"{vt} r = {pw.expr};", vstore]
    tail = _scalar_body(pw, kinds, {nm: f"{nm}_off + i" for nm in names})
    helpers = _BF16_VEC.replace("N", str(vw)) if d is dt.bfloat16 else ""
    return (f"{helpers}{pw.preamble}\n__kernel void ew({', '.join(params)})\n{{\n"
            f"    {idx_t} gid = get_global_id(0);\n"
            f"    if ((gid + 1) * {vw} <= n) {{\n        " + "\n        ".join(vec) +
            f"\n    }} else {{\n        for ({idx_t} i = gid * {vw}; i < n; i++) {{\n"
            "            " + "\n            ".join(tail) + "\n        }\n    }\n}\n")


_PROBE_EXPRS = ("x0 + x1", "((isnan(x0) || x0 > x1) ? x0 : x1)", "(x0 < (CT)0 ? (CT)0 : x0)")


def probe_variant(dev: CLDevice, v: dict) -> None:
    """Build and launch the flat vector kernels of variant ``v`` on small arrays of every
    float dtype and int32, with a tail, and check them against NumPy (``probe.select``'s
    probe, run in a child process)."""
    from mbtorch.core.host import NUMPY_DTYPES

    from .storage import download, upload

    _VARIANT[id(dev)] = dict(v)
    host = np.arange(-18, 19, dtype=np.float64) * 0.5  # exact in every float dtype
    pairs = {dt.float32: host, dt.float16: host, dt.bfloat16: host, dt.int32: host * 2}
    if dev.fp64:
        pairs[dt.float64] = host
    for d, x in pairs.items():
        xs = [x.astype(NUMPY_DTYPES[d]), x[::-1].astype(NUMPY_DTYPES[d])]
        xs[1][3] = xs[1][3] if d is dt.int32 else np.nan
        a, b = (upload(dev, h) for h in xs)
        ref = [h.astype(np.float64) for h in xs]
        wants = (ref[0] + ref[1], np.where(ref[0] > ref[1], ref[0], ref[1]),
                 np.maximum(ref[0], 0))
        wants[1][3] = ref[1][3]  # NaN in the second operand wins only when not compared
        for expr, want in zip(_PROBE_EXPRS, wants):
            expr = expr.replace("CT", cg.ctype(d))
            if d is dt.int32 and "isnan" in expr:
                expr = "(x0 > x1 ? x0 : x1)"
            got = download(Pointwise("PROBE", expr, (d, d), d, vector=True)(a, b))
            if not np.array_equal(got.astype(np.float64), want.astype(np.float64),
                                  equal_nan=True):
                raise RuntimeError(f"elementwise probe: {expr} on {d.name} with {v} gave "
                                   f"{got.tolist()}, expected {want.tolist()}")
