"""Fake quantization (``torch.ao.quantization.fake_quantize``): modules that observe a tensor,
keep its current scale and zero point, and round it onto the quantization grid while staying
float, with the straight-through gradient, so training sees the int8 error (QAT).

>>> fq = default_fake_quant()
>>> y = fq(mbtorch.randn(4, 8))     # observed, then quantized and dequantized
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import mbtorch as mt
from mbtorch.nn import Module

from ._fused_qparams import fused_observe_
from ._observer_base import _resize_buffers_hook, _with_args
from .observer import (
    FixedQParamsObserver,
    HistogramObserver,
    MovingAverageMinMaxObserver,
    MovingAveragePerChannelMinMaxObserver,
    default_fixed_qparams_range_0to1_observer,
    default_fixed_qparams_range_neg1to1_observer,
)

__all__ = [
    "FakeQuantizeBase", "FakeQuantize", "FixedQParamsFakeQuantize",
    "FusedMovingAvgObsFakeQuantize", "disable_fake_quant", "disable_observer",
    "enable_fake_quant", "enable_observer", "default_fake_quant", "default_weight_fake_quant",
    "default_dynamic_fake_quant", "default_fixed_qparams_range_neg1to1_fake_quant",
    "default_fixed_qparams_range_0to1_fake_quant", "default_symmetric_fixed_qparams_fake_quant",
    "default_affine_fixed_qparams_fake_quant", "default_per_channel_weight_fake_quant",
    "default_histogram_fake_quant", "default_fused_act_fake_quant",
    "default_fused_wt_fake_quant", "default_fused_per_channel_wt_fake_quant",
    "fused_wt_fake_quant_range_neg_127_to_127",
    "fused_per_channel_wt_fake_quant_range_neg_127_to_127",
]

_INT_RANGE = {"qint8": (-128, 127), "quint8": (0, 255), "qint32": (-(2**31), 2**31 - 1),
              "int8": (-128, 127), "uint8": (0, 255), "int16": (-(2**15), 2**15 - 1),
              "uint16": (0, 2**16 - 1), "int32": (-(2**31), 2**31 - 1)}


def _is_per_channel(qscheme: Any) -> bool:
    return qscheme in (mt.per_channel_symmetric, mt.per_channel_affine,
                       mt.per_channel_affine_float_qparams)


def _is_per_tensor(qscheme: Any) -> bool:
    return qscheme in (mt.per_tensor_symmetric, mt.per_tensor_affine)


def _is_symmetric_quant(qscheme: Any) -> bool:
    return qscheme in (mt.per_tensor_symmetric, mt.per_channel_symmetric)


def _dtype_range(dtype: Any) -> tuple[int, int]:
    key = str(dtype).rsplit(".", 1)[-1]
    if key not in _INT_RANGE:
        raise AssertionError(f"FakeQuantize: argument 'dtype' must be an integer or quantized "
                             f"integer dtype, got {dtype}")
    return _INT_RANGE[key]


class FakeQuantizeBase(ABC, Module):
    """Base of the fake-quantize modules: the ``fake_quant_enabled`` and ``observer_enabled``
    switches (uint8 buffers, as in PyTorch) and their toggles."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("fake_quant_enabled", mt.tensor([1], dtype=mt.uint8))
        self.register_buffer("observer_enabled", mt.tensor([1], dtype=mt.uint8))

    @abstractmethod
    def forward(self, x: Any) -> Any:
        pass

    @abstractmethod
    def calculate_qparams(self, **kwargs: Any) -> Any:
        pass

    def enable_fake_quant(self, enabled: bool = True) -> None:
        self.fake_quant_enabled[0] = 1 if enabled else 0

    def disable_fake_quant(self) -> None:
        self.enable_fake_quant(False)

    def enable_observer(self, enabled: bool = True) -> None:
        self.observer_enabled[0] = 1 if enabled else 0

    def disable_observer(self) -> None:
        self.enable_observer(False)

    @classmethod
    def with_args(cls, **kwargs: Any) -> Any:
        ctor = _with_args(cls, **kwargs)
        ctor.__module__ = "mbtorch.ao.quantization.fake_quantize"
        return ctor


