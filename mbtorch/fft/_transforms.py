"""The transforms of ``torch.fft``, built on one registry op: ``Op.FFT``, the unnormalised
complex-to-complex DFT along one dim (``mbtorch.core.ops.complex.fft_c2c``; the cpu backend runs
NumPy's FFT, a backend without one the DFT as a matmul). Everything else is composed here with
differentiable ops, so every transform has gradients:

- real-to-complex (``rfft``, ``ihfft``): the real input made complex, transformed, and the
  non-negative frequencies kept (the others are their conjugates);
- complex-to-real (``irfft``, ``hfft``): the one-sided spectrum extended to the full Hermitian
  one (``X[n - k] = conj(X[k])``), transformed, and the real part kept (PyTorch likewise
  ignores the imaginary parts of the frequencies whose mirror is themselves);
- ``norm``: "backward" (forward unscaled, inverse ``1/n``), "ortho" (``1/sqrt(n)`` both
  ways), "forward" (forward ``1/n``, inverse unscaled); ``hfft``/``ihfft`` count as forward/
  inverse, as in PyTorch.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

from ..core import dtypes as _dt
from ..core.ops import binary as _b
from ..core.ops._common import cast, check_dtype_supported
from ..core.ops.complex import conj_physical, fft_c2c, real
from ..core.ops.creation import zeros
from ..core.ops.joining import cat
from ..core.ops.rearranging import flip
from ..core.ops.views import slice_dim
from ..core.tensor import Tensor, wrap_dim

__all__ = [
    "fft", "ifft", "fft2", "ifft2", "fftn", "ifftn", "rfft", "irfft", "rfft2", "irfft2",
    "rfftn", "irfftn", "hfft", "ihfft", "hfft2", "ihfft2", "hfftn", "ihfftn",
]

_NORMS = ("backward", "ortho", "forward")


# -- argument checks --------------------------------------------------------------------------
def _tensor(x: Any, name: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"fft.{name}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(x).__name__}")
    return x


def _scale(norm: str | None, n: int, forward: bool, name: str) -> float:
    """The factor ``norm`` puts on a transform over ``n`` points in that direction."""
    if norm is None:
        norm = "backward"
    if norm not in _NORMS:
        raise RuntimeError(f'fft.{name}(): Invalid normalization mode: "{norm}"')
    if norm == "ortho":
        return 1.0 / math.sqrt(n)
    return 1.0 / n if (norm == "forward") == forward else 1.0


def _n(n: Any, name: str) -> int | None:
    """A 1-D transform's ``n``: None (the input's size) or a positive int (-1 is an error
    here, unlike in ``s``)."""
    return None if n is None else _points(n, name)


def _points(n: Any, name: str) -> int:
    if not isinstance(n, int) or isinstance(n, bool):
        raise TypeError(f"fft.{name}(): argument 'n' must be int, not {type(n).__name__}")
    if n < 1:
        raise RuntimeError(f"fft.{name}(): Invalid number of data points ({n}) specified")
    return n


def _computation_dtype(x: Tensor, name: str, want_real: bool) -> _dt.dtype:
    """The complex dtype a transform of ``x`` computes in (float32 -> complex64, integers
    and bools -> the default's complex), refused by name where the device has none."""
    d = x._dtype
    if want_real and d.is_complex:
        raise RuntimeError(f"fft.{name}(): {name} expects a real input tensor, but got "
                           f"{d.scalar_name}")
    if d.category < _dt.FLOATING_CATEGORY:
        d = _dt.get_default_dtype()
    if d in (_dt.float16, _dt.bfloat16, _dt.complex32):
        raise RuntimeError(f"fft.{name}(): Unsupported dtype {d.scalar_name}")
    out = d.to_complex()
    check_dtype_supported(x._be, out, f"fft.{name}")
    return out


def _plan(x: Tensor, s: Any, dim: Any, name: str, default_dim: Any = None) -> tuple:
    """PyTorch's ``(s, dim)`` rules: ``dim`` defaults to the last ``len(s)`` dims (or every
    dim, or ``default_dim``), ``s`` to those dims' sizes (-1 keeps a size). Returns the dims
    and the signal sizes (``None`` for "as is")."""
    if dim is None and default_dim is not None:
        dim = default_dim
    if s is not None:
        s = [s] if isinstance(s, int) else list(s)
        for n in s:
            if not isinstance(n, int) or isinstance(n, bool):
                raise TypeError(f"fft.{name}(): argument 's' must be a sequence of ints, "
                                f"not {type(n).__name__}")
    if dim is None:
        dims = list(range(x.ndim - len(s), x.ndim)) if s is not None else list(range(x.ndim))
        if s is not None and len(s) > x.ndim:
            raise RuntimeError(f"fft.{name}(): Got shape with {len(s)} values but input tensor "
                               f"only has {x.ndim} dimensions.")
    else:
        dims = [dim] if isinstance(dim, int) else list(dim)
        if x.ndim == 0 and dims:
            raise IndexError(f"fft.{name}(): Dimension specified as {dims[0]} but tensor has "
                             "no dimensions")
        dims = [wrap_dim(d, x.ndim, f"fft.{name}") for d in dims]
    if len(set(dims)) != len(dims):
        raise RuntimeError(f"fft.{name}(): FFT dims must be unique")
    if s is None:
        return dims, [None] * len(dims)
    if len(s) != len(dims):
        raise RuntimeError(f"fft.{name}(): When given, dim and shape arguments must have the "
                           "same length")
    return dims, [None if n == -1 else _points(n, name) for n in s]


def _resized(x: Tensor, dim: int, n: int) -> Tensor:
    """``x`` cut to, or padded with zeros at the end to, ``n`` points along ``dim``."""
    m = x._shape[dim]
    if n < m:
        return slice_dim(x, dim, 0, n)
    if n > m:
        pad = zeros(x._shape[:dim] + (n - m,) + x._shape[dim + 1:], dtype=x._dtype,
                    device=x._device)
        return cat([x, pad], dim)
    return x


def _apply_scale(y: Tensor, scale: float) -> Tensor:
    return y if scale == 1.0 else _b.mul(y, scale)


# -- the three kinds of transform -------------------------------------------------------------
def _c2c(x: Tensor, s: Any, dim: Any, norm: str | None, inverse: bool, name: str,
         default_dim: Any = None) -> Tensor:
    x = _tensor(x, name)
    dtype = _computation_dtype(x, name, False)
    dims, sizes = _plan(x, s, dim, name, default_dim)
    y, total = cast(x, dtype, f"fft.{name}"), 1
    for d, n in zip(dims, sizes):
        n = _points(x._shape[d] if n is None else n, name)
        y, total = fft_c2c(_resized(y, d, n), d, inverse), total * n
    return _apply_scale(y, _scale(norm, total, not inverse, name))


def _r2c(x: Tensor, s: Any, dim: Any, norm: str | None, inverse: bool, name: str,
         default_dim: Any = None) -> Tensor:
    """``rfft``-like (``inverse=False``) or ``ihfft``-like (``inverse=True``: the conjugate
    of the one-sided forward transform, scaled as an inverse)."""
    x = _tensor(x, name)
    dtype = _computation_dtype(x, name, True)
    dims, sizes = _plan(x, s, dim, name, default_dim)
    if not dims:
        raise RuntimeError(f"fft.{name}(): must transform at least one axis")
    if x._dtype.category < _dt.FLOATING_CATEGORY:
        x = cast(x, dtype.to_real(), f"fft.{name}")
    sizes = [_points(x._shape[d] if n is None else n, name) for d, n in zip(dims, sizes)]
    for d, n in zip(dims, sizes):
        x = _resized(x, d, n)
    last = dims[-1]
    y = slice_dim(fft_c2c(cast(x, dtype, f"fft.{name}"), last, False), last, 0,
                  sizes[-1] // 2 + 1)
    for d in dims[:-1]:
        y = fft_c2c(y, d, False)
    y = _apply_scale(y, _scale(norm, math.prod(sizes), not inverse, name))
    return conj_physical(y) if inverse else y


def _c2r(x: Tensor, s: Any, dim: Any, norm: str | None, forward: bool, name: str,
         default_dim: Any = None) -> Tensor:
    """``irfft``-like (``forward=False``) or ``hfft``-like (``forward=True``: the transform
    of the conjugated input, scaled as a forward one). The last dim is the one-sided one:
    ``n`` output points from ``n // 2 + 1`` input frequencies (``n`` defaults to
    ``2 * (m - 1)``)."""
    x = _tensor(x, name)
    dtype = _computation_dtype(x, name, False)
    dims, sizes = _plan(x, s, dim, name, default_dim)
    if not dims:
        raise RuntimeError(f"fft.{name}(): must transform at least one axis")
    y = cast(x, dtype, f"fft.{name}")
    if forward:
        y = conj_physical(y)
    last, n_last = dims[-1], sizes[-1]
    n_last = _points(2 * (x._shape[last] - 1) if n_last is None else n_last, name)
    sizes = [_points(x._shape[d] if n is None else n, name)
             for d, n in zip(dims[:-1], sizes[:-1])]
    for d, n in zip(dims[:-1], sizes):
        y = fft_c2c(_resized(y, d, n), d, True)
    y = _hermitian_extension(_resized(y, last, n_last // 2 + 1), last, n_last)
    out = real(fft_c2c(y, last, True))
    return _apply_scale(out, _scale(norm, math.prod(sizes) * n_last, forward, name))


def _hermitian_extension(half: Tensor, dim: int, n: int) -> Tensor:
    """The full spectrum of ``n`` points whose first ``n // 2 + 1`` are ``half``:
    ``X[n - k] = conj(X[k])``."""
    upper = n - n // 2 - 1
    if upper == 0:
        return half
    mirror = flip(conj_physical(slice_dim(half, dim, 1, upper + 1)), (dim,))
    return cat([half, mirror], dim)


# -- the public transforms --------------------------------------------------------------------
def fft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None) -> Tensor:
    """The 1-D discrete Fourier transform (complex output; real input is made complex).

    >>> mbtorch.fft.fft(mbtorch.tensor([1., 2., 3., 4.]))
    tensor([10.+0.j, -2.+2.j, -2.+0.j, -2.-2.j])
    """
    return _c2c(input, _n(n, "fft"), dim, norm, False, "fft")


def ifft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None) -> Tensor:
    """The inverse of ``fft``."""
    return _c2c(input, _n(n, "ifft"), dim, norm, True, "ifft")


def fft2(input: Tensor, s: Sequence[int] | None = None, dim: Sequence[int] = (-2, -1),
         norm: str | None = None) -> Tensor:
    """``fftn`` over the last two dims."""
    return _c2c(input, s, dim, norm, False, "fft2", (-2, -1))


def ifft2(input: Tensor, s: Sequence[int] | None = None, dim: Sequence[int] = (-2, -1),
          norm: str | None = None) -> Tensor:
    """``ifftn`` over the last two dims."""
    return _c2c(input, s, dim, norm, True, "ifft2", (-2, -1))


def fftn(input: Tensor, s: Sequence[int] | None = None, dim: Sequence[int] | None = None,
         norm: str | None = None) -> Tensor:
    """The n-D discrete Fourier transform over ``dim`` (default: the last ``len(s)`` dims, or
    all), each resized to ``s``."""
    return _c2c(input, s, dim, norm, False, "fftn")


def ifftn(input: Tensor, s: Sequence[int] | None = None, dim: Sequence[int] | None = None,
          norm: str | None = None) -> Tensor:
    """The inverse of ``fftn``."""
    return _c2c(input, s, dim, norm, True, "ifftn")


def rfft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None) -> Tensor:
    """The FFT of a real signal: the ``n // 2 + 1`` non-negative frequencies."""
    return _r2c(input, _n(n, "rfft"), dim, norm, False, "rfft")


def irfft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None
          ) -> Tensor:
    """The inverse of ``rfft``: a real signal of ``n`` points (default ``2 * (m - 1)``)."""
    return _c2r(input, _n(n, "irfft"), dim, norm, False, "irfft")


