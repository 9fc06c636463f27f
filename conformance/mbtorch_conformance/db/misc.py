"""Linear algebra, indexing, joining, sorting and random bits.

Matmul, sort, nonzero and the indexing entries also run at lengths that cross the blocking
boundaries (``samples.BLOCK_LENGTHS``, up to 2**16 + 1): a K tail past a tile of 64, an index
past the last full block. Long dot products use ``grid`` values, whose every sum is exact in
float32, so any correct blocking gets the one right answer."""

from __future__ import annotations

import numpy as np

import mbtorch as mt
from mbtorch.core.op import Op
from mbtorch.core.plugin_api import philox_words

from ..samples import LONG_FULL, LONG_STD, LONGEST, Index, Lit, Mask, Perm, Vals, case
from . import ALL, FLOATS, NUMERIC, Bad, Entry

__all__ = ["MATMUL", "MM", "BMM", "LINEAR", "GATHER", "SCATTER", "SORT", "TOPK", "INDEX_ADD",
           "ENTRIES"]

_STD, _FULL = ("standard", "full"), ("full",)


def _tier(n: int) -> tuple:
    return _STD if n in LONG_STD else _FULL


def _long_matmul() -> list:
    """K just past each tile (the K tail), M and N past a tile of 64, batched, and a dot
    product of 2**16 + 1 terms."""
    out = [case(Vals((3, k), "grid"), Vals((k, 2), "grid"), tiers=_tier(k))
           for k in LONG_STD[:-1] + LONG_FULL]
    return out + [case(Vals((65, 5), "grid"), Vals((5, 129), "grid"), tiers=_STD),
                  case(Vals((2, 17, 257), "grid"), Vals((257, 65), "grid"), tiers=_STD),
                  case(Vals((LONGEST,), "grid"), Vals((LONGEST,), "grid"), tiers=_STD),
                  case(Vals((1, 4097), "grid"), Vals((4097, 1), "grid"), tiers=_STD)]
_MM_TOL = {mt.float32: (1e-5, 1e-5), mt.float16: (1e-3, 1e-3), mt.bfloat16: (1.6e-2, 1e-3)}


def _scatter(x, dim, index, src):
    out = x.copy()
    np.put_along_axis(out, index, src, dim)
    return out


def _scatter_add(x, dim, index, src):
    out = x.copy()
    grid = list(np.indices(index.shape, sparse=True))
    grid[dim] = index
    np.add.at(out, tuple(grid), src)
    return out


def _sort(x, dim=-1, descending=False, stable=True):
    if x.ndim == 0:
        return x, np.zeros((), np.int64)
    d = dim % x.ndim
    if not descending:
        idx = np.argsort(x, axis=d, kind="stable")
    else:  # stable descending: sort the reversed array ascending, then reverse back
        n = x.shape[d]
        idx = (n - 1) - np.flip(np.argsort(np.flip(x, d), axis=d, kind="stable"), d)
    return np.take_along_axis(x, idx, d), idx.astype(np.int64)


def _topk(x, k, dim=-1, largest=True):
    v, _ = _sort(x, dim, descending=largest)
    return np.take(v, np.arange(k), dim % max(x.ndim, 1)) if x.ndim else v


def _index_add(x, dim, index, src):
    out = np.moveaxis(x.copy(), dim, 0)
    np.add.at(out, index, np.moveaxis(src, dim, 0))
    return np.moveaxis(out, 0, dim)


def _uniform_ref(seed, n, _dtype=None):
    """``rand`` per the documented contract in ``mbtorch.core.ops.random``."""
    if _dtype is mt.float64:
        w = philox_words(np, seed, 0, 2 * n).reshape(2, n) if n else np.zeros((2, 0), np.int64)
        return ((w[0] >> 5) * 2.0**26 + (w[1] >> 6)) * 2.0**-53
    p = {mt.float16: 11, mt.bfloat16: 8, mt.float32: 24}[_dtype]
    return (philox_words(np, seed, 0, n) >> (32 - p)) * 2.0**-p


