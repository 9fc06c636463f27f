"""Elementwise special and floating-point functions built from the primitives: ``erfinv``,
``logit``, ``xlogy``, ``logaddexp``/``logaddexp2``, ``hypot``, ``copysign``, ``heaviside``.

``erfinv`` has its own Op (``ERFINV``) so a backend can run a native kernel and the derivative
table can give ``sqrt(pi)/2 * exp(erfinv(x)**2)``; the others are plain compositions, so
autograd records their parts. Float16/bfloat16 inputs compute in float32 and round once, as
PyTorch's kernels do.
"""

from __future__ import annotations

import math
from typing import Any, Callable

from .. import dtypes as _dt
from ..meta import result_type
from ..op import Op, define
from ..tensor import Tensor, method_table
from . import binary as _b
from . import unary as _u
from ._common import cast
from ._elementwise import FLOAT, check_tensor, unary
from .copying import write_result

TENSOR_METHODS: dict = {}
"""The ``Tensor`` methods this module provides, by name (installed by ``mbtorch.core.ops``)."""
tensor_method = method_table(TENSOR_METHODS)

_SCALARS = (bool, int, float)
_LOW = (_dt.float16, _dt.bfloat16)
_SQRT_PI_OVER_2 = math.sqrt(math.pi) / 2.0
_LN2 = math.log(2.0)

# Giles, "Approximating the erfinv function" (GPU Computing Gems, 2010): Horner coefficients,
# highest order first, of polynomials in w = -log((1 - x)(1 + x)) (or sqrt(w)), times x.
# Single precision: central (w < 5) and tail branches.
_SP_CENTRAL = (2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06,
               0.00021858087, -0.00125372503, -0.00417768164, 0.246640727, 1.50140941)
_SP_TAIL = (-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773,
            -0.0076224613, 0.00943887047, 1.00167406, 2.83297682)
# Double precision: w < 6.25 (in w - 3.125), w < 16 (in sqrt(w) - 3.25), beyond (- 5).
_DP_CENTRAL = (
    -3.6444120640178196996e-21, -1.685059138182016589e-19, 1.2858480715256400167e-18,
    1.115787767802518096e-17, -1.333171662854620906e-16, 2.0972767875968561637e-17,
    6.6376381343583238325e-15, -4.0545662729752068639e-14, -8.1519341976054721522e-14,
    2.6335093153082322977e-12, -1.2975133253453532498e-11, -5.4154120542946279317e-11,
    1.051212273321532285e-09, -4.1126339803469836976e-09, -2.9070369957882005086e-08,
    4.2347877827932403518e-07, -1.3654692000834678645e-06, -1.3882523362786468719e-05,
    0.0001867342080340571352, -0.00074070253416626697512, -0.0060336708714301490533,
    0.24015818242558961693, 1.6536545626831027356)
_DP_MID = (
    2.2137376921775787049e-09, 9.0756561938885390979e-08, -2.7517406297064545428e-07,
    1.8239629214389227755e-08, 1.5027403968909827627e-06, -4.013867526981545969e-06,
    2.9234449089955446044e-06, 1.2475304481671778723e-05, -4.7318229009055733981e-05,
    6.8284851459573175448e-05, 2.4031110387097893999e-05, -0.0003550375203628474796,
    0.00095328937973738049703, -0.0016882755560235047313, 0.0024914420961078508066,
    -0.0037512085075692412107, 0.005370914553590063617, 1.0052589676941592334,
    3.0838856104922207635)
_DP_TAIL = (
    -2.7109920616438573243e-11, -2.5556418169965252055e-10, 1.5076572693500548083e-09,
    -3.7894654401267369937e-09, 7.6157012080783393804e-09, -1.4960026627149240478e-08,
    2.9147953450901080826e-08, -6.7711997758452339498e-08, 2.2900482228026654717e-07,
    -9.9298272942317002539e-07, 4.5260625972231537039e-06, -1.9681778105531670567e-05,
    7.5995277030017761139e-05, -0.00021503011930044477347, -0.00013871931833623122026,
    1.0103004648645343977, 4.8499064014085844221)


def _horner(coeffs: tuple, w: Tensor) -> Tensor:
    p = _b.add(_b.mul(w, coeffs[0]), coeffs[1])
    for c in coeffs[2:]:
        p = _b.add(_b.mul(p, w), c)
    return p


def _branch(w: Tensor, lo: float, hi: float, shift: float, coeffs: tuple) -> Tensor:
    # sqrt(w) - shift on w clamped into the branch, so unused lanes stay finite
    return _horner(coeffs, _b.sub(_u.sqrt(_u.clamp(w, lo, hi)), shift))


def _giles_w(x: Tensor) -> Tensor:
    # (1 - x)(1 + x), not 1 - x*x: exact near +-1, where the tail needs it
    return _u.neg(_u.log(_b.mul(_b.sub(1.0, x), _b.add(x, 1.0))))


