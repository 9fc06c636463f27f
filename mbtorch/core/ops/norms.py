"""Norms: ``linalg.vector_norm``, ``linalg.matrix_norm``, ``linalg.norm`` and the older
``torch.norm`` (``Tensor.norm``), with PyTorch's argument rules and messages.

Op attrs: ``VECTOR_NORM``: ``(x, dims, ord, keepdim)``, ``x`` floating (already in the
requested dtype), ``ord`` a float (``inf``, ``-inf``, 0, 1, 2 or any other), ``dims`` a
sorted non-empty tuple. It has its own Op so the derivative table can give the subgradient
PyTorch uses at 0 (the decomposition's ``sqrt`` would give nan there). Matrix norms that
need singular values (``ord`` 2, -2, ``'nuc'``) come from ``spectral.svdvals``.
"""

from __future__ import annotations

import functools
import math
from typing import Any

from .. import dtypes as _dt
from ..op import Op, define
from ..state import STATE
from ..tensor import Tensor, method_table, wrap_dim
from . import binary as _b
from . import unary as _u
from ._common import cast
from ._reduce import check_input, prepare, reduce, reduced_shape, upcast

TENSOR_METHODS: dict = {}
"""The ``Tensor`` methods this module provides, by name (installed by ``mbtorch.core.ops``)."""
tensor_method = method_table(TENSOR_METHODS)

_NUMBER = (int, float)


@define(Op.VECTOR_NORM)
def _vector_norm(x: Tensor, dims: tuple, ord: float, keepdim: bool) -> Tensor:
    y = upcast(x)
    shape = reduced_shape(y._shape, dims, keepdim)
    a = _u.abs(y)
    if ord == math.inf:
        out = reduce(Op.AMAX, a, dims, keepdim, shape)
    elif ord == -math.inf:
        out = reduce(Op.AMIN, a, dims, keepdim, shape)
    elif ord == 0:
        out = _count_nonzero(y, a, dims, keepdim, shape)
    elif ord == 1:
        out = reduce(Op.SUM, a, dims, keepdim, shape)
    elif ord == 2:
        out = _root(reduce(Op.SUM, _b.mul(a, a), dims, keepdim, shape), 2.0)
    else:
        out = _root(reduce(Op.SUM, _b.pow(a, ord), dims, keepdim, shape), ord)
    return cast(out, x._dtype)


def _count_nonzero(y: Tensor, a: Tensor, dims: tuple, keepdim: bool, shape: tuple) -> Tensor:
    """The count of non-zeros (NaN counts). As in PyTorch the result requires grad, but its
    gradient is undefined rather than 0: ``x.grad`` stays None, and ``autograd.grad`` needs
    ``allow_unused=True``; so it is recorded as one node whose backward gives no gradient."""
    if y.requires_grad and STATE.grad_enabled:
        return _count_function().apply(a, dims, keepdim, shape)
    return _count(a, dims, keepdim, shape)


def _count(a: Tensor, dims: tuple, keepdim: bool, shape: tuple) -> Tensor:
    nonzero = _u.where(_u.isnan(a), 1.0, _u.sign(a))
    return reduce(Op.SUM, nonzero, dims, keepdim, shape)


@functools.cache
def _count_function() -> type:
    from ...autograd.function import Function  # autograd imports the ops: not at load time

    class LinalgVectorNorm(Function):  # its node is LinalgVectorNormBackward, as PyTorch's
        @staticmethod
        def forward(ctx: Any, a: Tensor, dims: tuple, keepdim: bool, shape: tuple) -> Tensor:
            return _count(a, dims, keepdim, shape)

        @staticmethod
        def backward(ctx: Any, g: Tensor) -> tuple:
            return None, None, None, None

    return LinalgVectorNorm


def _root(s: Tensor, ord: float) -> Tensor:
    """``s ** (1 / ord)`` whose gradient at ``s == 0`` is 0, PyTorch's subgradient there (the
    root's own derivative is infinite, and inf * 0 would make it nan): the root sees 1 in
    those lanes, and WHERE sends no gradient to the branch it does not take."""
    zero = _b.eq(s, 0)
    safe = _u.where(zero, 1.0, s)
    root = _u.sqrt(safe) if ord == 2 else _b.pow(safe, 1.0 / ord)
    return _u.where(zero, 0.0, root)


def _check_floating(x: Tensor, name: str) -> None:
    if x._dtype.category != _dt.FLOATING_CATEGORY:
        raise RuntimeError(f"{name}: Expected a floating point or complex tensor as input. "
                           f"Got {x._dtype.scalar_name}")


def _with_dtype(x: Tensor, dtype: Any, name: str) -> Tensor:
    if dtype is None:
        return x
    dtype = _dt.as_dtype(dtype, name)
    if dtype.category != _dt.FLOATING_CATEGORY or _dt.promote_types(x._dtype, dtype) is not dtype:
        raise RuntimeError(f"{name}: the dtype of the input ({x._dtype.scalar_name}) should be "
                           f"convertible without narrowing to the specified dtype "
                           f"({dtype.scalar_name})")
    return cast(x, dtype, name)


