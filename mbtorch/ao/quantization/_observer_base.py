"""The shared part of the observers: the ``with_args`` factory (``_PartialWrapper``),
``ObserverBase``, and ``UniformQuantizationObserverBase`` with PyTorch's qparams arithmetic
(``_calculate_qparams``: symmetric / affine / float-qparams, ``reduce_range``, the eps clamp,
the quint8 symmetric zero point 128)."""

from __future__ import annotations

import warnings
from abc import ABCMeta, abstractmethod
from functools import partial
from typing import Any

import mbtorch as mt
from mbtorch import nn

__all__ = ["ObserverBase", "UniformQuantizationObserverBase"]


class _PartialWrapper:
    """A constructor with bound keyword arguments (``functools.partial``), plus arguments
    computed at construction time (``with_callable_args``); a ``QConfig`` holds these."""

    def __init__(self, p: partial) -> None:
        self.p = p
        self.callable_args: dict[str, Any] = {}

    def __call__(self, *args: Any, **keywords: Any) -> Any:
        for arg_name in self.callable_args:
            if arg_name not in keywords:
                keywords = {**keywords, arg_name: self.callable_args[arg_name]()}
        return self.p(*args, **keywords)

    def __repr__(self) -> str:
        return self.p.__repr__() + self.callable_args.__repr__()

    def with_args(self, **kwargs: Any) -> _PartialWrapper:
        return _with_args(self, **kwargs)

    def with_callable_args(self, **kwargs: Any) -> _PartialWrapper:
        result = _PartialWrapper(p=self.p)
        result.callable_args = {**self.callable_args, **kwargs}
        return result


def _with_args(cls_or_self: Any, **kwargs: Any) -> _PartialWrapper:
    """``Foo.with_args(a=3)`` -> a factory making a new ``Foo(a=3)`` on every call."""
    return _PartialWrapper(partial(cls_or_self, **kwargs))


def _with_callable_args(cls_or_self: Any, **kwargs: Any) -> _PartialWrapper:
    """``Foo.with_callable_args(t=f)`` -> a factory calling ``Foo(t=f())`` each time."""
    return _PartialWrapper(partial(cls_or_self)).with_callable_args(**kwargs)


ABC: Any = ABCMeta("ABC", (object,), {})


def _factory_kwargs(factory_kwargs: dict | None) -> dict:
    """PyTorch's ``nn.factory_kwargs``: only ``device`` and ``dtype`` are meaningful here."""
    if factory_kwargs is None:
        return {}
    unknown = set(factory_kwargs) - {"device", "dtype"}
    if unknown:
        raise TypeError(f"factory_kwargs: unexpected key(s) {sorted(unknown)}; "
                        "only 'device' and 'dtype' are accepted")
    return {k: v for k, v in factory_kwargs.items() if v is not None}


class ObserverBase(ABC, nn.Module):
    """Base observer: ``forward`` records statistics of what passes through (returning it
    unchanged) and ``calculate_qparams`` turns them into (scale, zero_point)."""

    def __init__(self, dtype: Any, is_dynamic: bool = False) -> None:
        super().__init__()
        self.dtype = dtype
        self.is_dynamic = is_dynamic

    @abstractmethod
    def forward(self, x: Any) -> Any:
        pass

    @abstractmethod
    def calculate_qparams(self, **kwargs: Any) -> Any:
        pass

    with_args = classmethod(_with_args)
    with_callable_args = classmethod(_with_callable_args)


def _per_tensor(qscheme: Any) -> bool:
    return qscheme in (mt.per_tensor_affine, mt.per_tensor_symmetric)


def _per_channel(qscheme: Any) -> bool:
    return qscheme in (mt.per_channel_affine, mt.per_channel_symmetric,
                       mt.per_channel_affine_float_qparams)


def _allowed_dtypes() -> tuple:
    return (mt.qint8, mt.quint8, mt.qint32, mt.int8, mt.uint8, mt.int16, mt.int32, mt.uint16)