class FakeQuantize(FakeQuantizeBase):
    """``x_out = (clamp(round(x / scale + zero_point), quant_min, quant_max) - zero_point) *
    scale``, with ``scale``/``zero_point`` refreshed from ``activation_post_process`` (an
    observer built from ``observer(**observer_kwargs)``) while the observer is enabled."""

    def __init__(self, observer: Any = MovingAverageMinMaxObserver,
                 quant_min: int | None = None, quant_max: int | None = None,
                 is_dynamic: bool = False, **observer_kwargs: Any) -> None:
        super().__init__()
        if quant_min is not None and quant_max is not None:
            if quant_min > quant_max:
                raise AssertionError("quant_min must be less than or equal to quant_max")
            dtype = observer_kwargs.get("dtype", mt.quint8)
            if hasattr(observer, "p"):
                dtype = getattr(getattr(observer, "p", {}), "keywords", {}).get("dtype", dtype)
            lo, hi = _dtype_range(dtype)
            if lo > quant_min:
                raise AssertionError("quant_min out of bound")
            if quant_max > hi:
                raise AssertionError("quant_max out of bound")
            observer_kwargs.update({"quant_min": quant_min, "quant_max": quant_max})
        observer_kwargs["is_dynamic"] = is_dynamic
        self.activation_post_process = observer(**observer_kwargs)
        app = self.activation_post_process
        self.quant_min, self.quant_max = app.quant_min, app.quant_max
        self.is_dynamic = app.is_dynamic
        zp_dtype = mt.float32 if app.qscheme == mt.per_channel_affine_float_qparams else mt.int32
        self.register_buffer("scale", mt.tensor([1.0], dtype=mt.float32))
        self.register_buffer("zero_point", mt.tensor([0], dtype=zp_dtype))
        self.register_load_state_dict_pre_hook(_resize_buffers_hook(("scale", "zero_point")))
        self.dtype = app.dtype
        self.qscheme = app.qscheme
        self.ch_axis = app.ch_axis if hasattr(app, "ch_axis") else -1
        if not (_is_per_channel(self.qscheme) or _is_per_tensor(self.qscheme)):
            raise AssertionError("Only per channel and per tensor quantization are supported "
                                 f"in fake quantize got qscheme: {self.qscheme}")
        self.is_per_channel = _is_per_channel(self.qscheme)

    def calculate_qparams(self) -> tuple[mt.Tensor, mt.Tensor]:  # type: ignore[override]
        return self.activation_post_process.calculate_qparams()

    def forward(self, X: mt.Tensor) -> mt.Tensor:
        if bool(self.observer_enabled[0] == 1):
            self.activation_post_process(X.detach())
            scale, zero_point = self.calculate_qparams()
            self._store_qparams(scale.to(self.scale.device),
                                zero_point.to(self.zero_point.device))
        if bool(self.fake_quant_enabled[0] == 1):
            X = self._fake_quant(X)
        return X

    def _store_qparams(self, scale: mt.Tensor, zero_point: mt.Tensor) -> None:
        if tuple(self.scale.shape) != tuple(scale.shape):
            self.scale.resize_(tuple(scale.shape))
            self.zero_point.resize_(tuple(zero_point.shape))
        self.scale.copy_(scale)
        self.zero_point.copy_(zero_point)

    def _fake_quant(self, X: mt.Tensor) -> mt.Tensor:
        qmin, qmax = self.activation_post_process.quant_min, self.activation_post_process.quant_max
        if self.is_per_channel:
            return mt.fake_quantize_per_channel_affine(X, self.scale, self.zero_point,
                                                       self.ch_axis, qmin, qmax)
        return mt.fake_quantize_per_tensor_affine(X, self.scale, self.zero_point, qmin, qmax)

    def extra_repr(self) -> str:
        app = self.activation_post_process
        return (f"fake_quant_enabled={self.fake_quant_enabled}, "
                f"observer_enabled={self.observer_enabled}, quant_min={app.quant_min}, "
                f"quant_max={app.quant_max}, dtype={self.dtype}, qscheme={self.qscheme}, "
                f"ch_axis={self.ch_axis}, scale={self.scale}, zero_point={self.zero_point}")


