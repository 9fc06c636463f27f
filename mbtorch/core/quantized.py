"""Quantized tensors: what a tensor of ``qint8``/``quint8``/``qint32`` is, on any backend.

A quantized tensor is an ordinary ``Tensor`` with two differences, so that views, copies,
autograd's bookkeeping, graph capture and device transfers need nothing of their own:

- its ``_dtype`` is a *variant* of ``qint8``/``quint8``/``qint32`` carrying the quantization
  (``_q``: a ``QParams`` — scheme, scale, zero point, per-channel axis). Variants are interned:
  two tensors with the same quantization have the same dtype object, so an op that keeps its
  input's dtype (a view, ``clone``, ``cat`` of equally quantized tensors) keeps the
  quantization, and promotion refuses to mix two different ones. ``Tensor.dtype`` reports the
  public ``qint8`` itself. The handle holds the integer values (``_storage``: int8, uint8,
  int32) in the backend's own format.
- its ``_be`` is its device's backend seen through a ``QuantizedBackend``, which lends the
  layout primitives (``AS_STRIDED`` for views, ``COPY_``) and lets the view and copy
  composites decompose onto them; every other kernel raises PyTorch's ``NotImplementedError``
  ("Could not run ... with arguments from the 'QuantizedCPU' backend"). No op can silently
  compute on the integer representation: math on quantized values dequantizes, computes in
  float and quantizes (``mbtorch.core.ops.quantize``), which is also the QDQ form ONNX wants.

A per-channel tensor's quantization names a dimension, which a view could move; its backend
allows only the identity view (``detach``) and copies, as PyTorch refuses strides on it.
"""

from __future__ import annotations

import enum
import math
import weakref
from typing import Any, Callable

from . import dtypes as _dt
from .op import OPS, Op

__all__ = ["qscheme", "per_tensor_affine", "per_channel_affine", "per_tensor_symmetric",
           "per_channel_symmetric", "per_channel_affine_float_qparams", "QParams",
           "quantized_dtype", "quantized_backend", "int_view", "as_quantized", "qrange"]


class qscheme(enum.Enum):  # noqa: N801 - torch's spelling
    """How a tensor is quantized (``torch.qscheme``)."""

    per_tensor_affine = 0
    per_channel_affine = 1
    per_tensor_symmetric = 2
    per_channel_symmetric = 3
    per_channel_affine_float_qparams = 4

    def __repr__(self) -> str:
        return f"mbtorch.{self.name}"

    __str__ = __repr__

    def __reduce__(self):
        return self.name


per_tensor_affine = qscheme.per_tensor_affine
per_channel_affine = qscheme.per_channel_affine
per_tensor_symmetric = qscheme.per_tensor_symmetric
per_channel_symmetric = qscheme.per_channel_symmetric
per_channel_affine_float_qparams = qscheme.per_channel_affine_float_qparams
_PER_CHANNEL = (per_channel_affine, per_channel_symmetric, per_channel_affine_float_qparams)


def qrange(base: _dt.dtype) -> tuple[int, int]:
    """The integer range of ``qint8``/``quint8``/``qint32`` (what quantizing clamps to)."""
    bits = base.itemsize * 8
    return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if base.is_signed else (0, (1 << bits) - 1)


class QParams:
    """A tensor's quantization: per tensor (``scale`` float, ``zero_point`` int) or per
    channel (``scales``/``zero_points`` tuples along ``axis``; the tensors PyTorch returns for
    them are made on demand)."""

    __slots__ = ("scheme", "scale", "zero_point", "axis", "key", "__weakref__")

    def __init__(self, scheme: qscheme, scale: Any, zero_point: Any, axis: int | None):
        self.scheme, self.scale, self.zero_point, self.axis = scheme, scale, zero_point, axis
        self.key = (scheme, scale, zero_point, axis)

    @property
    def per_channel(self) -> bool:
        return self.scheme in _PER_CHANNEL

    def __repr__(self) -> str:
        return (f"QParams({self.scheme.name}, scale={self.scale}, zero_point={self.zero_point}"
                + (f", axis={self.axis})" if self.per_channel else ")"))


