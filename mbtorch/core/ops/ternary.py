"""Elementwise ops of three operands: ``where``, ``clamp``, ``lerp``, ``nan_to_num``,
``addcmul``/``addcdiv``, with their decompositions and in-place forms."""

from __future__ import annotations

import math
from typing import Any

from .. import dtypes as _dt
from ..meta import broadcast_all, result_type
from ..op import Op, define
from ..tensor import Tensor, method_table
from . import binary as _b
from . import unary as _u
from ._common import cast, run, scalar_for
from ._elementwise import check_tensor, run_wide
from .copying import write_result

__all__ = [
    "where", "clamp", "clip", "clamp_min", "clamp_max", "lerp", "nan_to_num", "addcmul", "addcdiv"
]

TENSOR_METHODS: dict = {}
"""The ``Tensor`` methods this module provides, by name (installed by ``mbtorch.core.ops``)."""
tensor_method = method_table(TENSOR_METHODS)

# members read per call: ``Op.X`` is a slow attribute on Python 3.11 (EnumType.__getattr__)
_CLAMP, _LERP, _NAN_TO_NUM, _WHERE = Op.CLAMP, Op.LERP, Op.NAN_TO_NUM, Op.WHERE


# -- where, clamp, lerp, nan_to_num -------------------------------------------------------
@tensor_method
def where(condition: Tensor, input: Any = None, other: Any = None) -> Any:
    """``input`` where ``condition`` else ``other`` (or ``nonzero(as_tuple=True)``)."""
    check_tensor(condition, "where", "condition")
    if input is None and other is None:
        from .indexing import nonzero

        return nonzero(condition, as_tuple=True)
    if condition._dtype is not _dt.bool:
        raise RuntimeError(f"where(): expected condition to be a boolean tensor, but got a "
                           f"tensor with dtype {condition._dtype.scalar_name}")
    dtype = result_type((input, other), "where")
    tensors = [t for t in (condition, input, other) if isinstance(t, Tensor)]
    from ..meta import check_same_device

    check_same_device(tensors, "where", ("condition", "input", "other"))
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        from .creation import full_like

        input = full_like(condition, input, dtype=dtype)
    a = cast(input, dtype) if isinstance(input, Tensor) else scalar_for(input, dtype)
    b = cast(other, dtype) if isinstance(other, Tensor) else scalar_for(other, dtype)
    shape = broadcast_all([t._shape for t in (condition, a, b) if isinstance(t, Tensor)],
                          "where")
    return run(_WHERE, (condition, a, b), (), (shape, dtype), condition._device,
               condition._be)


@define(Op.CLAMP)
def _clamp(x, lo, hi):
    if lo is not None:
        x = _b.maximum(x, lo)
    if hi is not None:
        x = _b.minimum(x, hi)
    return x


