"""``mbtorch.backends.miopen``: AMD's MIOpen; no mbtorch backend uses it. Its one flag,
``immediate``, reads and sets as in PyTorch and changes no result."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Any, Iterator

from ._flags import FlagModule, bool_flag

__all__ = ["set_flags", "flags"]

_FLAGS: dict[str, Any] = {"immediate": False}


def set_flags(_immediate: bool | None = None) -> tuple:
    orig = (_FLAGS["immediate"],)
    if _immediate is not None:
        sys.modules[__name__].immediate = _immediate
    return orig


@contextmanager
def flags(immediate: bool = False) -> Iterator[None]:
    orig = set_flags(immediate)
    try:
        yield
    finally:
        set_flags(*orig)


class _MiopenModule(FlagModule):
    immediate = bool_flag(_FLAGS, "immediate", "set_immediate_miopen")


sys.modules[__name__].__class__ = _MiopenModule
