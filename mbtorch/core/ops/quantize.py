"""Quantizing and dequantizing (``torch.quantize_per_tensor`` and kin) as registry ops.

Three composites, so that every backend runs them (decomposed onto float math, rounding,
clamping and casts) and a graph shows them as single nodes — ONNX export writes them as
``QuantizeLinear`` / ``DequantizeLinear``:

- ``QUANTIZE(x, scale, zero_point; axis, storage)``: ``clamp(round(x * (1/scale)) +
  zero_point)`` to the range of ``storage`` (int8, uint8, int32), rounding half to even in
  float32, as PyTorch's kernels; ``scale``/``zero_point`` 0-d, or 1-d along ``axis``.
- ``DEQUANTIZE(v, scale, zero_point; axis)``: ``(v - zero_point) * scale`` in float32.
- ``FAKE_QUANTIZE(x, scale, zero_point; axis, quant_min, quant_max)``: quantize to
  ``[quant_min, quant_max]`` and back, in ``x``'s dtype; its gradient is PyTorch's
  straight-through one (1 where the rounded value is in range, else 0), which the
  decomposition gives when recorded part by part.

What a quantized tensor is (its dtype and backend) lives in ``mbtorch.core.quantized``.
"""

from __future__ import annotations

from typing import Any

from .. import dtypes as _dt
from .. import quantized as _q
from ..dispatch import needs_grad
from ..op import Op, define
from ..tensor import Tensor, method_table, wrap_dim
from . import binary as _b
from . import ternary as _t
from . import unary as _u
from . import views as _v
from ._common import cast, run

__all__ = ["quantize_per_tensor", "quantize_per_tensor_dynamic", "quantize_per_channel",
           "dequantize", "fake_quantize_per_tensor_affine", "fake_quantize_per_channel_affine",
           "_make_per_tensor_quantized_tensor", "_make_per_channel_quantized_tensor"]

TENSOR_METHODS: dict = {}
"""The ``Tensor`` methods this module provides, by name (installed by ``mbtorch.core.ops``)."""
tensor_method = method_table(TENSOR_METHODS)

_BY_STORAGE = {_dt.int8: _dt.qint8, _dt.uint8: _dt.quint8, _dt.int32: _dt.qint32}


def _along(t: Tensor, axis: int | None, ndim: int) -> Tensor:
    """A per-channel parameter (1-d) shaped to broadcast along ``axis`` of an ``ndim`` tensor."""
    if axis is None:
        return t
    return _v.reshape(t, tuple(-1 if d == axis else 1 for d in range(ndim)))


# how PyTorch's kernels round ``x * (1/scale)`` with the zero point (``1/scale`` in float32)
FMA, ADD_ROUND, ROUND_ADD = "fma", "add-then-round", "round-then-add"


def _rounded(x: Tensor, scale: Tensor, zero_point: Tensor, axis: int | None,
             mode: str) -> Tensor:
    """``x * (1/scale)`` and ``zero_point``, rounded half to even: ``ROUND_ADD`` rounds the
    float32 product, then adds (fake quantize); ``ADD_ROUND`` adds to the float32 product,
    then rounds (quantizing to qint32); ``FMA`` adds in one fused multiply-add rounded once
    to float32 (quantizing to qint8/quint8, fbgemm's kernels). The fused form is computed in
    float64, where the product of two float32 values is exact; a backend without float64
    takes ``ADD_ROUND``, which differs only where the sum lies within a float32 rounding of a
    tie."""
    inv = _b.div(1.0, cast(_along(scale, axis, x.ndim), _dt.float32))
    zp = _along(zero_point, axis, x.ndim)
    if mode == ROUND_ADD:
        return _b.add(_u.round(_b.mul(cast(x, _dt.float32), inv)), cast(zp, _dt.float32))
    if mode == FMA and _dt.float64 in x._be.dtypes:
        fused = _b.add(_b.mul(cast(x, _dt.float64), cast(inv, _dt.float64)),
                       cast(zp, _dt.float64))
        return _u.round(cast(fused, _dt.float32))
    return _u.round(_b.add(_b.mul(cast(x, _dt.float32), inv), cast(zp, _dt.float32)))


@define(Op.QUANTIZE)
def _quantize(x: Tensor, scale: Tensor, zero_point: Tensor, axis: int | None,
              storage: _dt.dtype) -> Tensor:
    lo, hi = _q.qrange(_BY_STORAGE[storage])
    r = _rounded(x, scale, zero_point, axis, ADD_ROUND if storage is _dt.int32 else FMA)
    return cast(_t.clamp(r, float(lo), float(hi)), storage)