@tensor_method
def clamp(input: Tensor, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
    """Clamp into ``[min, max]``; bounds may be numbers or tensors. NaN stays NaN."""
    check_tensor(input, "clamp")
    if min is None and max is None:
        raise RuntimeError("clamp(): At least one of 'min' or 'max' must not be None")
    dtype = result_type([x for x in (input, min, max) if x is not None], "clamp")
    if dtype is _dt.bool and not isinstance(min, Tensor) and not isinstance(max, Tensor):
        # PyTorch's number-bound kernels have no bool version (its tensor-bound ones do)
        which = "clamp" if min is not None and max is not None else \
            "clamp_min" if min is not None else "clamp_max"
        raise NotImplementedError(f"\"{which}_scalar_{input._device.type}\" not implemented "
                                  "for 'Bool'")
    bounds = []
    for bound in (min, max):
        if bound is None:
            bounds.append(None)
        elif isinstance(bound, Tensor):
            bounds.append(cast(bound, dtype))
        else:
            from .creation import full

            bounds.append(full((), bound, dtype=dtype, device=input._device))
    x = cast(input, dtype)
    shape = broadcast_all([t._shape for t in (x, *bounds) if t is not None], "clamp")
    return run(_CLAMP, (x, bounds[0], bounds[1]), (), (shape, dtype), x._device, x._be)


clip = clamp
tensor_method(clamp, name="clip")


def _clamp_(self: Tensor, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
    return write_result(self, clamp(self, min, max), "clamp_")


TENSOR_METHODS["clamp_"] = TENSOR_METHODS["clip_"] = _clamp_


@tensor_method
def clamp_min(input: Tensor, min: Any) -> Tensor:  # noqa: A002
    return clamp(input, min, None)


@tensor_method
def clamp_max(input: Tensor, max: Any) -> Tensor:  # noqa: A002
    return clamp(input, None, max)


@define(Op.LERP)
def _lerp(start, end, weight):
    # PyTorch's two-sided formula keeps lerp(a, b, 1) == b exactly
    diff = _b.sub(end, start)
    low = _b.add(start, _b.mul(weight, diff))
    high = _b.sub(end, _b.mul(diff, _b.sub(1.0, weight)))
    return where(_b.lt(weight, 0.5), low, high)


@tensor_method
def lerp(input: Tensor, end: Tensor, weight: Any) -> Tensor:
    check_tensor(input, "lerp")
    check_tensor(end, "lerp", "end")
    if input._dtype is not end._dtype:
        raise RuntimeError(f"lerp(): expected dtype {input._dtype.name} for `end` but got "
                           f"dtype {end._dtype.name}")
    if input._dtype.category != _dt.FLOATING_CATEGORY:
        raise NotImplementedError(f"lerp(): not implemented for '{input._dtype.scalar_name}'")
    if not isinstance(weight, Tensor):
        from .creation import full

        weight = full((), float(weight), dtype=input._dtype, device=input._device)
    shape = broadcast_all([input._shape, end._shape, weight._shape], "lerp")
    return run_wide(_LERP, (input, end, weight), (), shape, input._dtype, input._device,
                    input._be)


@define(Op.NAN_TO_NUM)
def _nan_to_num(x, nan, posinf, neginf):
    x = where(_u.isnan(x), nan, x)
    x = where(_b.eq(x, math.inf), posinf, x)
    return where(_b.eq(x, -math.inf), neginf, x)


@tensor_method
def nan_to_num(input: Tensor, nan: float = 0.0, posinf: float | None = None,
               neginf: float | None = None) -> Tensor:
    check_tensor(input, "nan_to_num")
    if input._dtype.category != _dt.FLOATING_CATEGORY:
        return input.clone()
    from ..host import finfo

    info = finfo(input._dtype)
    posinf = info.max if posinf is None else posinf
    neginf = info.min if neginf is None else neginf
    return run(_NAN_TO_NUM, (input,), (float(nan), float(posinf), float(neginf)),
               (input._shape, input._dtype), input._device, input._be)


def _lerp_(self: Tensor, end: Tensor, weight: Any) -> Tensor:
    return write_result(self, lerp(self, end, weight), "lerp_")


TENSOR_METHODS["lerp_"] = _lerp_


@tensor_method
def addcmul(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: Any = 1) -> Tensor:
    """``input + value * tensor1 * tensor2``."""
    prod = _b.mul(tensor1, tensor2)
    return _b.add(input, prod if value == 1 else _b.mul(prod, value))


@tensor_method
def addcdiv(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: Any = 1) -> Tensor:
    """``input + value * tensor1 / tensor2``."""
    if not (tensor1._dtype.is_floating_point or tensor2._dtype.is_floating_point):
        raise RuntimeError("addcdiv(): Integer division with addcdiv is no longer supported, "
                           "and in a future release addcdiv will perform a true division of "
                           "tensor1 and tensor2.")
    quot = _b.div(tensor1, tensor2)
    return _b.add(input, quot if value == 1 else _b.mul(quot, value))


def _addc_inplace(fn, name):
    def f(self: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: Any = 1) -> Tensor:
        return write_result(self, fn(self, tensor1, tensor2, value=value), name)

    f.__name__ = name
    return f


TENSOR_METHODS["addcmul_"] = _addc_inplace(addcmul, "addcmul_")
TENSOR_METHODS["addcdiv_"] = _addc_inplace(addcdiv, "addcdiv_")