def _erfinv_double(x: Tensor) -> Tensor:
    w = _giles_w(x)
    p = _u.where(_b.lt(w, 16.0), _branch(w, 6.25, 16.0, 3.25, _DP_MID),
                 _branch(w, 16.0, math.inf, 5.0, _DP_TAIL))
    return _b.mul(_u.where(_b.lt(w, 6.25), _horner(_DP_CENTRAL, _b.sub(w, 3.125)), p), x)


def _erfinv_single(x: Tensor) -> Tensor:
    # Giles' float approximation (~2 ulp), then one Halley step on the ERF primitive
    # (cubic), which lands near float32's rounding error away from the tail
    w = _giles_w(x)
    p = _u.where(_b.lt(w, 5.0), _horner(_SP_CENTRAL, _b.sub(w, 2.5)),
                 _branch(w, 5.0, math.inf, 3.0, _SP_TAIL))
    y = _b.mul(p, x)
    u = _b.mul(_b.mul(_b.sub(_u.erf(y), x), _SQRT_PI_OVER_2), _u.exp(_b.mul(y, y)))
    refined = _b.sub(y, _b.div(u, _b.add(_b.mul(y, u), 1.0)))
    return _u.where(_b.lt(w, 5.0), refined, y)  # in the tail, erf's rounding would cost more


@define(Op.ERFINV)
def _erfinv(x: Tensor) -> Tensor:
    # float32 runs the double-precision polynomial in float64 where the backend has it, so
    # it rounds once (PyTorch's float32 erfinv is within half an ulp)
    if x._dtype is _dt.float64:
        y = _erfinv_double(x)
    elif _dt.float64 in x._be.dtypes:
        y = cast(_erfinv_double(cast(x, _dt.float64)), x._dtype)
    else:
        y = _erfinv_single(x)
    edge = _b.eq(_u.abs(x), 1.0)  # +-1 maps to +-inf, where the polynomials give nan
    return _u.where(edge, _b.mul(x, math.inf), y)


@tensor_method
def erfinv(input: Tensor) -> Tensor:
    """The inverse error function: ``erf(erfinv(x)) == x`` on ``[-1, 1]``, nan outside."""
    return unary(Op.ERFINV, "erfinv", input, FLOAT)


def _erfinv_(self: Tensor) -> Tensor:
    return write_result(self, erfinv(self), "erfinv_")


TENSOR_METHODS["erfinv_"] = _erfinv_


# -- helpers -------------------------------------------------------------------------------
def _float_dtype(operands: tuple, name: str) -> _dt.dtype:
    dtype = result_type(operands, name)
    return dtype if dtype.category == _dt.FLOATING_CATEGORY else _dt.get_default_dtype()


def _opmath(fn: Callable, dtype: _dt.dtype, *args: Any) -> Tensor:
    """``fn`` on ``args`` as tensors of ``dtype`` (float32 for half types, rounded back once);
    a Python number becomes a 0-d tensor on the tensor operands' device."""
    wide = _dt.float32 if dtype in _LOW else dtype
    dev = next(a for a in args if isinstance(a, Tensor))._device
    from .creation import full

    ops = [cast(a, wide) if isinstance(a, Tensor) else full((), a, dtype=wide, device=dev)
           for a in args]
    return cast(fn(*ops), dtype)


def _floating_pair(a: Any, b: Any, name: str) -> _dt.dtype:
    """Two tensors whose promoted dtype must be floating (logaddexp, hypot)."""
    check_tensor(a, name)
    check_tensor(b, name, "other")
    dtype = result_type((a, b), name)
    if dtype.category != _dt.FLOATING_CATEGORY:
        raise NotImplementedError(f"{name}(): not implemented for '{dtype.scalar_name}'")
    return dtype


