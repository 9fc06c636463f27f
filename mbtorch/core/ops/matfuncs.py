"""Matrix functions and products built on the factorizations and ``matmul``:
``matrix_power``, ``matrix_exp``, ``multi_dot``/``chain_matmul``, ``cross``, ``kron``,
``inner``, ``addmv``/``addr``/``addbmm``, ``vander``, ``tensorinv``/``tensorsolve``. They
are compositions of other mbtorch ops (no op of their own), so their gradients are those of
their parts and every backend runs them.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

from .. import dtypes as _dt
from ..meta import broadcast_shapes
from ..tensor import Tensor, method_table, wrap_dim
from . import solvers as _s
from ._reduce import check_input
from .copying import write_result
from .creation import eye, ones
from .joining import cat
from .linalg import _scaled_add, bmm, matmul, mv, outer, tensordot

TENSOR_METHODS: dict = {}
"""The ``Tensor`` methods this module provides, by name (installed by ``mbtorch.core.ops``)."""
tensor_method = method_table(TENSOR_METHODS)


@tensor_method
def matrix_power(input: Tensor, n: int) -> Tensor:
    """``A @ A @ ... @ A`` (``n`` times; the inverse's power for ``n < 0``, the identity for
    0), by repeated squaring."""
    name = "linalg.matrix_power"
    check_input(input, name, "A")
    if input.ndim < 2:
        raise RuntimeError(f"{name}: The input tensor A must have at least 2 dimensions.")
    if input._shape[-1] != input._shape[-2]:
        raise RuntimeError(f"{name}: A must be batches of square matrices, but they are "
                           f"{input._shape[-2]} by {input._shape[-1]} matrices")
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"matrix_power(): argument 'n' must be int, not {type(n).__name__}")
    A = input
    if n == 0:
        m = A._shape[-1]
        # as PyTorch: the identity copied into a clone, so the result is on A's graph
        return A.clone().copy_(eye(m, dtype=A._dtype, device=A._device).expand(A._shape))
    if n < 0:
        A, n = _s.inv(A), -n
    result = None
    while n:  # the binary digits of n, lowest first
        if n & 1:
            result = A if result is None else matmul(result, A)
        n >>= 1
        if n:
            A = matmul(A, A)
    return result


_EXP_DEGREE = 18  # 1/18! is below float64's epsilon: the Taylor tail of a norm-1 matrix


@tensor_method
def matrix_exp(A: Tensor) -> Tensor:
    """``exp(A)`` by scaling and squaring: a degree-18 Taylor polynomial of ``A / 2^s`` (1-norm
    at most 1) squared ``s`` times."""
    _s.check_square(A, "linalg.matrix_exp")
    n = A._shape[-1]
    identity = eye(n, dtype=A._dtype, device=A._device)
    if A.numel() == 0:
        return A.clone()
    norm = float(A.abs().sum(-2).amax().item())  # the largest 1-norm in the batch
    s = max(0, math.ceil(math.log2(norm))) if norm > 1 and math.isfinite(norm) else 0
    X = A / float(2 ** s)
    result = identity + X / float(_EXP_DEGREE)
    for k in range(_EXP_DEGREE - 1, 0, -1):  # Horner: I + X/1 (I + X/2 (I + ...))
        result = identity + matmul(X, result) / float(k)
    for _ in range(s):
        result = matmul(result, result)
    return result


def multi_dot(tensors: Sequence[Tensor], *, out: Any = None) -> Tensor:
    """The product of a chain of matrices; the first may be a row vector and the last a
    column vector (1-D), as in ``torch.linalg.multi_dot``."""
    name = "multi_dot()"
    tensors = list(tensors)
    if len(tensors) < 2:
        raise RuntimeError(f"{name}: expected at least 2 tensors but got {len(tensors)}")
    for i, t in enumerate(tensors):
        check_input(t, "multi_dot", f"tensors[{i}]")
        edge = i in (0, len(tensors) - 1)
        if not (t.ndim == 2 or (edge and t.ndim == 1)):
            where = "the first tensor" if i == 0 else (
                "the last tensor" if edge else f"tensor {i}")
            need = "1D or 2D" if edge else "2D"
            raise RuntimeError(f"{name}: {where} must be {need} but got {t.ndim}D")
    first, last = tensors[0].ndim == 1, tensors[-1].ndim == 1
    mats = list(tensors)
    if first:
        mats[0] = mats[0].unsqueeze(0)
    if last:
        mats[-1] = mats[-1].unsqueeze(-1)
    result = mats[0]
    for i in range(1, len(mats)):
        if result._shape[-1] != mats[i]._shape[0]:
            raise RuntimeError(f"{name}: tensors {i - 1} and {i} with shapes "
                               f"{list(tensors[i - 1]._shape)} and {list(tensors[i]._shape)} "
                               "cannot be multiplied")
        result = matmul(result, mats[i])
    if first:
        result = result.squeeze(0)
    if last:
        result = result.squeeze(-1)
    if out is not None:
        return write_result(out, result, "multi_dot")
    return result


def chain_matmul(*matrices: Tensor) -> Tensor:
    """``torch.chain_matmul``: the product of 2-D matrices (``multi_dot`` of them)."""
    if len(matrices) == 1:
        return matrices[0].clone()
    return multi_dot(matrices)


def _cross_dim(input: Tensor, other: Tensor, dim: Any, name: str) -> tuple:
    if input.ndim != other.ndim:
        raise RuntimeError(f"{name}: inputs must have the same number of dimensions.")
    shape = _broadcast_quiet(input._shape, other._shape)
    if dim is None:  # torch.cross's old default: the first dim of size 3
        dim = next((d for d, s in enumerate(shape) if s == 3), None)
        if dim is None:
            raise RuntimeError("no dimension of size 3 in input")
    given = dim
    dim = wrap_dim(dim, len(shape), name)
    if input._shape[dim] != 3 or other._shape[dim] != 3:
        raise RuntimeError(f"{name}: inputs dimension {given} must have length 3. Got "
                           f"{input._shape[dim]} and {other._shape[dim]}")
    return input.expand(shape), other.expand(shape), dim


def _broadcast_quiet(a: tuple, b: tuple) -> tuple:
    """The broadcast shape, with PyTorch's message unprefixed (as linalg.cross gives it)."""
    try:
        return broadcast_shapes(a, b)
    except RuntimeError as exc:
        raise RuntimeError(str(exc).split("(): ", 1)[-1]) from None