@define(Op.DEQUANTIZE)
def _dequantize(v: Tensor, scale: Tensor, zero_point: Tensor, axis: int | None) -> Tensor:
    """``(v - zero_point) * scale`` in the scale's dtype (float32 per tensor; float64 per
    channel, as PyTorch keeps those scales), rounded to float32."""
    wide = scale._dtype if scale._dtype in v._be.dtypes else _dt.float32
    shifted = _b.sub(cast(v, wide), cast(_along(zero_point, axis, v.ndim), wide))
    return cast(_b.mul(shifted, cast(_along(scale, axis, v.ndim), wide)), _dt.float32)


@define(Op.FAKE_QUANTIZE)
def _fake_quantize(x: Tensor, scale: Tensor, zero_point: Tensor, axis: int | None,
                   quant_min: int, quant_max: int) -> Tensor:
    from ...autograd.grad_mode import no_grad

    with no_grad():
        r = _rounded(x.detach(), scale.detach(), zero_point.detach(), axis, ROUND_ADD)
        z = cast(_along(zero_point.detach(), axis, x.ndim), _dt.float32)
        s = _along(scale.detach(), axis, x.ndim)
        out = cast(_b.mul(_b.sub(_t.clamp(r, float(quant_min), float(quant_max)), z), s),
                   x._dtype)
        inside = _b.logical_and(_b.ge(r, float(quant_min)), _b.le(r, float(quant_max)))
    if not needs_grad((x,)):
        return out
    # x - x.detach() is exactly 0 with gradient 1: the straight-through estimator, masked
    return _t.where(inside, _b.add(_b.sub(x, x.detach()), out), out)


# -- the public functions ------------------------------------------------------------------
def _number(value: Any, op: str, arg: str, kind: type) -> Any:
    if isinstance(value, Tensor):
        if value.numel() != 1:
            raise RuntimeError(f"{op}(): argument '{arg}' must be a number or a one-element "
                               f"tensor, got a tensor of shape {tuple(value._shape)}")
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{op}(): argument '{arg}' must be {kind.__name__}, not "
                        f"{type(value).__name__}")
    if kind is int and isinstance(value, float) and not value.is_integer():
        raise TypeError(f"{op}(): argument '{arg}' must be int, not float")
    return kind(value)


def _check_quantized_dtype(dtype: Any, op: str) -> None:
    if dtype not in _dt.QUANTIZED_DTYPES:
        raise RuntimeError(f"{op}(): argument 'dtype' must be a quantized dtype like "
                           f"mbtorch.quint8, mbtorch.qint8 or mbtorch.qint32, got {dtype!r}")


def _check_float_input(x: Any, op: str) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(x).__name__}")
    if x._dtype is not _dt.float32:
        got = x._dtype._public.scalar_name
        raise RuntimeError(f"{op}(): Quantize only works on Float Tensor, got {got}")


def _params(x: Tensor, scale: Any, zero_point: Any) -> tuple[Tensor, Tensor]:
    """The op inputs for a scale (float32; per channel a list: float64, as PyTorch keeps
    them, where the device has it) and a zero point (int64)."""
    from .creation import tensor

    wide = isinstance(scale, list) and _dt.float64 in x._be.dtypes
    return (tensor(scale, dtype=_dt.float64 if wide else _dt.float32, device=x._device),
            tensor(zero_point, dtype=_dt.int64, device=x._device))


def _quantized(x: Tensor, qdtype: _dt.dtype, scale: Tensor, zero_point: Tensor,
               axis: int | None) -> Tensor:
    storage = qdtype._storage
    values = run(Op.QUANTIZE, (x, scale, zero_point), (axis, storage), (x._shape, storage),
                 x._device, x._be)
    return _q.as_quantized(values, qdtype)


def quantize_per_tensor(input: Any, scale: Any, zero_point: Any, dtype: Any) -> Any:
    """``input`` (float32) quantized with one scale and zero point: ``clamp(round(x /
    scale) + zero_point)`` to ``dtype``'s range (a list of tensors with tensors of scales
    and zero points gives a list)."""
    op = "quantize_per_tensor"
    if isinstance(input, (list, tuple)):
        return [quantize_per_tensor(t, s, z, dtype)
                for t, s, z in zip(input, scale.tolist(), zero_point.tolist(), strict=True)]
    _check_quantized_dtype(dtype, op)
    _check_float_input(input, op)
    s, z = _number(scale, op, "scale", float), _number(zero_point, op, "zero_point", int)
    _q.check_qparams(op, s, z, dtype)
    qdtype = _q.per_tensor(dtype, s, z)
    return _quantized(input, qdtype, *_params(input, s, z), None)


