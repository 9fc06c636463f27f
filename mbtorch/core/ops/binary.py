"""Binary elementwise ops: arithmetic, comparisons, logical and bitwise, with the operator
methods and in-place forms. Composites carry their decomposition right here."""

from __future__ import annotations

__all__ = [
    "add", "sub", "mul", "div", "floor_divide", "remainder", "fmod", "pow", "float_power", "atan2",
    "arctan2", "maximum", "minimum", "eq", "ne", "lt", "le", "gt", "ge", "greater",
    "greater_equal", "less", "less_equal", "not_equal", "bitwise_and", "bitwise_or", "bitwise_xor",
    "logical_and", "logical_or", "logical_xor", "equal", "subtract", "multiply", "divide",
    "true_divide", "isclose", "allclose"
]

from typing import Any

from .. import dispatch
from .. import dtypes as _dt
from ..dtypes import FLOATING_CATEGORY
from ..meta import result_type
from ..op import Op, define
from ..state import STATE
from ..tensor import Tensor, tensor_method
from . import unary as _u
from ._common import cast
from ._elementwise import BITWISE, COMPARE, FLOAT, LOGICAL, binary
from .copying import _has_internal_overlap, check_no_overlap, write_result

# members read per call: ``Op.X`` is a slow attribute on Python 3.11 (EnumType.__getattr__)
_ADD = Op.ADD
_ATAN2 = Op.ATAN2
_DIV = Op.DIV
_FLOOR_DIVIDE = Op.FLOOR_DIVIDE
_LE = Op.LE
_LT = Op.LT
_MAXIMUM = Op.MAXIMUM
_MINIMUM = Op.MINIMUM
_MUL = Op.MUL
_POW = Op.POW
_REMAINDER = Op.REMAINDER
_SUB = Op.SUB
_BOOL = _dt.bool


# -- decompositions of the composites -----------------------------------------------------
@define(Op.SUB)
def _sub(a, b):
    return add(a, _u.neg(b) if isinstance(b, Tensor) else -b)


@define(Op.MINIMUM)
def _minimum(a, b):
    if a._dtype.category == FLOATING_CATEGORY:
        return _u.neg(maximum(_u.neg(a), _u.neg(b)))
    return _u.bitwise_not(maximum(_u.bitwise_not(a), _u.bitwise_not(b)))


@define(Op.NE)
def _ne(a, b):
    return _u.logical_not(eq(a, b))


@define(Op.LE)
def _le(a, b):
    return bitwise_or(lt(a, b), eq(a, b))


@define(Op.GT)
def _gt(a, b):
    return lt(b, a) if isinstance(b, Tensor) else _flip_cmp(_LT, a, b)


@define(Op.GE)
def _ge(a, b):
    return le(b, a) if isinstance(b, Tensor) else _flip_cmp(_LE, a, b)


def _flip_cmp(op: Op, tensor: Tensor, scalar: Any) -> Tensor:
    # scalar < tensor: compare a full tensor of the scalar against ``tensor``
    from .creation import full_like

    return binary(op, op.name.lower(), full_like(tensor, scalar), tensor, COMPARE)


@define(Op.REMAINDER)
def _remainder(a, b):
    dtype = a._dtype if isinstance(a, Tensor) else b._dtype
    if dtype.category != FLOATING_CATEGORY:
        return sub(a, mul(floor_divide(a, b), b))
    from . import _fmod

    return _fmod.remainder(*_as_tensors(a, b, dtype))


def _as_tensors(a: Any, b: Any, dtype: _dt.dtype) -> tuple[Tensor, Tensor]:
    from .creation import full

    dev = (a if isinstance(a, Tensor) else b)._device
    return tuple(x if isinstance(x, Tensor) else full((), x, dtype=dtype, device=dev)
                 for x in (a, b))


@define(Op.LOGICAL_AND)
def _logical_and(a, b):
    return bitwise_and(a, b)