def _inplace(fn: Callable, name: str) -> Callable:
    def f(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        return write_result(self, fn(self, *args, **kwargs), name)

    f.__name__ = name
    TENSOR_METHODS[name] = f
    return f


# -- logit, xlogy --------------------------------------------------------------------------
@tensor_method
def logit(input: Tensor, eps: float | None = None) -> Tensor:
    """``log(x / (1 - x))``, with ``x`` clamped to ``[eps, 1 - eps]`` when ``eps`` is given."""
    check_tensor(input, "logit")
    dtype = _float_dtype((input,), "logit")

    def f(x: Tensor) -> Tensor:
        if eps is not None:
            x = _u.clamp(x, eps, 1.0 - eps)
        return _u.log(_b.div(x, _b.sub(1.0, x)))

    return _opmath(f, dtype, input)


_inplace(logit, "logit_")


@tensor_method
def xlogy(input: Any, other: Any) -> Tensor:
    """``input * log(other)``, 0 where ``input`` is 0 (unless ``other`` is nan)."""
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        raise TypeError("xlogy(): expected at least one Tensor operand")
    for x, arg in ((input, "self"), (other, "other")):
        if not isinstance(x, Tensor) and type(x) not in _SCALARS:
            raise TypeError(f"xlogy(): argument '{arg}' must be Tensor or a Python number, "
                            f"not {type(x).__name__}")
    dtype = _float_dtype((input, other), "xlogy")

    def f(x: Tensor, y: Tensor) -> Tensor:
        # 0 * log(y) is already 0 for a positive finite y, so only the zeros that would be
        # nan (y <= 0 or y = inf) are masked: the gradient by x stays log(y) at x = 0, as
        # PyTorch's derivative (xlogy(grad, other), masked where self == 0 and other <= 0)
        # (log of 1 where masked: a nan there would reach the gradient through the where;
        # + 0.0 turns 0 * log(y < 1) = -0.0 into PyTorch's +0.0)
        nan_zero = _b.logical_and(_b.eq(x, 0), _b.logical_or(_b.le(y, 0), _u.isinf(y)))
        out = _u.where(nan_zero, 0.0, _b.add(_b.mul(x, _u.log(_u.where(nan_zero, 1.0, y))),
                                             0.0))
        return _u.where(_u.isnan(y), math.nan, out)

    return _opmath(f, dtype, input, other)


_inplace(xlogy, "xlogy_")


# -- logaddexp, logaddexp2, hypot ------------------------------------------------------------
def _logaddexp_core(a: Tensor, b: Tensor, base2: bool) -> Tensor:
    m = _b.maximum(a, b)
    d = _u.neg(_u.abs(_b.sub(a, b)))
    tail = _b.div(_u.log1p(_u.exp2(d)), _LN2) if base2 else _u.log1p(_u.exp(d))
    # equal infinities: a - b is nan, the answer is that infinity
    return _u.where(_b.logical_and(_u.isinf(a), _b.eq(a, b)), a, _b.add(m, tail))


@tensor_method
def logaddexp(input: Tensor, other: Tensor) -> Tensor:
    """``log(exp(input) + exp(other))`` without overflow."""
    dtype = _floating_pair(input, other, "logaddexp")
    return _opmath(lambda a, b: _logaddexp_core(a, b, False), dtype, input, other)


@tensor_method
def logaddexp2(input: Tensor, other: Tensor) -> Tensor:
    """``log2(2**input + 2**other)`` without overflow."""
    dtype = _floating_pair(input, other, "logaddexp2")
    return _opmath(lambda a, b: _logaddexp_core(a, b, True), dtype, input, other)


def _hypot_core(a: Tensor, b: Tensor) -> Tensor:
    # scale by the larger magnitude so neither square overflows nor underflows
    ax, bx = _u.abs(a), _u.abs(b)
    big, small = _b.maximum(ax, bx), _b.minimum(ax, bx)
    zero = _b.eq(big, 0)
    r = _b.div(small, _u.where(zero, 1.0, big))
    out = _u.where(zero, 0.0, _b.mul(big, _u.sqrt(_b.add(_b.mul(r, r), 1.0))))
    return _u.where(_b.logical_or(_u.isinf(a), _u.isinf(b)), math.inf, out)  # C's hypot(inf, nan)


@tensor_method
def hypot(input: Tensor, other: Tensor) -> Tensor:
    """``sqrt(input**2 + other**2)`` without intermediate overflow."""
    dtype = _floating_pair(input, other, "hypot")
    return _opmath(_hypot_core, dtype, input, other)


_inplace(hypot, "hypot_")


# -- copysign, heaviside -------------------------------------------------------------------
@tensor_method
def copysign(input: Tensor, other: Any) -> Tensor:
    """The magnitude of ``input`` with the sign (bit) of ``other``: ``copysign(1, -0.0)`` is -1."""
    check_tensor(input, "copysign")
    if not isinstance(other, Tensor) and type(other) not in _SCALARS:
        raise TypeError(f"copysign(): argument 'other' must be Tensor or a Python number, not "
                        f"{type(other).__name__}")
    dtype = _float_dtype((input, other), "copysign")

    def f(a: Tensor, b: Tensor) -> Tensor:
        mag = _u.abs(a)
        return _u.where(_u.signbit(b), _u.neg(mag), mag)

    return _opmath(f, dtype, input, other)


_inplace(copysign, "copysign_")


@tensor_method
def heaviside(input: Tensor, values: Tensor) -> Tensor:
    """1 where ``input > 0``, 0 where ``input < 0`` (and nan), ``values`` where it is 0."""
    check_tensor(input, "heaviside")
    check_tensor(values, "heaviside", "values")
    if input._dtype is not values._dtype:
        raise RuntimeError("heaviside is not yet implemented for tensors with different "
                           "dtypes.")
    step = cast(_b.gt(input, 0), input._dtype)
    return _u.where(_b.eq(input, 0), values, step)


_inplace(heaviside, "heaviside_")

__all__ = ["copysign", "erfinv", "heaviside", "hypot", "logaddexp", "logaddexp2", "logit",
           "xlogy"]
