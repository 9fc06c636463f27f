"""``mbtorch.backends.opt_einsum``: ``mbtorch.einsum`` contracts its operands left to right
and never computes a path with the opt_einsum package, so this answers as PyTorch does where
opt_einsum is missing: not available, ``enabled`` False, ``strategy`` None, and turning it on
is refused with PyTorch's ValueError."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Any, Iterator

from ._flags import FlagModule

__all__ = ["is_available", "get_opt_einsum", "set_flags", "flags"]


def is_available() -> bool:
    return False


def get_opt_einsum() -> Any:
    return None


def _set_enabled(_module: Any, value: Any) -> None:
    if value:
        raise ValueError(f"opt_einsum is not available, so setting `enabled` to {value} will "
                         "not reap the benefits of calculating an optimal path for einsum. "
                         "mbtorch.einsum contracts from left to right.")


def _set_strategy(_module: Any, value: Any) -> None:
    if value is not None:
        raise ValueError(f"opt_einsum is not available, so setting `strategy` to {value} will "
                         "not be meaningful. mbtorch.einsum contracts from left to right.")


def set_flags(_enabled: bool | None = None, _strategy: str | None = None) -> tuple:
    orig = (False, None)
    module = sys.modules[__name__]
    if _enabled is not None:
        module.enabled = _enabled
    if _strategy is not None:
        module.strategy = _strategy
    return orig


@contextmanager
def flags(enabled: bool | None = None, strategy: str | None = None) -> Iterator[None]:
    orig = set_flags(enabled, strategy)
    try:
        yield
    finally:
        set_flags(*orig)


class _OptEinsumModule(FlagModule):
    enabled = property(lambda _m: False, _set_enabled)
    strategy = property(lambda _m: None, _set_strategy)


sys.modules[__name__].__class__ = _OptEinsumModule