@tensor_method
def cross(input: Tensor, other: Tensor, dim: Any = None) -> Tensor:
    """The cross product of 3-vectors along ``dim`` (default: the first dim of size 3)."""
    return _cross(input, other, dim, "linalg.cross")


def _cross(input: Tensor, other: Tensor, dim: Any, name: str) -> Tensor:
    check_input(input, name)
    check_input(other, name, "other")
    input, other, dim = _cross_dim(input, other, dim, name)

    def part(t: Tensor, i: int) -> Tensor:
        return t.select(dim, i).unsqueeze(dim)

    a0, a1, a2 = (part(input, i) for i in range(3))
    b0, b1, b2 = (part(other, i) for i in range(3))
    return cat([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], dim)


def linalg_cross(input: Tensor, other: Tensor, *, dim: int = -1) -> Tensor:
    """``torch.linalg.cross``: the cross product along ``dim`` (default the last)."""
    return _cross(input, other, dim, "linalg.cross")


@tensor_method
def kron(input: Tensor, other: Tensor) -> Tensor:
    """The Kronecker product: block ``(i, j, ...)`` is ``input[i, j, ...] * other``."""
    check_input(input, "kron")
    check_input(other, "kron", "other")
    nd = max(input.ndim, other.ndim)
    a = input.reshape((1,) * (nd - input.ndim) + input._shape)
    b = other.reshape((1,) * (nd - other.ndim) + other._shape)
    spread_a = a.reshape(tuple(x for s in a._shape for x in (s, 1)))
    spread_b = b.reshape(tuple(x for s in b._shape for x in (1, s)))
    return (spread_a * spread_b).reshape(tuple(p * q for p, q in zip(a._shape, b._shape)))


@tensor_method
def inner(input: Tensor, other: Tensor) -> Tensor:
    """The sum of products over the last dims (a plain product if either is 0-d)."""
    check_input(input, "inner")
    check_input(other, "inner", "other")
    if input.ndim == 0 or other.ndim == 0:
        return input * other
    if input._shape[-1] != other._shape[-1]:
        raise RuntimeError(f"inner() the last dimension must match on both input tensors but "
                           f"got shapes {list(input._shape)} and {list(other._shape)}")
    return tensordot(input, other, ([input.ndim - 1], [other.ndim - 1]))


@tensor_method
def addmv(input: Tensor, mat: Tensor, vec: Tensor, *, beta: Any = 1,
          alpha: Any = 1) -> Tensor:
    """``beta * input + alpha * (mat @ vec)``."""
    check_input(input, "addmv")
    rows = mat._shape[:1] if isinstance(mat, Tensor) and mat.ndim == 2 else None
    fits = rows is not None and (input._shape in ((), (1,), rows))
    if rows is not None and isinstance(vec, Tensor) and vec.ndim == 1 and (
            vec._shape[0] != mat._shape[1] or not fits):
        raise RuntimeError(f"size mismatch, got input ({', '.join(map(str, input._shape))}), "
                           f"mat ({mat._shape[0]}x{mat._shape[1]}), vec ({vec._shape[0]})")
    return _scaled_add(input, mv(mat, vec), beta, alpha, "addmv")


@tensor_method
def addr(input: Tensor, vec1: Tensor, vec2: Tensor, *, beta: Any = 1,
         alpha: Any = 1) -> Tensor:
    """``beta * input + alpha * outer(vec1, vec2)``."""
    check_input(input, "addr")
    for v, arg in ((vec1, "vec1"), (vec2, "vec2")):
        check_input(v, "addr", arg)
        if v.ndim != 1:
            raise RuntimeError(f"addr: Expected 1-D argument {arg}, but got {v.ndim}-D")
    return _scaled_add(input, outer(vec1, vec2), beta, alpha, "addr")


