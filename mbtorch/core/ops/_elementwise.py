"""The meta rule shared by every elementwise op: operand checks, PyTorch's promotion,
broadcasting, casting to the computation dtype, then dispatch. ``binary``/``unary`` are called
by the public functions in ``binary.py`` and ``unary.py``."""

from __future__ import annotations

__all__ = [
    "ARITH", "FLOAT", "COMPARE", "BITWISE", "LOGICAL", "INTEGRAL_ID", "binary", "unary",
    "run_wide", "check_tensor"
]

from typing import Any

from .. import dispatch
from .. import dtypes as _dt
from ..dispatch import run
from ..dtypes import COMPLEX_CATEGORY, FLOATING_CATEGORY
from ..meta import broadcast_shapes, result_type
from ..op import Op
from ..tensor import Tensor
from ._common import cast, scalar_for

# kinds of elementwise ops: how the computation dtype and the output dtype are chosen
ARITH = 0  # computation and output in the promoted dtype
FLOAT = 1  # integers and bools compute in the default float dtype (div, atan2, exp...)
COMPARE = 2  # promoted computation, bool output
BITWISE = 3  # integers and bools only
LOGICAL = 4  # operands as bool, bool output
INTEGRAL_ID = 5  # rounding: integers come back unchanged

_SCALARS = (bool, int, float, complex)
_float32 = _dt.float32
_bool = _dt.bool
_float16, _bfloat16 = _dt.float16, _dt.bfloat16
_LOW = (_float16, _bfloat16)


def _operand_error(name: str, arg: str, x: Any) -> TypeError:
    return TypeError(f"{name}(): argument '{arg}' must be Tensor or a Python number, not "
                     f"{type(x).__name__}")


def binary(op: Op, name: str, a: Any, b: Any, kind: int = ARITH) -> Tensor:
    """Run binary elementwise ``op`` with PyTorch's promotion and broadcasting."""
    # the common case's meta rule: two tensors (or Parameters) of one dtype and device
    if ((type(a) is Tensor or isinstance(a, Tensor)) and (type(b) is Tensor
                                                          or isinstance(b, Tensor))
            and a._dtype is b._dtype and a._device is b._device and kind <= COMPARE
            and (a._dtype.category == FLOATING_CATEGORY if kind == FLOAT
                 else a._dtype._plain)):
        sa, sb = a._shape, b._shape
        shape = sa if sa == sb else broadcast_shapes(sa, sb, name)
        dtype = _bool if kind == COMPARE else a._dtype
        if dtype in _LOW:
            return run_wide(op, (a, b), (), shape, dtype, a._device, a._be)
        return run(op, (a, b), (), (shape, dtype), a._device, a._be)
    return _binary_slow(op, name, a, b, kind)


def _binary_slow(op: Op, name: str, a: Any, b: Any, kind: int) -> Tensor:
    ta, tb = isinstance(a, Tensor), isinstance(b, Tensor)
    if not ta and type(a) not in _SCALARS:
        raise _operand_error(name, "input", a)
    if not tb and type(b) not in _SCALARS:
        raise _operand_error(name, "other", b)
    if not ta and not tb:
        raise TypeError(f"{name}(): expected at least one Tensor operand")
    if ta and tb and a._device is not b._device:
        a, b = _cpu_scalar_to_device(a, b, name)
    ref = a if ta else b
    promoted = result_type((a, b), name)
    if promoted.category == COMPLEX_CATEGORY and op in _REAL_ONLY:
        raise _real_only_error(op, name, promoted)
    if not promoted._plain and promoted.category != COMPLEX_CATEGORY:
        _check_limited(op, name, promoted, kind)
    compute = _compute_dtype(promoted, kind, name)
    out_dtype = _bool if kind in (COMPARE, LOGICAL) else compute
    a = _as_operand(a, compute, name)
    b = _as_operand(b, compute, name)
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        shape = broadcast_shapes(a._shape, b._shape, name)
    else:
        shape = ref._shape
    return run_wide(op, (a, b), (), shape, out_dtype, ref._device, ref._be)


def _cpu_scalar_to_device(a: Tensor, b: Tensor, name: str) -> tuple[Tensor, Tensor]:
    # PyTorch lets a 0-d cpu tensor take part in an op on another device
    if a._device.type == "cpu" and not a._shape:
        return a.to(b._device), b
    if b._device.type == "cpu" and not b._shape:
        return a, b.to(a._device)
    raise RuntimeError(f"{name}(): Expected all tensors to be on the same device, but found at "
                       f"least two devices, {a._device} and {b._device}!")


def _compute_dtype(promoted: _dt.dtype, kind: int, name: str) -> _dt.dtype:
    if kind == FLOAT and promoted.category < FLOATING_CATEGORY:
        return _dt.get_default_dtype()
    if kind == BITWISE and promoted.category >= FLOATING_CATEGORY:
        raise NotImplementedError(f"{name}(): not implemented for '{promoted.name}' (bitwise "
                                  "ops take integer and bool tensors)")
    if kind == LOGICAL:
        return _bool
    return promoted


def _as_operand(x: Any, compute: _dt.dtype, name: str) -> Any:
    if isinstance(x, Tensor):
        return cast(x, compute, name)
    return scalar_for(x, compute)


