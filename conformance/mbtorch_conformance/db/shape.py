"""Views, copies, casts and creation: exact results (no rounding is involved anywhere)."""

from __future__ import annotations

import numpy as np

import mbtorch as mt
from mbtorch.core.op import Op

from ..samples import Lit, Sp, case
from . import ALL, FLOATS, Bad, Entry

__all__ = ["ENTRIES"]

_STD = ("standard", "full")
_DIMS = Bad(((2, 3),), {"dim": 5}, IndexError, "dim 5 of a 2-d tensor")


def _view(name: str, op: Op, api: str, ref, cases, errors=(), **kw) -> Entry:
    return Entry(name, op, api, ref, cases, ALL, view=True, errors=errors, **kw)


def _as_strided(x, size, stride, offset):
    flat = np.ascontiguousarray(x).reshape(-1)[offset:]
    return np.lib.stride_tricks.as_strided(flat, size, [s * x.itemsize for s in stride])


def _expand(x, shape):
    lead = len(shape) - x.ndim
    return np.broadcast_to(x, tuple(x.shape[i - lead] if v == -1 else v
                                    for i, v in enumerate(shape)))


def _unfold(x, dim, size, step):
    if x.ndim == 0:
        return x.reshape(1)
    windows = np.lib.stride_tricks.sliding_window_view(x, size, dim)
    return windows[(slice(None),) * (dim % x.ndim) + (slice(None, None, step),)]


def _squeeze(x, dim=None):
    if dim is None:
        return np.squeeze(x)
    return np.squeeze(x, dim) if x.ndim and x.shape[dim] == 1 else x


def _cast_cases():
    out = []
    for t in (mt.bool, mt.uint8, mt.int8, mt.int32, mt.int64, mt.float16, mt.bfloat16,
              mt.float32, mt.float64):
        out.append(case((3, 4), dtype=t))
        out.append(case((0, 2), dtype=t, tiers=_STD))
        if t.is_floating_point or t is mt.bool:
            out.append(case(Sp(), dtype=t))
    return out