@define(Op.LOGICAL_OR)
def _logical_or(a, b):
    return bitwise_or(a, b)


@define(Op.LOGICAL_XOR)
def _logical_xor(a, b):
    return bitwise_xor(a, b)


# -- public functions ---------------------------------------------------------------------
@tensor_method
def add(input: Any, other: Any, *, alpha: Any = 1) -> Tensor:
    """``input + alpha * other`` with PyTorch's promotion and broadcasting."""
    if alpha != 1 or type(alpha) is bool:
        other = _scaled(input, other, alpha, "add")
    return binary(_ADD, "add", input, other)


@tensor_method
def sub(input: Any, other: Any, *, alpha: Any = 1) -> Tensor:
    if (input._dtype if isinstance(input, Tensor) else type(input)) in _BOOLS or \
            (other._dtype if isinstance(other, Tensor) else type(other)) in _BOOLS:
        _check_bool_sub(input, other)
    if alpha != 1 or type(alpha) is bool:
        other = _scaled(input, other, alpha, "sub")
    return binary(_SUB, "sub", input, other)


_BOOLS = (_dt.bool, bool)


def _scaled(input: Any, other: Any, alpha: Any, name: str) -> Any:
    """``alpha * other`` in the dtype ``input`` and ``other`` promote to, as PyTorch: the
    promotion ignores ``alpha``, which must fit that dtype's kind."""
    dtype = result_type((input, other), name)
    if type(alpha) is bool and dtype is not _BOOL:
        raise RuntimeError(f"{name}(): Boolean alpha only supported for Boolean results.")
    if dtype.category < FLOATING_CATEGORY and type(alpha) not in (bool, int):
        raise RuntimeError(f"{name}(): For integral input tensors, argument alpha must not be "
                           "a floating point number.")
    if isinstance(other, Tensor):
        return cast(mul(cast(other, dtype), alpha), dtype)
    kind = bool if dtype is _BOOL else int if dtype.category < FLOATING_CATEGORY else None
    return kind(other * alpha) if kind is not None else other * alpha


def _check_bool_sub(input: Any, other: Any) -> None:
    if _is_bool(input) and _is_bool(other):
        raise RuntimeError("sub(): Subtraction, the `-` operator, with two bool tensors is not "
                           "supported. Use the `^` or `logical_xor()` operator instead.")
    if _is_bool(input) or _is_bool(other):  # a Python bool counts as a bool tensor here
        raise RuntimeError("sub(): Subtraction, the `-` operator, with a bool tensor is not "
                           "supported. If you are trying to invert a mask, use the `~` or "
                           "`logical_not()` operator instead.")


def _is_bool_tensor(x: Any) -> bool:
    return isinstance(x, Tensor) and x._dtype is _dt.bool


def _is_bool(x: Any) -> bool:
    return (x._dtype is _dt.bool) if isinstance(x, Tensor) else type(x) is bool


@tensor_method
def mul(input: Any, other: Any) -> Tensor:
    return binary(_MUL, "mul", input, other)


@tensor_method
def div(input: Any, other: Any, *, rounding_mode: str | None = None) -> Tensor:
    """True division; ``rounding_mode='trunc'`` or ``'floor'`` as ``torch.div``."""
    if rounding_mode is None:
        return binary(_DIV, "div", input, other, FLOAT)
    if rounding_mode == "floor":
        return floor_divide(input, other)
    if rounding_mode == "trunc":
        dtype = result_type((input, other), "div")
        if dtype.category == FLOATING_CATEGORY:
            if dtype in (_dt.float16, _dt.bfloat16):  # quotient in float32, rounded once
                wide = [cast(x, _dt.float32) if isinstance(x, Tensor) else x
                        for x in (input, other)]
                return cast(_u.trunc(binary(_DIV, "div", *wide, FLOAT)), dtype)
            return _u.trunc(binary(_DIV, "div", input, other, FLOAT))
        _check_bool_kernel(dtype, "div_trunc_cpu")
        _check_int_divisor(input, other, "div")
        # as tensors of the promoted dtype: a bool operand or a Python number works too
        a, b = (cast(x, dtype) for x in _as_tensors(input, other, dtype))
        q = floor_divide(a, b)  # exact for integers; step toward zero where inexact
        inexact = ne(sub(a, mul(q, b)), 0)
        signs_differ = ne(lt(a, 0), lt(b, 0))
        return add(q, cast(logical_and(inexact, signs_differ), q._dtype))
    raise ValueError(f"div(): expected rounding_mode to be one of None, 'trunc', or 'floor' "
                     f"but found '{rounding_mode}'")


