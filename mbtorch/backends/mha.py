"""``mbtorch.backends.mha``: PyTorch's switch for the fused inference fast path of
``nn.MultiheadAttention`` and ``nn.TransformerEncoder``.

mbtorch's attention modules have one path (the composite one PyTorch also falls back to), so
the switch changes no result; it is kept, on by default, for programs that set and read it.
"""

from __future__ import annotations

__all__ = ["get_fastpath_enabled", "set_fastpath_enabled"]

_fastpath = [True]


def get_fastpath_enabled() -> bool:
    return _fastpath[0]


def set_fastpath_enabled(value: bool) -> None:
    _fastpath[0] = value
