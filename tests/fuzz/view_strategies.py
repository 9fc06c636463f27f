"""Hypothesis strategies for chains of view ops and a write through the last view.

A chain is built on a torch tensor of storage ids (``torch.arange``), so each step's
arguments fit the shape the previous steps left; a step torch refuses ends the chain (the
test then expects mbtorch to raise the same exception type there). Some steps are drawn
invalid on purpose (a dim out of range, a view torch's stride rule refuses, a wrong size).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch
from hypothesis import strategies as st

from .index_strategies import (
    DTYPES,
    IndexArray,
    distinct_writes,
    index_tuples,
    lib_value,
    shapes,
    storage_ids,
    value_for,
)

__all__ = ["Step", "Write", "ViewCase", "view_cases", "GENERATORS"]

_ATTRS = ("mT", "T")


@dataclass(frozen=True)
class Step:
    """One view op: a ``Tensor`` method (``name(*args)``), ``getitem`` (``t[args[0]]``) or
    an attribute (``mT``, ``T``); ``pick`` takes one element of a tuple result."""

    name: str
    args: tuple = ()
    pick: int | None = None

    def apply(self, t: Any) -> Any:
        if self.name == "getitem":
            out = t[self.args[0]]
        elif self.name in _ATTRS:
            out = getattr(t, self.name)
        else:
            out = getattr(t, self.name)(*self.args)
        return out if self.pick is None else out[self.pick]


@dataclass(frozen=True)
class Write:
    """A write through the last view: ``fill_``/``zero_``/``add_``/``mul_``/``copy_`` with
    ``value``, or ``setitem`` (``view[index] = value``)."""

    kind: str
    value: Any = None
    index: Any = None

    def apply(self, lib: Any, view: Any, device: str) -> Any:
        value = lib_value(lib, self.value, device)
        if self.kind == "setitem":
            view[lib_value(lib, self.index, device)] = value
        elif self.kind == "zero_":
            view.zero_()
        else:
            getattr(view, self.kind)(value)
        return view


@dataclass(frozen=True)
class ViewCase:
    shape: tuple
    dtype: str
    steps: tuple
    write: Write | None = None


def _bad(draw: Callable) -> bool:
    return draw(st.integers(0, 19)) == 0


def _dim(draw: Callable, nd: int, extra: int = 0) -> int:
    """A dim of an ``nd``-d tensor (``extra`` more for unsqueeze), rarely out of range."""
    n = max(nd, 1) + extra
    if _bad(draw):
        return draw(st.sampled_from([n, -n - 1]))
    return draw(st.integers(-n, n - 1))


def _factor(draw: Callable, n: int, k: int) -> tuple:
    """``k`` sides with product ``n`` (a zero ``n`` puts one 0 among free sides)."""
    if k == 0:
        return ()
    if n == 0:
        sides = [draw(st.integers(0, 3)) for _ in range(k)]
        sides[draw(st.integers(0, k - 1))] = 0
        return tuple(sides)
    sides = [1] * k
    m, p = n, 2
    while m > 1:
        while m % p == 0:
            sides[draw(st.integers(0, k - 1))] *= p
            m //= p
        p += 1
    return tuple(sides)


def _new_shape(draw: Callable, n: int) -> tuple:
    if _bad(draw):
        return (n + 1,)
    sides = list(_factor(draw, n, draw(st.integers(0 if n == 1 else 1, 4))))
    if sides and n and draw(st.booleans()):
        sides[draw(st.integers(0, len(sides) - 1))] = -1
    return tuple(sides)


def _slicing(draw, t):
    items = []
    for side in t.shape[:draw(st.integers(1, max(t.ndim, 1)))]:
        lo = st.none() | st.integers(-side - 1, side + 1)
        step = st.none() | st.integers(1, 3)
        if _bad(draw):
            step = st.sampled_from([0, -1])
        items.append(slice(draw(lo), draw(lo), draw(step)))
    return Step("getitem", (tuple(items),))


def _transpose(draw, t):
    name = draw(st.sampled_from(["transpose", "swapaxes", "transpose_"]))
    return Step(name, (_dim(draw, t.ndim), _dim(draw, t.ndim)))


def _permute(draw, t):
    perm = list(draw(st.permutations(range(t.ndim))))
    if perm and draw(st.booleans()):
        perm[0] -= t.ndim
    if _bad(draw) and t.ndim:
        perm[-1] = perm[0]
    # x.permute() with no dims: torch raises TypeError, mbtorch returns x (left out)
    return Step("permute", tuple(perm) if perm else ((),))


def _t(draw, t):
    # x.T of a tensor that is not 2-d and x.mT of a 0-d one are deprecated (torch warns)
    names = ["t", "t_", "mT", "T"] if t.ndim == 2 else ["t", "mT"] if t.ndim else ["t"]
    return Step(draw(st.sampled_from(names)))


def _movedim(draw, t):
    if t.ndim >= 2 and draw(st.booleans()):
        src = draw(st.permutations(range(t.ndim)))[:2]
        dst = draw(st.permutations(range(t.ndim)))[:2]
        return Step(draw(st.sampled_from(["movedim", "moveaxis"])), (tuple(src), tuple(dst)))
    return Step("movedim", (_dim(draw, t.ndim), _dim(draw, t.ndim)))


def _view(draw, t):
    return Step(draw(st.sampled_from(["view", "reshape"])), (_new_shape(draw, t.numel()),))


def _expand(draw, t):
    sides = [draw(st.integers(0, 3)) for _ in range(draw(st.integers(0, 2)))]
    for s in t.shape:
        if s == 1:
            sides.append(draw(st.sampled_from([-1, 0, 1, 2, 3])))
        else:
            sides.append(s + 1 if _bad(draw) else draw(st.sampled_from([-1, s])))
    return Step(draw(st.sampled_from(["expand", "broadcast_to"])), (tuple(sides),))


def _squeeze(draw, t):
    how = draw(st.sampled_from(["all", "one", "tuple", "unsqueeze", "unsqueeze_", "squeeze_"]))
    if how == "all":
        return Step("squeeze")
    if how == "tuple":
        return Step("squeeze", (tuple(sorted({_dim(draw, t.ndim) for _ in range(2)})),))
    return Step(how if how != "one" else "squeeze",
                (_dim(draw, t.ndim, 1 if how.startswith("unsqueeze") else 0),))


def _narrow(draw, t):
    if t.ndim == 0:
        return None
    d = draw(st.integers(-t.ndim, t.ndim - 1))
    side = t.shape[d]
    start = draw(st.integers(-side, side))
    length = draw(st.integers(0, side - (start % side if side and start < 0 else start) + 1))
    return Step("narrow", (d, start, length))


def _select(draw, t):
    d = _dim(draw, t.ndim)
    side = t.shape[d] if -t.ndim <= d < t.ndim else 1
    idx = side if _bad(draw) or side == 0 else draw(st.integers(-side, side - 1))
    return Step("select", (d, idx))


def _unfold(draw, t):
    d = _dim(draw, t.ndim)
    side = t.shape[d] if -t.ndim <= d < t.ndim and t.ndim else 1
    return Step("unfold", (d, draw(st.integers(0, side + _bad(draw))), draw(st.integers(1, 3))))


def _diagonal(draw, t):
    return Step("diagonal", (draw(st.integers(-3, 3)), _dim(draw, t.ndim), _dim(draw, t.ndim)))


def _as_strided(draw, t):
    n = t.untyped_storage().nbytes() // t.element_size()
    size = tuple(draw(st.lists(st.integers(0, 3), max_size=3)))
    stride = tuple(draw(st.integers(0, 4)) for _ in size)
    reach = sum((s - 1) * st_ for s, st_ in zip(size, stride)) if all(size) else -1
    offset = draw(st.integers(0, max(n - reach - 1, 0))) if reach < n else 0
    return Step("as_strided", (size, stride, offset))


def _flatten(draw, t):
    if draw(st.booleans()) or t.ndim == 0:
        return Step("flatten", (_dim(draw, t.ndim), _dim(draw, t.ndim)))
    d = draw(st.integers(-t.ndim, t.ndim - 1))
    return Step("unflatten", (d, _new_shape(draw, t.shape[d]) or (1,)))


def _split(draw, t):
    d = _dim(draw, t.ndim)
    side = t.shape[d] if -t.ndim <= d < t.ndim and t.ndim else 1
    how = draw(st.sampled_from(["split", "sizes", "chunk", "unbind"]))
    if how == "split":
        step = Step("split", (draw(st.integers(1, 3)), d))
    elif how == "sizes":
        parts = list(_factor(draw, 1, draw(st.integers(1, 3))))
        parts[0] = side - sum(parts[1:]) + _bad(draw)
        step = Step("split", (parts, d))
    elif how == "chunk":
        step = Step("chunk", (draw(st.integers(1, 4)), d))
    else:
        step = Step("unbind", (d,))
    try:
        n = len(step.apply(torch.empty(t.shape)))
    except (IndexError, RuntimeError, ValueError):
        return step
    return Step(step.name, step.args, draw(st.integers(0, n - 1))) if n else None


GENERATORS: dict[str, Callable] = {
    "slicing": _slicing, "transpose": _transpose, "permute": _permute, "t": _t,
    "movedim": _movedim, "view": _view, "expand": _expand, "squeeze": _squeeze,
    "narrow": _narrow, "select": _select, "unfold": _unfold, "diagonal": _diagonal,
    "as_strided": _as_strided, "flatten": _flatten, "split": _split,
}


def _write(draw: Callable, view: Any, dtype: str, n: int) -> Write:
    shape = tuple(view.shape)
    ids = storage_ids(view, n)
    zero_stride = any(s > 1 and st_ == 0 for s, st_ in zip(view.shape, view.stride()))
    kinds = ["fill_", "zero_", "setitem"]
    if zero_stride or len(np.unique(ids)) == ids.size:
        kinds += ["add_", "mul_", "copy_", "setitem"]  # torch refuses the zero-stride ones
    kind = draw(st.sampled_from(kinds))
    if kind == "zero_":
        return Write(kind)
    if kind == "fill_":
        return Write(kind, value_for(draw, (), dtype) if draw(st.booleans()) else
                     np.asarray(value_for(draw, (), dtype)).reshape(()).astype(dtype))
    if kind != "setitem":
        return Write(kind, value_for(draw, shape, dtype))
    index = draw(index_tuples(shape))
    if zero_stride and _advanced(index):
        # known gap (tests/fuzz/test_fuzz_regressions_indexing.py, xfail): mbtorch writes an
        # advanced-index assignment back through the whole view, which an expanded view refuses
        index = Ellipsis
    try:
        sub = torch.from_numpy(np.ascontiguousarray(ids))[lib_value(torch, index)]
    except (IndexError, RuntimeError, ValueError, TypeError):
        return Write(kind, value_for(draw, (), dtype), index)
    value = value_for(draw, tuple(sub.shape), dtype)
    if not distinct_writes(sub.numpy(), value):
        value = value_for(draw, (), dtype) if np.ndim(value) else value
        if np.ndim(value):
            value = np.asarray(value).reshape(-1)[:1].reshape(())
    return Write(kind, value, index)


def _advanced(index: Any) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return any(isinstance(i, (IndexArray, bool)) for i in items)


@st.composite
def view_cases(draw: Callable, max_steps: int = 4, write: bool = True) -> ViewCase:
    """A base (shape, dtype), a chain of view steps, and a write through the last view."""
    shape = draw(shapes())
    dtype = draw(st.sampled_from(DTYPES))
    n = int(np.prod(shape, dtype=np.int64))
    t = torch.arange(n).reshape(shape)
    steps = []
    for _ in range(draw(st.integers(1, max_steps))):
        step = GENERATORS[draw(st.sampled_from(sorted(GENERATORS)))](draw, t)
        if step is None:
            continue
        steps.append(step)
        try:
            t = step.apply(t)
        except (IndexError, RuntimeError, ValueError, TypeError):
            return ViewCase(shape, dtype, tuple(steps))
    return ViewCase(shape, dtype, tuple(steps), _write(draw, t, dtype, n) if write else None)