def _check_bool_kernel(dtype: _dt.dtype, kernel: str) -> None:
    # PyTorch has no bool kernel for the division family and pow
    if dtype is _BOOL:
        raise NotImplementedError(f"\"{kernel}\" not implemented for 'Bool'")


def _nothing_to_divide(input: Any, other: Any) -> bool:
    return any(isinstance(x, Tensor) and x.numel() == 0 for x in (input, other))


def _one_like(x: Any) -> Any:
    # the divisor of an empty quotient: PyTorch checks divisors per element, so none raises
    from .creation import ones_like

    return ones_like(x) if isinstance(x, Tensor) else type(x)(1)


def _check_int_divisor(input: Any, other: Any, name: str) -> None:
    if type(other) in (int, bool) and other == 0 and not _nothing_to_divide(input, other):
        raise RuntimeError(f"ZeroDivisionError: {name}(): integer division by zero")


@tensor_method
def floor_divide(input: Any, other: Any) -> Tensor:
    _check_bool_kernel(result_type((input, other), "floor_divide"), "div_floor_cpu")
    if _nothing_to_divide(input, other):
        other = _one_like(other)
    _check_int_divisor(input, other, "floor_divide") if not _floating(input) else None
    return binary(_FLOOR_DIVIDE, "floor_divide", input, other)


def _floating(x: Any) -> bool:
    return x._dtype.category == FLOATING_CATEGORY if isinstance(x, Tensor) else type(x) is float


@tensor_method
def remainder(input: Any, other: Any) -> Tensor:
    _check_bool_kernel(result_type((input, other), "remainder"), "remainder_cpu")
    if _nothing_to_divide(input, other):
        other = _one_like(other)
    if not (_floating(input) or _floating(other)):
        _check_int_divisor(input, other, "remainder")
    return binary(_REMAINDER, "remainder", input, other)


@tensor_method
def fmod(input: Any, other: Any) -> Tensor:
    """C-style remainder (sign of the dividend); exact for floating operands, as PyTorch."""
    dtype = result_type((input, other), "fmod")
    if dtype.category == FLOATING_CATEGORY:
        from . import _fmod

        a, b = _as_tensors(input, other, dtype)
        return _fmod.fmod(cast(a, dtype), cast(b, dtype))
    _check_bool_kernel(dtype, "fmod_cpu")
    a, b = (cast(x, dtype) for x in _as_tensors(input, other, dtype))
    return sub(a, mul(div(a, b, rounding_mode="trunc"), b))


@tensor_method
def pow(input: Any, exponent: Any) -> Tensor:  # noqa: A001 - torch's name
    if (isinstance(input, Tensor) and input._dtype.category < FLOATING_CATEGORY
            and type(exponent) is int and exponent < 0):
        raise RuntimeError("pow(): Integers to negative integer powers are not allowed.")
    if isinstance(exponent, Tensor):  # a bool tensor to a Python bool power is defined
        _check_bool_kernel(result_type((input, exponent), "pow"), "pow")
    return binary(_POW, "pow", input, exponent)


