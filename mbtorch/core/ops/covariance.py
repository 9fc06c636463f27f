"""Covariance and correlation matrices: ``cov`` (Bessel ``correction``, frequency weights
``fweights`` and observation weights ``aweights``) and ``corrcoef``.

Written as PyTorch's own composition (ATen ``Correlation.cpp``) with mbtorch ops, so dtypes
(integer input gives the default float dtype's promotion), the zero-degrees-of-freedom case and
gradients match on every backend.
"""

from __future__ import annotations

import warnings
from typing import Any

from .. import dtypes as _dt
from ..tensor import Tensor, method_table
from . import views as _v
from .linalg import mm
from .reductions import amin, sum
from .ternary import clamp

TENSOR_METHODS: dict = {}
"""The ``Tensor`` methods this module provides, by name (installed by ``mbtorch.core.ops``)."""
tensor_method = method_table(TENSOR_METHODS)


def _check_weights(w: Any, kind: str, n: int) -> None:
    if not isinstance(w, Tensor):
        raise TypeError(f"cov(): argument '{kind}' must be Tensor, not {type(w).__name__}")
    if w.ndim > 1:
        raise RuntimeError(f"cov(): expected {kind} to have one or fewer dimensions but got "
                           f"{kind} with {w.ndim} dimensions")
    integral = w._dtype.category == _dt.INTEGRAL_CATEGORY
    if kind == "fweights" and not integral:
        raise RuntimeError("cov(): expected fweights to have integral dtype but got fweights "
                           f"with {w._dtype.scalar_name} dtype")
    if kind == "aweights" and not w._dtype.is_floating_point:
        raise RuntimeError("cov(): expected aweights to have floating point dtype but got "
                           f"aweights with {w._dtype.scalar_name} dtype")
    if w.numel() != n:
        raise RuntimeError(f"cov(): expected {kind} to have the same numel as there are "
                           f"observations in the input but got {w.numel()} != {n}")
    if n and amin(w).item() < 0:
        raise RuntimeError(f"cov(): {kind} cannot be negative")


@tensor_method
def cov(input: Tensor, *, correction: int = 1, fweights: Tensor | None = None,
        aweights: Tensor | None = None) -> Tensor:
    """The covariance matrix of the variables in the rows of ``input`` (observations in the
    columns; a 1-d input is one variable), divided by ``sum(w) - correction``.

    >>> mbtorch.cov(mbtorch.tensor([[0.0, 1.0, 2.0], [2.0, 1.0, 0.0]]))
    tensor([[ 1., -1.],
            [-1.,  1.]])
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"cov(): argument 'input' must be Tensor, not {type(input).__name__}")
    if input.ndim > 2:
        raise RuntimeError("cov(): expected input to have two or fewer dimensions but got an "
                           f"input with {input.ndim} dimensions")
    if input._dtype is _dt.bool:
        raise RuntimeError("cov(): bool dtype is not supported for input")
    x = _v.reshape(input, (1, -1)) if input.ndim < 2 else input
    n = x._shape[1]
    w = None
    for kind, given in (("fweights", fweights), ("aweights", aweights)):
        if given is not None:
            _check_weights(given, kind, n)
            w = given if w is None else w * given
    w_sum = sum(w) if w is not None else n
    if w is not None and w_sum.item() == 0:
        raise RuntimeError("cov(): weights sum to zero, can't be normalized")
    avg = sum(x * w if w is not None else x, 1) / w_sum
    if w is not None and aweights is not None and correction != 0:
        norm = w_sum - correction * sum(w * aweights) / w_sum
    else:
        norm = w_sum - correction
    if (norm.item() if isinstance(norm, Tensor) else norm) <= 0:
        warnings.warn("cov(): degrees of freedom is <= 0. Correction should be strictly less "
                      "than the number of observations.", UserWarning, stacklevel=2)
        norm = norm * 0
    centred = x - _v.unsqueeze(avg, 1)
    c = mm(centred, (centred * w if w is not None else centred).t())
    return _v.squeeze(c / norm)


@tensor_method
def corrcoef(input: Tensor) -> Tensor:
    """Pearson correlation coefficients of the rows of ``input``, clipped to [-1, 1].

    >>> mbtorch.corrcoef(mbtorch.tensor([[0.0, 1.0, 2.0], [2.0, 1.0, 0.5]]))[0, 1]
    tensor(-0.9820)
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"corrcoef(): argument 'input' must be Tensor, not "
                        f"{type(input).__name__}")
    if input.ndim > 2:
        raise RuntimeError("corrcoef(): expected input to have two or fewer dimensions but got "
                           f"an input with {input.ndim} dimensions")
    c = cov(input)
    if c.ndim == 0:  # one variable: nan for a zero, inf or nan variance, else 1
        return c / c
    stddev = _v.diagonal(c).sqrt()
    c = c / _v.reshape(stddev, (-1, 1))
    c = c / _v.reshape(stddev, (1, -1))
    return clamp(c, -1, 1)


__all__ = ["corrcoef", "cov"]
