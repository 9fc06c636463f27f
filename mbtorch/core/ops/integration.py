"""Numerical integration and differentiation of sampled functions: ``trapezoid`` (and its
older name ``trapz``), ``cumulative_trapezoid``, ``gradient``.

Written as PyTorch's own compositions (ATen ``Integration.cpp`` and ``gradient`` in
``ReduceOps.cpp``) with slices, arithmetic and ``cat``, in the same order of operations, so
values, dtypes and gradients match on every backend.
"""

from __future__ import annotations

from typing import Any

from .. import dtypes as _dt
from ..tensor import Tensor, wrap_dim
from . import views as _v
from .joining import cat
from .reductions import sum
from .scans import cumsum


def _sl(x: Tensor, d: int, start: int, stop: int | None = None) -> Tensor:
    return _v.slice_dim(x, d, start, stop)


def _check_y(y: Any, name: str) -> None:
    if not isinstance(y, Tensor):
        raise TypeError(f"{name}(): argument 'y' must be Tensor, not {type(y).__name__}")
    if y._dtype is _dt.bool:
        raise RuntimeError(f"{name}: received a bool input for `y`, but bool is not supported")


def _dx_tensor(y: Tensor, x: Tensor, d: int, name: str) -> Tensor:
    """The sample spacings ``diff(x)`` shaped to broadcast against ``y``'s slices along ``d``."""
    if x._dtype is _dt.bool:
        raise RuntimeError(f"{name}: received a bool input for `x`, but bool is not supported")
    if x.ndim == 1:
        if x._shape[0] != y._shape[d]:
            raise RuntimeError(f"{name}: There must be one `x` value for each sample point")
        x = _v.reshape(x, tuple(-1 if i == d else 1 for i in range(y.ndim)))
    elif x.ndim < y.ndim:
        x = _v.reshape(x, (1,) * (y.ndim - x.ndim) + tuple(x._shape))
    return _sl(x, d, 1) - _sl(x, d, 0, -1)


def _empty_result(y: Tensor, d: int) -> Tensor:
    from .creation import zeros

    shape = tuple(s for i, s in enumerate(y._shape) if i != d)
    dtype = y._dtype if y._dtype.is_floating_point else _dt.get_default_dtype()
    return zeros(shape, dtype=dtype, device=y._device)


def _parse(y: Tensor, x: Any, dx: Any, dim: int, name: str) -> tuple[int, Any]:
    _check_y(y, name)
    if x is not None and dx is not None:
        raise TypeError(f"{name}() received an invalid combination of arguments: both 'x' and "
                        "'dx' given")
    d = wrap_dim(dim, y.ndim, name)
    if x is not None:
        if not isinstance(x, Tensor):
            raise TypeError(f"{name}(): argument 'x' must be Tensor (pass a spacing as dx=), "
                            f"not {type(x).__name__}")
        return d, _dx_tensor(y, x, d, name)
    dx = 1 if dx is None else dx
    if isinstance(dx, bool) or not isinstance(dx, (int, float)):
        raise RuntimeError(f"{name}: Currently, we only support dx as a real number.")
    return d, dx


def trapezoid(y: Tensor, x: Any = None, *, dx: Any = None, dim: int = -1) -> Tensor:
    """The trapezoid rule along ``dim``: samples ``y`` at points ``x`` (a tensor) or spaced
    ``dx`` apart (default 1).

    >>> mbtorch.trapezoid(mbtorch.tensor([1.0, 2.0, 3.0]))
    tensor(4.)
    """
    d, step = _parse(y, x, dx, dim, "trapezoid")
    if y._shape[d] == 0:
        return _empty_result(y, d)
    if isinstance(step, Tensor):
        return sum((_sl(y, d, 1) + _sl(y, d, 0, -1)) * step, d) / 2.0
    return (sum(y, d) - (_v.select(y, d, 0) + _v.select(y, d, -1)) * 0.5) * step


def trapz(y: Tensor, x: Any = None, *, dx: Any = None, dim: int = -1) -> Tensor:
    """``trapezoid`` under its older name."""
    return trapezoid(y, x, dx=dx, dim=dim)


def cumulative_trapezoid(y: Tensor, x: Any = None, *, dx: Any = None, dim: int = -1) -> Tensor:
    """The running trapezoid-rule integral along ``dim`` (one element fewer than ``y``)."""
    d, step = _parse(y, x, dx, dim, "cumulative_trapezoid")
    pairs = _sl(y, d, 1) + _sl(y, d, 0, -1)
    if isinstance(step, Tensor):
        return cumsum((step * pairs) / 2.0, d)
    return cumsum(step / 2.0 * pairs, d)