@tensor_method
def float_power(input: Any, exponent: Any) -> Tensor:
    a = cast(input, _dt.float64) if isinstance(input, Tensor) else float(input)
    b = cast(exponent, _dt.float64) if isinstance(exponent, Tensor) else float(exponent)
    return binary(_POW, "float_power", a, b)


@tensor_method
def atan2(input: Any, other: Any) -> Tensor:
    _both_tensors(input, other, "atan2")  # torch.atan2 takes no Python number
    return binary(_ATAN2, "atan2", input, other, FLOAT)


arctan2 = atan2
tensor_method(arctan2, name="arctan2")


@tensor_method
def maximum(input: Tensor, other: Tensor) -> Tensor:
    _both_tensors(input, other, "maximum")
    return binary(_MAXIMUM, "maximum", input, other)


@tensor_method
def minimum(input: Tensor, other: Tensor) -> Tensor:
    _both_tensors(input, other, "minimum")
    return binary(_MINIMUM, "minimum", input, other)


def _both_tensors(a: Any, b: Any, name: str) -> None:
    for x, arg in ((a, "input"), (b, "other")):
        if not isinstance(x, Tensor):
            raise TypeError(f"{name}(): argument '{arg}' must be Tensor, not "
                            f"{type(x).__name__}")


def _cmp(op: Op, name: str):
    def fn(input: Any, other: Any) -> Tensor:
        return binary(op, name, input, other, COMPARE)

    fn.__name__ = name
    fn.__doc__ = f"Elementwise ``{name}``; returns a bool tensor."
    return tensor_method(fn)


eq = _cmp(Op.EQ, "eq")
ne = _cmp(Op.NE, "ne")
lt = _cmp(Op.LT, "lt")
le = _cmp(Op.LE, "le")
gt = _cmp(Op.GT, "gt")
ge = _cmp(Op.GE, "ge")
greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne
for _n, _f in (("greater", gt), ("greater_equal", ge), ("less", lt), ("less_equal", le),
               ("not_equal", ne)):
    tensor_method(_f, name=_n)


def _bitwise(op: Op, name: str, kind: int):
    def fn(input: Any, other: Any) -> Tensor:
        if kind == LOGICAL:  # torch.logical_* take no Python number
            _both_tensors(input, other, name)
        return binary(op, name, input, other, kind)

    fn.__name__ = name
    return tensor_method(fn)


bitwise_and = _bitwise(Op.BITWISE_AND, "bitwise_and", BITWISE)
bitwise_or = _bitwise(Op.BITWISE_OR, "bitwise_or", BITWISE)
bitwise_xor = _bitwise(Op.BITWISE_XOR, "bitwise_xor", BITWISE)
logical_and = _bitwise(Op.LOGICAL_AND, "logical_and", LOGICAL)
logical_or = _bitwise(Op.LOGICAL_OR, "logical_or", LOGICAL)
logical_xor = _bitwise(Op.LOGICAL_XOR, "logical_xor", LOGICAL)


@tensor_method
def equal(input: Tensor, other: Tensor) -> bool:
    """True if both have the same shape and values."""
    if input._shape != other._shape:
        return False
    from .reductions import all as all_

    return bool(all_(eq(input, other)).item())


# -- operators and in-place forms ---------------------------------------------------------
_OPERANDS = (Tensor, bool, int, float)


def _reflect(fn):
    def r(self, other):
        if not isinstance(other, _OPERANDS):
            return NotImplemented
        return fn(other, self)

    return r


def _operator(op: Op, name: str, kind: int):
    """``a <op> b`` straight to the elementwise meta rule (one call less than ``_forward``)."""
    def f(self, other):
        if type(other) is not Tensor and not isinstance(other, _OPERANDS):
            return NotImplemented
        return binary(op, name, self, other, kind)

    return f


def _subtract(self, other):
    """``a - b``: two tensors of one non-bool dtype go straight to the meta rule."""
    if type(other) is Tensor and other._dtype is self._dtype and self._dtype is not _BOOL:
        return binary(_SUB, "sub", self, other)
    if not isinstance(other, _OPERANDS):
        return NotImplemented
    return sub(self, other)