def _calculate_qmin_qmax(quant_min: int | None, quant_max: int | None, custom: bool,
                         dtype: Any, reduce_range: bool) -> tuple[int, int]:
    """PyTorch's ``calculate_qmin_qmax``: the dtype's 8-bit (or 32/16-bit) range, halved by
    ``reduce_range``; a custom range is checked against the dtype and also halved."""
    if custom:
        qrange_len = quant_max - quant_min + 1
        if dtype in (mt.qint8, mt.int8) and not 0 < qrange_len <= 256:
            raise AssertionError("quantization range should be positive and not exceed the "
                                 "maximum bit range (=256).")
        if dtype in (mt.qint32, mt.int32) and not 0 < qrange_len <= 2**32:
            raise AssertionError("quantization range should be positive and not exceed the "
                                 "maximum bit range (=4294967296).")
        if reduce_range:
            quant_min, quant_max = quant_min // 2, quant_max // 2
        return quant_min, quant_max
    table = {mt.qint8: ((-128, 127), (-64, 63)), mt.int8: ((-128, 127), (-64, 63)),
             mt.quint8: ((0, 255), (0, 127)), mt.uint8: ((0, 255), (0, 127))}
    if dtype in table:
        return table[dtype][1 if reduce_range else 0]
    if dtype in (mt.qint32, mt.int32):
        return -(2**31), 2**31 - 1
    if dtype == mt.uint16:
        return 0, 2**16 - 1
    return -(2**15), 2**15 - 1  # int16, the last allowed dtype


def _min_max_valid(min_val: mt.Tensor, max_val: mt.Tensor) -> bool:
    if min_val.numel() == 0 or max_val.numel() == 0:
        warnings.warn("must run observer before calling calculate_qparams. Returning default "
                      "values.", stacklevel=3)
        return False
    if min_val.dim() == 0 or max_val.dim() == 0:
        if float(min_val) == float("inf") and float(max_val) == float("-inf"):
            warnings.warn("must run observer before calling calculate_qparams. Returning "
                          "default values.", stacklevel=3)
            return False
    if bool(mt.any(min_val > max_val)):
        raise AssertionError(f"min {min_val} should be less than max {max_val}")
    return True


