"""``is_multithreading_enabled`` / ``set_multithreading_enabled``: PyTorch's switch for running
backward on per-device worker threads.

mbtorch's engine starts no worker threads: backward always runs on the calling thread — what
PyTorch does with the switch off, and what it does for CPU-only graphs with it on. The flag is
kept (thread-local, on by default, as PyTorch's) so that programs toggling it run unchanged
and read back what they set; it changes no result.
"""

from __future__ import annotations

import functools
import threading
from typing import Any, Callable

__all__ = ["is_multithreading_enabled", "set_multithreading_enabled"]


class _Flag(threading.local):
    enabled: bool = True


_FLAG = _Flag()


def is_multithreading_enabled() -> bool:
    return _FLAG.enabled


class set_multithreading_enabled:  # noqa: N801 - torch's spelling
    """Set the flag now or for a ``with`` block (restored on exit); also a decorator."""

    def __init__(self, mode: bool) -> None:
        self.prev = _FLAG.enabled
        _FLAG.enabled = bool(mode)
        self.mode = bool(mode)

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: Any) -> None:
        _FLAG.enabled = self.prev

    def clone(self) -> "set_multithreading_enabled":
        return self.__class__(self.mode)

    def __call__(self, fn: Callable) -> Callable:
        _FLAG.enabled = self.prev  # decorating must not change the flag at definition

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self.clone():
                return fn(*args, **kwargs)

        return wrapper
