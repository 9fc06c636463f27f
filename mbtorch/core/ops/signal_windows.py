"""Window functions for spectral analysis: ``bartlett_window``, ``blackman_window``,
``hamming_window``, ``hann_window``, ``kaiser_window``.

Each follows PyTorch's formula (ATen ``TensorFactories.cpp``) step by step on an ``arange`` in
the requested floating dtype, so the values round as PyTorch's do. A periodic window of length
``N`` is the symmetric window of length ``N + 1`` without its last sample; lengths 0 and 1
give ``[]`` and ``[1]``.
"""

from __future__ import annotations

import math
from typing import Any, Callable

from .. import dtypes as _dt
from ..tensor import Tensor
from . import views as _v
from .bessel import i0
from .creation import arange, ones


def _window(name: str, length: int, periodic: bool, dtype: Any, device: Any,
            requires_grad: bool, body: Callable[[Tensor, int], Tensor]) -> Tensor:
    if isinstance(length, bool) or not isinstance(length, int):
        raise TypeError(f"{name}(): argument 'window_length' must be int, not "
                        f"{type(length).__name__}")
    if length < 0:
        raise RuntimeError(f"{name} requires non-negative window_length, got "
                           f"window_length={length}")
    dtype = _dt.get_default_dtype() if dtype is None else _dt.as_dtype(dtype, name)
    if not dtype.is_floating_point:
        raise RuntimeError(f"{name} expects floating point dtypes, got: {dtype}")
    if length <= 1:
        out = ones(length, dtype=dtype, device=device)
    else:
        n = length + 1 if periodic else length
        out = body(arange(n, dtype=dtype, device=device), n)
        if periodic:
            out = _v.slice_dim(out, 0, 0, length).contiguous()
    return out.requires_grad_(requires_grad) if requires_grad else out


def hamming_window(window_length: int, periodic: bool = True, alpha: float = 0.54,
                   beta: float = 0.46, *, dtype: Any = None, layout: Any = None,
                   device: Any = None, requires_grad: bool = False) -> Tensor:
    """``alpha - beta * cos(2 pi n / (N - 1))``.

    >>> mbtorch.hamming_window(3, periodic=False)
    tensor([0.0800, 1.0000, 0.0800])
    """
    return _window("hamming_window", window_length, periodic, dtype, device, requires_grad,
                   lambda k, n: (k * (math.pi * 2.0 / (n - 1))).cos() * -beta + alpha)


def hann_window(window_length: int, periodic: bool = True, *, dtype: Any = None,
                layout: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """``0.5 - 0.5 * cos(2 pi n / (N - 1))`` (a Hamming window with alpha = beta = 0.5)."""
    return _window("hann_window", window_length, periodic, dtype, device, requires_grad,
                   lambda k, n: (k * (math.pi * 2.0 / (n - 1))).cos() * -0.5 + 0.5)


def _bartlett(k: Tensor, n: int) -> Tensor:
    w = k * (2.0 / (n - 1))
    half = ((n - 1) >> 1) + 1  # the rising half; the rest falls as 2 - w
    from .joining import cat

    return cat([_v.slice_dim(w, 0, 0, half), 2 - _v.slice_dim(w, 0, half, n)])


def bartlett_window(window_length: int, periodic: bool = True, *, dtype: Any = None,
                    layout: Any = None, device: Any = None,
                    requires_grad: bool = False) -> Tensor:
    """The triangular window ``1 - |2n / (N - 1) - 1|``."""
    return _window("bartlett_window", window_length, periodic, dtype, device, requires_grad,
                   _bartlett)


def _blackman(k: Tensor, n: int) -> Tensor:
    w = k * (math.pi / (n - 1))
    return (w * 4).cos() * 0.08 - (w * 2).cos() * 0.5 + 0.42


def blackman_window(window_length: int, periodic: bool = True, *, dtype: Any = None,
                    layout: Any = None, device: Any = None,
                    requires_grad: bool = False) -> Tensor:
    """``0.42 - 0.5 cos(2 pi n / (N - 1)) + 0.08 cos(4 pi n / (N - 1))``."""
    return _window("blackman_window", window_length, periodic, dtype, device, requires_grad,
                   _blackman)


def kaiser_window(window_length: int, periodic: bool = True, beta: float = 12.0, *,
                  dtype: Any = None, layout: Any = None, device: Any = None,
                  requires_grad: bool = False) -> Tensor:
    """``I0(beta * sqrt(1 - ((n - a) / a)**2)) / I0(beta)`` with ``a = (N - 1) / 2``."""
    def body(k: Tensor, n: int) -> Tensor:
        a = (n - 1) / 2.0
        ratio = (k - a) / a
        return i0((1 - ratio * ratio).abs().sqrt() * beta) / i0(k.new_full((), beta))

    return _window("kaiser_window", window_length, periodic, dtype, device, requires_grad,
                   body)


__all__ = ["bartlett_window", "blackman_window", "hamming_window", "hann_window",
           "kaiser_window"]