def _gradient_uniform(f: Tensor, d: int, h: Any, edge_order: int) -> Tensor:
    center = (_sl(f, d, 2) - _sl(f, d, 0, -2)) / h
    if edge_order == 1:
        first = (_sl(f, d, 1, 2) - _sl(f, d, 0, 1)) / h
        last = (_sl(f, d, -1) - _sl(f, d, -2, -1)) / h
    else:
        first = (_sl(f, d, 0, 1) * -1.5 + _sl(f, d, 1, 2) * 2 + _sl(f, d, 2, 3) * -0.5) / h
        last = (_sl(f, d, -3, -2) * 0.5 + _sl(f, d, -2, -1) * -2 + _sl(f, d, -1) * 1.5) / h
    return cat([first, center / 2, last], d)


def _gradient_coords(f: Tensor, d: int, coords: Tensor, edge_order: int) -> Tensor:
    if coords.ndim != 1:
        raise RuntimeError("torch.gradient expected each element of spacing to have one "
                           f"dimension, but got an element with {coords.ndim} dimensions!")
    shape = tuple(-1 if i == d else 1 for i in range(f.ndim))
    h = coords[1:] - coords[:-1]
    h1, h2 = h[:-1], h[1:]
    a = _v.reshape(-h2 / (h1 * (h1 + h2)), shape)
    b = _v.reshape((h2 - h1) / (h1 * h2), shape)
    c = _v.reshape(h1 / (h2 * (h1 + h2)), shape)
    center = a * _sl(f, d, 0, -2) + b * _sl(f, d, 1, -1) + c * _sl(f, d, 2)
    if edge_order == 1:
        first = (_sl(f, d, 1, 2) - _sl(f, d, 0, 1)) / h[0]
        last = (_sl(f, d, -1) - _sl(f, d, -2, -1)) / h[-1]
    else:
        a = -(2.0 * h[0] + h[1]) / (h[0] * (h[0] + h[1]))
        b = (h[0] + h[1]) / (h[0] * h[1])
        c = -h[0] / (h[1] * (h[0] + h[1]))
        first = a * _sl(f, d, 0, 1) + b * _sl(f, d, 1, 2) + c * _sl(f, d, 2, 3)
        a = h[-1] / (h[-2] * (h[-1] + h[-2]))
        b = -(h[-1] + h[-2]) / (h[-1] * h[-2])
        c = (2 * h[-1] + h[-2]) / (h[-1] * (h[-1] + h[-2]))
        last = a * _sl(f, d, -3, -2) + b * _sl(f, d, -2, -1) + c * _sl(f, d, -1)
    return cat([first, center, last], d)


def _gradient_args(input: Tensor, spacing: Any, dim: Any) -> tuple[list, list]:
    dims = (list(range(input.ndim)) if dim is None
            else [dim] if isinstance(dim, int) else list(dim))
    dims = [wrap_dim(d, input.ndim, "gradient") for d in dims]
    if isinstance(spacing, (list, tuple)):
        spacing = list(spacing)
        if len(spacing) != len(dims) and dim is None:
            raise RuntimeError("torch.gradient expected spacing to be unspecified, a scalar, or "
                               "a list of length equal to 'self.dim() = "
                               f"{input.ndim}', since dim argument was not given, but got a "
                               f"list of length {len(spacing)}")
        if len(spacing) != len(dims):
            raise RuntimeError("torch.gradient expected spacing to be unspecified, a scalar or "
                               "it's spacing and dim arguments to have the same length, but got "
                               f"a spacing argument of length {len(spacing)} and a dim argument "
                               f"of length {len(dims)}.")
    else:
        if isinstance(spacing, Tensor):
            raise TypeError("gradient(): argument 'spacing' must be a number or a list/tuple "
                            "of numbers or tensors, not Tensor")
        spacing = [spacing] * len(dims)
    return dims, spacing


def gradient(input: Tensor, *, spacing: Any = 1, dim: Any = None,
             edge_order: int = 1) -> tuple:
    """Estimates of the derivative of the sampled function ``input`` along each of ``dim``
    (all dims by default): central differences inside, one-sided differences of order
    ``edge_order`` (1 or 2) at the ends; ``spacing`` a number, one number per dim, or one
    1-d tensor of sample coordinates per dim.

    >>> mbtorch.gradient(mbtorch.tensor([1.0, 4.0, 9.0]))[0]
    tensor([3., 4., 5.])
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"gradient(): argument 'input' must be Tensor, not "
                        f"{type(input).__name__}")
    if edge_order not in (1, 2):
        raise RuntimeError("torch.gradient only supports edge_order=1 and edge_order=2.")
    dims, spacing = _gradient_args(input, spacing, dim)
    for d in dims:
        if input._shape[d] < edge_order + 1:
            raise RuntimeError("torch.gradient expected each dimension size to be at least "
                               "edge_order+1")
    out = []
    for d, h in zip(dims, spacing):
        if isinstance(h, Tensor):
            out.append(_gradient_coords(input, d, h, edge_order))
        else:
            out.append(_gradient_uniform(input, d, h, edge_order))
    return tuple(out)


__all__ = ["cumulative_trapezoid", "gradient", "trapezoid", "trapz"]
