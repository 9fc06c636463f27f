"""Element rearrangements that copy: ``flip`` (+ ``fliplr``/``flipud``), ``roll``,
``repeat``, ``tile``, ``repeat_interleave``, ``rot90``, and the triangles ``tril``/``triu``.

Only ``FLIP``, ``TRIL`` and ``TRIU`` are registered ops (a backend may do them natively); the
rest are compositions of views, ``cat`` and ``index_select``, differentiable through those.
"""

from __future__ import annotations

from typing import Any, Sequence

from .. import dtypes as _dt
from ..meta import check_shape_arg
from ..op import Op, define
from ..tensor import Tensor, method_table, wrap_dim
from . import binary as _b
from . import views as _v
from ._common import run
from ._index_common import iota

TENSOR_METHODS: dict = {}
"""The ``Tensor`` methods this module provides, by name (installed by ``mbtorch.core.ops``)."""
tensor_method = method_table(TENSOR_METHODS)


# -- flip ----------------------------------------------------------------------------------
@define(Op.FLIP)
def _flip(x: Tensor, dims: tuple) -> Tensor:
    from .gathering import index_select

    for d in dims:
        n = x._shape[d]
        x = index_select(x, d, _b.sub(n - 1, iota(n, x)))
    return x


def _dims_arg(dims: Any) -> tuple:
    if isinstance(dims, int):
        return (dims,)
    return tuple(dims)


@tensor_method
def flip(input: Tensor, dims: Any) -> Tensor:
    """``input`` reversed along each of ``dims`` (a copy, as in PyTorch)."""
    raw = _dims_arg(dims)
    d = tuple(wrap_dim(x, input.ndim, "flip") for x in raw)
    for i, a in enumerate(d):
        if a in d[:i]:
            raise RuntimeError(f"dim {a} appears multiple times in the list of dims")
    if not d or input.ndim == 0:
        from .copying import clone

        return clone(input)
    return run(Op.FLIP, (input,), (tuple(sorted(d)),), (input._shape, input._dtype),
               input._device, input._be)


@tensor_method
def fliplr(input: Tensor) -> Tensor:
    if input.ndim < 2:
        raise RuntimeError("fliplr(): Input must be >= 2-d.")
    return flip(input, (1,))


@tensor_method
def flipud(input: Tensor) -> Tensor:
    if input.ndim < 1:
        raise RuntimeError("flipud(): Input must be >= 1-d.")
    return flip(input, (0,))


@tensor_method
def rot90(input: Tensor, k: int = 1, dims: Sequence[int] = (0, 1)) -> Tensor:
    """Rotate by 90 degrees ``k`` times in the plane ``dims`` (from the first towards the
    second axis)."""
    if len(dims) != 2:
        raise RuntimeError(f"rot90(): expected total rotation dims == 2, but got dims = "
                           f"{len(dims)}")
    if input.ndim < 2:
        raise RuntimeError(f"rot90(): expected total dims >= 2, but got total dims = "
                           f"{input.ndim}")
    d0, d1 = (wrap_dim(d, input.ndim, "rot90") for d in dims)
    if d0 == d1:
        raise RuntimeError(f"rot90(): expected rotation dims to be different, but got dim0 = "
                           f"{d0} and dim1 = {d1}")
    k %= 4
    if k == 1:
        return _v.transpose(flip(input, (d1,)), d0, d1)
    if k == 2:
        return flip(input, (d0, d1))
    if k == 3:
        return flip(_v.transpose(input, d0, d1), (d1,))
    from .copying import clone

    return clone(input)


# -- roll ----------------------------------------------------------------------------------
@tensor_method
def roll(input: Tensor, shifts: Any, dims: Any = None) -> Tensor:
    """Elements shifted cyclically by ``shifts`` along ``dims`` (flattened when None)."""
    shifts = _dims_arg(shifts)
    if dims is None:
        if len(shifts) != 1:
            raise RuntimeError(f"roll(): shifts and dimensions must align. shifts: "
                               f"{len(shifts)}, dims:0")
        flat = _v.reshape(input, (-1,))
        return _v.reshape(_roll_dim(flat, shifts[0], 0), input._shape)
    dims = _dims_arg(dims)
    if len(shifts) != len(dims):
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, "
                           f"dims:{len(dims)}")
    out = input
    for s, d in zip(shifts, dims):
        out = _roll_dim(out, s, wrap_dim(d, input.ndim, "roll"))
    if out is input:
        from .copying import clone

        out = clone(input)
    return out


def _roll_dim(x: Tensor, shift: int, d: int) -> Tensor:
    n = x._shape[d]
    if n == 0 or shift % n == 0:
        return x
    s = shift % n
    from .joining import cat

    return cat([_v.slice_dim(x, d, n - s, n), _v.slice_dim(x, d, 0, n - s)], d)


# -- repeat, tile, repeat_interleave -------------------------------------------------------
@tensor_method
def repeat(self: Tensor, *sizes: Any) -> Tensor:
    """``self`` tiled ``sizes[i]`` times along dim ``i`` (leading sizes add dims)."""
    reps = check_shape_arg(sizes, "repeat")
    if len(reps) < self.ndim:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number "
                           "of dimensions of tensor")
    if any(r < 0 for r in reps):
        raise RuntimeError(f"Trying to create tensor with negative dimension: {list(reps)}")
    shape = (1,) * (len(reps) - self.ndim) + self._shape
    # view as (1, s0, 1, s1, ...), expand to (r0, s0, r1, s1, ...), merge pairs (one copy)
    paired = tuple(v for s in shape for v in (1, s))
    expanded = tuple(v for r, s in zip(reps, shape) for v in (r, s))
    x = _v.expand(_v.reshape(self, paired), expanded)
    from .copying import contiguous

    return _v.reshape(contiguous(x), tuple(r * s for r, s in zip(reps, shape)))


