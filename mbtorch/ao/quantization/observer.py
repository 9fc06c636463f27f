"""Observers (``torch.ao.quantization.observer``): modules that watch the tensors passing
through during calibration (or QAT) and turn their range into a scale and zero point.

>>> obs = MinMaxObserver(dtype=mbtorch.quint8)
>>> _ = obs(mbtorch.tensor([-1.0, 0.5, 2.0]))
>>> scale, zero_point = obs.calculate_qparams()
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import mbtorch as mt

from ._histogram import HistogramObserver
from ._observer_base import (
    ObserverBase,
    UniformQuantizationObserverBase,
    _factory_kwargs,
    _load_buffers,
    _PartialWrapper,  # noqa: F401 - qconfig and fake_quantize import it from here, as in torch
    _per_channel,
    _per_tensor,
    _resize_buffers_hook,
    _with_args,  # noqa: F401
    _with_callable_args,  # noqa: F401
)

__all__ = [
    "default_affine_fixed_qparams_observer", "default_debug_observer",
    "default_dynamic_quant_observer", "default_fixed_qparams_range_0to1_observer",
    "default_fixed_qparams_range_neg1to1_observer", "default_float_qparams_observer",
    "default_histogram_observer", "default_observer", "default_per_channel_weight_observer",
    "default_placeholder_observer", "default_reuse_input_observer",
    "default_symmetric_fixed_qparams_observer", "default_weight_observer",
    "get_observer_state_dict", "load_observer_state_dict",
    "per_channel_weight_observer_range_neg_127_to_127", "weight_observer_range_neg_127_to_127",
    "FixedQParamsObserver", "HistogramObserver", "MinMaxObserver",
    "MovingAverageMinMaxObserver", "MovingAveragePerChannelMinMaxObserver", "NoopObserver",
    "ObserverBase", "PerChannelMinMaxObserver", "PlaceholderObserver", "RecordingObserver",
    "ReuseInputObserver", "UniformQuantizationObserverBase",
]

_EPS = mt.finfo(mt.float32).eps


class MinMaxObserver(UniformQuantizationObserverBase):
    """Records the running minimum and maximum of everything it sees (per tensor)."""

    def __init__(self, dtype: Any = None, qscheme: Any = None, reduce_range: bool = False,
                 quant_min: int | None = None, quant_max: int | None = None,
                 factory_kwargs: dict | None = None, eps: float = _EPS,
                 is_dynamic: bool = False, **kwargs: Any) -> None:
        qscheme = mt.per_tensor_affine if qscheme is None else qscheme
        if not _per_tensor(qscheme):
            raise NotImplementedError(f"{type(self).__name__}'s qscheme only support "
                                      "mbtorch.per_tensor_symmetric and "
                                      f"mbtorch.per_tensor_affine, got {qscheme}")
        super().__init__(dtype=dtype, qscheme=qscheme, reduce_range=reduce_range,
                         quant_min=quant_min, quant_max=quant_max,
                         factory_kwargs=factory_kwargs, eps=eps, is_dynamic=is_dynamic,
                         **kwargs)
        fk = _factory_kwargs(factory_kwargs)
        self.register_buffer("min_val", mt.tensor(float("inf"), **fk))
        self.register_buffer("max_val", mt.tensor(float("-inf"), **fk))
        if qscheme == mt.per_tensor_symmetric and reduce_range and self.dtype == mt.quint8:
            raise NotImplementedError("Cannot reduce range for symmetric quantization for "
                                      "quint8")

    def forward(self, x_orig: mt.Tensor) -> mt.Tensor:
        """Records the running minimum and maximum of ``x``."""
        if x_orig.numel() == 0:
            return x_orig
        x = x_orig.detach().to(self.min_val.dtype)
        cur_min, cur_max = mt.aminmax(x)
        self.min_val.copy_(mt.minimum(cur_min, self.min_val))
        self.max_val.copy_(mt.maximum(cur_max, self.max_val))
        return x_orig

    def calculate_qparams(self) -> tuple[mt.Tensor, mt.Tensor]:  # type: ignore[override]
        return self._calculate_qparams(self.min_val, self.max_val)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}"

    def reset_min_max_vals(self) -> None:
        self.min_val.copy_(mt.tensor(float("inf")))
        self.max_val.copy_(mt.tensor(float("-inf")))

    def _load_from_state_dict(self, state_dict: dict, prefix: str, local_metadata: dict,
                              strict: bool, missing_keys: list, unexpected_keys: list,
                              error_msgs: list) -> None:
        _load_buffers(self, state_dict, prefix, strict, missing_keys)


class MovingAverageMinMaxObserver(MinMaxObserver):
    """Per-tensor min/max as an exponential moving average:
    ``x_min <- x_min + c * (min(X) - x_min)`` (the first batch sets it directly)."""

    def __init__(self, averaging_constant: float = 0.01, dtype: Any = None,
                 qscheme: Any = None, reduce_range: bool = False,
                 quant_min: int | None = None, quant_max: int | None = None,
                 eps: float = _EPS, is_dynamic: bool = False, **kwargs: Any) -> None:
        qscheme = mt.per_tensor_affine if qscheme is None else qscheme
        if not _per_tensor(qscheme):
            raise NotImplementedError("MovingAverageMinMaxObserver's qscheme only support "
                                      "mbtorch.per_tensor_symmetric and "
                                      f"mbtorch.per_tensor_affine, but got: {qscheme}")
        if is_dynamic and averaging_constant != 1:
            raise NotImplementedError("MovingAverageMinMaxObserver doesn't support dynamic "
                                      "quantization for averaging constant of "
                                      f"{averaging_constant}")
        super().__init__(dtype=dtype, qscheme=qscheme, reduce_range=reduce_range,
                         quant_min=quant_min, quant_max=quant_max, eps=eps,
                         is_dynamic=is_dynamic, **kwargs)
        self.averaging_constant = averaging_constant

    def forward(self, x_orig: mt.Tensor) -> mt.Tensor:
        if x_orig.numel() == 0:
            return x_orig
        x = x_orig.detach().to(self.min_val.dtype)
        min_val, max_val = self.min_val, self.max_val
        cur_min, cur_max = mt.aminmax(x)
        if float(min_val) == float("inf") and float(max_val) == float("-inf"):
            min_val, max_val = cur_min, cur_max
        else:
            min_val = min_val + self.averaging_constant * (cur_min - min_val)
            max_val = max_val + self.averaging_constant * (cur_max - max_val)
        self.min_val.copy_(min_val)
        self.max_val.copy_(max_val)
        return x_orig


def _channel_minmax(x: mt.Tensor, ch_axis: int, dtype: Any) -> tuple[mt.Tensor, mt.Tensor]:
    """Per-channel (min, max) of ``x`` along ``ch_axis`` (channel first, rest flattened)."""
    axes = list(range(x.dim()))
    axes[ch_axis], axes[0] = 0, ch_axis
    y = mt.flatten(x.permute(axes).to(dtype), start_dim=1)
    return tuple(mt.aminmax(y, dim=1))


class PerChannelMinMaxObserver(UniformQuantizationObserverBase):
    """Running min and max per channel (along ``ch_axis``); per-channel scales and zero points.
    ``min_val``/``max_val`` start empty and take the channel count from the first batch."""

    def __init__(self, ch_axis: int = 0, dtype: Any = None, qscheme: Any = None,
                 reduce_range: bool = False, quant_min: int | None = None,
                 quant_max: int | None = None, factory_kwargs: dict | None = None,
                 eps: float = _EPS, is_dynamic: bool = False, **kwargs: Any) -> None:
        qscheme = mt.per_channel_affine if qscheme is None else qscheme
        name = type(self).__name__
        if not _per_channel(qscheme):
            raise NotImplementedError(f"{name}'s qscheme only support "
                                      "mbtorch.per_channel_symmetric, per_channel_affine and "
                                      f"per_channel_affine_float_qparams, got {qscheme}")
        if is_dynamic:
            raise NotImplementedError(f"{name} doesn't support dynamic quantization")
        super().__init__(dtype=dtype, qscheme=qscheme, reduce_range=reduce_range,
                         quant_min=quant_min, quant_max=quant_max,
                         factory_kwargs=factory_kwargs, eps=eps, is_dynamic=is_dynamic,
                         **kwargs)
        fk = _factory_kwargs(factory_kwargs)
        self.ch_axis = ch_axis
        self.register_buffer("min_val", mt.tensor([], **fk))
        self.register_buffer("max_val", mt.tensor([], **fk))
        self.register_load_state_dict_pre_hook(_resize_buffers_hook(("min_val", "max_val")))
        if qscheme == mt.per_channel_symmetric and reduce_range and self.dtype == mt.quint8:
            raise NotImplementedError("Cannot reduce range for symmetric quantization for "
                                      "quint8")

    def forward(self, x_orig: mt.Tensor) -> mt.Tensor:
        return self._forward(x_orig)

    def _forward(self, x_orig: mt.Tensor) -> mt.Tensor:
        if x_orig.numel() == 0:
            return x_orig
        cur_min, cur_max = _channel_minmax(x_orig.detach(), self.ch_axis, self.min_val.dtype)
        if self.min_val.numel() == 0 or self.max_val.numel() == 0:
            min_val, max_val = cur_min, cur_max
        else:
            min_val, max_val = self._combine(cur_min, cur_max)
        self._store(min_val, max_val)
        return x_orig

    def _combine(self, cur_min: mt.Tensor, cur_max: mt.Tensor) -> tuple[mt.Tensor, mt.Tensor]:
        return mt.minimum(cur_min, self.min_val), mt.maximum(cur_max, self.max_val)

    def _store(self, min_val: mt.Tensor, max_val: mt.Tensor) -> None:
        self.min_val.resize_(tuple(min_val.shape))
        self.max_val.resize_(tuple(max_val.shape))
        self.min_val.copy_(min_val)
        self.max_val.copy_(max_val)

    def calculate_qparams(self) -> tuple[mt.Tensor, mt.Tensor]:  # type: ignore[override]
        return self._calculate_qparams(self.min_val, self.max_val)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}"

    def reset_min_max_vals(self) -> None:
        self.min_val = mt.empty(0)
        self.max_val = mt.empty(0)

    def _load_from_state_dict(self, state_dict: dict, prefix: str, local_metadata: dict,
                              strict: bool, missing_keys: list, unexpected_keys: list,
                              error_msgs: list) -> None:
        _load_buffers(self, state_dict, prefix, strict, missing_keys)


class MovingAveragePerChannelMinMaxObserver(PerChannelMinMaxObserver):
    """Per-channel min/max as an exponential moving average with ``averaging_constant``."""

    def __init__(self, averaging_constant: float = 0.01, ch_axis: int = 0, dtype: Any = None,
                 qscheme: Any = None, reduce_range: bool = False,
                 quant_min: int | None = None, quant_max: int | None = None,
                 eps: float = _EPS, is_dynamic: bool = False, **kwargs: Any) -> None:
        super().__init__(ch_axis=ch_axis, dtype=dtype, qscheme=qscheme,
                         reduce_range=reduce_range, quant_min=quant_min, quant_max=quant_max,
                         eps=eps, is_dynamic=is_dynamic, **kwargs)
        self.averaging_constant = averaging_constant

    def _combine(self, cur_min: mt.Tensor, cur_max: mt.Tensor) -> tuple[mt.Tensor, mt.Tensor]:
        c = self.averaging_constant
        return (self.min_val + c * (cur_min - self.min_val),
                self.max_val + c * (cur_max - self.max_val))


class FixedQParamsObserver(ObserverBase):
    """Fixed (scale, zero_point), for ops whose output range is known (sigmoid, tanh)."""

    def __init__(self, scale: float, zero_point: int, dtype: Any = None, qscheme: Any = None,
                 quant_min: int = 0, quant_max: int = 255, is_dynamic: bool = False,
                 **kwargs: Any) -> None:
        if is_dynamic:
            raise NotImplementedError("FixedQParamsObserver doesn't support dynamic "
                                      "quantization")
        super().__init__(dtype=mt.quint8 if dtype is None else dtype, is_dynamic=is_dynamic,
                         **kwargs)
        self.quant_min, self.quant_max = quant_min, quant_max
        self.register_buffer("scale", mt.tensor([scale], dtype=mt.float32))
        self.register_buffer("zero_point", mt.tensor([zero_point], dtype=mt.int32))
        self.qscheme = mt.per_tensor_affine if qscheme is None else qscheme

    def forward(self, X: mt.Tensor) -> mt.Tensor:
        return X

    def calculate_qparams(self) -> tuple[mt.Tensor, mt.Tensor]:  # type: ignore[override]
        return self.scale, self.zero_point


class PlaceholderObserver(ObserverBase):
    """Observes nothing; carries ``dtype`` (and ``is_dynamic``) to the quantized module's
    ``from_float`` (dynamic quantization, float16)."""

    def __init__(self, dtype: Any = None, custom_op_name: str = "", compute_dtype: Any = None,
                 quant_min: int | None = None, quant_max: int | None = None,
                 qscheme: Any = None, eps: float | None = None,
                 is_dynamic: bool = False) -> None:
        super().__init__(dtype=mt.float32 if dtype is None else dtype, is_dynamic=is_dynamic)
        self.qscheme = mt.per_tensor_affine if qscheme is None else qscheme
        self.quant_min, self.quant_max = quant_min, quant_max
        self.eps = _EPS if eps is None else eps
        self.custom_op = custom_op_name
        if compute_dtype:
            import warnings

            warnings.warn("Please use `is_dynamic` instead of `compute_dtype`. `compute_dtype` "
                          "will be deprecated in a future release of PyTorch.", stacklevel=2)

    def forward(self, x: mt.Tensor) -> mt.Tensor:
        return x

    def extra_repr(self) -> str:
        return f"dtype={self.dtype}, is_dynamic={self.is_dynamic}"

    def calculate_qparams(self) -> Any:  # type: ignore[override]
        raise Exception("calculate_qparams should not be called for PlaceholderObserver")  # noqa: TRY002


class RecordingObserver(ObserverBase):
    """Debug observer: keeps a clone of every tensor it sees (``get_tensor_value()``)."""

    def __init__(self, dtype: Any = None) -> None:
        super().__init__(dtype=mt.quint8 if dtype is None else dtype, is_dynamic=False)
        self.tensor_val: list = []

    def forward(self, x: mt.Tensor) -> mt.Tensor:
        self.tensor_val.append(x.clone())
        return x

    def calculate_qparams(self) -> Any:  # type: ignore[override]
        raise Exception("calculate_qparams should not be called for RecordingObserver")  # noqa: TRY002

    def get_tensor_value(self) -> list:
        return self.tensor_val


class NoopObserver(ObserverBase):
    """Observes nothing; carries ``dtype`` (float16 by default) to ``from_float``."""

    def __init__(self, dtype: Any = None, custom_op_name: str = "") -> None:
        super().__init__(dtype=mt.float16 if dtype is None else dtype, is_dynamic=False)
        self.custom_op = custom_op_name

    def forward(self, x: mt.Tensor) -> mt.Tensor:
        return x

    def calculate_qparams(self) -> Any:  # type: ignore[override]
        raise Exception("calculate_qparams should not be called for NoopObserver")  # noqa: TRY002


class ReuseInputObserver(ObserverBase):
    """Reuses the observer of the op's input (graph mode); observes nothing itself."""

    def __init__(self) -> None:
        super().__init__(mt.quint8, is_dynamic=False)

    def forward(self, x: mt.Tensor) -> mt.Tensor:
        return x

    def calculate_qparams(self) -> Any:  # type: ignore[override]
        raise Exception("calculate_qparams should not be called for ReuseInputObserver")  # noqa: TRY002


