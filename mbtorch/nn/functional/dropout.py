"""Dropout variants (``mbtorch.nn.functional``): element-wise, channel-wise and the
self-normalising alpha dropouts."""

from __future__ import annotations

import mbtorch as _mt

from ...core.tensor import Tensor

__all__ = [
    "dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout"
]


def _inplace(input: Tensor, out: Tensor, inplace: bool) -> Tensor:
    return input.copy_(out) if inplace else out


def _check_p(p: float) -> None:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def dropout(input: Tensor, p: float = 0.5, training: bool = True,
            inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``."""
    _check_p(p)
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return _inplace(input, input * 0.0, inplace)
    keep = _mt.rand_like(input) >= p
    return _inplace(input, _mt.where(keep, input * (1.0 / (1.0 - p)), 0.0), inplace)


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    return _channel_dropout(input, p, training, inplace, 1)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    return _channel_dropout(input, p, training, inplace, 2)


def _channel_dropout(input: Tensor, p: float, training: bool, inplace: bool,
                     spatial: int) -> Tensor:
    _check_p(p)
    if not training or p == 0.0:
        return input
    keep = _mt.rand(_channel_mask_shape(input, spatial), device=input.device) >= p
    out = _mt.where(keep, input * (1.0 / (1.0 - p)), 0.0) if p < 1 else input * 0.0
    return _inplace(input, out, inplace)


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    return _channel_dropout(input, p, training, inplace, 3)


def _channel_mask_shape(input: Tensor, spatial: int) -> tuple[int, ...]:
    return tuple(input.shape[:-spatial]) + (1,) * spatial


# SELU's fixed point: dropped units are set to its negative saturation value and the result is
# rescaled so that zero mean and unit variance are kept (Klambauer et al., 2017)
_ALPHA_PRIME = -1.7580993408473766


def _alpha_dropout(input: Tensor, p: float, training: bool, inplace: bool,
                   mask_shape: tuple[int, ...]) -> Tensor:
    _check_p(p)
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return _inplace(input, input * 0.0, inplace)
    keep = (_mt.rand(mask_shape, device=input.device) >= p).to(input.dtype)
    a = (1.0 / ((1.0 - p) * (1.0 + p * _ALPHA_PRIME ** 2))) ** 0.5
    b = -a * _ALPHA_PRIME * p
    out = (input * keep + _ALPHA_PRIME * (1.0 - keep)) * a + b
    return _inplace(input, out, inplace)


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False,
                  inplace: bool = False) -> Tensor:
    return _alpha_dropout(input, p, training, inplace, tuple(input.shape))


def feature_alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False,
                          inplace: bool = False) -> Tensor:
    """Alpha dropout of whole channels: one draw per (batch, channel) of an (N, C, *) input."""
    if input.dim() < 2:
        raise RuntimeError("feature_alpha_dropout(): expected an input with at least 2 dims, "
                           f"got {input.dim()}")
    shape = tuple(input.shape[:2]) + (1,) * (input.dim() - 2)
    return _alpha_dropout(input, p, training, inplace, shape)