def _pad(x, pad, value=0.0):
    pairs = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        pairs[x.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    return np.pad(x, pairs, constant_values=value)


def _index_put(x, idx, v):
    out = x.copy()
    out[idx] = v
    return out


MATMUL = [
    case((3, 4), (4, 5)), case((4,), (4,)), case((4,), (4, 3)), case((3, 4), (4,)),
    case((2, 3, 4), (4, 5)), case((2, 1, 3, 4), (3, 4, 2)), case((0, 3), (3, 2)),
    case((3, 0), (0, 2)), case((17, 9), (9, 13), tiers=_STD), case((5, 2, 3), (5, 3, 4),
                                                                    tiers=_STD),
] + _long_matmul()
GATHER = [
    case((5, 4), Lit(0), Index((3, 4), 5)), case((5, 4), Lit(1), Index((5, 2), 4)),
    case((3,), Lit(0), Index((6,), 3)), case((2, 3, 4), Lit(-1), Index((2, 3, 7), 4)),
    case((4, 3), Lit(0), Index((0, 3), 4)), case((6, 5), Lit(1), Index((6, 9), 5), tiers=_STD),
    case((), Lit(0), Index((), 1), tiers=_STD), case((7, 2), Lit(0), Index((7, 2), 7)),
    case((LONGEST,), Lit(0), Index((4097,), LONGEST), tiers=_STD),
    case((1025, 3), Lit(0), Index((257, 3), 1025), tiers=_STD),
    case((3, 257), Lit(1), Index((3, 4097), 257), tiers=_STD),
    case((4095, 2), Lit(0), Index((1023, 2), 4095), tiers=_FULL),
]
SCATTER = [
    case((5, 4), Lit(0), Perm((3, 4), 0, 5), (3, 4)), case((5, 4), Lit(1), Perm((5, 2), 1, 4),
                                                           (5, 2)),
    case((6,), Lit(0), Perm((4,), 0, 6), (4,)), case((2, 3, 4), Lit(2), Perm((2, 3, 2), 2, 4),
                                                     (2, 3, 2)),
    case((4, 3), Lit(0), Perm((0, 3), 0, 4), (0, 3)), case((6, 5), Lit(1), Perm((6, 5), 1, 5),
                                                           (6, 5)),
    case((7, 2), Lit(0), Perm((7, 2), 0, 7), (7, 2)), case((3, 3), Lit(-1), Perm((3, 1), 1, 3),
                                                           (3, 1)),
    case((LONGEST,), Lit(0), Perm((4097,), 0, LONGEST), (4097,), tiers=_STD),
    case((1025, 3), Lit(0), Perm((257, 3), 0, 1025), (257, 3), tiers=_STD),
    case((3, 4097), Lit(1), Perm((3, 1025), 1, 4097), (3, 1025), tiers=_STD),
    case((1023, 2), Lit(0), Perm((127, 2), 0, 1023), (127, 2), tiers=_FULL),
]
SORT = [case((7,)), case((3, 4), dim=0), case((3, 4), descending=True), case(()),
        case((2, 3, 4), dim=1, descending=True), case((0, 3), dim=1), case((33,)),
        case((5, 6), dim=-1, tiers=_STD), case((9, 2), dim=0, descending=True, tiers=_STD)] + [
            # 2**16 + 1 only in the full tier: a device sort (bitonic, radix) of it is slow
            case((n,), descending=i % 2 == 1, tiers=_FULL if n == LONGEST else _tier(n))
            for i, n in enumerate(LONG_STD + LONG_FULL)] + [
            case((1025, 3), dim=0, tiers=_STD), case((3, 4097), descending=True, tiers=_STD),
            case(Vals((4097,), "grid"), tiers=_STD),  # ties: a stable sort's indices are fixed
            case(Vals((3, 1025), "grid"), descending=True, tiers=_STD)]
MM = [
    case((3, 4), (4, 5)), case((1, 1), (1, 3)), case((0, 3), (3, 2)), case((5, 0), (0, 2)),
    case((17, 9), (9, 13), tiers=_STD), case((2, 7), (7, 1)), case((6, 3), (3, 6)),
    case((4, 4), (4, 4), tiers=_STD)] + [
    c for c in _long_matmul() if len(c.args[0].shape) == len(c.args[1].shape) == 2]
BMM = [
    case((2, 3, 4), (2, 4, 5)), case((1, 1, 1), (1, 1, 1)), case((0, 3, 4), (0, 4, 2)),
    case((3, 0, 2), (3, 2, 4)), case((5, 2, 3), (5, 3, 4), tiers=_STD),
    case((2, 7, 1), (2, 1, 3)), case((4, 3, 3), (4, 3, 3)), case((2, 9, 6), (2, 6, 5), tiers=_STD),
    case(Vals((2, 3, 65), "grid"), Vals((2, 65, 2), "grid"), tiers=_STD),
    case(Vals((2, 5, 257), "grid"), Vals((2, 257, 3), "grid"), tiers=_STD),
    case(Vals((3, 65, 4), "grid"), Vals((3, 4, 129), "grid"), tiers=_STD),
    case(Vals((2, 1, 4097), "grid"), Vals((2, 4097, 1), "grid"), tiers=_STD),
    case(Vals((2, 2, 1023), "grid"), Vals((2, 1023, 2), "grid"), tiers=_FULL)]
LINEAR = [  # input, weight (out, in), bias (out,)
    case((3, 4), (5, 4), (5,)), case((2, 3, 4), (6, 4), (6,)), case((1, 4), (1, 4), (1,)),
    case((0, 4), (3, 4), (3,)), case((7, 9), (13, 9), (13,), tiers=_STD),
    case((4, 1), (2, 1), (2,)), case((2, 2, 3), (5, 3), (5,)), case((8, 16), (4, 16), (4,)),
    case(Vals((3, 65), "grid"), Vals((2, 65), "grid"), Vals((2,), "grid"), tiers=_STD),
    case(Vals((4, 257), "grid"), Vals((3, 257), "grid"), Vals((3,), "grid"), tiers=_STD),
    case(Vals((2, 4097), "grid"), Vals((1, 4097), "grid"), Vals((1,), "grid"), tiers=_STD),
    case(Vals((129, 5), "grid"), Vals((65, 5), "grid"), Vals((65,), "grid"), tiers=_STD),
    case(Vals((2, 1023), "grid"), Vals((3, 1023), "grid"), Vals((3,), "grid"), tiers=_FULL)]
TOPK = [
    case((7,), k=3), case((3, 4), k=2, dim=0), case((3, 4), k=4), case((2, 3, 4), k=1, dim=1),
    case((5, 6), k=6, largest=False), case((0, 3), k=2, dim=1), case((9, 2), k=5, dim=0),
    case((1,), k=1), case((4097,), k=5, tiers=_STD), case((3, 1025), k=7, dim=1, tiers=_STD),
    case((1025, 3), k=2, dim=0, largest=False, tiers=_STD), case((257,), k=257, tiers=_STD),
    case((LONGEST,), k=3, tiers=_FULL)]
INDEX_ADD = [
    case((5, 3), Lit(0), Perm((3,), 0, 5), (3, 3)), case((4, 6), Lit(1), Perm((2,), 0, 6), (4, 2)),
    case((6,), Lit(0), Perm((6,), 0, 6), (6,)), case((2, 3, 4), Lit(-1), Perm((4,), 0, 4),
                                                     (2, 3, 4)),
    case((4, 3), Lit(0), Perm((0,), 0, 4), (0, 3)), case((7, 2), Lit(0), Perm((1,), 0, 7), (1, 2)),
    case((3, 5), Lit(1), Perm((5,), 0, 5), (3, 5)), case((9,), Lit(0), Perm((4,), 0, 9), (4,)),
    case((LONGEST,), Lit(0), Perm((4097,), 0, LONGEST), (4097,), tiers=_STD),
    case((1025, 3), Lit(0), Perm((257,), 0, 1025), (257, 3), tiers=_STD),
    case((3, 4097), Lit(1), Perm((1025,), 0, 4097), (3, 1025), tiers=_STD)]
ENTRIES = [
    Entry("matmul", Op.MATMUL, "mbtorch.matmul", np.matmul, MATMUL, NUMERIC, ("small",),
          tol=_MM_TOL, errors=(Bad(((2, 3), (4, 5)), {}, RuntimeError, "3 vs 4"),)),
    Entry("mm", Op.MATMUL, "mbtorch.mm", np.matmul, MM, NUMERIC, ("small",), tol=_MM_TOL),
    Entry("bmm", Op.MATMUL, "mbtorch.bmm", np.matmul, BMM, NUMERIC, ("small",), tol=_MM_TOL),
    Entry("linear", Op.MATMUL, "expr:mbtorch.nn.functional.linear(x0, x1, x2)",
          lambda x, w, b: x @ w.T + b, LINEAR, (mt.float32, mt.float64), ("small",),
          tol=_MM_TOL, note="float16/bfloat16 left out: mbtorch rounds x @ w.T to the dtype "
          "before adding the bias (2-4 ULP where they cancel), PyTorch's addmm rounds once"),
    Entry("gather", Op.GATHER, "mbtorch.gather", lambda x, d, i: np.take_along_axis(x, i, d)
          if x.ndim else x, GATHER, ALL,
          errors=(Bad(((3,), Lit(0), Lit(None)), {}, TypeError, "index is None"),)),
    Entry("scatter", Op.SCATTER, "Tensor.scatter", _scatter, SCATTER, ALL),
    Entry("scatter_add", Op.SCATTER, "Tensor.scatter_add", _scatter_add, SCATTER, NUMERIC),
    Entry("nonzero", Op.NONZERO, "mbtorch.nonzero", lambda x: np.argwhere(x), [
        case((7,)), case((3, 4)), case((2, 3, 4)), case((0, 3)), case(()), case((33, 17)),
        case((1,)), case((5, 5)), case((LONGEST,), tiers=_STD), case((3, 4097), tiers=_STD),
        case((1025, 3), tiers=_FULL)], ALL, ("small",), out="int64", grad=False),
    Entry("sort", Op.SORT, "mbtorch.sort", _sort, [
        case(*c.args, stable=True, tiers=c.tiers, **c.kwargs) for c in SORT], NUMERIC + (mt.bool,),
          ("small",), out=("same", "int64")),
    Entry("argsort", Op.SORT, "mbtorch.argsort", lambda x, **kw: _sort(x, **kw)[1], [
        case(*c.args, stable=True, tiers=c.tiers, **c.kwargs) for c in SORT],
          NUMERIC + (mt.bool,), ("small",), out="int64", grad=False),
    # values only: PyTorch leaves the order of tied indices open
    Entry("topk values", Op.SORT, "expr:mbtorch.topk(x0, **kw).values", _topk, TOPK, NUMERIC,
          ("small",)),
    Entry("index_add", Op.SCATTER, "mbtorch.index_add", _index_add, INDEX_ADD, NUMERIC),
    Entry("rand", Op.PHILOX, "expr:mbtorch.rand(kw['n'], generator=mbtorch.Generator(device)"
          ".manual_seed(kw['seed']), dtype=dtype, device=device)", _uniform_ref, [
              case(seed=s, n=n) for s, n in ((0, 7), (1, 1), (2, 0), (42, 33), (2**40 + 3, 9),
                                             (7, 100), (8, 4), (123456789, 17))],
          FLOATS, specials=False, grad=False, ref_dtype=True, tol={d: (0, 0) for d in FLOATS}),
    Entry("cat", Op.CAT, "expr:mbtorch.cat([x0, x1], **kw)", lambda a, b, dim=0:
          np.concatenate([a, b], dim), [
              case((2, 3), (4, 3)), case((2, 3), (2, 5), dim=1), case((0, 3), (2, 3)),
              case((4,), (1,)), case((2, 3, 4), (2, 1, 4), dim=-2), case((3,), (0,)),
              case((5, 2), (5, 2), dim=1), case((1, 1), (6, 1))], ALL,
          errors=(Bad(((2, 3), (2, 4)), {}, RuntimeError, "3 vs 4 columns"),)),
    Entry("flip", Op.FLIP, "mbtorch.flip", lambda x, dims: np.flip(x, dims), [
        case((5,), Lit((0,))), case((3, 4), Lit((0, 1))), case((3, 4), Lit((1,))),
        case((2, 3, 4), Lit((0, 2))), case((), Lit(())), case((0, 2), Lit((0,))),
        case((7, 3), Lit((-1,))), case((2, 2, 2), Lit((1,)))], ALL),
    Entry("tril", Op.TRIL, "mbtorch.tril", np.tril, [
        case((4, 4)), case((3, 5), Lit(1)), case((5, 3), Lit(-1)), case((2, 3, 3)),
        case((0, 3)), case((4, 6), Lit(-5)), case((6, 4), Lit(2)), case((1, 1))], ALL),
    Entry("triu", Op.TRIU, "mbtorch.triu", np.triu, [
        case((4, 4)), case((3, 5), Lit(1)), case((5, 3), Lit(-1)), case((2, 3, 3)),
        case((0, 3)), case((4, 6), Lit(-5)), case((6, 4), Lit(2)), case((1, 1))], ALL),
    Entry("index_select", Op.INDEX_SELECT, "mbtorch.index_select",
          lambda x, d, i: np.take(x, i, d), [
              case((5, 4), Lit(0), Index((3,), 5)), case((5, 4), Lit(1), Index((6,), 4)),
              case((3,), Lit(0), Index((0,), 3)), case((2, 3, 4), Lit(-1), Index((2,), 4)),
              case((4, 3), Lit(0), Index((4,), 4)), case((6, 5), Lit(1), Index((9,), 5)),
              case((7, 2), Lit(0), Index((1,), 7)), case((2, 9), Lit(1), Index((5,), 9)),
              case((LONGEST,), Lit(0), Index((4097,), LONGEST), tiers=_STD),
              case((1025, 3), Lit(0), Index((257,), 1025), tiers=_STD),
              case((3, 257), Lit(1), Index((1025,), 257), tiers=_STD)], ALL),
    Entry("masked_fill", Op.MASKED_FILL, "Tensor.masked_fill",
          lambda x, m, v: np.where(m, v, x), [
              case((5,), Mask((5,)), Lit(2)), case((3, 4), Mask((3, 4)), Lit(-1)),
              case((3, 4), Mask((4,)), Lit(0)), case((), Mask(()), Lit(1)),
              case((0, 2), Mask((0, 2)), Lit(3)), case((2, 3, 4), Mask((3, 1)), Lit(5)),
              case((6, 6), Mask((6, 6)), Lit(True)), case((9,), Mask(()), Lit(7)),
              case((LONGEST,), Mask((LONGEST,)), Lit(3), tiers=_STD),
              case((3, 1025), Mask((1025,)), Lit(1), tiers=_STD)], ALL),
    Entry("x[index]", Op.INDEX, "expr:x0[x1]", lambda x, i: x[i], [
        case((5,), Index((3,), 5)), case((5, 4), Index((2, 3), 5)), case((4,), Index((), 4)),
        case((3, 2), Index((0,), 3)), case((6, 3), Index((6,), 6)),
        case((2, 3, 4), Index((5,), 2)), case((9,), Index((9,), 9)), case((3, 3), Index((1,), 3)),
        case((LONGEST,), Index((4097,), LONGEST), tiers=_STD),
        case((1025, 3), Index((257,), 1025), tiers=_STD)], ALL),
    Entry("x[mask]", Op.INDEX, "expr:x0[x1]", lambda x, m: x[m], [
        case((5,), Mask((5,))), case((3, 4), Mask((3, 4))), case((3, 4), Mask((3,))),
        case((0,), Mask((0,))), case((2, 3, 4), Mask((2, 3))), case((7,), Mask((7,))),
        case((4, 4), Mask((4, 4))), case((6, 2), Mask((6,))),
        case((LONGEST,), Mask((LONGEST,)), tiers=_STD), case((1025, 3), Mask((1025,)), tiers=_STD)],
          ALL),
    Entry("x[index] = v", Op.INDEX_PUT, "expr:(x0.__setitem__(x1, x2), x0)[1]", _index_put, [
        case((5,), Perm((3,), 0, 5), (3,)), case((5, 4), Perm((2,), 0, 5), (4,)),
        case((6,), Perm((6,), 0, 6), ()), case((4, 3), Perm((0,), 0, 4), (3,)),
        case((7, 2), Perm((4,), 0, 7), (4, 2)), case((9,), Perm((1,), 0, 9), (1,)),
        case((3, 3), Perm((3,), 0, 3), (3, 3)), case((8,), Perm((5,), 0, 8), (5,)),
        case((LONGEST,), Perm((4097,), 0, LONGEST), (4097,), tiers=_STD),
        case((1025, 3), Perm((257,), 0, 1025), (257, 3), tiers=_STD)], ALL,
          grad=False, mutates=True),
    Entry("pad", Op.CONSTANT_PAD, "expr:mbtorch.nn.functional.pad(x0, **kw)", _pad, [
        case((3, 4), pad=(1, 2)), case((3, 4), pad=(1, 0, 0, 2), value=1.5),
        case((5,), pad=(0, 0)), case((2, 3, 4), pad=(2, 2, 1, 1)), case((0, 2), pad=(1, 1)),
        case((4, 4), pad=(3, 0), value=2.0), case((1,), pad=(2, 3)),
        case((2, 2), pad=(1, 1, 1, 1), value=2.0)], FLOATS + NUMERIC[:5]),
]