class FixedQParamsFakeQuantize(FakeQuantize):
    """Fake quantization with fixed qparams (from a ``FixedQParamsObserver``); per tensor."""

    def __init__(self, observer: Any) -> None:
        super().__init__(observer=observer)
        if type(self.activation_post_process) is not FixedQParamsObserver:
            raise AssertionError(f"{type(self).__name__}'s observer must be a "
                                 f"{FixedQParamsObserver.__name__}")
        self._observer_ctr = observer
        self.scale = self.activation_post_process.scale
        self.zero_point = self.activation_post_process.zero_point
        if not _is_per_tensor(self.qscheme):
            raise AssertionError("Only per tensor quantization is supported "
                                 f"FixedQParamsFakeQuantize module, got qscheme:{self.qscheme}")

    def calculate_qparams(self) -> tuple[mt.Tensor, mt.Tensor]:  # type: ignore[override]
        return self.scale, self.zero_point

    def extra_repr(self) -> str:
        app = self.activation_post_process
        return (f"fake_quant_enabled={self.fake_quant_enabled}, "
                f"observer_enabled={self.observer_enabled}, scale={self.scale}, "
                f"zero_point={self.zero_point}, dtype={self.dtype}, "
                f"quant_min={app.quant_min}, quant_max={app.quant_max}, qscheme={self.qscheme}")


class FusedMovingAvgObsFakeQuantize(FakeQuantize):
    """PyTorch's fused observer + fake quant (``torch.fused_moving_avg_obs_fake_quant``):
    moving-average min/max as ``MovingAverageMinMaxObserver``, but the scale and zero point
    come from the C++ ``ChooseQuantizationParams`` rule (see ``_fused_qparams``), which for
    symmetric schemes differs slightly from the observer's own ``calculate_qparams``."""

    def __init__(self, observer: Any = MovingAverageMinMaxObserver, quant_min: int = 0,
                 quant_max: int = 255, **observer_kwargs: Any) -> None:
        super().__init__(observer, quant_min, quant_max, **observer_kwargs)
        if not isinstance(self.activation_post_process,
                          (MovingAverageMinMaxObserver, MovingAveragePerChannelMinMaxObserver)):
            raise AssertionError("Fused observer+fake_quant module only works with "
                                 "MovingAverageMinMaxObserver")
        self.register_buffer("fake_quant_enabled", mt.tensor([1], dtype=mt.int64))
        self.register_buffer("observer_enabled", mt.tensor([1], dtype=mt.int64))
        self.is_symmetric_quant = _is_symmetric_quant(self.activation_post_process.qscheme)

    def calculate_qparams(self) -> tuple[mt.Tensor, mt.Tensor]:  # type: ignore[override]
        return self.activation_post_process.calculate_qparams()

    def extra_repr(self) -> str:
        app = self.activation_post_process
        return (f"fake_quant_enabled={self.fake_quant_enabled}, "
                f"observer_enabled={self.observer_enabled}, scale={self.scale}, "
                f"zero_point={self.zero_point}, dtype={self.dtype}, quant_min={app.quant_min}, "
                f"quant_max={app.quant_max}, qscheme={self.qscheme}, "
                f"reduce_range={app.reduce_range}")

    def forward(self, X: mt.Tensor) -> mt.Tensor:
        if bool(self.observer_enabled[0] == 1):
            scale, zero_point = fused_observe_(self.activation_post_process, X.detach(),
                                               self.is_per_channel, self.is_symmetric_quant)
            self._store_qparams(scale, zero_point)
        if bool(self.fake_quant_enabled[0] == 1):
            return self._fake_quant(X)
        return X