def choose_qparams(lo: float, hi: float, qmin: int, qmax: int) -> tuple[float, int]:
    """PyTorch's ``choose_qparams`` (affine, the range widened to include 0): the scale and
    the nudged zero point that map ``[lo, hi]`` onto ``[qmin, qmax]``."""
    import numpy as np

    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    scale = (hi - lo) / (qmax - qmin)
    if np.float32(scale) == 0 or np.isinf(1.0 / np.float32(scale)):
        scale = 0.1
    scale = float(np.float32(scale))
    from_min, from_max = qmin - lo / scale, qmax - hi / scale
    error_min, error_max = abs(qmin) - abs(lo / scale), abs(qmax) - abs(hi / scale)
    initial = from_min if error_min < error_max else from_max
    zero_point = qmin if initial < qmin else qmax if initial > qmax else int(np.rint(initial))
    return scale, zero_point


def quantize_per_tensor_dynamic(input: Any, dtype: Any, reduce_range: bool) -> Tensor:
    """``input`` quantized with the scale and zero point its own min and max give (what
    dynamic quantization does to activations); ``reduce_range`` drops the top bit of range."""
    op = "quantize_per_tensor_dynamic"
    _check_float_input(input, op)
    if dtype not in (_dt.qint8, _dt.quint8):
        raise RuntimeError(f"{op}(): argument 'dtype' must be mbtorch.qint8 or "
                           f"mbtorch.quint8, got {dtype!r}")
    qmin, qmax = _q.qrange(dtype)
    if reduce_range:
        qmin, qmax = qmin // 2, qmax // 2
    if input.numel():
        lo, hi = input.min().item(), input.max().item()
    else:
        lo = hi = 0.0
    scale, zero_point = choose_qparams(lo, hi, qmin, qmax)
    return quantize_per_tensor(input, scale, zero_point, dtype)


def quantize_per_channel(input: Any, scales: Any, zero_points: Any, axis: int,
                         dtype: Any) -> Tensor:
    """``input`` quantized with one scale and zero point per index along ``axis``."""
    op = "quantize_per_channel"
    _check_quantized_dtype(dtype, op)
    _check_float_input(input, op)
    for name, t in (("scales", scales), ("zero_points", zero_points)):
        if not isinstance(t, Tensor) or t.ndim != 1:
            raise TypeError(f"{op}(): argument '{name}' must be a 1-d Tensor")
    if not isinstance(axis, int) or not 0 <= axis < max(input.ndim, 1):
        raise RuntimeError(f"{op}(): Channel axis out of range in per channel affine "
                           f"quantization. Got: {axis} Expected: [0, {input.ndim})")
    channels = input._shape[axis]
    if scales.numel() != channels or zero_points.numel() != channels:
        raise RuntimeError(f"{op}(): length of scales and zero_points must equal the size of "
                           f"dim {axis} ({channels}), got {scales.numel()} and "
                           f"{zero_points.numel()}")
    if zero_points._dtype.is_floating_point:  # PyTorch: per_channel_affine_float_qparams
        raise NotImplementedError(f"{op}(): floating-point zero_points (the "
                                  "per_channel_affine_float_qparams scheme) are not supported; "
                                  "pass integer zero points")
    s = tuple(float(v) for v in scales.tolist())
    z = tuple(int(v) for v in zero_points.tolist())
    _q.check_qparams(op, s, z, dtype)
    qdtype = _q.per_channel(dtype, s, z, axis)
    return _quantized(input, qdtype, *_params(input, list(s), list(z)), axis)


@tensor_method
def dequantize(self: Any) -> Any:
    """The float32 values a quantized tensor stands for (a float tensor is returned as is; a
    list gives a list)."""
    if isinstance(self, (list, tuple)):
        return [dequantize(t) for t in self]
    q = self._dtype._q
    if q is None:
        return self
    scale, zero_point = _params(self, q.scale if q.axis is None else list(q.scale),
                                q.zero_point if q.axis is None else list(q.zero_point))
    v = _q.int_view(self)
    return run(Op.DEQUANTIZE, (v, scale, zero_point), (q.axis,), (self._shape, _dt.float32),
               self._device, v._be)


