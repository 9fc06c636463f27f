"""The inverse hyperbolic functions ``asinh``, ``acosh``, ``atanh`` (and NumPy's ``arc*``
names, and the in-place forms), composed of the stable unary primitives (``log1p``, ``sqrt``)
so every backend gets them, their gradients and PyTorch's values at 0, +-1, the infinities and
near overflow."""

from __future__ import annotations

import math

from .. import dtypes as _dt
from ..tensor import Tensor, method_table
from . import binary as _b
from ._common import cast
from ._elementwise import check_tensor
from .copying import write_result
from .unary import log, log1p, neg, sqrt, square, where

__all__ = ["acosh", "asinh", "atanh", "arccosh", "arcsinh", "arctanh"]

TENSOR_METHODS: dict = {}
"""The ``Tensor`` methods this module provides, by name (installed by ``mbtorch.core.ops``)."""
tensor_method = method_table(TENSOR_METHODS)

_LN2 = math.log(2.0)


# Above 1/sqrt(eps) the correction term of log(2x) is below rounding, and squaring there could
# overflow: those elements take log(x) + ln 2. Each branch gets an input that is finite in it,
# so ``where``'s zero gradient for the unused branch never meets an infinite one (0 * inf).
def _float_input(input: Tensor, op: str) -> Tensor:
    check_tensor(input, op)
    return input if input._dtype.is_floating_point else cast(input, _dt.get_default_dtype())


def _large_threshold(dtype: _dt.dtype) -> float:
    from ..host import finfo

    return 1.0 / math.sqrt(finfo(dtype).eps)


def _log_twice(x: Tensor, big: Tensor, th: float) -> Tensor:
    return _b.add(log(where(big, x, th)), _LN2)


@tensor_method
def asinh(input: Tensor) -> Tensor:
    """``asinh(x) = log1p(u + u^2 / (1 + sqrt(1 + u^2)))`` on ``u = |x|``, odd, exact at +-0."""
    x = _float_input(input, "asinh")
    neg_x = _b.lt(x, 0)
    u = where(neg_x, neg(x), x)  # |x| whose gradient at 0 is 1, unlike abs's
    th = _large_threshold(x._dtype)
    big = _b.gt(u, th)
    v = where(big, th, u)
    small = log1p(_b.add(v, _b.div(square(v), _b.add(sqrt(_b.add(square(v), 1.0)), 1.0))))
    mag = where(big, _log_twice(u, big, th), small)
    return where(_b.eq(x, 0), x, where(neg_x, neg(mag), mag))  # keeps -0.0, gradient 1


@tensor_method
def acosh(input: Tensor) -> Tensor:
    """``acosh(x) = log1p(t + sqrt(t (t + 2)))`` with ``t = x - 1`` (exact near 1); NaN
    below 1."""
    x = _float_input(input, "acosh")
    th = _large_threshold(x._dtype)
    big = _b.gt(x, th)
    t = _b.sub(where(big, th, x), 1.0)
    # sqrt(t) * sqrt(t + 2), not sqrt(t * (t + 2)): NaN for every x < 1, as t(t+2) > 0 for t < -2
    small = log1p(_b.add(t, _b.mul(sqrt(t), sqrt(_b.add(t, 2.0)))))
    return where(big, _log_twice(x, big, th), small)


@tensor_method
def atanh(input: Tensor) -> Tensor:
    """``atanh(x) = (log1p(x) - log1p(-x)) / 2``: no cancellation, as the terms' signs
    differ; +-inf at +-1, NaN beyond."""
    x = _float_input(input, "atanh")
    return _b.mul(_b.sub(log1p(x), log1p(neg(x))), 0.5)


arcsinh, arccosh, arctanh = asinh, acosh, atanh
for _n, _f in (("arcsinh", asinh), ("arccosh", acosh), ("arctanh", atanh)):
    tensor_method(_f, name=_n)
for _n, _f in (("asinh", asinh), ("acosh", acosh), ("atanh", atanh), ("arcsinh", asinh),
               ("arccosh", acosh), ("arctanh", atanh)):
    TENSOR_METHODS[_n + "_"] = (
        lambda f, name: lambda self: write_result(self, f(self), name))(_f, _n + "_")
