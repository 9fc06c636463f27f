"""Products: ``matmul``/``@`` (PyTorch's 1-D promotion, batching and broadcasting), ``mm``,
``bmm``, ``mv``, ``dot``/``vdot``, ``outer``, ``addmm``/``baddbmm``, ``trace``, ``tensordot``.

Everything lands on the ``MATMUL`` primitive, ``(..., M, K) @ (..., K, N)`` with equal batch
shapes: vectors become matrices and broadcast batches are ``expand`` views (stride 0), so no
operand is copied for broadcasting and the gradient is MATMUL's plus the views'.
"""

from __future__ import annotations

from typing import Any, Sequence

from .. import dtypes as _dt
from ..autocast import AUTOCAST, lower, to_float32
from ..meta import broadcast_shapes, check_same_device
from ..op import Op
from ..tensor import Tensor, method_table, wrap_dim
from . import binary as _b
from ._common import run
from ._reduce import check_input
from .copying import write_result

TENSOR_METHODS: dict = {}
"""The ``Tensor`` methods this module provides, by name (installed by ``mbtorch.core.ops``)."""
tensor_method = method_table(TENSOR_METHODS)

# members read per call: ``Op.X`` is a slow attribute on Python 3.11 (EnumType.__getattr__)
_MATMUL = Op.MATMUL

# C++ type names PyTorch prints in "expected m1 and m2 to have the same dtype" messages
_C_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half",
            "bfloat16": "c10::BFloat16", "int64": "long int", "int32": "int",
            "int16": "short int", "int8": "signed char", "uint8": "unsigned char", "bool": "bool"}


def _check_pair(a: Any, b: Any, name: str, args: tuple[str, str] = ("input", "other")) -> None:
    check_input(a, name, args[0])
    check_input(b, name, args[1])
    check_same_device((a, b), name, args)


def _check_dtypes(a: Tensor, b: Tensor, name: str, batched: bool = False) -> None:
    if a._dtype is not b._dtype:
        if batched:
            raise RuntimeError(f"expected scalar type {a._dtype.scalar_name} but found "
                               f"{b._dtype.scalar_name}")
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: "
                           f"{_C_NAMES[a._dtype.name]} != {_C_NAMES[b._dtype.name]}")
    if a._dtype is _dt.bool:
        raise NotImplementedError(f"{name}(): \"addmm_impl_cpu_\" not implemented for 'Bool'")


def _matmul(a: Tensor, b: Tensor) -> Tensor:
    """The MATMUL primitive on operands already checked (ndim >= 2, equal batch shapes)."""
    shape = a._shape[:-1] + b._shape[-1:]
    return run(_MATMUL, (a, b), (), (shape, a._dtype), a._device, a._be)


def _mm_shapes(a: tuple, b: tuple) -> None:
    if a[1] != b[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({a[0]}x{a[1]} and "
                           f"{b[0]}x{b[1]})")


@tensor_method
def mm(input: Tensor, mat2: Tensor) -> Tensor:
    """Matrix product of two 2-D tensors of one dtype."""
    if AUTOCAST.on:
        input, mat2 = lower(input, mat2)
    _check_pair(input, mat2, "mm", ("input", "mat2"))
    if input.ndim != 2:
        raise RuntimeError("self must be a matrix")
    if mat2.ndim != 2:
        raise RuntimeError("mat2 must be a matrix")
    _check_dtypes(input, mat2, "mm")
    _mm_shapes(input._shape, mat2._shape)
    return _matmul(input, mat2)


def _check_mv(mat: Tensor, vec: Tensor) -> None:
    if mat._shape[1] != vec._shape[0]:
        raise RuntimeError(f"size mismatch, got input ({mat._shape[0]}), mat "
                           f"({mat._shape[0]}x{mat._shape[1]}), vec ({vec._shape[0]})")


@tensor_method
def mv(input: Tensor, vec: Tensor) -> Tensor:
    """Matrix-vector product: ``(M, K) @ (K,) -> (M,)``."""
    _check_pair(input, vec, "mv", ("input", "vec"))
    if input.ndim != 2 or vec.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got 1, {input.ndim}, "
                           f"{vec.ndim}")
    _check_dtypes(input, vec, "mv")
    _check_mv(input, vec)
    return _matmul(input, vec.unsqueeze(1)).squeeze(1)