def _fake_params(x: Tensor, scale: Any, zero_point: Any, op: str) -> tuple[Tensor, Tensor]:
    from .creation import tensor

    if isinstance(scale, Tensor):
        s = cast(scale, _dt.float32, op)
    else:
        s = tensor(_number(scale, op, "scale", float), dtype=_dt.float32, device=x._device)
    if isinstance(zero_point, Tensor):
        z = zero_point
    else:
        z = tensor(_number(zero_point, op, "zero_point", int), dtype=_dt.int64,
                   device=x._device)
    return s, z


def _check_fake(x: Any, quant_min: int, quant_max: int, op: str) -> None:
    if not isinstance(x, Tensor) or not x._dtype.is_floating_point:
        raise RuntimeError(f"{op}(): argument 'input' must be a floating point Tensor")
    if quant_min > quant_max:
        raise RuntimeError(f"{op}(): `quant_min` should be less than or equal to `quant_max` "
                           f"(got {quant_min} and {quant_max})")


def _peek(t: Tensor, scalar: bool = False) -> Any:
    """``t``'s value (one number with ``scalar``, else a list) for a check of the arguments,
    read outside any graph being traced (a QAT model's zero points are buffers; the check is
    about the example's values)."""
    from ...graph.capture import untraced

    with untraced():
        return t.item() if scalar else t.tolist()


def fake_quantize_per_tensor_affine(input: Any, scale: Any, zero_point: Any, quant_min: int,
                                    quant_max: int) -> Tensor:
    """Quantize to ``[quant_min, quant_max]`` and dequantize at once, differentiably (the
    straight-through gradient): what quantization-aware training inserts."""
    op = "fake_quantize_per_tensor_affine"
    _check_fake(input, quant_min, quant_max, op)
    s, z = _fake_params(input, scale, zero_point, op)
    if s.numel() != 1 or z.numel() != 1:
        raise RuntimeError(f"{op}(): scale and zero_point must have one element each")
    zp = int(zero_point) if isinstance(zero_point, (int, float)) else int(_peek(z, True))
    if not quant_min <= zp <= quant_max:
        raise RuntimeError(f"{op}(): `zero_point` must be between `quant_min` and `quant_max` "
                           f"(got {zp} outside [{quant_min}, {quant_max}])")
    s, z = _v.reshape(s, ()), _v.reshape(z, ())
    return run(Op.FAKE_QUANTIZE, (input, s, z), (None, int(quant_min), int(quant_max)),
               (input._shape, input._dtype), input._device, input._be)


def fake_quantize_per_channel_affine(input: Any, scale: Any, zero_point: Any, axis: int,
                                     quant_min: int, quant_max: int) -> Tensor:
    """Per-channel fake quantization along ``axis`` (``scale``/``zero_point`` 1-d)."""
    op = "fake_quantize_per_channel_affine"
    _check_fake(input, quant_min, quant_max, op)
    axis = wrap_dim(axis, input.ndim, op)
    for name, t in (("scale", scale), ("zero_point", zero_point)):
        if not isinstance(t, Tensor) or t.ndim != 1 or t.numel() != input._shape[axis]:
            raise RuntimeError(f"{op}(): argument '{name}' must be a 1-d tensor with one "
                               f"value per index of dim {axis} ({input._shape[axis]})")
    zps = _peek(zero_point)
    if any(not quant_min <= v <= quant_max for v in zps):
        raise RuntimeError(f"{op}(): `zero_point` must be between `quant_min` and "
                           f"`quant_max` ({quant_min}, {quant_max})")
    return run(Op.FAKE_QUANTIZE, (input, cast(scale, _dt.float32, op), zero_point),
               (axis, int(quant_min), int(quant_max)), (input._shape, input._dtype),
               input._device, input._be)


def _make_per_tensor_quantized_tensor(input: Any, scale: float, zero_point: int) -> Tensor:
    """A quantized tensor with ``input``'s integers (int8, uint8 or int32) as its values."""
    op = "_make_per_tensor_quantized_tensor"
    base = _base_of(input, op)
    s, z = _number(scale, op, "scale", float), _number(zero_point, op, "zero_point", int)
    _q.check_qparams(op, s, z, base)
    from .copying import clone

    values = clone(input, memory_format=None).contiguous()
    return _q.as_quantized(_fresh(values), _q.per_tensor(base, s, z))