# variants live as long as some tensor (or a caller) holds them: dynamic quantization makes
# new scales for every batch, and they must not pile up
_VARIANTS: "weakref.WeakValueDictionary[tuple, _dt.dtype]" = weakref.WeakValueDictionary()


def quantized_dtype(base: _dt.dtype, params: QParams) -> _dt.dtype:
    """The interned variant of ``base`` (qint8, quint8, qint32) with quantization ``params``."""
    key = (base.name,) + params.key
    out = _VARIANTS.get(key)
    if out is None:
        out = _dt.dtype(base.name, base.itemsize, base.category, base.is_signed, base._rank,
                        storage=base._storage)
        out._public, out._q = base, params
        _VARIANTS[key] = out
    return out


def per_tensor(base: _dt.dtype, scale: float, zero_point: int,
               scheme: qscheme = per_tensor_affine) -> _dt.dtype:
    return quantized_dtype(base, QParams(scheme, float(scale), int(zero_point), None))


def per_channel(base: _dt.dtype, scales: tuple, zero_points: tuple, axis: int,
                scheme: qscheme = per_channel_affine) -> _dt.dtype:
    return quantized_dtype(base, QParams(scheme, tuple(float(s) for s in scales),
                                         tuple(zero_points), int(axis)))


def check_qparams(op: str, scale: Any, zero_point: Any, base: _dt.dtype) -> None:
    """PyTorch's checks on a scale and zero point (each a number, or a sequence of them)."""
    scales = scale if isinstance(scale, tuple) else (scale,)
    points = zero_point if isinstance(zero_point, tuple) else (zero_point,)
    for s in scales:
        if not math.isfinite(s) or s <= 0:
            raise RuntimeError(f"{op}(): scale must be a positive finite number, got {s}")
    lo, hi = qrange(base)
    for z in points:
        if base is not _dt.qint32 and not lo <= z <= hi:
            raise RuntimeError(f"{op}(): zero_point {z} is out of the range [{lo}, {hi}] of "
                               f"{base!r}")


# -- the backend a quantized tensor runs on ---------------------------------------------
class _Dtypes:
    """Every dtype, so that a cast or a reduction to another type reaches the kernel table and
    its refusal (the storage stores only quantized variants)."""

    __slots__ = ()

    def __contains__(self, d: object) -> bool:
        return isinstance(d, _dt.dtype)

    def __iter__(self):
        return iter(_dt.EVERY_DTYPE)


class _Storage:
    """The real backend's storage, with quantized dtypes mapped to their integer type and the
    host reads that would expose the integers as values refused."""

    def __init__(self, real: Any):
        self._real = real

    def empty(self, shape: tuple, dtype: _dt.dtype, device_index: int) -> Any:
        if dtype._q is None:
            raise RuntimeError(f"internal error: a quantized backend asked for a {dtype.name} "
                               "buffer")
        return self._real.empty(shape, dtype._storage, device_index)

    def to_numpy(self, handle: Any) -> Any:
        raise TypeError("numpy(): a quantized tensor has no NumPy equivalent (Got unsupported "
                        "ScalarType); use int_repr() or dequantize() first")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