def _forward(fn):
    def f(self, other):
        if not isinstance(other, _OPERANDS):
            return NotImplemented
        return fn(self, other)

    return f


def _inplace(fn, name: str, op: Op | None = None):
    def f(self, other, **kwargs):
        check_no_overlap(self, other, name)
        if op is not None and _write_in_place(self, other, op, kwargs):
            return self
        return write_result(self, fn(self, other, **kwargs), name)

    f.__name__ = name
    return f


def _write_in_place(self: Any, other: Any, op: Op, kwargs: dict) -> bool:
    """The meta rule of the in-place kernels (``op.INPLACE``): they run when nothing is
    recorded and the result has ``self``'s dtype and shape: one pass, where
    compute-then-``copy_`` makes two (SGD's updates, gradient accumulation). False leaves
    everything (checks, errors) to the generic path."""
    if not isinstance(self, Tensor) or self._dtype.category != FLOATING_CATEGORY:
        return False
    grad = STATE.grad_enabled
    if not dispatch.writes_in_place(op, self._be) or (grad and self._requires_grad):
        return False
    alpha = kwargs.get("alpha", 1)
    if len(kwargs) > ("alpha" in kwargs and op in (_ADD, _SUB)) or \
            type(alpha) not in (int, float):
        return False
    if self._root is not None and _has_internal_overlap(self):
        return False
    if isinstance(other, Tensor):
        if (other._dtype is not self._dtype or other._device is not self._device
                or (grad and other._requires_grad)
                or not _broadcasts_to(other._shape, self._shape)):
            return False
        b = other if alpha == 1 else mul(other, alpha)
    elif type(other) in (int, float):
        b = float(other * alpha)
    else:
        return False
    dispatch.write(op, self, b)
    return True


def _broadcasts_to(shape: tuple, target: tuple) -> bool:
    if len(shape) > len(target):
        return False
    for s, t in zip(reversed(shape), reversed(target)):
        if s != t and s != 1:
            return False
    return True


# ``a + b`` and ``a * b`` are the hottest calls there are: straight to the machinery
Tensor.__add__ = lambda self, other: binary(_ADD, "add", self, other)
Tensor.__radd__ = _reflect(add)
Tensor.__sub__ = _subtract
Tensor.__rsub__ = _reflect(sub)
Tensor.__mul__ = lambda self, other: binary(_MUL, "mul", self, other)
Tensor.__rmul__ = _reflect(mul)
Tensor.__truediv__ = _operator(Op.DIV, "div", FLOAT)
Tensor.__rtruediv__ = _reflect(div)
Tensor.__floordiv__ = _forward(floor_divide)
Tensor.__rfloordiv__ = _reflect(floor_divide)
Tensor.__mod__ = _forward(remainder)
Tensor.__rmod__ = _reflect(remainder)
Tensor.__pow__ = _forward(pow)
Tensor.__rpow__ = _reflect(pow)
Tensor.__and__ = _forward(bitwise_and)
Tensor.__rand__ = _reflect(bitwise_and)
Tensor.__or__ = _forward(bitwise_or)
Tensor.__ror__ = _reflect(bitwise_or)
Tensor.__xor__ = _forward(bitwise_xor)
Tensor.__rxor__ = _reflect(bitwise_xor)
Tensor.__eq__ = _operator(Op.EQ, "eq", COMPARE)
Tensor.__ne__ = _operator(Op.NE, "ne", COMPARE)
Tensor.__lt__ = _operator(Op.LT, "lt", COMPARE)
Tensor.__le__ = _operator(Op.LE, "le", COMPARE)
Tensor.__gt__ = _operator(Op.GT, "gt", COMPARE)
Tensor.__ge__ = _operator(Op.GE, "ge", COMPARE)
Tensor.__hash__ = lambda self: id(self)
Tensor.__abs__ = lambda self: _u.abs(self)