def _make_per_channel_quantized_tensor(input: Any, scale: Tensor, zero_point: Tensor,
                                       axis: int) -> Tensor:
    op = "_make_per_channel_quantized_tensor"
    base = _base_of(input, op)
    axis = wrap_dim(axis, input.ndim, op)
    s = tuple(float(v) for v in scale.tolist())
    z = tuple(int(v) for v in zero_point.tolist())
    if len(s) != input._shape[axis] or len(z) != input._shape[axis]:
        raise RuntimeError(f"{op}(): length of scale and zero_point must equal the size of "
                           f"dim {axis} ({input._shape[axis]})")
    _q.check_qparams(op, s, z, base)
    from .copying import clone

    values = clone(input).contiguous()
    return _q.as_quantized(_fresh(values), _q.per_channel(base, s, z, axis))


def _base_of(input: Any, op: str) -> _dt.dtype:
    if not isinstance(input, Tensor) or input._dtype not in _BY_STORAGE:
        got = input._dtype if isinstance(input, Tensor) else type(input).__name__
        raise RuntimeError(f"{op}(): argument 'input' must be an int8, uint8 or int32 tensor, "
                           f"got {got}")
    return _BY_STORAGE[input._dtype]


def _fresh(values: Tensor) -> Tensor:
    """``values`` owning its storage (a contiguous copy may still be a view of a clone)."""
    if values._root is None:
        return values
    from ..dispatch import wrap

    return wrap(values._data, values._shape, values._dtype, values._device, values._be)


# -- ops PyTorch runs on quantized tensors: those exact on the integers --------------------
def on_integers(q: Tensor, fn: Any, *args: Any) -> Any:
    """``fn`` (an op keeping dtype and order, such as a maximum) applied to ``q``'s integers,
    the result quantized as ``q``: exact, because dequantizing is increasing."""
    out = fn(_q.int_view(q), *args)
    values, rest = (out[0], out[1:]) if isinstance(out, tuple) else (out, None)
    if values._root is not None:  # a view of q's integers: the result owns a copy
        from .copying import clone

        values = clone(values)
    values = _fresh(values)
    q_out = _q.as_quantized(values, q._dtype)
    return q_out if rest is None else (q_out, *rest)


def quantized_relu(q: Tensor) -> Tensor:
    """``relu`` of a per-tensor quantized tensor: its integers clamped below at the zero
    point (PyTorch's quantized relu)."""
    params = _qparams(q, "relu")
    if params.per_channel:
        raise NotImplementedError("relu(): Could not run 'relu' with arguments from the "
                                  "'QuantizedCPU' backend for a per-channel quantized tensor; "
                                  "dequantize() it first")
    return on_integers(q, _t.clamp_min, params.zero_point)


# -- the Tensor methods of a quantized tensor ------------------------------------------------
def _qparams(self: Tensor, op: str, per_channel: bool | None = None) -> _q.QParams:
    q = self._dtype._q
    if q is None:
        raise RuntimeError(f"{op}(): expected a quantized tensor, got {self._dtype}")
    if per_channel is not None and q.per_channel != per_channel:
        kind = "per-channel" if per_channel else "per-tensor"
        raise RuntimeError(f"{op}(): expected a {kind} quantized tensor, got {q.scheme!r}")
    return q


@tensor_method
def int_repr(self: Tensor) -> Tensor:
    """The integer values of a quantized tensor (int8, uint8 or int32), as a copy."""
    _qparams(self, "int_repr")
    from .copying import clone

    return clone(_q.int_view(self))


@tensor_method
def q_scale(self: Tensor) -> float:
    return _qparams(self, "q_scale", False).scale


@tensor_method
def q_zero_point(self: Tensor) -> int:
    return _qparams(self, "q_zero_point", False).zero_point


@tensor_method
def q_per_channel_scales(self: Tensor) -> Tensor:
    from .creation import tensor

    return tensor(list(_qparams(self, "q_per_channel_scales", True).scale),
                  dtype=_dt.float64, device=self._device)


@tensor_method
def q_per_channel_zero_points(self: Tensor) -> Tensor:
    from .creation import tensor

    return tensor(list(_qparams(self, "q_per_channel_zero_points", True).zero_point),
                  dtype=_dt.int64, device=self._device)


@tensor_method
def q_per_channel_axis(self: Tensor) -> int:
    return _qparams(self, "q_per_channel_axis", True).axis


@tensor_method
def qscheme(self: Tensor) -> _q.qscheme:
    return _qparams(self, "qscheme").scheme