class QuantizedBackend:
    """A device's backend as a quantized tensor sees it (PyTorch's ``QuantizedCPU`` and
    kin): the real backend's layout kernels, a refusal for every other op."""

    __slots__ = ("real", "spec", "device_type", "storage", "kernels", "inplace", "native",
                 "dtypes", "plugin", "fuse", "out", "per_channel", "falls_back")

    def __init__(self, real: Any, per_channel: bool):
        self.real, self.per_channel = real, per_channel
        self.spec, self.device_type, self.plugin = real.spec, real.device_type, real.plugin
        self.storage = _Storage(real.storage)
        self.dtypes = _Dtypes()
        self.fuse, self.falls_back = None, False  # no fusion, no CPU fallback of a refusal
        self.out = [None] * len(Op)
        self.inplace = [self._refusal(op) for op in Op]
        self.kernels = [None if op in _DECOMPOSED else self._refusal(op) for op in Op]
        self.kernels[Op.COPY_] = real.kernels[Op.COPY_]
        self.kernels[Op.AS_STRIDED] = (self._identity_view if per_channel
                                       else real.kernels[Op.AS_STRIDED])
        self.native = frozenset()

    @property
    def name(self) -> str:
        return "Quantized" + ("CPU" if self.device_type == "cpu" else self.device_type.upper())

    def _refusal(self, op: Op) -> Callable:
        backend = self.name

        def refuse(*args: Any) -> Any:
            raise NotImplementedError(
                f"{op.name.lower()}(): Could not run '{op.name.lower()}' with arguments from the "
                f"'{backend}' backend: mbtorch, like PyTorch, has no kernel for it on quantized "
                "tensors; dequantize() the input, compute in floating point and quantize the "
                "result (or use the modules of mbtorch.ao.nn.quantized)")

        return refuse

    def _identity_view(self, handle: Any, shape: tuple, strides: tuple, offset: int) -> Any:
        st = self.real.storage
        if tuple(shape) != tuple(st.shape(handle)) or tuple(strides) != tuple(
                st.strides(handle)) or offset:
            raise RuntimeError("Setting strides is possible only on uniformly quantized tensor "
                               "(a per-channel quantized tensor has only its own layout; "
                               "dequantize() it to take other views)")
        return self.real.kernels[Op.AS_STRIDED](handle, shape, strides, offset)

    def runs_natively(self, op: Op) -> bool:
        return False

    def __repr__(self) -> str:
        return f"<QuantizedBackend {self.name} over {self.real!r}>"


# the composites a quantized tensor may take: views and copies, built on AS_STRIDED/COPY_
_DECOMPOSED = frozenset({Op.VIEW, Op.PERMUTE, Op.EXPAND, Op.SLICE, Op.SELECT, Op.DIAGONAL,
                         Op.UNFOLD, Op.CONTIGUOUS, Op.CAT})
_BACKENDS: dict[tuple[int, bool], QuantizedBackend] = {}


def quantized_backend(real: Any, per_channel: bool) -> QuantizedBackend:
    """The one ``QuantizedBackend`` over ``real`` for per-tensor or per-channel tensors."""
    if isinstance(real, QuantizedBackend):
        real = real.real
    key = (id(real), per_channel)
    be = _BACKENDS.get(key)
    if be is None:
        assert all(op in OPS for op in _DECOMPOSED)
        be = _BACKENDS[key] = QuantizedBackend(real, per_channel)
    return be


def int_view(q: Any) -> Any:
    """The integer values of quantized ``q`` as an ordinary tensor sharing its storage (for
    the ops that read them; the public ``int_repr()`` copies)."""
    from .dispatch import TRACING, note_alias, wrap
    from .state import STATE

    t = wrap(q._data, q._shape, q._dtype._storage, q._device, q._be.real)
    if q._root is not None:
        t._root, t._offset, t._stride = int_view(q._root), q._offset, q._stride
    if TRACING and STATE.tracer is not None:
        note_alias(t, q)
    return t


def as_quantized(values: Any, qdtype: _dt.dtype) -> Any:
    """``values`` (a new integer tensor of ``qdtype``'s storage type, owning its storage)
    as a quantized tensor of ``qdtype``."""
    from .dispatch import TRACING, note_alias, wrap
    from .state import STATE

    if values._root is not None or values._dtype is not qdtype._storage:
        raise RuntimeError("internal error: as_quantized() needs a fresh "
                           f"{qdtype._storage.name} tensor")
    be = quantized_backend(values._be, qdtype._q.per_channel)
    q = wrap(values._data, values._shape, qdtype, values._device, be)
    if TRACING and STATE.tracer is not None:
        note_alias(q, values)
    return q