def _ord_text(ord: float) -> str:
    if math.isinf(ord):
        return "inf" if ord > 0 else "-inf"
    return str(int(ord)) if float(ord).is_integer() else str(ord)


def vector_norm(x: Tensor, ord: Any = 2, dim: Any = None, keepdim: bool = False, *,
                dtype: _dt.dtype | None = None) -> Tensor:
    """``sum(|x|**ord) ** (1/ord)`` over ``dim`` (all elements by default); ``ord`` may be
    ``inf`` (max), ``-inf`` (min) or 0 (count of non-zeros).

    >>> mbtorch.linalg.vector_norm(mbtorch.tensor([3.0, -4.0]))
    tensor(5.)
    """
    name = "linalg.vector_norm"
    check_input(x, name, "input")
    if isinstance(ord, Tensor):
        ord = ord.item()
    if type(ord) not in _NUMBER:
        raise TypeError(f"linalg_vector_norm(): argument 'ord' (position 2) must be Number, "
                        f"not {type(ord).__name__}")
    if not x._dtype.is_complex:
        _check_floating(x, name)
    x = _with_dtype(x, dtype, name)
    if x._dtype.is_complex:
        x = _u.abs(x)  # the norm of the magnitudes, in the real dtype (as PyTorch's)
    y, dims, keepdim, shape = prepare(x, dim, keepdim, name)
    if (ord < 0 or math.isinf(ord)) and any(y._shape[d] == 0 for d in dims):
        raise RuntimeError(f"{name} cannot compute the {_ord_text(ord)} norm on an empty "
                           "tensor because the operation does not have an identity")
    return reduce(Op.VECTOR_NORM, y, dims, keepdim, shape, extra=(float(ord),))


def _matrix_dims(A: Tensor, dim: Any, name: str) -> tuple[int, int]:
    dims = tuple(dim) if isinstance(dim, (tuple, list)) else (dim,)
    if len(dims) != 2:
        raise RuntimeError(f"{name}: dim must be a 2-tuple. Got {' '.join(map(str, dims))}")
    d0, d1 = (wrap_dim(d, A.ndim, name) for d in dims)
    if d0 == d1:
        raise RuntimeError(f"{name}: dims must be different. Got ({d0}, {d1})")
    return d0, d1


def matrix_norm(A: Tensor, ord: Any = "fro", dim: Any = (-2, -1), keepdim: bool = False, *,
                dtype: _dt.dtype | None = None) -> Tensor:
    """Frobenius (``'fro'``), max-column-sum (1, -1 for the min) or max-row-sum (``inf``,
    ``-inf``) norm over the two dims ``dim``."""
    name = "linalg.matrix_norm"
    check_input(A, name, "A")
    if A.ndim < 2:
        raise RuntimeError(f"{name}: The input tensor A must have at least 2 dimensions.")
    d0, d1 = _matrix_dims(A, dim, name)
    _check_floating(A, name)
    if ord == "fro":
        return vector_norm(A, 2, (d0, d1), keepdim, dtype=dtype)
    if ord == "nuc" or (ord in (2, -2) and not isinstance(ord, bool)):
        from .spectral import spectral_matrix_norm

        return spectral_matrix_norm(_with_dtype(A, dtype, name), ord, (d0, d1), keepdim)
    if ord not in (1, -1, math.inf, -math.inf) or isinstance(ord, (bool, str)):
        raise RuntimeError(f"{name}: Order {ord} not supported.")
    A = _with_dtype(A, dtype, name)
    sum_dim, max_dim = (d0, d1) if ord in (1, -1) else (d1, d0)
    from .reductions import amax, amin
    from .reductions import sum as sum_

    sums = sum_(_u.abs(A), sum_dim, keepdim=True)
    if A._shape[max_dim] == 0:
        out = sum_(sums, max_dim, keepdim=True)  # PyTorch gives 0 for an empty matrix
    else:
        out = (amax if ord > 0 else amin)(sums, max_dim, keepdim=True)
    return out if keepdim else out.squeeze((d0, d1))


def linalg_norm(A: Tensor, ord: Any = None, dim: Any = None, keepdim: bool = False, *,
                dtype: _dt.dtype | None = None) -> Tensor:
    """``mbtorch.linalg.norm``: a vector norm over one dim (or the flattened input when
    ``ord`` and ``dim`` are None), a matrix norm over two."""
    check_input(A, "linalg.norm", "A")
    if dim is not None:
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        if len(dims) == 1:
            return vector_norm(A, 2 if ord is None else ord, dims, keepdim, dtype=dtype)
        if len(dims) == 2:
            return matrix_norm(A, "fro" if ord is None else ord, dims, keepdim, dtype=dtype)
        raise RuntimeError(f"linalg.norm: If dim is specified, it must be of length 1 or 2. "
                           f"Got {list(dims)}")
    if ord is None:
        return vector_norm(A, 2, None, keepdim, dtype=dtype)
    if A.ndim not in (1, 2):
        raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must "
                           f"be 1D or 2D. Got {A.ndim}D.")
    if A.ndim == 1:
        return vector_norm(A, ord, None, keepdim, dtype=dtype)
    return matrix_norm(A, ord, (0, 1), keepdim, dtype=dtype)


