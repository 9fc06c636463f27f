"""Complex numbers: building and taking apart complex tensors, and the views between a complex
tensor and its (real, imaginary) pairs.

``view_as_real``/``view_as_complex`` are views, as in PyTorch: the root's storage is seen as
the other dtype (the backend storage's optional ``reinterpret``), and ``make_view`` lays the
geometry over it, so a write through ``x.real``, ``x.imag`` or ``view_as_real(x)`` reaches
``x``. The reinterpreted storage is a second root (one per root and dtype, cached on the
root): its version counter is its own, so autograd's check for a saved tensor modified in
place sees writes made through views of the same dtype only.

``conj`` is eager: PyTorch returns a lazy view with the conjugate bit set; mbtorch has no
conjugate (nor negative) bit, so ``conj`` of a complex tensor is ``conj_physical`` (a new
tensor, not a view), ``is_conj``/``is_neg`` are always False and ``resolve_conj``/
``resolve_neg`` return their input. Values and gradients are PyTorch's; only aliasing differs.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

from .. import dtypes as _dt
from ..op import Op, define
from ..tensor import Tensor, method_table
from . import binary as _b
from ._common import cast, run, wrap
from ._elementwise import check_tensor

__all__ = [
    "adjoint", "complex", "polar", "real", "imag", "view_as_real", "view_as_complex", "conj",
    "conj_physical", "conj_physical_", "resolve_conj", "resolve_neg", "is_conj", "is_neg",
    "angle", "isreal", "is_complex",
]

TENSOR_METHODS: dict = {}
"""The ``Tensor`` methods this module provides, by name (installed by ``mbtorch.core.ops``)."""
tensor_method = method_table(TENSOR_METHODS)

_VIEW_AS_REAL, _VIEW_AS_COMPLEX = Op.VIEW_AS_REAL, Op.VIEW_AS_COMPLEX


# -- the two views ------------------------------------------------------------------------
def _alias_root(x: Tensor, dtype: _dt.dtype, name: str) -> Tensor:
    """``x``'s root storage seen as ``dtype`` (a flat root of its own, cached on the root)."""
    root = x if x._root is None else x._root
    aliases = root.__dict__.setdefault("_dtype_aliases", {})
    alias = aliases.get(dtype)
    if alias is None:
        reinterpret = getattr(x._be.storage, "reinterpret", None)
        if reinterpret is None:
            raise RuntimeError(f"{name}(): the '{x._be.device_type}' backend's storage has no "
                               "'reinterpret', so it cannot view complex memory as real pairs")
        handle = reinterpret(root._data, dtype)
        shape = tuple(x._be.storage.shape(handle))
        alias = aliases[dtype] = wrap(handle, shape, dtype, x._device, x._be)
    return alias


def _aliased_view(x: Tensor, dtype: _dt.dtype, shape: tuple, strides: tuple, offset: int,
                  name: str) -> Tensor:
    from .views import make_view

    return make_view(_alias_root(x, dtype, name), shape, strides, offset)


@define(Op.VIEW_AS_REAL)
def _view_as_real(x: Tensor) -> Tensor:
    strides = tuple(2 * s for s in x.stride()) + (1,)
    return _aliased_view(x, x._dtype.to_real(), x._shape + (2,), strides, 2 * x._offset,
                         "view_as_real")