class UniformQuantizationObserverBase(ObserverBase):
    """Common base of the observers that map a float range uniformly onto the integers of
    ``dtype``: validates ``qscheme``, ``dtype`` and a custom ``quant_min``/``quant_max``, holds
    the ``eps`` buffer, and computes scale and zero point from a (min, max) range."""

    _version = 3

    def __init__(self, dtype: Any = None, qscheme: Any = None, reduce_range: bool = False,
                 quant_min: int | None = None, quant_max: int | None = None,
                 factory_kwargs: dict | None = None, eps: float = mt.finfo(mt.float32).eps,
                 is_dynamic: bool = False, **kwargs: Any) -> None:
        dtype = mt.quint8 if dtype is None else dtype
        qscheme = mt.per_tensor_affine if qscheme is None else qscheme
        fk = _factory_kwargs(factory_kwargs)
        super().__init__(dtype=dtype, is_dynamic=is_dynamic, **kwargs)
        self.qscheme = qscheme
        if reduce_range:
            warnings.warn("Please use quant_min and quant_max to specify the range for "
                          "observers. reduce_range will be deprecated in a future release of "
                          "PyTorch.", stacklevel=2)
        self.reduce_range = reduce_range
        self.register_buffer("eps", mt.tensor([eps], **fk))
        if not (_per_tensor(qscheme) or _per_channel(qscheme)):
            raise AssertionError(
                f"{type(self).__name__}: qscheme {qscheme} is not supported; the default "
                "observers work for per_tensor_affine, per_tensor_symmetric, "
                "per_channel_affine, per_channel_symmetric and per_channel_affine_float_qparams")
        if dtype not in _allowed_dtypes():
            raise AssertionError(f"{type(self).__name__}: argument 'dtype' must be one of "
                                 f"{_allowed_dtypes()}, got {dtype}")
        self.has_customized_qrange = quant_min is not None and quant_max is not None
        if self.has_customized_qrange:
            _validate_qmin_qmax(quant_min, quant_max)
        self.quant_min, self.quant_max = _calculate_qmin_qmax(
            quant_min, quant_max, self.has_customized_qrange, dtype, reduce_range)

    def _validate_qmin_qmax(self, quant_min: int, quant_max: int) -> None:
        _validate_qmin_qmax(quant_min, quant_max)

    def _calculate_qparams(self, min_val: mt.Tensor,
                           max_val: mt.Tensor) -> tuple[mt.Tensor, mt.Tensor]:
        """(scale, zero_point) for the range [min_val, max_val], per tensor or per channel,
        with PyTorch's arithmetic and result dtypes (float32 scale; int64 zero point when
        symmetric, int32 when affine, float32 for float qparams)."""
        if not _min_max_valid(min_val, max_val):
            return mt.tensor([1.0], device=min_val.device), mt.tensor([0],
                                                                       device=min_val.device)
        qmin, qmax = self.quant_min, self.quant_max
        min_neg = mt.minimum(min_val, mt.zeros_like(min_val))
        max_pos = mt.maximum(max_val, mt.zeros_like(max_val))
        device = min_neg.device
        zero_point = mt.zeros(min_neg.shape, dtype=mt.int64, device=device)
        eps = self.eps
        if self.qscheme in (mt.per_tensor_symmetric, mt.per_channel_symmetric):
            max_pos = mt.maximum(-min_neg, max_pos)
            scale = mt.maximum(max_pos / (float(qmax - qmin) / 2), eps)
            if self.dtype in (mt.quint8, mt.uint8):
                mid = (qmin + qmax) // 2 if self.has_customized_qrange else 128
                zero_point = zero_point.new_full(zero_point.shape, mid)
            elif self.dtype == mt.uint16:
                zero_point = zero_point.new_full(zero_point.shape, 2**15)
        elif self.qscheme == mt.per_channel_affine_float_qparams:
            scale = (max_val - min_val) / float(qmax - qmin)
            scale = mt.where(scale > eps, scale, mt.ones_like(scale))
            zero_point = -1 * min_val / scale
        else:
            scale = mt.maximum((max_pos - min_neg) / float(qmax - qmin), eps)
            zero_point = qmin - mt.round(min_neg / scale).to(mt.int32)
            zero_point = mt.clamp(zero_point, qmin, qmax)
        # 0-d results become shape [1], matching FakeQuantize's default buffers
        if scale.dim() == 0:
            scale = scale.reshape(1)
        if zero_point.dim() == 0:
            zero_point = zero_point.reshape(1)
        return scale, zero_point

    def reset_min_max_vals(self) -> None:
        raise NotImplementedError("Cannot reset min/max values in the given observer.")


def _validate_qmin_qmax(quant_min: int, quant_max: int) -> None:
    if not quant_min <= 0 <= quant_max:
        raise AssertionError("Used-specified quantization range must include 0.")
    if quant_min >= quant_max:
        raise AssertionError("qmin must be strictly less than qmax for user-specified "
                             "quantization range.")


class _ResizeBuffersHook:
    """A load-state-dict pre-hook resizing the named buffers to the incoming shapes: PyTorch's
    observers and fake-quantizers do this in ``_load_from_state_dict`` because their
    per-channel buffers start empty and only get a shape once data has been seen. A class
    rather than a closure so that modules holding it still pickle."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = names

    def __call__(self, module: Any, state_dict: dict, prefix: str, *_: Any) -> None:
        for name in self.names:
            val = state_dict.get(prefix + name)
            buf = module._buffers.get(name)
            if val is not None and buf is not None and tuple(val.shape) != tuple(buf.shape):
                buf.resize_(tuple(val.shape))


def _resize_buffers_hook(names: tuple[str, ...]) -> _ResizeBuffersHook:
    return _ResizeBuffersHook(names)


def _load_buffers(module: Any, state_dict: dict, prefix: str, strict: bool,
                  missing_keys: list) -> None:
    """PyTorch's ``_load_from_state_dict`` for an observer-like module (the entry point
    ``load_observer_state_dict`` uses): resize then copy each of its own buffers."""
    for name, buf in module._buffers.items():
        key = prefix + name
        if buf is None or name in module._non_persistent:
            continue
        if key not in state_dict:
            if strict:
                missing_keys.append(key)
            continue
        val = state_dict[key]
        if tuple(val.shape) != tuple(buf.shape):
            buf.resize_(tuple(val.shape))
        with mt.no_grad():
            buf.copy_(val)
