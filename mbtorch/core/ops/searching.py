"""Searching sorted data and counting: ``searchsorted``, ``bucketize``, ``isin``, ``histc``.

All are compositions: the search is a vectorised binary search (``ceil(log2(n + 1))`` rounds of
GATHER and WHERE on every query at once), so it costs ``O(m log n)`` on any backend and never
materialises an ``m x n`` comparison. The comparisons are PyTorch's (``!(mid >= v)`` for the
left side), so NaN queries land where PyTorch puts them: after every number.
"""

from __future__ import annotations

import math
from typing import Any

from .. import dtypes as _dt
from ..meta import check_same_device, result_type
from ..op import Op
from ..tensor import Tensor, method_table
from . import binary as _b
from . import unary as _u
from . import views as _v
from ._common import cast, run, scalar_for
from .gathering import _gather_run

TENSOR_METHODS: dict = {}
"""The ``Tensor`` methods this module provides, by name (installed by ``mbtorch.core.ops``)."""
tensor_method = method_table(TENSOR_METHODS)

_SCALARS = (bool, int, float)
_NAME = "torch.searchsorted()"


def _binary_search(seq: Tensor, vals: Tensor, right: bool, nan_last: bool = False) -> Tensor:
    """Insertion points of ``vals`` (B, m) in the rows of sorted ``seq`` (B, n), int64.
    ``nan_last``: ``seq`` may end in NaN (``sort``'s order), so compare with ``<``."""
    from .creation import full, zeros

    n = seq._shape[-1]
    lo = zeros(vals._shape, dtype=_dt.int64, device=vals._device)
    if n == 0 or vals.numel() == 0:
        return lo
    hi = full(vals._shape, n, dtype=_dt.int64, device=vals._device)
    for _ in range(n.bit_length()):  # each round at least halves hi - lo
        mid = _b.floor_divide(_b.add(lo, hi), 2)
        at = _gather_run(seq, 1, _u.clamp_max(mid, n - 1))
        if nan_last:
            below = _b.lt(at, vals)
        else:
            below = _u.logical_not(_b.gt(at, vals) if right else _b.ge(at, vals))
        active = _b.lt(lo, hi)
        lo = _u.where(_b.logical_and(active, below), _b.add(mid, 1), lo)
        hi = _u.where(_b.logical_and(active, _u.logical_not(below)), mid, hi)
    return lo


def _side(side: str | None, right: bool, name: str) -> bool:
    if side is None:
        return bool(right)
    if side not in ("left", "right"):
        raise RuntimeError(f"{name}: side can only be 'left' or 'right' but got {side}")
    if right and side == "left":
        raise RuntimeError(f"{name}: side and right can't be set to opposites, got side of left "
                           "while right was True")
    return side == "right"


def _apply_sorter(seq: Tensor, sorter: Any) -> Tensor:
    if sorter is None:
        return seq
    if not isinstance(sorter, Tensor):
        raise TypeError(f"searchsorted(): argument 'sorter' must be Tensor, not "
                        f"{type(sorter).__name__}")
    if sorter._dtype is not _dt.int64:
        raise RuntimeError(f"{_NAME}: sorter must be a tensor of long dtype but got dtype "
                           f"{sorter._dtype.scalar_name}")
    if sorter._shape != seq._shape:
        raise RuntimeError(f"{_NAME}: boundary and sorter must have the same size, but got "
                           f"boundary tensor {list(seq._shape)}and got sorter tensor "
                           f"{list(sorter._shape)}")
    from .gathering import gather

    return gather(seq, -1, sorter)  # bounds-checked: a bad sorter fails like PyTorch's


def _check_shapes(seq: Tensor, vals: Tensor, scalar: bool) -> None:
    if scalar and seq.ndim != 1:
        raise RuntimeError(f"{_NAME}: input value can be a scalar only when boundaries tensor "
                           f"dimension is 1, but we got boundaries tensor dim({seq.ndim}) and "
                           f"input value's dim({vals.ndim}) numel({vals.numel()})")
    if seq.ndim == 0 or (seq.ndim > 1 and (seq.ndim != vals.ndim
                                           or seq._shape[:-1] != vals._shape[:-1])):
        raise RuntimeError(f"{_NAME}: boundaries tensor should be 1 dimension or the first N-1 "
                           f"dimensions of boundaries tensor and input value tensor must match, "
                           f"but we got boundaries tensor {list(seq._shape)} and input value "
                           f"tensor {list(vals._shape)}")


def searchsorted(sorted_sequence: Tensor, input: Any, *, out_int32: bool = False,
                 right: bool = False, side: str | None = None, sorter: Tensor | None = None,
                 out: Any = None) -> Tensor:
    """Indices where ``input`` would be inserted into the innermost dim of ``sorted_sequence``
    to keep it sorted (the first such place, or the last with ``right=True``/``side='right'``).

    >>> mbtorch.searchsorted(mbtorch.tensor([1, 3, 5]), mbtorch.tensor([3, 6]))
    tensor([1, 3])
    """
    if not isinstance(sorted_sequence, Tensor):
        raise TypeError(f"searchsorted(): argument 'sorted_sequence' must be Tensor, not "
                        f"{type(sorted_sequence).__name__}")
    scalar = not isinstance(input, Tensor)
    if scalar and type(input) not in _SCALARS:
        raise TypeError(f"searchsorted(): argument 'input' must be Tensor or a Python number, "
                        f"not {type(input).__name__}")
    if out is not None:
        raise TypeError("searchsorted(): the out= argument is not supported by mbtorch")
    upper = _side(side, right, _NAME)
    seq = sorted_sequence
    if scalar:
        from .creation import full

        dtype = result_type((seq, input), "searchsorted")
        input = full((), scalar_for(input, dtype), dtype=dtype, device=seq._device)
    _check_shapes(seq, input, scalar)
    check_same_device((seq, input), "searchsorted", ("sorted_sequence", "input"))
    seq = _apply_sorter(seq, sorter)
    dtype = result_type((seq, input), "searchsorted")
    seq, vals = cast(seq, dtype), cast(input, dtype)
    n = seq._shape[-1]
    batch = math.prod(seq._shape[:-1])
    width = vals.numel() if seq.ndim == 1 else vals._shape[-1]
    rows = _v.reshape(vals, (batch, width))
    idx = _binary_search(_v.reshape(seq, (batch, n)), rows, upper)
    idx = _v.reshape(idx, vals._shape)
    return cast(idx, _dt.int32) if out_int32 else idx