ENTRIES = [
    Entry("to(dtype)", Op.CAST, "expr:x0.to(kw['dtype'])", lambda x, dtype: x,
          _cast_cases(), ALL, ("pos",), out="kw:dtype", specials=False, grad=False),
    _view("view", Op.VIEW, "Tensor.view", lambda x, s: x.reshape(s), [
        case((3, 4), Lit((4, 3))), case((3, 4), Lit((-1,))), case((), Lit((1, 1))),
        case((2, 3, 4), Lit((6, 4))), case((0, 3), Lit((3, 0))),
        case((2, 6), Lit((2, 2, 3)), tiers=_STD), case((1, 5), Lit((5,)), tiers=_STD),
        case((24,), Lit((2, 3, 4)), tiers=_STD)], noncontig=False,
        errors=(Bad(((3, 4), Lit((5,))), {}, RuntimeError, "12 elements as 5"),)),
    _view("reshape", Op.VIEW, "Tensor.reshape", lambda x, s: x.reshape(s), [
        case((3, 4), Lit((4, 3))), case((3, 4), Lit((-1,))), case((), Lit((1,))),
        case((2, 3, 4), Lit((4, 6))), case((0, 3), Lit((0,)), tiers=_STD),
        case((2, 6), Lit((3, 2, 2)), tiers=_STD), case((5,), Lit((5, 1))),
        case((4, 1, 3), Lit((2, -1)), tiers=_STD)]),
    _view("squeeze", Op.VIEW, "Tensor.squeeze", _squeeze, [
        case((1, 3, 1)), case((1, 3, 1), dim=0), case((2, 1), dim=-1), case(()),
        case((3, 4), dim=1), case((1,), tiers=_STD), case((0, 1), tiers=_STD),
        case((2, 1, 3, 1), dim=-1, tiers=_STD)]),
    _view("unsqueeze", Op.VIEW, "Tensor.unsqueeze", np.expand_dims, [
        case((3, 4), dim=0), case((3, 4), dim=2), case((3, 4), dim=-1), case((), dim=0),
        case((0, 2), dim=1, tiers=_STD), case((5,), dim=1), case((2, 3, 4), dim=-2),
        case((1,), dim=0, tiers=_STD)], ref_kw={"dim": "axis"}, errors=(_DIMS,)),
    _view("permute", Op.PERMUTE, "Tensor.permute", np.transpose, [
        case((3, 4), Lit((1, 0))), case((2, 3, 4), Lit((2, 0, 1))), case((), Lit(())),
        case((2, 3, 4), Lit((0, 2, 1))), case((0, 3), Lit((1, 0)), tiers=_STD),
        case((2, 1, 3, 2), Lit((3, 1, 0, 2)), tiers=_STD), case((5,), Lit((0,))),
        case((4, 3), Lit((-1, -2)), tiers=_STD)],
        errors=(Bad(((2, 3), Lit((0, 0))), {}, RuntimeError, "repeated dim"),)),
    _view("transpose", Op.PERMUTE, "Tensor.transpose", np.swapaxes, [
        case((3, 4), Lit(0), Lit(1)), case((2, 3, 4), Lit(0), Lit(2)),
        case((2, 3, 4), Lit(-1), Lit(1)), case((5,), Lit(0), Lit(0), tiers=_STD),
        case((3, 3), Lit(1), Lit(0)), case((0, 4), Lit(0), Lit(1), tiers=_STD),
        case((2, 2, 2, 2), Lit(1), Lit(3), tiers=_STD), case((1, 6), Lit(0), Lit(1))],
        errors=(Bad(((2, 3), Lit(0), Lit(2)), {}, IndexError, "dim 2 of a 2-d tensor"),)),
    _view("expand", Op.EXPAND, "Tensor.expand", _expand, [
        case((3, 1), Lit((3, 4))), case((), Lit((2, 2))), case((1,), Lit((2, 3, 5))),
        case((2, 1, 3), Lit((4, 2, 5, 3))), case((3, 1), Lit((3, 0)), tiers=_STD),
        case((4,), Lit((3, 4))), case((1, 1), Lit((-1, 6)), tiers=_STD),
        case((5, 1, 1), Lit((5, 2, 3)), tiers=_STD)],
        writes=False, errors=(Bad(((3, 2), Lit((3, 4))), {}, RuntimeError, "2 -> 4"),)),
    _view("narrow", Op.SLICE, "Tensor.narrow", lambda x, d, s, n: np.take(
        x, np.arange(s % max(x.shape[d], 1), s % max(x.shape[d], 1) + n), d), [
        case((5, 4), Lit(0), Lit(1), Lit(3)), case((5, 4), Lit(1), Lit(2), Lit(2)),
        case((5,), Lit(0), Lit(5), Lit(0)), case((2, 6, 3), Lit(-2), Lit(0), Lit(4)),
        case((7,), Lit(0), Lit(-3), Lit(2)), case((3, 3), Lit(1), Lit(0), Lit(3)),
        case((4, 5), Lit(0), Lit(3), Lit(1), tiers=_STD), case((9, 2), Lit(0), Lit(2), Lit(5))],
        errors=(Bad(((5,), Lit(0), Lit(3), Lit(4)), {}, RuntimeError, "3 + 4 > 5"),)),
    _view("select", Op.SELECT, "Tensor.select", lambda x, d, i: np.take(x, i, d), [
        case((5, 4), Lit(0), Lit(2)), case((5, 4), Lit(1), Lit(-1)), case((3,), Lit(0), Lit(1)),
        case((2, 3, 4), Lit(2), Lit(3), tiers=_STD), case((2, 3, 4), Lit(1), Lit(-3)),
        case((1, 5), Lit(0), Lit(0)), case((4, 1), Lit(1), Lit(0), tiers=_STD),
        case((6, 2, 2), Lit(0), Lit(5), tiers=_STD)],
        errors=(Bad(((3, 4), Lit(0), Lit(3)), {}, IndexError, "index 3 of size 3"),)),
    _view("diagonal", Op.DIAGONAL, "Tensor.diagonal", np.diagonal, [
        case((4, 4)), case((3, 5), Lit(1)), case((5, 3), Lit(-2)), case((2, 3, 4), Lit(0),
                                                                         Lit(1), Lit(2)),
        case((3, 3), Lit(4), tiers=_STD), case((2, 4, 4), Lit(-1), Lit(1), Lit(2)),
        case((1, 6)), case((5, 5), Lit(2), Lit(1), Lit(0), tiers=_STD)],
        errors=(Bad(((3,),), {}, IndexError, "1-d input"),)),
    _view("unfold", Op.UNFOLD, "Tensor.unfold", _unfold, [
        case((7,), Lit(0), Lit(2), Lit(1)), case((7,), Lit(0), Lit(3), Lit(2)),
        case((4, 6), Lit(1), Lit(2), Lit(2)), case((5, 3), Lit(0), Lit(5), Lit(1)),
        case((), Lit(0), Lit(1), Lit(1)), case((9,), Lit(0), Lit(4), Lit(5)),
        case((2, 3, 8), Lit(-1), Lit(3), Lit(3), tiers=_STD), case((6, 2), Lit(0), Lit(1),
                                                                   Lit(1), tiers=_STD)],
        writes=False),
    _view("as_strided", Op.AS_STRIDED, "Tensor.as_strided", _as_strided, [
        case((3, 4), Lit((2, 2)), Lit((1, 2)), Lit(1)), case((12,), Lit((3, 4)), Lit((4, 1)),
                                                             Lit(0)),
        case((5,), Lit((2,)), Lit((2,)), Lit(0)), case((3, 4), Lit((4, 3)), Lit((1, 4)),
                                                        Lit(0)),
        case((6,), Lit((3, 3)), Lit((1, 1)), Lit(0)), case((2, 3), Lit(()), Lit(()), Lit(5)),
        case((4, 4), Lit((2, 2)), Lit((5, 1)), Lit(2)), case((8,), Lit((4,)), Lit((0,)), Lit(3))],
        noncontig=False, grad=False, writes=False),
    Entry("contiguous", Op.CONTIGUOUS, "Tensor.contiguous", lambda x: x, [
        case((3, 4)), case(()), case((0, 3)), case((2, 3, 4)), case((7,)), case((1, 5)),
        case((33, 17), tiers=_STD), case((2, 1, 3, 2))], ALL),
    Entry("clone", Op.CONTIGUOUS, "mbtorch.clone", np.copy, [
        case((3, 4)), case(()), case((0, 3)), case((2, 3, 4)), case((7,)), case((1, 5)),
        case((33, 17), tiers=_STD), case((2, 1, 3, 2))], ALL),
    Entry("copy_", Op.COPY_, "Tensor.copy_", lambda d, s: np.broadcast_to(s, d.shape), [
        case((3, 4), (3, 4)), case((3, 4), (4,)), case((2, 3), ()), case((0, 2), (2,)),
        case((2, 3, 4), (3, 1), tiers=_STD), case((5,), (1,)), case((), ()),
        case((6, 2), (6, 2), tiers=_STD), case((3, 3), (3, 1))], ALL, grad=False, mutates=True,
        errors=(Bad(((3,), (4,)), {}, RuntimeError, "(4,) into (3,)"),)),
    Entry("full", Op.FULL, "expr:mbtorch.full(kw['size'], kw['value'], dtype=dtype, "
          "device=device)", lambda size, value: np.full(size, value), [
              case(size=(3, 4), value=1), case(size=(), value=0), case(size=(0, 2), value=1),
              case(size=(5,), value=True), case(size=(2, 3), value=7),
              case(size=(1,), value=0), case(size=(2, 1, 3), value=5),
              case(size=(33, 17), value=3, tiers=_STD)], ALL, grad=False,
          specials=False),
    Entry("arange", Op.IOTA, "expr:mbtorch.arange(kw['start'], kw['end'], kw['step'], "
          "dtype=dtype, device=device)", lambda start, end, step: np.arange(start, end, step), [
              case(start=0, end=5, step=1), case(start=2, end=9, step=3),
              case(start=8, end=0, step=-2), case(start=0, end=0, step=1),
              case(start=1, end=2, step=1), case(start=0, end=100, step=7),
              case(start=5, end=6, step=3), case(start=10, end=-1 + 11, step=1)],
          (mt.uint8, mt.int8, mt.int16, mt.int32, mt.int64) + FLOATS, grad=False,
          specials=False),
]