@tensor_method
def tile(input: Tensor, dims: Any) -> Tensor:
    reps = check_shape_arg((dims,) if isinstance(dims, int) else tuple(dims), "tile")
    reps = (1,) * (input.ndim - len(reps)) + tuple(reps)
    return repeat(input, reps)


@tensor_method
def repeat_interleave(input: Any, repeats: Any = None, dim: int | None = None, *,
                      output_size: int | None = None) -> Tensor:
    """Each element (slice along ``dim``) repeated ``repeats`` times in place; with a tensor
    ``repeats`` each its own count. ``repeat_interleave(counts)`` gives the index form."""
    if repeats is None:  # torch.repeat_interleave(repeats): 0..n-1 repeated by the counts
        return _interleave_index(input, input)
    if dim is None:
        input = _v.reshape(input, (-1,))
        d = 0
    else:
        d = wrap_dim(dim, input.ndim, "repeat_interleave")
    if isinstance(repeats, Tensor) and repeats.numel() == 1 and repeats.ndim <= 1:
        repeats = int(repeats.item())
    if isinstance(repeats, int):
        if repeats < 0:
            raise RuntimeError("repeat_interleave(): repeats can not be negative")
        shape = input._shape
        x = _v.expand(_v.unsqueeze(input, d + 1), shape[:d + 1] + (repeats,) + shape[d + 1:])
        return _v.reshape(x, shape[:d] + (shape[d] * repeats,) + shape[d + 1:])
    if not isinstance(repeats, Tensor):
        from .creation import tensor

        repeats = tensor(repeats, device=input._device)
    if repeats.ndim != 1 or repeats._shape[0] != input._shape[d]:
        raise RuntimeError("repeat_interleave(): repeats must have the same size as input along "
                           "dim")
    from .gathering import index_select

    return index_select(input, d, _interleave_index(repeats, input))


def _interleave_index(counts: Tensor, like: Tensor) -> Tensor:
    """``[0]*c0 + [1]*c1 + ...`` for 1-d int ``counts`` (its length is data-dependent, as in
    PyTorch, which synchronises here too)."""
    if counts.ndim != 1 or counts._dtype.category != _dt.INTEGRAL_CATEGORY:
        raise RuntimeError("repeat_interleave(): repeats must be 0-dim or 1-dim tensor of "
                           "integers")
    from ._index_common import index_range

    if counts.numel() and index_range(counts)[0] < 0:
        raise RuntimeError("repeat_interleave(): repeats can not be negative")
    from ._segments import cumsum_1d
    from .creation import _full_on
    from .gathering import scatter_add

    counts = counts.long()
    n = counts._shape[0]
    ends = cumsum_1d(counts)
    total = int(_v.select(ends, 0, n - 1).item()) if n else 0
    # a 1 at each run start (the end of the previous run), summed: the run number
    marks = _full_on((total + 1,), 0, _dt.int64, like._device, like._be)
    marks = scatter_add(marks, 0, ends, _full_on((n,), 1, _dt.int64, like._device, like._be))
    return cumsum_1d(_v.slice_dim(marks, 0, 0, total))


# -- triangles -----------------------------------------------------------------------------
def _tri_mask(x: Tensor, diagonal: int, lower: bool) -> Tensor:
    rows, cols = x._shape[-2], x._shape[-1]
    r = _v.reshape(iota(rows, x), (rows, 1))
    c = _v.reshape(iota(cols, x), (1, cols))
    delta = _b.sub(c, r)
    return _b.le(delta, diagonal) if lower else _b.ge(delta, diagonal)


def _zero_of(x: Tensor) -> bool | int:
    # a Python int would promote a bool tensor to int64; False keeps it bool
    return False if x._dtype is _dt.bool else 0


@define(Op.TRIL)
def _tril(x: Tensor, diagonal: int) -> Tensor:
    from .unary import where

    return where(_tri_mask(x, diagonal, True), x, _zero_of(x))


@define(Op.TRIU)
def _triu(x: Tensor, diagonal: int) -> Tensor:
    from .unary import where

    return where(_tri_mask(x, diagonal, False), x, _zero_of(x))


def _tri(op: Op, name: str):
    def fn(input: Tensor, diagonal: int = 0) -> Tensor:
        if input.ndim < 2:
            raise RuntimeError(f"{name}: input tensor must have at least 2 dimensions")
        return run(op, (input,), (int(diagonal),), (input._shape, input._dtype),
                   input._device, input._be)

    def fn_(self: Tensor, diagonal: int = 0) -> Tensor:
        return self.copy_(fn(self, diagonal))

    fn.__name__, fn_.__name__ = name, name + "_"
    fn.__doc__ = f"The {'lower' if op is Op.TRIL else 'upper'} triangle of the last two dims "
    fn.__doc__ += "(``diagonal`` > 0 keeps more above the main diagonal); the rest zero."
    tensor_method(fn)
    tensor_method(fn_)
    return fn


tril = _tri(Op.TRIL, "tril")
triu = _tri(Op.TRIU, "triu")


__all__ = [
    "flip", "fliplr", "flipud", "repeat_interleave", "roll", "rot90", "tile", "tril", "triu",
]
