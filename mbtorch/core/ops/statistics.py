"""Variance and standard deviation: ``var``, ``std``, ``var_mean``, ``std_mean``.

Op attrs: ``VAR``: ``(x, dims, correction, keepdim)`` (PyTorch's ``var.correction``
signature), ``dims`` a sorted non-empty tuple, ``correction`` an int or float.
"""

from __future__ import annotations

from typing import Any

from ..op import Op, define
from ..tensor import Tensor, method_table, wrap_dim
from . import binary as _b
from . import unary as _u
from ._common import cast
from ._reduce import check_input, numel_of, prepare, reduce, reduced_shape, upcast
from .reductions import mean

TENSOR_METHODS: dict = {}
"""The ``Tensor`` methods this module provides, by name (installed by ``mbtorch.core.ops``)."""
tensor_method = method_table(TENSOR_METHODS)


@define(Op.VAR)
def _var(x: Tensor, dims: tuple, correction: Any, keepdim: bool) -> Tensor:
    """Two passes (mean, then squared deviations) for accuracy; divides by
    ``max(0, N - correction)`` as PyTorch (so one sample with correction 1 gives nan)."""
    y = upcast(x)
    centred = _b.sub(y, reduce(Op.MEAN, y, dims, True, reduced_shape(y._shape, dims, True)))
    squares = reduce(Op.SUM, _b.mul(centred, centred), dims, keepdim,
                     reduced_shape(y._shape, dims, keepdim))
    denom = numel_of(x._shape, dims) - correction
    return cast(_b.div(squares, denom if denom > 0 else 0.0), x._dtype)


def _parse(name: str, dim: Any, unbiased: Any, correction: Any) -> tuple[Any, Any]:
    """``(dim, correction)`` from torch's overloads: ``var(x, True)`` is ``unbiased``;
    ``correction`` (default 1) and the legacy ``unbiased`` exclude each other."""
    if isinstance(dim, bool):
        if unbiased is not None:
            raise TypeError(f"{name}(): argument 'dim' must be int or tuple of ints, not bool")
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise TypeError(f"{name}(): cannot pass both 'unbiased' and 'correction'")
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    if isinstance(correction, Tensor):
        correction = correction.item()
    if type(correction) not in (int, float):
        raise TypeError(f"{name}(): argument 'correction' must be a number, not "
                        f"{type(correction).__name__}")
    return dim, correction


def _variance(input: Tensor, dim: Any, unbiased: Any, keepdim: bool, correction: Any,
              name: str) -> Tensor:
    check_input(input, name)
    if input._dtype.is_complex:  # E|z - Ez|^2: the variances of the two parts add (real)
        from .complex import imag, real

        return _b.add(_variance(real(input), dim, unbiased, keepdim, correction, name),
                      _variance(imag(input), dim, unbiased, keepdim, correction, name))
    if not input._dtype.is_floating_point:
        raise RuntimeError("std and var only support floating point and complex dtypes")
    dim, correction = _parse(name, dim, unbiased, correction)
    if isinstance(dim, (list, tuple)):
        # PyTorch's var checks dims in order: a repeat before an out-of-range dim is the error
        seen: set = set()
        for d in dim:
            w = wrap_dim(d, input.ndim, name)
            if w in seen:
                raise RuntimeError(f"{name}(): dim {w} appears multiple times in the list of "
                                   "dims")
            seen.add(w)
    x, dims, keepdim, shape = prepare(input, dim, keepdim, name)
    return reduce(Op.VAR, x, dims, keepdim, shape, extra=(correction,))


@tensor_method
def var(input: Tensor, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False,
        *, correction: Any = None) -> Tensor:
    """Variance over ``dim`` with Bessel's ``correction`` (default 1; ``unbiased=False`` is
    correction 0).

    >>> mbtorch.tensor([1.0, 2.0, 3.0, 4.0]).var()
    tensor(1.6667)
    """
    return _variance(input, dim, unbiased, keepdim, correction, "var")


@tensor_method
def std(input: Tensor, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False,
        *, correction: Any = None) -> Tensor:
    """Standard deviation: ``sqrt(var(...))`` with the same arguments."""
    return _u.sqrt(_variance(input, dim, unbiased, keepdim, correction, "std"))


def var_mean(input: Tensor, dim: Any = None, unbiased: bool | None = None,
             keepdim: bool = False, *, correction: Any = None) -> tuple[Tensor, Tensor]:
    """``(var, mean)`` over the same dims."""
    v = _variance(input, dim, unbiased, keepdim, correction, "var_mean")
    dim, _ = _parse("var_mean", dim, unbiased, correction)
    return v, mean(input, dim, keepdim)


def std_mean(input: Tensor, dim: Any = None, unbiased: bool | None = None,
             keepdim: bool = False, *, correction: Any = None) -> tuple[Tensor, Tensor]:
    """``(std, mean)`` over the same dims."""
    v, m = var_mean(input, dim, unbiased, keepdim, correction=correction)
    return _u.sqrt(v), m


__all__ = ["var", "std", "var_mean", "std_mean"]