@tensor_method
def norm(input: Tensor, p: Any = "fro", dim: Any = None, keepdim: bool = False,
         dtype: _dt.dtype | None = None) -> Tensor:
    """``torch.norm``: ``p`` a number is a vector norm over ``dim`` (all elements by
    default); ``'fro'`` is the 2-norm; ``'nuc'`` a matrix norm."""
    check_input(input, "norm")
    if isinstance(p, str):
        if p == "fro" and (dim is None or isinstance(dim, int) or len(dim) <= 2):
            return vector_norm(input, 2, dim, keepdim, dtype=dtype)
        dims = tuple(range(input.ndim)) if dim is None else dim
        return matrix_norm(input, p, dims, keepdim, dtype=dtype)
    return vector_norm(input, 2 if p is None else p, dim, keepdim, dtype=dtype)


@tensor_method
def dist(input: Tensor, other: Tensor, p: Any = 2) -> Tensor:
    """The ``p``-norm of ``input - other`` (broadcast), a 0-d tensor."""
    check_input(input, "dist")
    check_input(other, "dist", "other")
    diff = _b.sub(input, other)
    if diff._dtype.category != _dt.FLOATING_CATEGORY:
        raise RuntimeError(f"norm(): input dtype should be either floating point or complex. "
                           f"Got {diff._dtype.scalar_name} instead.")
    return vector_norm(diff, float(p))


_CDIST_MODES = ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist",
                "donot_use_mm_for_euclid_dist")


def _check_cdist(x1: Tensor, x2: Tensor, p: float, compute_mode: Any) -> None:
    for x, name in ((x1, "X1"), (x2, "X2")):
        check_input(x, "cdist", name.lower())
        if x._dtype.category != _dt.FLOATING_CATEGORY:
            raise RuntimeError(f"cdist only supports floating-point dtypes, {name} got: "
                               f"{x._dtype.scalar_name}")
        if x.ndim < 2:
            raise RuntimeError(f"cdist only supports at least 2D tensors, {name} got: "
                               f"{x.ndim}D")
    if x1._dtype is not x2._dtype:
        raise RuntimeError(f"expected scalar type {x1._dtype.scalar_name} but found "
                           f"{x2._dtype.scalar_name}")
    if x1._shape[-1] != x2._shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: "
                           f"{x1._shape[-1]} X2: {x2._shape[-1]}")
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    if compute_mode not in _CDIST_MODES:
        raise ValueError(f"{compute_mode} is not a valid value for compute_mode")


def _euclidean_by_matmul(x1: Tensor, x2: Tensor) -> Tensor:
    # PyTorch's formulation: |a|^2 + |b|^2 - 2 a.b as one matmul, clamped before the root
    from .creation import ones_like
    from .joining import cat
    from .linalg import matmul
    from .reductions import sum as sum_

    n1 = sum_(_b.mul(x1, x1), -1, keepdim=True)
    n2 = sum_(_b.mul(x2, x2), -1, keepdim=True)
    a = cat([_b.mul(x1, -2), n1, ones_like(n1)], -1)
    b = cat([x2, ones_like(n2), n2], -1)
    return _u.sqrt(_u.clamp_min(matmul(a, b.transpose(-2, -1)), 1e-30))


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0,
          compute_mode: str = "use_mm_for_euclid_dist_if_necessary") -> Tensor:
    """Pairwise ``p``-norm distances between the rows of ``x1`` (..., P, M) and ``x2``
    (..., R, M): (..., P, R), batch dims broadcast. For ``p == 2`` the matmul formulation
    runs when ``compute_mode`` asks for it or (the default) when P or R exceeds 25."""
    p = float(p)
    _check_cdist(x1, x2, p, compute_mode)
    from ..meta import broadcast_shapes

    batch = broadcast_shapes(x1._shape[:-2], x2._shape[:-2], "cdist")
    x1 = x1.expand(*batch, *x1._shape[-2:])
    x2 = x2.expand(*batch, *x2._shape[-2:])
    rows1, rows2 = x1._shape[-2], x2._shape[-2]
    mm = compute_mode == _CDIST_MODES[1] or (compute_mode == _CDIST_MODES[0]
                                             and (rows1 > 25 or rows2 > 25))
    if p == 2 and mm and x1._shape[-1] > 0:
        return _euclidean_by_matmul(x1, x2)
    diff = _b.sub(x1.unsqueeze(-2), x2.unsqueeze(-3))  # (..., P, R, M)
    if diff._shape[-1] == 0:
        from .creation import zeros

        return zeros(diff._shape[:-1], dtype=diff._dtype, device=diff._device)
    return vector_norm(diff, p, -1)


__all__ = ["cdist", "dist", "norm"]