def rfft2(input: Tensor, s: Sequence[int] | None = None, dim: Sequence[int] = (-2, -1),
          norm: str | None = None) -> Tensor:
    return _r2c(input, s, dim, norm, False, "rfft2", (-2, -1))


def irfft2(input: Tensor, s: Sequence[int] | None = None, dim: Sequence[int] = (-2, -1),
           norm: str | None = None) -> Tensor:
    return _c2r(input, s, dim, norm, False, "irfft2", (-2, -1))


def rfftn(input: Tensor, s: Sequence[int] | None = None, dim: Sequence[int] | None = None,
          norm: str | None = None) -> Tensor:
    """``rfft`` over the last dim of ``dim`` and ``fft`` over the others."""
    return _r2c(input, s, dim, norm, False, "rfftn")


def irfftn(input: Tensor, s: Sequence[int] | None = None, dim: Sequence[int] | None = None,
           norm: str | None = None) -> Tensor:
    """The inverse of ``rfftn``."""
    return _c2r(input, s, dim, norm, False, "irfftn")


def hfft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None) -> Tensor:
    """The FFT of a Hermitian-symmetric signal given by its first half: a real spectrum."""
    return _c2r(input, _n(n, "hfft"), dim, norm, True, "hfft")


def ihfft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None
          ) -> Tensor:
    """The inverse of ``hfft``: the one-sided inverse FFT of a real signal."""
    return _r2c(input, _n(n, "ihfft"), dim, norm, True, "ihfft")


def hfft2(input: Tensor, s: Sequence[int] | None = None, dim: Sequence[int] = (-2, -1),
          norm: str | None = None) -> Tensor:
    return _c2r(input, s, dim, norm, True, "hfft2", (-2, -1))


def ihfft2(input: Tensor, s: Sequence[int] | None = None, dim: Sequence[int] = (-2, -1),
           norm: str | None = None) -> Tensor:
    return _r2c(input, s, dim, norm, True, "ihfft2", (-2, -1))


def hfftn(input: Tensor, s: Sequence[int] | None = None, dim: Sequence[int] | None = None,
          norm: str | None = None) -> Tensor:
    return _c2r(input, s, dim, norm, True, "hfftn")


def ihfftn(input: Tensor, s: Sequence[int] | None = None, dim: Sequence[int] | None = None,
           norm: str | None = None) -> Tensor:
    return _r2c(input, s, dim, norm, True, "ihfftn")