@define(Op.VIEW_AS_COMPLEX)
def _view_as_complex(x: Tensor) -> Tensor:
    strides = tuple(s // 2 for s in x.stride()[:-1])
    return _aliased_view(x, x._dtype.to_complex(), x._shape[:-1], strides, x._offset // 2,
                         "view_as_complex")


def view_as_real(input: Tensor) -> Tensor:
    """A real view of a complex tensor, its last dim of size 2 holding (real, imaginary).

    >>> mbtorch.view_as_real(mbtorch.tensor([1 + 2j]))
    tensor([[1., 2.]])
    """
    x = check_tensor(input, "view_as_real")
    if not x._dtype.is_complex:
        raise RuntimeError("view_as_real(): view_as_real is only supported for complex "
                           f"tensors, got {x._dtype.scalar_name}")
    meta = (x._shape + (2,), x._dtype.to_real())
    return run(_VIEW_AS_REAL, (x,), (), meta, x._device, x._be)


def view_as_complex(input: Tensor) -> Tensor:
    """A complex view of a float32/float64 tensor whose last dim (size 2, stride 1) holds
    (real, imaginary) pairs."""
    x = check_tensor(input, "view_as_complex")
    if x._dtype not in (_dt.float32, _dt.float64):
        raise RuntimeError("view_as_complex(): view_as_complex is only supported for float and "
                           f"double tensors, but got a tensor of scalar type: "
                           f"{x._dtype.scalar_name}")
    if not x._shape or x._shape[-1] != 2:
        raise RuntimeError("view_as_complex(): Tensor must have a last dimension of size 2")
    st = x.stride()
    if st[-1] != 1:
        raise RuntimeError("view_as_complex(): Tensor must have a last dimension with stride 1")
    if any(s % 2 for s in st[:-1]):
        raise RuntimeError("view_as_complex(): Tensor must have a stride divisible by 2 for "
                           "all but last dimension")
    if x._offset % 2:
        raise RuntimeError("view_as_complex(): Tensor must have a storage_offset divisible by 2")
    meta = (x._shape[:-1], x._dtype.to_complex())
    return run(_VIEW_AS_COMPLEX, (x,), (), meta, x._device, x._be)


def _part(x: Tensor, index: int) -> Tensor:
    from .views import select

    return select(view_as_real(x), -1, index)


@tensor_method(name="real")
@property
def _real_property(self: Tensor) -> Tensor:
    return real(self)


@tensor_method(name="imag")
@property
def _imag_property(self: Tensor) -> Tensor:
    return imag(self)


def real(input: Tensor) -> Tensor:
    """The real part: a view of a complex tensor; a real tensor itself."""
    x = check_tensor(input, "real")
    return _part(x, 0) if x._dtype.is_complex else x


def imag(input: Tensor) -> Tensor:
    """The imaginary part, a view; real tensors have none (RuntimeError, as PyTorch)."""
    x = check_tensor(input, "imag")
    if not x._dtype.is_complex:
        raise RuntimeError("imag(): imag is not implemented for tensors with non-complex "
                           "dtypes.")
    return _part(x, 1)


# -- building complex tensors -------------------------------------------------------------
def _check_parts(a: Any, b: Any, name: str, args: tuple[str, str]) -> None:
    check_tensor(a, name, args[0])
    check_tensor(b, name, args[1])
    if a._dtype not in (_dt.float32, _dt.float64) or b._dtype not in (_dt.float32,
                                                                       _dt.float64):
        raise RuntimeError(f"{name}(): Expected both inputs to be Float or Double tensors "
                           f"but got {a._dtype.scalar_name} and {b._dtype.scalar_name}")
    if a._dtype is not b._dtype:
        raise RuntimeError(f"{name}(): Expected object of scalar type {a._dtype.scalar_name} "
                           f"but got scalar type {b._dtype.scalar_name} for second argument")


def _from_parts(re: Tensor, im: Tensor) -> Tensor:
    from .combining import broadcast_tensors
    from .copying import contiguous
    from .joining import stack

    re, im = broadcast_tensors(re, im)
    return view_as_complex(contiguous(stack([re, im], -1)))


def complex(real: Tensor, imag: Tensor) -> Tensor:  # noqa: A001 - torch's name
    """``real + imag * 1j`` from two float32 (or two float64) tensors, broadcast together."""
    _check_parts(real, imag, "complex", ("real", "imag"))
    return _from_parts(real, imag)


def polar(abs: Tensor, angle: Tensor) -> Tensor:  # noqa: A002
    """``abs * (cos(angle) + sin(angle) * 1j)``."""
    from .unary import cos, sin

    _check_parts(abs, angle, "polar", ("abs", "angle"))
    return _from_parts(_b.mul(abs, cos(angle)), _b.mul(abs, sin(angle)))


# -- conjugation ----------------------------------------------------------------------------
@define(Op.CONJ_PHYSICAL)
def _conj_physical(x: Tensor) -> Tensor:
    from .joining import stack
    from .unary import neg

    return _from_parts_stacked(stack([real(x), neg(imag(x))], -1))


def _from_parts_stacked(pairs: Tensor) -> Tensor:
    from .copying import contiguous

    return view_as_complex(contiguous(pairs))


@tensor_method
def conj_physical(input: Tensor) -> Tensor:
    """The complex conjugate, computed (a new tensor); a copy of a real tensor."""
    x = check_tensor(input, "conj_physical")
    if not x._dtype.is_complex:
        from .copying import clone

        return clone(x)
    return run(Op.CONJ_PHYSICAL, (x,), (), (x._shape, x._dtype), x._device, x._be)


@tensor_method
def conj_physical_(input: Tensor) -> Tensor:
    """In-place ``conj_physical``."""
    from .copying import write_result

    return write_result(input, conj_physical(input), "conj_physical_")


@tensor_method
def conj(input: Tensor) -> Tensor:
    """The complex conjugate. PyTorch returns a lazy view (``is_conj()`` True); mbtorch
    computes it (``conj_physical``), so ``is_conj()`` stays False. A real tensor is returned
    as it is, as PyTorch's."""
    x = check_tensor(input, "conj")
    return conj_physical(x) if x._dtype.is_complex else x


@tensor_method
def adjoint(input: Tensor) -> Tensor:
    """The conjugate transpose of the last two dimensions (a view for real tensors)."""
    x = check_tensor(input, "adjoint")
    if x.ndim == 0:
        warnings.warn("adjoint() is deprecated on 0-D tensors. Consider using x.conj().",
                      UserWarning, stacklevel=2)
        return conj(x)
    if x.ndim == 1:
        raise RuntimeError("tensor.adjoint() is only supported on matrices or batches of "
                           "matrices. Got 1-D tensor.")
    return conj(x.transpose(-2, -1))


TENSOR_METHODS["mH"] = property(lambda self: adjoint(self))


def _conj_t(self: Tensor) -> Tensor:
    """``x.H``: the conjugate transpose of a matrix (or of a 0-d tensor)."""
    if self.ndim not in (0, 2):
        hint = " For batches of matrices, consider using tensor.mH" if self.ndim > 2 else ""
        raise RuntimeError(f"tensor.H is only supported on matrices (2-D tensors). Got "
                           f"{self.ndim}-D tensor.{hint}")
    return conj(self.t())


TENSOR_METHODS["H"] = property(_conj_t)


@tensor_method
def resolve_conj(input: Tensor) -> Tensor:
    """``input`` itself: mbtorch's conjugates are never lazy (see ``conj``)."""
    return check_tensor(input, "resolve_conj")


@tensor_method
def resolve_neg(input: Tensor) -> Tensor:
    """``input`` itself: mbtorch has no lazy negation bit."""
    return check_tensor(input, "resolve_neg")


@tensor_method
def is_conj(input: Tensor) -> bool:
    """Always False: mbtorch's conjugates are computed, not lazy views (see ``conj``)."""
    check_tensor(input, "is_conj")
    return False


@tensor_method
def is_neg(input: Tensor) -> bool:
    """Always False: mbtorch has no lazy negation bit."""
    check_tensor(input, "is_neg")
    return False


# -- predicates and the argument --------------------------------------------------------------
def is_complex(input: Tensor) -> bool:
    """Whether ``input`` has a complex dtype."""
    return check_tensor(input, "is_complex")._dtype.is_complex


@tensor_method
def isreal(input: Tensor) -> Tensor:
    """True where the element is real: every element of a real tensor, ``imag == 0`` of a
    complex one."""
    x = check_tensor(input, "isreal")
    if not x._dtype.is_complex:
        from .creation import full_like

        return full_like(x, True, dtype=_dt.bool)
    return _b.eq(imag(x), 0)


@tensor_method
def angle(input: Tensor) -> Tensor:
    """The argument ``atan2(imag, real)`` of a complex tensor (in its real dtype); of a real
    tensor, pi where negative, 0 elsewhere and NaN at NaN (integers give the default float)."""
    from .ternary import where
    from .unary import isnan

    x = check_tensor(input, "angle")
    if x._dtype.is_complex:
        return _b.atan2(imag(x), real(x))
    if x._dtype.category != _dt.FLOATING_CATEGORY:
        x = cast(x, _dt.get_default_dtype())
    return where(isnan(x), x, _b.mul(cast(_b.lt(x, 0), x._dtype), math.pi))


# -- Tensor.stft / Tensor.istft: forwarders to mbtorch.fft, which is loaded on first use -------
@tensor_method
def stft(input: Tensor, *args: Any, **kwargs: Any) -> Tensor:
    """``mbtorch.stft(input, ...)``."""
    from ...fft._stft import stft as impl

    return impl(input, *args, **kwargs)


@tensor_method
def istft(input: Tensor, *args: Any, **kwargs: Any) -> Tensor:
    """``mbtorch.istft(input, ...)``."""
    from ...fft._stft import istft as impl

    return impl(input, *args, **kwargs)


# -- the discrete Fourier transform along one dim (mbtorch.fft builds on it) ----------------
@define(Op.FFT)
def _fft_as_matmul(x: Tensor, dim: int, inverse: bool) -> Tensor:
    """The unnormalised DFT as a product with the n x n matrix ``exp(-+2 pi i jk / n)``: O(n^2)
    work, for a backend with complex dtypes but no FFT of its own. ``jk mod n`` is exact in
    int64 and the angles are computed in float64 where the backend has it."""
    from .creation import iota
    from .linalg import matmul
    from .unary import cos, sin
    from .views import movedim

    n = x._shape[dim]
    k = iota(n, x._device, x._be)
    turns = _b.remainder(_b.mul(k.reshape((n, 1)), k.reshape((1, n))), n)
    wide = _dt.float64 if _dt.float64 in x._be.dtypes else _dt.float32
    angle = _b.mul(cast(turns, wide), (2.0 if inverse else -2.0) * math.pi / n)
    real_dtype = x._dtype.to_real()
    w = _from_parts(cast(cos(angle), real_dtype), cast(sin(angle), real_dtype))
    return movedim(matmul(movedim(x, dim, -1), w), -1, dim)


def fft_c2c(x: Tensor, dim: int, inverse: bool) -> Tensor:
    """The unnormalised complex-to-complex DFT of ``x`` along ``dim`` (non-negative; size at
    least 1): ``sum_j x_j exp(-2 pi i jk / n)``, with ``+`` when ``inverse``. Its gradient is
    the transform in the other direction (the adjoint of the DFT matrix is its conjugate)."""
    return run(Op.FFT, (x,), (dim, bool(inverse)), (x._shape, x._dtype), x._device, x._be)