def _check_dot(a: Tensor, b: Tensor, name: str) -> None:
    _check_pair(a, b, name, ("input", "tensor"))
    if a.ndim != 1 or b.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {a.ndim}D and {b.ndim}D tensors")
    if a._dtype is not b._dtype:
        raise RuntimeError(f"{name} : expected both vectors to have same dtype, but found "
                           f"{a._dtype.scalar_name} and {b._dtype.scalar_name}")
    if a._shape != b._shape:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{a._shape[0]}] and src "
                           f"[{b._shape[0]}] to have the same number of elements, but got "
                           f"{a._shape[0]} and {b._shape[0]} elements respectively")
    if a._dtype is _dt.bool:
        raise NotImplementedError(f"{name}(): \"dot\" not implemented for 'Bool'")


@tensor_method
def dot(input: Tensor, tensor: Tensor) -> Tensor:
    """Inner product of two 1-D tensors of one dtype (a 0-d result)."""
    _check_dot(input, tensor, "dot")
    return _matmul(input.unsqueeze(0), tensor.unsqueeze(1)).reshape(())


@tensor_method
def vdot(input: Tensor, other: Tensor) -> Tensor:
    """``dot`` conjugating the first argument (the same thing for real tensors)."""
    _check_dot(input, other, "vdot")
    if input._dtype.is_complex:
        from .complex import conj_physical

        input = conj_physical(input)
    return _matmul(input.unsqueeze(0), other.unsqueeze(1)).reshape(())


@tensor_method
def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    """Batched matrix product: ``(B, M, K) @ (B, K, N)``, no broadcasting."""
    if AUTOCAST.on:
        input, mat2 = lower(input, mat2)
    _check_pair(input, mat2, "bmm", ("input", "mat2"))
    if input.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor")
    if mat2.ndim != 3:
        raise RuntimeError("batch2 must be a 3D tensor")
    _check_dtypes(input, mat2, "bmm", batched=True)
    _check_batch(input._shape[0], input._shape[2], mat2._shape[0], mat2._shape[1])
    return _matmul(input, mat2)


def _check_batch(batch: int, k: int, batch2: int, k2: int) -> None:
    if (batch, k) != (batch2, k2):
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{batch}, {k}] but got: [{batch2}, {k2}].")


@tensor_method
def matmul(input: Tensor, other: Tensor) -> Tensor:
    """``input @ other`` with PyTorch's rules: 1-D @ 1-D is ``dot``, 2-D @ 1-D is ``mv``, a
    1-D operand gains a dim that is removed afterwards, batch dims broadcast.

    >>> (mbtorch.ones(5, 1, 2, 3) @ mbtorch.ones(4, 3, 2)).shape
    mbtorch.Size([5, 4, 2, 2])
    """
    if AUTOCAST.on:
        input, other = lower(input, other)
    _check_pair(input, other, "matmul")
    da, db = input.ndim, other.ndim
    if da == 0 or db == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are "
                           f"{da}D and {db}D")
    if da == 1 and db == 1:
        return dot(input, other)
    if da == 2 and db == 1:
        return mv(input, other)
    if da <= 2 and db == 2:
        a = input.unsqueeze(0) if da == 1 else input
        return mm(a, other).squeeze(0) if da == 1 else mm(a, other)
    if db <= 2:  # (..., M, K) @ (K[, N]): fold the batch into rows, as PyTorch does
        _check_dtypes(input, other, "matmul")
        m = 1
        for s in input._shape[:-1]:
            m *= s
        rows = input.reshape(m, input._shape[-1])
        if db == 1:
            _check_mv(rows, other)
            out = _matmul(rows, other.unsqueeze(1))
            return out.reshape(input._shape[:-1])
        _mm_shapes(rows._shape, other._shape)
        return _matmul(rows, other).reshape(input._shape[:-1] + other._shape[-1:])
    return _batched(input, other)