def _pos(self: Tensor) -> Tensor:
    if self._dtype is _BOOL:
        raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
    return self


def _invert(self: Tensor) -> Tensor:
    if self._dtype.category >= FLOATING_CATEGORY:  # the operator's error is a TypeError
        raise TypeError("~ (operator.invert) is only implemented on integer and Boolean-type "
                        "tensors")
    return _u.bitwise_not(self)


Tensor.__pos__ = _pos
Tensor.__invert__ = _invert

for _name, _fn in (("floor_divide", floor_divide), ("remainder", remainder), ("pow", pow),
                   ("fmod", fmod), ("atan2", atan2), ("bitwise_and", bitwise_and),
                   ("bitwise_or", bitwise_or), ("bitwise_xor", bitwise_xor),
                   ("logical_and", logical_and), ("logical_or", logical_or),
                   ("logical_xor", logical_xor), ("maximum", maximum), ("minimum", minimum),
                   ("eq", eq), ("ne", ne), ("lt", lt), ("le", le), ("gt", gt), ("ge", ge),
                   ("float_power", float_power)):
    setattr(Tensor, _name + "_", _inplace(_fn, _name + "_"))
for _name, _fn, _op in (("add", add, Op.ADD), ("sub", sub, Op.SUB), ("mul", mul, Op.MUL),
                        ("div", div, _DIV)):
    setattr(Tensor, _name + "_", _inplace(_fn, _name + "_", _op))
Tensor.subtract_ = Tensor.sub_
Tensor.multiply_ = Tensor.mul_
Tensor.divide_ = Tensor.div_
Tensor.true_divide_ = Tensor.div_
Tensor.__iadd__ = _inplace(add, "add_", Op.ADD)
Tensor.__isub__ = _inplace(sub, "sub_", Op.SUB)
Tensor.__imul__ = _inplace(mul, "mul_", Op.MUL)
Tensor.__itruediv__ = _inplace(div, "div_", Op.DIV)
Tensor.__ifloordiv__ = _inplace(floor_divide, "floor_divide_")
Tensor.__imod__ = _inplace(remainder, "remainder_")
Tensor.__ipow__ = _inplace(pow, "pow_")
Tensor.__iand__ = _inplace(bitwise_and, "bitwise_and_")
Tensor.__ior__ = _inplace(bitwise_or, "bitwise_or_")
Tensor.__ixor__ = _inplace(bitwise_xor, "bitwise_xor_")

subtract, multiply, divide, true_divide = sub, mul, div, div
for _n, _f in (("subtract", sub), ("multiply", mul), ("divide", div), ("true_divide", div)):
    tensor_method(_f, name=_n)


@tensor_method
def isclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08,
            equal_nan: bool = False) -> Tensor:
    """``|input - other| <= atol + rtol * |other|`` elementwise (equal infinities match)."""
    _both_tensors(input, other, "isclose")
    if input._dtype is not other._dtype:
        raise RuntimeError(f"isclose(): {input._dtype.scalar_name} did not match "
                           f"{other._dtype.scalar_name}")
    if rtol < 0 or atol < 0:
        raise RuntimeError(f"isclose(): rtol ({rtol}) and atol ({atol}) must be non-negative")
    close = eq(input, other)
    if input._dtype.category == FLOATING_CATEGORY:
        diff = _u.abs(sub(input, other))
        close = logical_or(close, le(diff, add(mul(_u.abs(other), rtol), atol)))
        if equal_nan:
            close = logical_or(close, logical_and(_u.isnan(input), _u.isnan(other)))
    return close


@tensor_method
def allclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08,
             equal_nan: bool = False) -> bool:
    from .reductions import all as all_

    return bool(all_(isclose(input, other, rtol, atol, equal_nan)).item())