def unary(op: Op, name: str, x: Any, kind: int = ARITH) -> Tensor:
    """Run unary elementwise ``op``; FLOAT ops promote integer input to the default float."""
    if type(x) is not Tensor and not isinstance(x, Tensor):
        raise TypeError(f"{name}(): argument 'input' must be Tensor, not {type(x).__name__}")
    dtype = x._dtype
    if not dtype._plain:
        if dtype.category == COMPLEX_CATEGORY:
            return _unary_complex(op, name, x, kind)
        _check_limited(op, name, dtype, kind)
    # the common case's meta rule: the output has the input's dtype, not half precision
    if (kind == ARITH or (kind == FLOAT and dtype.category == FLOATING_CATEGORY)) and \
            dtype is not _float16 and dtype is not _bfloat16:
        return run(op, (x,), (), (x._shape, dtype), x._device, x._be)
    if kind == FLOAT and dtype.category != FLOATING_CATEGORY:
        x = cast(x, _dt.get_default_dtype())
        dtype = x._dtype
    elif kind == BITWISE and dtype.category == FLOATING_CATEGORY:
        raise NotImplementedError(f"{name}(): not implemented for '{dtype.name}'")
    elif kind == INTEGRAL_ID and dtype.category != FLOATING_CATEGORY:
        if dtype is _bool:
            raise NotImplementedError(f"{name}(): not implemented for 'Bool'")
        from .copying import clone

        return clone(x)
    elif kind == LOGICAL and dtype is not _bool:
        x = cast(x, _bool)  # operands as bool, as the binary logical ops
    out_dtype = _bool if kind in (COMPARE, LOGICAL) else dtype
    return run_wide(op, (x,), (), x._shape, out_dtype, x._device, x._be)


# elementwise ops PyTorch does not define on complex numbers (ordering, rounding, erf...)
_REAL_ONLY = frozenset({
    Op.LT, Op.LE, Op.GT, Op.GE, Op.MAXIMUM, Op.MINIMUM, Op.FLOOR_DIVIDE, Op.REMAINDER,
    Op.ATAN2, Op.FLOOR, Op.CEIL, Op.ROUND, Op.TRUNC, Op.ERF, Op.ERFINV, Op.SIGN, Op.RELU,
    Op.CLAMP, Op.BITWISE_AND, Op.BITWISE_OR, Op.BITWISE_XOR, Op.BITWISE_NOT,
})


def _real_only_error(op: Op, name: str, dtype: _dt.dtype) -> Exception:
    if op is Op.SIGN:
        return NotImplementedError("sign(): Unlike NumPy, torch.sign is not intended to support "
                                   "complex numbers. Please use torch.sgn instead.")
    if op in (Op.MAXIMUM, Op.MINIMUM):
        return RuntimeError(f"{name}(): {name} not implemented for complex tensors.")
    return NotImplementedError(f"{name}(): \"{name}\" not implemented for "
                               f"'{dtype.scalar_name}'")


# what PyTorch computes on uint16/uint32/uint64 without promoting them (its "limited support")
_LIMITED_OK = frozenset({Op.MUL, Op.EQ, Op.NE, Op.BITWISE_AND, Op.BITWISE_OR, Op.BITWISE_XOR})


def _check_limited(op: Op, name: str, dtype: _dt.dtype, kind: int) -> None:
    """uint16/32/64 take part only in ops that promote them to a float (``FLOAT`` kinds),
    leave integers unchanged (``INTEGRAL_ID``) or are in ``_LIMITED_OK``, as in PyTorch."""
    if dtype._q is not None:  # quantized: its backend refuses the op, naming it
        return
    if kind not in (FLOAT, INTEGRAL_ID) and op not in _LIMITED_OK:
        raise NotImplementedError(f"{name}(): \"{name}\" not implemented for "
                                  f"'{dtype.scalar_name}'")


def _unary_complex(op: Op, name: str, x: Tensor, kind: int) -> Tensor:
    """The meta rule of a unary op on a complex tensor: ``abs`` gives the real dtype, logical
    ops read "nonzero", the ordering, rounding and bitwise ops are refused as PyTorch's."""
    dtype = x._dtype
    if op in _REAL_ONLY or kind in (BITWISE, INTEGRAL_ID):
        raise _real_only_error(op, name, dtype)
    if kind == LOGICAL:
        return run(op, (cast(x, _bool),), (), (x._shape, _bool), x._device, x._be)
    out = dtype.to_real() if op is Op.ABS else _bool if kind == COMPARE else dtype
    return run(op, (x,), (), (x._shape, out), x._device, x._be)


def run_wide(op: Op, inputs: tuple, attrs: tuple, shape: tuple, dtype: _dt.dtype, device,
             be) -> Tensor:
    """``run`` for an elementwise op. A composite that runs decomposed in float16/bfloat16
    computes in float32 and rounds once, as PyTorch's kernels do (their "opmath" type):
    each step of the decomposition rounding to half precision would miss its tolerance
    (sigmoid, lerp, log2, remainder). A Python float operand is first rounded to ``dtype``, as
    the native kernels take it (``x - 0.1`` is 0 where ``x`` holds bfloat16's 0.1). Native
    kernels and primitives run as they are."""
    if dtype in _LOW and _float32 in be.dtypes and dispatch.decomposes(op, inputs, be):
        wide = tuple(cast(x, _float32) if isinstance(x, Tensor) else _rounded(x, dtype)
                     for x in inputs)
        return cast(run(op, wide, attrs, (shape, _float32), device, be), dtype)
    return run(op, inputs, attrs, (shape, dtype), device, be)


def _rounded(x: Any, dtype: _dt.dtype) -> Any:
    if type(x) is not float:
        return x
    from ..host import NUMPY_DTYPES

    return float(NUMPY_DTYPES[dtype].type(x))


def check_tensor(x: Any, name: str, arg: str = "input") -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}(): argument '{arg}' must be Tensor, not {type(x).__name__}")
    return x
