"""The cpu device's ``fuse`` hook (``mbtorch.core.fusion``): a chain of pointwise kernels that a
compiled replay offers becomes one loop compiled by Numba, which reads each input once and
writes the result once, where the unfused kernels make a pass over memory per step (a conv
layer's bias add and ReLU: two passes over 692k floats and a temporary; ReLU's backward, a
comparison and a ``where``).

Only what the unfused NumPy kernels compute bit for bit is fused (a NaN's sign and payload
aside: which operand's NaN an operation passes on is the instruction order's choice), so a
compiled step on ``cpu`` stays bit-identical to eager execution: float32/float64 ``ADD``,
``SUB``, ``MUL``, ``DIV`` (IEEE division: 1/0 is inf, 0/0 NaN, no exception), ``NEG``,
``ABS``, ``RELU`` (a negative value becomes +0.0, -0.0 and NaN are kept, as the cpu kernel),
the comparisons, ``WHERE`` and the logical ops; each step is computed in its own dtype and
rounded there, as the unfused kernel stores it (no contraction into fused multiply-adds:
Numba compiles without fast-math). Groups are declined (replayed unfused) when they hold any
other op or dtype (transcendentals round differently from NumPy's; casts; integers), end in
a reduction (the summation order would change), or have fewer than ``MIN_NUMEL`` elements:
each distinct chain costs 0.1-0.6 s of compilation per process (the generated source is not
cached on disk), which small tensors do not repay.

The loop runs over the result's dims collapsed as far as every operand's strides allow (a
bias over N, C, H, W becomes N, C, H*W, the bias constant along the innermost run); each
operand is a flat buffer with element strides, and the innermost stride of each is compiled
in as 1, 0 or run-time, so contiguous runs vectorize. Operands that are not a broadcast of a
C-contiguous array are copied contiguous first.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import numpy as np

from mbtorch.core import dtypes as dt
from mbtorch.core.fusion import Ref
from mbtorch.core.host import NUMPY_DTYPES
from mbtorch.core.op import Op
from mbtorch.core.tensor import collapse_dims, contiguous_strides

__all__ = ["MIN_NUMEL", "fuse"]

MIN_NUMEL = 2048
"""Groups with fewer elements are declined: their compilation would cost more than they save."""

_FLOATS = (dt.float32, dt.float64)
_ARITH = {Op.ADD: "({0} + {1})", Op.SUB: "({0} - {1})", Op.MUL: "({0} * {1})",
          Op.DIV: "({0} / {1})"}
_COMPARE = {Op.EQ: "({0} == {1})", Op.NE: "({0} != {1})", Op.LT: "({0} < {1})",
            Op.LE: "({0} <= {1})", Op.GT: "({0} > {1})", Op.GE: "({0} >= {1})"}
_LOGICAL = {Op.LOGICAL_AND: "({0} and {1})", Op.LOGICAL_OR: "({0} or {1})",
            Op.LOGICAL_XOR: "({0} != {1})"}
_UNARY = {Op.NEG: "(-{0})", Op.ABS: "abs({0})", Op.LOGICAL_NOT: "(not {0})"}


def _supported(group: Any) -> bool:
    if group.reduction is not None or not group.steps:
        return False
    if int(np.prod(group.shape, dtype=np.int64)) < MIN_NUMEL:
        return False
    if any(d not in _FLOATS and d is not dt.bool for _, d in group.inputs):
        return False
    for st in group.steps:
        if st.op in _ARITH or st.op in (Op.NEG, Op.ABS, Op.RELU):
            if st.dtype not in _FLOATS:
                return False
        elif st.op in _COMPARE:
            if group.compute_dtype(st) not in _FLOATS:
                return False
        elif st.op in _LOGICAL or st.op is Op.LOGICAL_NOT:
            if group.compute_dtype(st) is not dt.bool:
                return False
        elif st.op is Op.WHERE:
            if st.dtype not in _FLOATS:
                return False
        else:
            return False
    return True


def fuse(group: Any) -> Callable | None:
    """One kernel for ``group`` (see the module docstring), or None to decline it."""
    if not _supported(group):
        return None
    consts: list = []  # (value, dtype) of each Python scalar, passed at run time
    lines: list[str] = []
    for i, st in enumerate(group.steps):
        cdt = group.compute_dtype(st)
        args = []
        for k, a in enumerate(st.args):
            if isinstance(a, Ref):
                args.append(f"x{a.index}" if a.kind == "input" else f"t{a.index}")
            else:
                kind = dt.bool if st.op is Op.WHERE and k == 0 else cdt
                consts.append((a, kind))
                args.append(f"c{len(consts) - 1}")
        if st.op is Op.RELU:
            consts.append((0.0, st.dtype))
            zero = f"c{len(consts) - 1}"
            expr = f"({zero} if {args[0]} < {zero} else {args[0]})"
        elif st.op is Op.WHERE:
            expr = f"({args[1]} if {args[0]} else {args[2]})"
        else:
            table = _ARITH.get(st.op) or _COMPARE.get(st.op) or _LOGICAL.get(st.op) or \
                _UNARY[st.op]
            expr = table.format(*args)
        lines.append(f"t{i} = {expr}")
    structure = (tuple(lines), len(group.inputs), len(consts))
    values = tuple(NUMPY_DTYPES[d].type(v) for v, d in consts)
    launch = _Launcher(structure, values, tuple(group.shape))
    result = NUMPY_DTYPES[group.dtype]
    shape = tuple(group.shape)

    if group.into:
        def write(*inputs: Any) -> None:
            dst = inputs[0]
            # every other input is read whole before dst is written where it shares memory
            arrays = [dst] + [np.array(a) if np.may_share_memory(a, dst) else a
                              for a in inputs[1:]]
            if dst.flags.c_contiguous:
                launch(dst, arrays, True)  # dst read and written in place
            else:
                out = np.empty(shape, result)
                launch(out, arrays, False)
                np.copyto(dst, out)

        return write

    def kernel(*inputs: Any) -> Any:
        out = np.empty(shape, result)
        launch(out, inputs, False)
        return out

    def out_kernel(out: Any, *inputs: Any) -> None:
        # the planned buffer of a replay: contiguous, no input shares its memory
        launch(out, inputs, False)

    kernel.out = out_kernel  # type: ignore[attr-defined]
    return kernel


# -- running: flat buffers, element strides, collapsed dims --------------------------------------
def _strides(a: Any, shape: tuple) -> list[int]:
    """The element strides over ``shape`` of ``a`` (C-contiguous, or copied so when it is not)
    broadcast to ``shape``."""
    pad = len(shape) - a.ndim
    own = (0,) * pad + contiguous_strides(a.shape)
    return [0 if (i < pad or a.shape[i - pad] == 1) and shape[i] != 1 else own[i]
            for i in range(len(shape))]


class _Launcher:
    """Runs one fused chain: per layout of its operands (shapes, strides, whether the result
    is the first input's own memory), the collapsed loop and its compiled kernel, worked out
    once; a call then flattens the operands and calls the kernel."""

    def __init__(self, structure: tuple, values: tuple, shape: tuple) -> None:
        self.structure, self.values, self.shape = structure, values, shape
        self.plans: dict[tuple, tuple] = {}

    def __call__(self, out: Any, arrays: Any, in_place: bool) -> None:
        key = (in_place,) + tuple((a.shape, a.strides, a.dtype.num) for a in arrays)
        plan = self.plans.get(key)
        if plan is None:
            if len(self.plans) >= 64:
                self.plans.clear()
            plan = self.plans[key] = self._plan(arrays, in_place)
        fn, contiguous, cshape, cstrides = plan
        flat = [a.reshape(-1) if c else np.ascontiguousarray(a).reshape(-1)
                for a, c in zip(arrays, contiguous)]
        fn(out.reshape(-1), *flat, *self.values, cshape, cstrides)

    def _plan(self, arrays: Any, in_place: bool) -> tuple:
        shape = self.shape
        strides = [_strides(a, shape) for a in arrays]
        cshape, cstrides = collapse_dims(shape, [contiguous_strides(shape)] + strides)
        if not cshape:  # one element (every dim 1)
            cshape, cstrides = (1,), [(0,) for _ in cstrides]
        inner = tuple("1" if st[-1] == 1 else "0" if st[-1] == 0 else "s" for st in cstrides[1:])
        if in_place:  # input 0 is the result's own memory: read where it is written
            inner = ("out",) + inner[1:]
        fn = _compile(self.structure, len(cshape), inner)
        return (fn, [a.flags.c_contiguous for a in arrays], np.array(cshape, np.int64),
                np.array(cstrides, np.int64))


@functools.lru_cache(maxsize=256)
def _compile(structure: tuple, ndim: int, inner: tuple) -> Callable:
    import numba

    lines, n_in, n_const = structure
    params = ["out"] + [f"b{j}" for j in range(n_in)] + [f"c{j}" for j in range(n_const)]
    body = [f"def kernel({', '.join(params + ['shape', 'st'])}):"]
    body.append(f"    n = shape[{ndim - 1}]")
    for j in range(1, n_in + 1):
        body.append(f"    s{j} = st[{j}, {ndim - 1}]")
    ind = "    "
    # the outer dims: one loop each, offsets accumulated per operand
    for d in range(ndim - 1):
        body.append(f"{ind}for i{d} in range(shape[{d}]):")
        ind += "    "
        for j in range(n_in + 1):
            prev = f"o{j}_{d - 1}" if d else "0"
            body.append(f"{ind}o{j}_{d} = {prev} + i{d} * st[{j}, {d}]")
    base = [f"o{j}_{ndim - 2}" if ndim > 1 else "0" for j in range(n_in + 1)]
    # the innermost run as views starting at its offset: indices from ``range`` are then known
    # to be non-negative, so Numba's negative-index wraparound (which keeps the loop from
    # vectorizing) drops out
    body.append(f"{ind}r = out[{base[0]}:{base[0]} + n]")
    for j in range(n_in):
        if inner[j] == "out":  # the result's own memory (in place): read through ``r``
            continue
        if inner[j] == "0":  # constant along the run: read once
            body.append(f"{ind}x{j} = b{j}[{base[j + 1]}]")
        elif inner[j] == "1":
            body.append(f"{ind}r{j} = b{j}[{base[j + 1]}:{base[j + 1]} + n]")
        else:
            body.append(f"{ind}r{j} = b{j}[{base[j + 1]}:]")
    body.append(f"{ind}for i in range(n):")
    ind += "    "
    for j in range(n_in):
        if inner[j] == "out":
            body.append(f"{ind}x{j} = r[i]")
        elif inner[j] == "1":
            body.append(f"{ind}x{j} = r{j}[i]")
        elif inner[j] == "s":
            body.append(f"{ind}x{j} = r{j}[i * s{j + 1}]")
    body += [ind + line for line in lines]
    body.append(f"{ind}r[i] = t{len(lines) - 1}")  # the result is C-contiguous
    scope: dict[str, Any] = {}
    exec(compile("\n".join(body), "<mbtorch_numpy fused kernel>", "exec"), scope)  # noqa: S102
    return numba.njit(nogil=True, boundscheck=False, error_model="numpy")(scope["kernel"])
