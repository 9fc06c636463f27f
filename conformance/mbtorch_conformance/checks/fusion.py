"""The ``fused`` check: a backend's ``fuse`` hook (``mbtorch.core.fusion``) must give what its
own unfused kernels give, step by step, on the same handles — contiguous, broadcast and
transposed inputs, special values, narrow integers that wrap, casts and ``where``, chains that
end in a reduction. A group the
backend declines is not counted; a dtype where it declines every group is reported skipped."""

from __future__ import annotations

from typing import Any

import numpy as np

import mbtorch as mt
from mbtorch.core.fusion import PointwiseGroup, Reduction, Ref, Step
from mbtorch.core.op import Op

from ..samples import draw, seed_for, special_values
from ..tolerances import compare, tolerance
from .common import Context, Outcome

__all__ = ["fused", "groups"]

_SHAPE = (33, 65)


def _in(i: int) -> Ref:
    return Ref("input", i)


def _t(i: int) -> Ref:
    return Ref("step", i)


def _float_groups(d: mt.dtype) -> list[tuple]:
    full, row = _SHAPE, _SHAPE[1:]
    return [
        ("mul-add-relu-scale", [full, full, full], [
            Step(Op.MUL, (_in(0), _in(1)), d), Step(Op.ADD, (_t(0), _in(2)), d),
            Step(Op.RELU, (_t(1),), d), Step(Op.MUL, (_t(2), 2.5), d)]),
        ("bias-sigmoid-gate (broadcast row)", [full, row], [
            Step(Op.ADD, (_in(0), _in(1)), d), Step(Op.SIGMOID, (_t(0),), d),
            Step(Op.MUL, (_t(1), _in(0)), d)]),
        ("compare-where-cast (transposed)", [full, "t"], [
            Step(Op.LT, (_in(0), _in(1)), mt.bool), Step(Op.NEG, (_in(1),), d),
            Step(Op.WHERE, (_t(0), _in(0), _t(1)), d), Step(Op.CAST, (_t(0),), d, (d,)),
            Step(Op.ADD, (_t(2), _t(3)), d), Step(Op.DIV, (_t(4), 3.0), d),
            Step(Op.TANH, (_t(5),), d)]),
        ("relu-backward then sum over rows", [full, full], [
            Step(Op.GT, (_in(0), 0.0), mt.bool), Step(Op.WHERE, (_t(0), _in(1), 0.0), d)],
         Reduction(Op.SUM, (0,), False)),
        ("square then amax over columns (keepdim, transposed)", ["t"], [
            Step(Op.MUL, (_in(0), _in(0)), d), Step(Op.MUL, (_t(0), 0.5), d)],
         Reduction(Op.AMAX, (1,), True)),
    ]


def _int_groups(d: mt.dtype) -> list[tuple]:
    full, row = _SHAPE, _SHAPE[1:]
    out = [
        ("add-scale-and-max", [full, full, full], [
            Step(Op.ADD, (_in(0), _in(1)), d), Step(Op.MUL, (_t(0), 3), d),
            Step(Op.BITWISE_AND, (_t(1), _in(2)), d), Step(Op.MAXIMUM, (_t(2), _in(0)), d)]),
        ("square wraps (broadcast row)", [full, row], [
            Step(Op.MUL, (_in(0), _in(0)), d), Step(Op.MUL, (_t(0), _in(1)), d),
            Step(Op.ADD, (_t(1), 1), d)]),
    ]
    out.append(("eq-where-cast (transposed)", [full, "t"], [
        Step(Op.EQ, (_in(0), _in(1)), mt.bool), Step(Op.WHERE, (_t(0), _in(0), 7), d),
        Step(Op.CAST, (_t(1),), mt.float32, (mt.float32,)),
        Step(Op.MUL, (_t(2), 0.5), mt.float32)]))
    out.append(("scale then sum over columns", [full, row], [
        Step(Op.MUL, (_in(0), 3), d), Step(Op.ADD, (_t(0), _in(1)), d)],
        Reduction(Op.SUM, (1,), False)))
    out.append(("bitwise then amax over rows", [full, full], [
        Step(Op.BITWISE_XOR, (_in(0), _in(1)), d)], Reduction(Op.AMAX, (0,), True)))
    return out


