"""Complex numbers and the FFT (``VIEW_AS_REAL``, ``VIEW_AS_COMPLEX``, ``CONJ_PHYSICAL``,
``FFT``) against NumPy's complex128.

The entries run in complex64/complex128, so a backend that does not declare complex dtypes
gets the ``undeclared`` cell (complex tensors must be refused with a TypeError) instead of
failing forward cells. The sample generator draws integer-valued real parts for non-floating
dtypes; each entry multiplies its input by ``1 - 0.5j`` so the data is genuinely complex,
and returns real pairs (``view_as_real``) so the comparison is the usual real one. The
references compute in complex128."""

from __future__ import annotations

import numpy as np

import mbtorch as mt
from mbtorch.core.op import Op

from ..samples import case
from . import Entry

__all__ = ["ENTRIES"]

_COMPLEX = (mt.complex64, mt.complex128)
_TOL = {mt.float32: (1e-4, 1e-4), mt.float64: (1e-9, 1e-9)}
_W = "(1 - 0.5j)"
_STD = ("standard", "full")
_SHAPES = [case((4,)), case((3, 5)), case((1,)), case((2, 3, 8), tiers=_STD),
           case((6,), tiers=_STD), case((2, 7), tiers=_STD), case((5, 1), tiers=_STD),
           case((3, 2, 4), tiers=_STD), case((16,), tiers=_STD)]


def _c(x: np.ndarray) -> np.ndarray:
    return x.astype(np.complex128) * (1 - 0.5j)


def _pairs(z: np.ndarray) -> np.ndarray:
    return np.stack([z.real, z.imag], -1)


def _real_of(d: mt.dtype) -> mt.dtype:
    return d.to_real()


def _entry(name: str, op: Op, expr: str, ref, **kw) -> Entry:
    return Entry(name, op, f"expr:{expr}", ref, _SHAPES, _COMPLEX, ("small",), out=_real_of,
                 tol=_TOL, grad=False, **kw)


ENTRIES = [
    _entry("view_as_real", Op.VIEW_AS_REAL, f"mbtorch.view_as_real(x0 * {_W})",
           lambda x: _pairs(_c(x))),
    _entry("view_as_complex", Op.VIEW_AS_COMPLEX,
           f"mbtorch.view_as_complex(mbtorch.view_as_real(x0 * {_W}) * 2.0).imag",
           lambda x: 2.0 * _c(x).imag),
    _entry("conj_physical", Op.CONJ_PHYSICAL,
           f"mbtorch.view_as_real(mbtorch.conj_physical(x0 * {_W}))",
           lambda x: _pairs(np.conj(_c(x)))),
    _entry("fft.fft", Op.FFT, f"mbtorch.view_as_real(mbtorch.fft.fft(x0 * {_W}))",
           lambda x: _pairs(np.fft.fft(_c(x)))),
    _entry("fft.ifft(dim=0)", Op.FFT,
           f"mbtorch.view_as_real(mbtorch.fft.ifft(x0 * {_W}, dim=0, norm='ortho'))",
           lambda x: _pairs(np.fft.ifft(_c(x), axis=0, norm="ortho"))),
]