@tensor_method
def addbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta: Any = 1,
           alpha: Any = 1) -> Tensor:
    """``beta * input + alpha * sum_i(batch1[i] @ batch2[i])``."""
    check_input(input, "addbmm")
    for b, arg in ((batch1, "batch1"), (batch2, "batch2")):
        check_input(b, "addbmm", arg)
        if b.ndim != 3:
            raise RuntimeError(f"{arg} must be a 3D tensor")
    if batch1._shape[0] != batch2._shape[0]:
        raise RuntimeError(f"batch1 and batch2 must have same number of batches, got "
                           f"{batch1._shape[0]} and {batch2._shape[0]}")
    prod = bmm(batch1, batch2).sum(0)
    return _scaled_add(input, prod, beta, alpha, "addbmm")


def _in_place(fn: Any, name: str) -> Any:
    def method(self: Tensor, *args: Any, beta: Any = 1, alpha: Any = 1) -> Tensor:
        return write_result(self, fn(self, *args, beta=beta, alpha=alpha), name)

    method.__name__ = name
    return method


for _fn in (addmv, addr, addbmm):
    TENSOR_METHODS[_fn.__name__ + "_"] = _in_place(_fn, _fn.__name__ + "_")


def addmv_(input: Tensor, mat: Tensor, vec: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """``torch.addmv_``: ``addmv`` written into ``input``."""
    return TENSOR_METHODS["addmv_"](input, mat, vec, beta=beta, alpha=alpha)


def _powers(x: Tensor, N: int) -> Tensor:
    """(*, n) -> (*, n, N): x^0, x^1, ..., x^(N-1)."""
    if N == 0:
        return x.unsqueeze(-1)[..., :0]
    first = ones(x._shape + (1,), dtype=x._dtype, device=x._device)
    rest = x.unsqueeze(-1).expand(x._shape + (N - 1,))
    return cat([first, rest], -1).cumprod(-1)


def vander(x: Tensor, N: int | None = None, increasing: bool = False) -> Tensor:
    """``torch.vander``: columns ``x^(N-1), ..., x^0`` (ascending when ``increasing``)."""
    check_input(x, "vander", "x")
    if x.ndim != 1:
        raise RuntimeError("x must be a one-dimensional tensor.")
    if N is not None and N < 0:
        raise RuntimeError("N must be non-negative.")
    if x._dtype.category == _dt.BOOL_CATEGORY or x._dtype in (_dt.int8, _dt.uint8, _dt.int16,
                                                                _dt.int32):
        x = x.long()
    out = _powers(x, x._shape[0] if N is None else N)
    return out if increasing else out.flip(-1)


def linalg_vander(x: Tensor, *, N: int | None = None) -> Tensor:
    """``torch.linalg.vander``: ascending powers along a new last dim, batched."""
    check_input(x, "linalg.vander", "x")
    if x.ndim < 1:
        raise RuntimeError("linalg.vander: x must have at least one dimension")
    n = x._shape[-1] if N is None else N
    if n <= 1:
        raise RuntimeError("N must be greater than 1.")
    return _powers(x, n)


def _prod(shape: Sequence[int]) -> int:
    return math.prod(shape)


def tensorinv(A: Tensor, ind: int = 2) -> Tensor:
    """The inverse of ``A`` seen as a linear map from ``A.shape[ind:]`` to ``A.shape[:ind]``."""
    check_input(A, "tensorinv", "A")
    if ind <= 0:
        raise RuntimeError(f"Expected a strictly positive integer for 'ind', but got {ind}")
    rows, cols = _prod(A._shape[:ind]), _prod(A._shape[ind:])
    if rows != cols:
        raise RuntimeError(f"Expected self to satisfy the requirement prod(self.shape[ind:]) == "
                           f"prod(self.shape[:ind]), but got {cols} != {rows}")
    inverse = _s.inv(A.reshape(rows, cols))
    return inverse.reshape(A._shape[ind:] + A._shape[:ind])


def tensorsolve(A: Tensor, B: Tensor, dims: Sequence[int] | None = None) -> Tensor:
    """``X`` with ``tensordot(A, X, X.ndim) == B``; ``dims`` of ``A`` move to the end first."""
    check_input(A, "tensorsolve", "A")
    check_input(B, "tensorsolve", "B")
    if dims is not None:
        dims = [wrap_dim(d, A.ndim, "tensorsolve") for d in dims]
        keep = [d for d in range(A.ndim) if d not in dims]
        A = A.permute(keep + list(dims))
    out_shape = A._shape[B.ndim:]
    rows, cols = _prod(B._shape), _prod(out_shape)
    if rows != cols:
        raise RuntimeError(f"Expected self to satisfy the requirement "
                           f"prod(self.shape[other.ndim:]) == prod(self.shape[:other.ndim]), "
                           f"but got {cols} != {rows}")
    return _s.solve(A.reshape(rows, cols), B.reshape(rows)).reshape(out_shape)


__all__ = ["addbmm", "addmv", "addmv_", "addr", "chain_matmul", "cross", "inner", "kron",
           "matrix_exp", "matrix_power", "vander"]