def _batched(input: Tensor, other: Tensor) -> Tensor:
    """``other`` has 3+ dims: broadcast the batch dims and expand both (views)."""
    _check_dtypes(input, other, "matmul", batched=True)
    a = input.unsqueeze(0) if input.ndim == 1 else input
    batch = broadcast_shapes(a._shape[:-2], other._shape[:-2], "matmul")
    n = 1
    for s in batch:
        n *= s
    _check_batch(n, a._shape[-1], n, other._shape[-2])
    a = a.expand(batch + a._shape[-2:])
    b = other.expand(batch + other._shape[-2:])
    out = _matmul(a, b)
    return out.squeeze(-2) if input.ndim == 1 else out


def _matmul_op(self: Any, other: Any) -> Any:
    if not isinstance(other, Tensor):
        return NotImplemented
    return matmul(self, other)


def _rmatmul_op(self: Any, other: Any) -> Any:
    if not isinstance(other, Tensor):
        return NotImplemented
    return matmul(other, self)


TENSOR_METHODS["__matmul__"] = _matmul_op
TENSOR_METHODS["__rmatmul__"] = _rmatmul_op


@tensor_method
def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """``input[i] * vec2[j]`` for 1-D tensors (dtypes promote, as ``mul``)."""
    _check_pair(input, vec2, "outer", ("input", "vec2"))
    for t, arg in ((input, "self"), (vec2, "vec2")):
        if t.ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {arg}, but got {t.ndim}-D")
    return _b.mul(input.unsqueeze(1), vec2.unsqueeze(0))


ger = outer
tensor_method(ger, name="ger")


def _scaled_add(input: Tensor, prod: Tensor, beta: Any, alpha: Any, name: str) -> Tensor:
    """``beta * input + alpha * prod`` with ``input`` broadcast to ``prod``'s shape;
    ``beta == 0`` ignores ``input`` (nan and inf in it do not propagate)."""
    if broadcast_shapes(input._shape, prod._shape, name) != prod._shape:
        raise RuntimeError(f"{name}(): the shape of input {list(input._shape)} cannot be "
                           f"broadcast to {list(prod._shape)}")
    if not prod._dtype.is_floating_point and (type(alpha) is float or type(beta) is float):
        raise RuntimeError(f"{name}(): for integral input tensors, alpha and beta must not be "
                           "floating point numbers")
    if alpha != 1:
        prod = _b.mul(prod, alpha)
    if beta == 0:
        return prod
    return _b.add(input if beta == 1 else _b.mul(input, beta), prod)


@tensor_method
def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta: Any = 1,
          alpha: Any = 1) -> Tensor:
    """``beta * input + alpha * (mat1 @ mat2)``."""
    if AUTOCAST.on:
        input, mat1, mat2 = lower(input, mat1, mat2)
    check_input(input, "addmm")
    _check_dtypes(input, mat1, "addmm")
    return _scaled_add(input, mm(mat1, mat2), beta, alpha, "addmm")


@tensor_method
def baddbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta: Any = 1,
            alpha: Any = 1) -> Tensor:
    """``beta * input + alpha * bmm(batch1, batch2)``."""
    if AUTOCAST.on:
        input, batch1, batch2 = lower(input, batch1, batch2)
    check_input(input, "baddbmm")
    _check_dtypes(input, batch1, "baddbmm", batched=True)
    return _scaled_add(input, bmm(batch1, batch2), beta, alpha, "baddbmm")


