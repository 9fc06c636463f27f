"""``mbtorch.cpu.amp``: the deprecated spelling of ``mbtorch.amp`` with ``device_type='cpu'``
(``autocast`` defaults to bfloat16), as ``torch.cpu.amp``."""

from __future__ import annotations

from ..amp._legacy import legacy_autocast, legacy_grad_scaler
from ..core import dtypes as _dt

__all__ = ["autocast", "GradScaler"]

autocast = legacy_autocast("cpu", _dt.bfloat16)
GradScaler = legacy_grad_scaler("cpu")
