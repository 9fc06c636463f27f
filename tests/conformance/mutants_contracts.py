"""Mutants of the primitives' calling convention (``mbtorch.core.op.PRIMITIVES``): each breaks
one promise the op-by-op samples do not pin down, and is caught by its ``contract`` cell
(``mbtorch_conformance/checks/contracts.py``). Each wraps the cpu kernel, as a plugin author
who starts from ``mbtorch_numpy`` would."""

from __future__ import annotations

import numpy as np

import mbtorch as mt
from mbtorch.core import plugins
from mbtorch.core.op import Op

from .mutants import Mutant

__all__ = ["MUTANTS"]


def _cpu(op: Op):
    return plugins.get_backend("cpu").spec.kernels[op]


def _add_returns_input(a, b):
    """``x + 0`` short-cut to ``x`` itself: the result aliases the input."""
    if isinstance(b, (bool, int, float)) and b == 0:
        return a
    return _cpu(Op.ADD)(a, b)


def _cast_rounds(x, dtype):
    """float -> int rounds to nearest (rint) instead of truncating toward zero."""
    if (x.dtype.kind == "f" or x.dtype.name == "bfloat16") and not dtype.is_floating_point \
            and dtype is not mt.bool and not dtype.is_complex:
        return _cpu(Op.CAST)(np.rint(x.astype(np.float64)), dtype)
    return _cpu(Op.CAST)(x, dtype)


def _sort_descending_reversed(x, dim, descending):
    """descending as the ascending sort read backwards: equal keys come out in reverse order."""
    values, idx = _cpu(Op.SORT)(x, dim, False)
    if descending:
        return np.flip(values, axis=dim).copy(), np.flip(idx, axis=dim).copy()
    return values, idx


def _copy_in_order(dst, src):
    """one element after the other, like a GPU kernel with a thread per element and no staging:
    an overlapping source is overwritten before it is read."""
    if not (isinstance(src, np.ndarray) and np.shares_memory(dst, src)):
        return _cpu(Op.COPY_)(dst, src)
    full = np.broadcast_to(src, dst.shape)
    for i in np.ndindex(dst.shape):
        dst[i] = full[i]
    return None


def _gather_clamps(x, dim, index):
    """out-of-range indices clamped to the edge (a texture fetch's habit) instead of raising."""
    size = x.shape[dim]
    return _cpu(Op.GATHER)(x, dim, np.clip(index, -size, size - 1))


def _philox_ignores_offset(seed, offset, n, device_index):
    """every draw starts the stream again from the seed."""
    return _cpu(Op.PHILOX)(seed, 0, n, device_index)


def _sum_empty_is_one(x, dims, keepdim):
    """an empty reduction initialised with 1 (prod's identity) instead of 0."""
    out = _cpu(Op.SUM)(x, dims, keepdim)
    return np.ones_like(out) if x.size == 0 else out


class _SharingStorage:
    """cpu's storage with a ``to_device`` that hands the same buffer to the other device."""

    def __getattr__(self, name):
        return getattr(plugins.get_backend("cpu").spec.storage, name)

    def to_device(self, handle, device_index):
        return handle


def _contract(name: str, bug: str, op: Op, kernel, check: str) -> Mutant:
    return Mutant(name, bug, {op: kernel}, ("contracts",), (f"contract {check}", "contract"),
                  tier="smoke", checks=("contract",))


MUTANTS = [
    _contract("add_aliases_input", "x + 0 returns x itself", Op.ADD, _add_returns_input,
              "no_alias"),
    _contract("cast_rounds", "float -> int rounds instead of truncating", Op.CAST, _cast_rounds,
              "cast"),
    _contract("sort_unstable", "descending sort is the ascending one reversed (not stable)",
              Op.SORT, _sort_descending_reversed, "sort"),
    _contract("copy_overlap", "copy_ overwrites an overlapping source before reading it",
              Op.COPY_, _copy_in_order, "copy_overlap"),
    _contract("gather_clamps", "gather clamps an out-of-range index instead of raising",
              Op.GATHER, _gather_clamps, "kernel_errors"),
    _contract("philox_no_offset", "PHILOX ignores the offset: each draw repeats the first",
              Op.PHILOX, _philox_ignores_offset, "generator"),
    Mutant("to_device_shares", "storage.to_device returns the same buffer: t.to('dev:1') "
           "shares memory with t", ops=("roundtrip",), must_fail=("host<->device", "roundtrip"),
           tier="smoke", checks=("roundtrip",), dtypes=("float32",),
           spec={"storage": _SharingStorage(), "device_count": 2}),
    _contract("sum_empty_one", "sum over a size-0 dimension gives 1", Op.SUM, _sum_empty_is_one,
              "empty_reduction"),
]
