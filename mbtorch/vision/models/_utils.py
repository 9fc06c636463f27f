"""Helpers shared by the model builders."""

from __future__ import annotations

from typing import Any

__all__: list[str] = []


def _no_weights(builder: str, weights: Any) -> None:
    """Refuse ``weights`` other than ``None``: no published weight enum is wired up yet, and
    silently returning random weights would look like a pretrained model."""
    if weights is not None:
        raise NotImplementedError(
            f"{builder}(): weights={weights!r} is not supported yet; build with weights=None "
            f"and load a torchvision state dict: model.load_state_dict(mbtorch.load(path))")


def _make_divisible(v: float, divisor: int, min_value: int | None = None) -> int:
    """Round a channel count to a multiple of ``divisor`` without going down by more than 10%
    (torchvision's rule, so ``width_mult`` gives the same shapes as its checkpoints)."""
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v