def bucketize(input: Any, boundaries: Tensor, *, out_int32: bool = False,
              right: bool = False, out: Any = None) -> Tensor:
    """The bucket of each ``input`` value among the 1-d sorted ``boundaries``
    (``searchsorted(boundaries, input)``)."""
    if not isinstance(boundaries, Tensor):
        raise TypeError(f"bucketize(): argument 'boundaries' must be Tensor, not "
                        f"{type(boundaries).__name__}")
    if boundaries.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim("
                           f"{boundaries.ndim})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right, out=out)


def isin(elements: Any, test_elements: Any, *, assume_unique: bool = False,
         invert: bool = False) -> Tensor:
    """Whether each element of ``elements`` is in ``test_elements`` (bool, shaped like
    ``elements``). NaN is in nothing, as in PyTorch."""
    if not isinstance(elements, Tensor) and not isinstance(test_elements, Tensor):
        raise TypeError("isin(): expected at least one Tensor operand")
    ref = elements if isinstance(elements, Tensor) else test_elements
    dtype = result_type((elements, test_elements), "isin")
    for x in (elements, test_elements):
        d = x._dtype if isinstance(x, Tensor) else _dt.scalar_dtype(x)
        if d is _dt.bool:
            raise RuntimeError("Unsupported input type encountered for isin(): Bool")
    from .creation import full

    def as_tensor(x: Any, shape: tuple) -> Tensor:
        if isinstance(x, Tensor):
            return cast(x, dtype)
        return full(shape, scalar_for(x, dtype), dtype=dtype, device=ref._device)

    elems, tests = as_tensor(elements, ()), as_tensor(test_elements, (1,))
    check_same_device((elems, tests), "isin", ("elements", "test_elements"))
    from .sorting import sort

    table = sort(_v.reshape(tests, (-1,))).values
    flat = _v.reshape(elems, (1, -1))
    n = table.numel()
    if n == 0:
        found = full(elems._shape, False, dtype=_dt.bool, device=elems._device)
    else:
        table = _v.reshape(table, (1, n))
        pos = _u.clamp_max(_binary_search(table, flat, False, nan_last=True), n - 1)
        found = _v.reshape(_b.eq(_gather_run(table, 1, pos), flat), elems._shape)
    return _u.logical_not(found) if invert else found


def _histc_range(x: Tensor, lo: float, hi: float) -> tuple[float, float]:
    if lo == hi and x.numel() > 0:
        from .reductions import amax, amin

        lo, hi = float(amin(x).item()), float(amax(x).item())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if lo > hi:
        raise RuntimeError("torch.histc: max must be larger than min")
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise RuntimeError(f"torch.histc: range of [{_num(lo)}, {_num(hi)}] is not finite")
    return lo, hi


def _num(v: float) -> str:
    return str(int(v)) if math.isfinite(v) and float(v).is_integer() else str(v)


@tensor_method
def histc(input: Tensor, bins: int = 100, min: float = 0, max: float = 0) -> Tensor:  # noqa: A002
    """Counts of ``input`` in ``bins`` equal-width bins over ``[min, max]`` (the data's range
    when both are 0); values outside the range and NaN are not counted."""
    if not isinstance(input, Tensor):
        raise TypeError(f"histc(): argument 'input' must be Tensor, not {type(input).__name__}")
    if input._dtype.category != _dt.FLOATING_CATEGORY:
        raise NotImplementedError(f"histc(): not implemented for '{input._dtype.scalar_name}'")
    if bins <= 0:
        raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {bins} for "
                           "dimension 0")
    lo, hi = _histc_range(input, float(min), float(max))
    from .creation import zeros

    x = _v.reshape(input, (-1,))
    if x._dtype in (_dt.float16, _dt.bfloat16):
        x = cast(x, _dt.float32)
    inside = _b.logical_and(_b.ge(x, lo), _b.le(x, hi))
    # PyTorch's bin, in the input's precision: trunc((x - min) * bins / (max - min)), with
    # the right edge in the last bin
    from ..host import NUMPY_DTYPES

    np_type = NUMPY_DTYPES[x._dtype].type
    width = float(np_type(hi) - np_type(lo))
    scaled = _b.div(_b.mul(_b.sub(_u.where(inside, x, lo), lo), bins), width)
    pos = _u.clamp_max(cast(scaled, _dt.int64), bins - 1)
    counts = zeros(bins, dtype=input._dtype, device=input._device)
    if x.numel() == 0:
        return counts
    return run(Op.SCATTER, (counts, 0, pos, cast(inside, input._dtype)), ("add",),
               ((bins,), input._dtype), input._device, input._be)


__all__ = ["bucketize", "histc", "isin", "searchsorted"]