def _addmm_(self: Tensor, mat1: Tensor, mat2: Tensor, *, beta: Any = 1, alpha: Any = 1):
    return write_result(self, addmm(self, mat1, mat2, beta=beta, alpha=alpha), "addmm_")


def _baddbmm_(self: Tensor, batch1: Tensor, batch2: Tensor, *, beta: Any = 1, alpha: Any = 1):
    return write_result(self, baddbmm(self, batch1, batch2, beta=beta, alpha=alpha),
                        "baddbmm_")


TENSOR_METHODS["addmm_"] = _addmm_
TENSOR_METHODS["baddbmm_"] = _baddbmm_


@tensor_method
def trace(input: Tensor) -> Tensor:
    """Sum of the main diagonal of a 2-D tensor (integers give int64)."""
    if AUTOCAST.on:  # on PyTorch's autocast float32 list
        (input,) = to_float32(input)
    check_input(input, "trace")
    if input.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input.ndim}")
    if input._dtype is _dt.bool:
        raise NotImplementedError("\"trace\" not implemented for 'Bool'")
    from .reductions import sum as sum_

    return sum_(input.diagonal())


def _tensordot_dims(a: Tensor, b: Tensor, dims: Any) -> tuple[list, list]:
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        if dims > min(a.ndim, b.ndim):
            raise RuntimeError(f"tensordot expects dims < ndim_a or ndim_b, but got "
                               f"dims={dims}")
        return list(range(-dims, 0)), list(range(dims))
    if len(dims) != 2:
        raise RuntimeError("tensordot expects dims to be an int or a pair of lists")
    da, db = dims
    da = [da] if isinstance(da, int) else list(da)
    db = [db] if isinstance(db, int) else list(db)
    if len(da) != len(db):
        raise RuntimeError(f"both dimension lists should have same length, but got {len(da)} "
                           f"and {len(db)}")
    return da, db


def tensordot(a: Tensor, b: Tensor, dims: Any = 2) -> Tensor:
    """Contract ``a``'s ``dims[0]`` with ``b``'s ``dims[1]`` (or the last/first ``dims``)."""
    if AUTOCAST.on:
        a, b = lower(a, b)
    _check_pair(a, b, "tensordot", ("a", "b"))
    da, db = _tensordot_dims(a, b, dims)
    ca = [wrap_dim(d, a.ndim, "tensordot") for d in da]
    cb = [wrap_dim(d, b.ndim, "tensordot") for d in db]
    for i, j, ri, rj in zip(ca, cb, da, db):
        if a._shape[i] != b._shape[j]:
            raise RuntimeError(f"contracted dimensions need to match, but first has size "
                               f"{a._shape[i]} in dim {ri} and second has size "
                               f"{b._shape[j]} in dim {rj}")
    free_a = [d for d in range(a.ndim) if d not in ca]
    free_b = [d for d in range(b.ndim) if d not in cb]
    return _contract(a, b, free_a, ca, cb, free_b)


def _contract(a: Tensor, b: Tensor, free_a: Sequence[int], ca: Sequence[int],
              cb: Sequence[int], free_b: Sequence[int]) -> Tensor:
    """Permute and reshape both to matrices, one MATMUL, reshape back."""
    _check_dtypes(a, b, "tensordot", batched=True)
    k = 1
    for d in ca:
        k *= a._shape[d]
    out_a = tuple(a._shape[d] for d in free_a)
    out_b = tuple(b._shape[d] for d in free_b)
    m = 1
    for s in out_a:
        m *= s
    n = 1
    for s in out_b:
        n *= s
    left = a.permute(*free_a, *ca).reshape(m, k)
    right = b.permute(*cb, *free_b).reshape(k, n)
    return _matmul(left, right).reshape(out_a + out_b)


__all__ = ["matmul", "mm", "bmm", "mv", "dot", "vdot", "outer", "ger", "addmm", "baddbmm",
           "trace", "tensordot"]