def get_observer_state_dict(mod: Any) -> OrderedDict:
    """The entries of ``mod.state_dict()`` that belong to observers
    (``activation_post_process``)."""
    return OrderedDict((k, v) for k, v in mod.state_dict().items()
                       if "activation_post_process" in k)


def load_observer_state_dict(mod: Any, obs_dict: dict) -> None:
    """Load observer statistics saved by ``get_observer_state_dict`` back into ``mod``."""
    missing_keys: list[str] = []
    for name, module in mod.named_modules():
        prefix = name + "." if name else ""
        if isinstance(module, ObserverBase) and hasattr(module, "_load_from_state_dict"):
            module._load_from_state_dict(obs_dict, prefix, {}, True, missing_keys, [], [])
    for k in missing_keys:
        if "observer" in k or "activation_post_process" in k:
            raise Exception(f"Missing keys for observer {k} in state_dict")  # noqa: TRY002


default_observer = MinMaxObserver.with_args(quant_min=0, quant_max=127)
default_placeholder_observer = PlaceholderObserver
default_debug_observer = RecordingObserver
default_weight_observer = MinMaxObserver.with_args(dtype=mt.qint8,
                                                   qscheme=mt.per_tensor_symmetric)
weight_observer_range_neg_127_to_127 = MinMaxObserver.with_args(
    dtype=mt.qint8, qscheme=mt.per_tensor_symmetric, quant_min=-127, quant_max=127,
    eps=2**-12)