def _bool_groups(d: mt.dtype) -> list[tuple]:
    full = _SHAPE
    return [
        ("logical chain", [full, full, full], [
            Step(Op.LOGICAL_AND, (_in(0), _in(1)), d), Step(Op.LOGICAL_OR, (_t(0), _in(2)), d),
            Step(Op.LOGICAL_NOT, (_t(1),), d), Step(Op.BITWISE_XOR, (_t(2), _in(0)), d)]),
        ("where with scalars (transposed)", [full, "t"], [
            Step(Op.WHERE, (_in(0), _in(1), False), d), Step(Op.EQ, (_t(0), _in(0)), d)]),
    ]


def groups(d: mt.dtype) -> list[tuple]:
    """``(name, input shapes ("t": the first shape, transposed), steps[, reduction])`` for
    dtype ``d``."""
    if d is mt.bool:
        return _bool_groups(d)
    if d.is_floating_point:
        return _float_groups(d)
    return _int_groups(d)


def _arrays(name: str, shapes: list, d: mt.dtype) -> list[np.ndarray]:
    rng = np.random.default_rng(seed_for("fused", name, d.name))
    arrays = []
    for i, s in enumerate(shapes):
        shape = _SHAPE[::-1] if s == "t" else s
        a = draw(rng, shape, d, "real")
        if i == 0 and a.ndim == 2:  # the first row carries the special values
            sp = special_values(d, "standard")
            a[0, :min(sp.size, a.shape[1])] = sp[:a.shape[1]]
        arrays.append(a.T if s == "t" else a)
    return arrays


def _unfused(be: Any, group: PointwiseGroup, handles: list) -> Any:
    vals: list = []
    for st in group.steps:
        args = [(handles if a.kind == "input" else vals)[a.index] if isinstance(a, Ref) else a
                for a in st.args]
        vals.append(be.kernels[st.op](*args, *st.attrs))
    r = group.reduction
    return vals[-1] if r is None else be.kernels[r.op](vals[-1], r.dims, r.keepdim)


def fused(dtype: mt.dtype, ctx: Context) -> Outcome:
    """Every group the backend fuses equals its unfused kernels (within the dtype's
    tolerance, as fusion may keep intermediates unrounded)."""
    out = Outcome()
    be = ctx.backend
    if be.fuse is None:
        out.skipped = "the backend has no fuse hook (compiled code replays unfused)"
        return out
    if dtype.is_complex:
        out.skipped = "complex dtypes are not part of the fusion contract"
        return out
    declined = []
    for name, shapes, steps, *reduction in groups(dtype):
        if any(be.kernels[st.op] is None for st in steps):
            declined.append(f"{name} (an op has no native kernel)")
            continue
        arrays = _arrays(name, shapes, dtype)
        handles = [mt.tensor(np.ascontiguousarray(a), device=ctx.device)._data if s != "t"
                   else mt.tensor(np.ascontiguousarray(a.T), device=ctx.device).t()._data
                   for a, s in zip(arrays, shapes)]
        group = PointwiseGroup(tuple((a.shape, dtype) for a in arrays), tuple(steps), _SHAPE,
                               reduction[0] if reduction else None)
        _check_group(out, be, name, group, handles, declined)
    if out.n == 0 and not out.failed:
        out.skipped = f"the backend declined every group: {'; '.join(declined)}"
    return out


def _check_group(out: Outcome, be: Any, name: str, group: PointwiseGroup, handles: list,
                 declined: list) -> None:
    try:
        kernel = be.fuse(group)
        if kernel is None:
            declined.append(name)
            return
        out.n += 1
        got = be.storage.to_numpy(kernel(*handles))
        want = be.storage.to_numpy(_unfused(be, group, handles))
    except Exception as exc:  # noqa: BLE001 - a crash is this group's failure
        out.n += 1
        out.fail(f"group {name!r}: raised {type(exc).__name__}: {exc}\n{group.format()}")
        return
    if got.shape != want.shape or got.dtype != want.dtype:
        out.fail(f"group {name!r}: fused result {got.dtype}{list(got.shape)}, unfused "
                 f"{want.dtype}{list(want.shape)}\n{group.format()}")
        return
    errs, bad = compare(got, want, group.dtype, *tolerance(group.dtype))
    out.errors.merge(errs)
    if bad is not None:
        out.fail(f"group {name!r}: fused differs from unfused at {bad.index}: "
                 f"{bad.actual} vs {bad.expected}\n{group.format()}")
