"""``mbtorch.backends.nnpack``: no mbtorch kernel uses NNPACK, so it is unavailable; the
``enabled`` switch (``set_flags``/``flags``) is kept as PyTorch's and changes no result."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

__all__ = ["is_available", "set_flags", "flags"]

_STATE = [True]  # enabled, as PyTorch's default


def is_available() -> bool:
    return False


def set_flags(_enabled: bool) -> tuple:
    """Set whether NNPACK is enabled; returns the previous value as a 1-tuple."""
    if not isinstance(_enabled, bool):
        raise RuntimeError(f"set_enabled_NNPACK expects a bool, but got "
                           f"{type(_enabled).__name__}")
    orig = (_STATE[0],)
    _STATE[0] = _enabled
    return orig


@contextmanager
def flags(enabled: bool = False) -> Iterator[None]:
    orig = set_flags(enabled)
    try:
        yield
    finally:
        set_flags(orig[0])