def disable_fake_quant(mod: Module) -> None:
    """``model.apply(disable_fake_quant)``: fake-quantize modules pass values through."""
    if isinstance(mod, FakeQuantizeBase):
        mod.disable_fake_quant()


def enable_fake_quant(mod: Module) -> None:
    """``model.apply(enable_fake_quant)``."""
    if isinstance(mod, FakeQuantizeBase):
        mod.enable_fake_quant()


def disable_observer(mod: Module) -> None:
    """``model.apply(disable_observer)``: freeze the current scales and zero points."""
    if isinstance(mod, FakeQuantizeBase):
        mod.disable_observer()


def enable_observer(mod: Module) -> None:
    """``model.apply(enable_observer)``."""
    if isinstance(mod, FakeQuantizeBase):
        mod.enable_observer()


default_fake_quant = FakeQuantize.with_args(
    observer=MovingAverageMinMaxObserver, quant_min=0, quant_max=255, dtype=mt.quint8,
    qscheme=mt.per_tensor_affine, reduce_range=True)
default_weight_fake_quant = FakeQuantize.with_args(
    observer=MovingAverageMinMaxObserver, quant_min=-128, quant_max=127, dtype=mt.qint8,
    qscheme=mt.per_tensor_symmetric, reduce_range=False)
default_dynamic_fake_quant = FakeQuantize.with_args(
    observer=MovingAverageMinMaxObserver, quant_min=0, quant_max=255, is_dynamic=True,
    dtype=mt.quint8, averaging_constant=1)
default_fixed_qparams_range_neg1to1_fake_quant = FixedQParamsFakeQuantize.with_args(
    observer=default_fixed_qparams_range_neg1to1_observer)
default_fixed_qparams_range_0to1_fake_quant = FixedQParamsFakeQuantize.with_args(
    observer=default_fixed_qparams_range_0to1_observer)
default_symmetric_fixed_qparams_fake_quant = default_fixed_qparams_range_neg1to1_fake_quant
default_affine_fixed_qparams_fake_quant = default_fixed_qparams_range_0to1_fake_quant
default_per_channel_weight_fake_quant = FakeQuantize.with_args(
    observer=MovingAveragePerChannelMinMaxObserver, quant_min=-128, quant_max=127,
    dtype=mt.qint8, qscheme=mt.per_channel_symmetric, reduce_range=False, ch_axis=0)
default_histogram_fake_quant = FakeQuantize.with_args(
    observer=HistogramObserver, quant_min=0, quant_max=255, dtype=mt.quint8,
    qscheme=mt.per_tensor_affine, reduce_range=True)
default_fused_act_fake_quant = FusedMovingAvgObsFakeQuantize.with_args(
    observer=MovingAverageMinMaxObserver, quant_min=0, quant_max=255, dtype=mt.quint8)
default_fused_wt_fake_quant = FusedMovingAvgObsFakeQuantize.with_args(
    observer=MovingAverageMinMaxObserver, quant_min=-128, quant_max=127, dtype=mt.qint8,
    qscheme=mt.per_tensor_symmetric)
default_fused_per_channel_wt_fake_quant = FusedMovingAvgObsFakeQuantize.with_args(
    observer=MovingAveragePerChannelMinMaxObserver, quant_min=-128, quant_max=127,
    dtype=mt.qint8, qscheme=mt.per_channel_symmetric)
fused_wt_fake_quant_range_neg_127_to_127 = FusedMovingAvgObsFakeQuantize.with_args(
    observer=MovingAverageMinMaxObserver, quant_min=-127, quant_max=127, dtype=mt.qint8,
    qscheme=mt.per_tensor_symmetric, eps=2**-12)
fused_per_channel_wt_fake_quant_range_neg_127_to_127 = FusedMovingAvgObsFakeQuantize.with_args(
    observer=MovingAveragePerChannelMinMaxObserver, quant_min=-127, quant_max=127,
    dtype=mt.qint8, qscheme=mt.per_channel_symmetric, eps=2**-12)
