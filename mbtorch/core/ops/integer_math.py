"""Integer arithmetic: ``gcd``, ``lcm`` and the shifts ``bitwise_left_shift`` /
``bitwise_right_shift`` (the ``<<`` and ``>>`` operators).

Compositions of elementwise primitives. ``gcd`` runs Euclid's algorithm on whole tensors, one
``remainder`` per step while any divisor is non-zero (at most ~92 steps for int64, the
Fibonacci bound). Shifts multiply or floor-divide by a power of two taken from a 64-entry
table, in int64, then wrap to the result dtype, which gives PyTorch's results for every
shift amount: a left shift by a negative amount or by the bit width or more is 0, a right
shift by such an amount fills with the sign bit (0 for unsigned types).
"""

from __future__ import annotations

from typing import Any

from .. import dtypes as _dt
from ..meta import result_type
from ..tensor import Tensor, method_table
from . import binary as _b
from ._common import cast
from .copying import write_result
from .creation import full, tensor
from .gathering import take
from .ternary import where

TENSOR_METHODS: dict = {}
"""The ``Tensor`` methods this module provides, by name (installed by ``mbtorch.core.ops``)."""
tensor_method = method_table(TENSOR_METHODS)

# 1 << k as int64 for k in 0..63 (1 << 63 wraps to the most negative int64, as in C)
_POWERS = [(1 << k) - (1 << 64) * (k == 63) for k in range(64)]


def _operands(input: Any, other: Any, name: str, kernel: str) -> tuple:
    """Both operands as tensors of the promoted integer dtype, on one device."""
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        raise TypeError(f"{name}(): at least one of 'input' and 'other' must be a Tensor")
    for v in (input, other):
        if not isinstance(v, Tensor) and (type(v) not in (int, bool)):
            raise TypeError(f"{name}(): expected integer operands, got {type(v).__name__}")
    dtype = result_type((input, other), name)
    if dtype.category != _dt.INTEGRAL_CATEGORY:
        raise NotImplementedError(f'"{kernel}" not implemented for \'{dtype.scalar_name}\'')
    like = input if isinstance(input, Tensor) else other
    a, b = (cast(v, dtype) if isinstance(v, Tensor)
            else full((), v, dtype=dtype, device=like._device) for v in (input, other))
    return a, b, dtype


def _gcd_abs(a: Tensor, b: Tensor) -> Tensor:
    from .combining import broadcast_tensors

    a, b = broadcast_tensors(a.abs(), b.abs())
    while bool((b != 0).any()):
        nonzero = b != 0
        r = _b.remainder(a, where(nonzero, b, 1))
        a, b = where(nonzero, b, a), where(nonzero, r, 0)
    return a


def _tensor_pair(input: Any, other: Any, name: str) -> None:
    for arg, v in (("input", input), ("other", other)):
        if not isinstance(v, Tensor):
            position = 1 if arg == "input" else 2
            raise TypeError(f"{name}(): argument '{arg}' (position {position}) must be Tensor, "
                            f"not {type(v).__name__}")


@tensor_method
def gcd(input: Tensor, other: Tensor) -> Tensor:
    """Elementwise greatest common divisor (non-negative; ``gcd(0, 0) = 0``).

    >>> mbtorch.gcd(mbtorch.tensor([4, -6, 0]), mbtorch.tensor([6, 4, 0]))
    tensor([2, 2, 0])
    """
    _tensor_pair(input, other, "gcd")
    a, b, dtype = _operands(input, other, "gcd", "gcd_cpu")
    return cast(_gcd_abs(a, b), dtype)


@tensor_method
def lcm(input: Tensor, other: Tensor) -> Tensor:
    """Elementwise least common multiple (non-negative; 0 when either is 0)."""
    _tensor_pair(input, other, "lcm")
    a, b, dtype = _operands(input, other, "lcm", "lcm_cpu")
    g = _gcd_abs(a, b)
    out = (_b.div(a, where(g != 0, g, 1), rounding_mode="trunc") * b).abs()
    return cast(where(g != 0, out, 0), dtype)


@tensor_method
def gcd_(self: Tensor, other: Tensor) -> Tensor:
    return write_result(self, gcd(self, other), "gcd_")


@tensor_method
def lcm_(self: Tensor, other: Tensor) -> Tensor:
    return write_result(self, lcm(self, other), "lcm_")


def _shift(input: Any, other: Any, left: bool, name: str) -> Tensor:
    a, s, dtype = _operands(input, other, name, "lshift_cpu" if left else "rshift_cpu")
    bits = dtype.itemsize * 8
    a, s = cast(a, _dt.int64), cast(s, _dt.int64)
    inside = (s >= 0) & (s < bits)
    powers = tensor(_POWERS, dtype=_dt.int64, device=a._device)
    if left:
        out = where(inside, a * take(powers, s.clamp(0, 63)), 0)
    elif not dtype.is_signed:  # no sign bit to fill in: everything shifts out
        out = where(inside, _b.floor_divide(a, take(powers, s.clamp(0, 62))), 0)
    else:
        s = where(inside, s, bits - 1)
        # 2**63 is not an int64: a shift by 63 leaves only the sign
        quotient = _b.floor_divide(a, take(powers, s.clamp(0, 62)))
        out = where(s >= 63, where(a < 0, -1, 0), quotient)
    return cast(out, dtype)


@tensor_method
def bitwise_left_shift(input: Any, other: Any) -> Tensor:
    """``input << other`` elementwise for integer tensors (or one Python int).

    >>> mbtorch.tensor([1, -3]) << 2
    tensor([  4, -12])
    """
    return _shift(input, other, True, "bitwise_left_shift")


@tensor_method
def bitwise_right_shift(input: Any, other: Any) -> Tensor:
    """``input >> other`` elementwise, arithmetic (the sign bit fills in)."""
    return _shift(input, other, False, "bitwise_right_shift")


@tensor_method
def bitwise_left_shift_(self: Tensor, other: Any) -> Tensor:
    return write_result(self, bitwise_left_shift(self, other), "bitwise_left_shift_")


@tensor_method
def bitwise_right_shift_(self: Tensor, other: Any) -> Tensor:
    return write_result(self, bitwise_right_shift(self, other), "bitwise_right_shift_")


def _operator(fn: Any, reflected: bool) -> Any:
    def op(self: Tensor, other: Any) -> Any:
        if not isinstance(other, (Tensor, int)):
            return NotImplemented
        return fn(other, self) if reflected else fn(self, other)

    return op


TENSOR_METHODS.update({
    "__lshift__": _operator(bitwise_left_shift, False),
    "__rlshift__": _operator(bitwise_left_shift, True),
    "__ilshift__": bitwise_left_shift_,
    "__rshift__": _operator(bitwise_right_shift, False),
    "__rrshift__": _operator(bitwise_right_shift, True),
    "__irshift__": bitwise_right_shift_,
})

__all__ = ["bitwise_left_shift", "bitwise_right_shift", "gcd", "gcd_", "lcm", "lcm_"]