default_histogram_observer = HistogramObserver.with_args(quant_min=0, quant_max=127)
default_per_channel_weight_observer = PerChannelMinMaxObserver.with_args(
    dtype=mt.qint8, qscheme=mt.per_channel_symmetric)
per_channel_weight_observer_range_neg_127_to_127 = PerChannelMinMaxObserver.with_args(
    dtype=mt.qint8, qscheme=mt.per_channel_symmetric, quant_min=-127, quant_max=127,
    eps=2**-12)
default_dynamic_quant_observer = PlaceholderObserver.with_args(
    dtype=mt.quint8, quant_min=0, quant_max=255, is_dynamic=True)
default_float_qparams_observer = PerChannelMinMaxObserver.with_args(
    dtype=mt.quint8, qscheme=mt.per_channel_affine_float_qparams, ch_axis=0)
default_fixed_qparams_range_neg1to1_observer = FixedQParamsObserver.with_args(
    scale=2.0 / 256.0, zero_point=128, dtype=mt.quint8, quant_min=0, quant_max=255)
default_fixed_qparams_range_0to1_observer = FixedQParamsObserver.with_args(
    scale=1.0 / 256.0, zero_point=0, dtype=mt.quint8, quant_min=0, quant_max=255)
default_symmetric_fixed_qparams_observer = default_fixed_qparams_range_neg1to1_observer
default_affine_fixed_qparams_observer = default_fixed_qparams_range_0to1_observer
default_reuse_input_observer = ReuseInputObserver
