"""The observer half of PyTorch's ``fused_moving_avg_obs_fake_quant``: a moving-average
min/max update and the scale / zero point of ATen's ``quant_utils::ChooseQuantizationParams``
(double arithmetic with the float roundings of the C++ code), which
``FusedMovingAvgObsFakeQuantize`` uses instead of the observer's ``calculate_qparams``."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import mbtorch as mt

__all__ = ["choose_qparams", "fused_observe_"]

_SMALL_SCALE = float(np.float32(6.1e-5))


def _f32(v: float) -> float:
    with np.errstate(over="ignore"):
        return float(np.float32(v))


def _symmetric_range(mn: float, mx: float, qmin: int, qmax: int) -> tuple[float, float]:
    sym_min = -((qmax - qmin) // 2 + 1)
    sym_max = (qmax - qmin) // 2
    max_scale = max(abs(_f32(mn / sym_min)), abs(_f32(mx / sym_max)))
    return _f32(max_scale * sym_min), _f32(max_scale * sym_max)


def _cut_small_scale(scale: float, mn: float, mx: float, span: int) -> tuple[float, float, float]:
    org = _f32(scale)
    if mn == 0.0:
        return _SMALL_SCALE, mn, _f32(_SMALL_SCALE * span)
    if mx == 0.0:
        return _SMALL_SCALE, _f32(-_SMALL_SCALE * span), mx
    amp = _f32(_SMALL_SCALE / org)
    return _SMALL_SCALE, _f32(mn * amp), _f32(mx * amp)


def choose_qparams(mn: float, mx: float, qmin: int, qmax: int,
                   preserve_sparsity: bool) -> tuple[float, int]:
    """ATen's ``ChooseQuantizationParams(min, max, qmin, qmax, preserve_sparsity)``."""
    mn, mx = _f32(mn), _f32(mx)
    symmetric = mn < 0 and mx > 0 and preserve_sparsity
    if symmetric:
        mn, mx = _symmetric_range(mn, mx, qmin, qmax)
    mn, mx = min(mn, 0.0), max(mx, 0.0)
    scale = (mx - mn) / (qmax - qmin)
    if _f32(scale) == 0.0 or math.isinf(_f32(1.0 / _f32(scale))):
        scale = 0.1
    if scale < _SMALL_SCALE:
        scale, mn, mx = _cut_small_scale(scale, mn, mx, qmax - qmin)
    from_min, from_max = qmin - mn / scale, qmax - mx / scale
    err_min, err_max = abs(qmin) - abs(mn / scale), abs(qmax) - abs(mx / scale)
    initial = from_min if err_min < err_max else from_max
    if mn < 0 and mx > 0 and preserve_sparsity:
        initial = (qmin + qmax) / 2
    if initial < qmin:
        zero_point = qmin
    elif initial > qmax:
        zero_point = qmax
    else:
        zero_point = round(initial)  # nearbyint: half to even, like Python's round
    return _f32(scale), int(zero_point)


def _batch_minmax(obs: Any, x: mt.Tensor, per_channel: bool) -> tuple[mt.Tensor, mt.Tensor]:
    x = x.to(mt.float32)
    if not per_channel:
        return tuple(mt.aminmax(x))
    axes = list(range(x.dim()))
    axes[obs.ch_axis], axes[0] = 0, obs.ch_axis
    return tuple(mt.aminmax(mt.flatten(x.permute(axes), start_dim=1), dim=1))


def fused_observe_(obs: Any, x: mt.Tensor, per_channel: bool,
                   symmetric: bool) -> tuple[mt.Tensor, mt.Tensor]:
    """Update ``obs.min_val``/``obs.max_val`` in place (moving average; an unset entry,
    +/-inf or an empty per-channel buffer, takes the batch value) and return the
    (scale float32, zero_point int32) the fused op computes from them."""
    cur_min, cur_max = _batch_minmax(obs, x, per_channel)
    if per_channel and obs.min_val.numel() == 0:
        obs.min_val.resize_(tuple(cur_min.shape)).fill_(float("inf"))
        obs.max_val.resize_(tuple(cur_max.shape)).fill_(float("-inf"))
    c = obs.averaging_constant
    unset_min, unset_max = mt.isinf(obs.min_val), mt.isinf(obs.max_val)
    new_min = mt.where(unset_min, cur_min, obs.min_val + c * (cur_min - obs.min_val))
    new_max = mt.where(unset_max, cur_max, obs.max_val + c * (cur_max - obs.max_val))
    obs.min_val.copy_(new_min)
    obs.max_val.copy_(new_max)
    pairs = [choose_qparams(lo, hi, obs.quant_min, obs.quant_max, symmetric)
             for lo, hi in zip(new_min.reshape(-1).tolist(), new_max.reshape(-1).tolist())]
    scale = mt.tensor([p[0] for p in pairs], dtype=mt.float32, device=x.device)
    zero_point = mt.tensor([p[1] for p in pairs], dtype=mt.int32, device=x.device)
    return scale, zero_point
