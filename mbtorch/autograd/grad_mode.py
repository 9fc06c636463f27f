"""Grad mode: ``no_grad``, ``enable_grad``, ``set_grad_enabled``, ``inference_mode``.

The flag lives in ``mbtorch.core.state.STATE`` (thread-local, as in PyTorch) so the dispatcher
reads it without importing autograd. Each class works as a context manager and as a decorator.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

from ..core.state import STATE

__all__ = [
    "is_grad_enabled", "is_inference_mode_enabled", "no_grad", "enable_grad", "set_grad_enabled",
    "inference_mode"
]


def is_grad_enabled() -> bool:
    """True when ops record the graph (the current thread's grad mode)."""
    return STATE.grad_enabled


def is_inference_mode_enabled() -> bool:
    return STATE.inference


class _DecoratorContext:
    """A context manager that can also decorate a function (fresh state per call)."""

    def __call__(self, fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self._fresh():
                return fn(*args, **kwargs)

        return wrapper

    def _fresh(self) -> "_DecoratorContext":
        return type(self)()


class no_grad(_DecoratorContext):
    """Disable recording: ``with mbtorch.no_grad(): p -= lr * p.grad``."""

    def __enter__(self) -> None:
        self.prev = STATE.grad_enabled
        STATE.grad_enabled = False

    def __exit__(self, *exc: Any) -> None:
        STATE.grad_enabled = self.prev


class enable_grad(_DecoratorContext):
    """Re-enable recording inside a ``no_grad`` block."""

    def __enter__(self) -> None:
        self.prev = STATE.grad_enabled
        STATE.grad_enabled = True

    def __exit__(self, *exc: Any) -> None:
        STATE.grad_enabled = self.prev


class set_grad_enabled(_DecoratorContext):
    """Set grad mode now (``mbtorch.set_grad_enabled(False)``) or for a ``with`` block; the
    block restores the previous mode on exit, as in PyTorch."""

    def __init__(self, mode: bool) -> None:
        self.prev = STATE.grad_enabled
        self.mode = bool(mode)
        STATE.grad_enabled = self.mode

    def __call__(self, fn: Callable) -> Callable:
        STATE.grad_enabled = self.prev  # decorating must not change the mode at definition
        return super().__call__(fn)

    def _fresh(self) -> "_SetGrad":
        return _SetGrad(self.mode)

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: Any) -> None:
        STATE.grad_enabled = self.prev


class _SetGrad:
    def __init__(self, mode: bool) -> None:
        self.mode = mode

    def __enter__(self) -> None:
        self.prev = STATE.grad_enabled
        STATE.grad_enabled = self.mode

    def __exit__(self, *exc: Any) -> None:
        STATE.grad_enabled = self.prev


class inference_mode(_DecoratorContext):
    """``no_grad`` for inference; mbtorch keeps no separate inference tensors, so this is
    grad mode off plus ``is_inference_mode_enabled()``."""

    def __init__(self, mode: bool = True) -> None:
        self.mode = bool(mode)

    def _fresh(self) -> "inference_mode":
        return inference_mode(self.mode)

    def __enter__(self) -> None:
        self.prev = (STATE.grad_enabled, STATE.inference)
        if self.mode:
            STATE.grad_enabled, STATE.inference = False, True
        else:
            STATE.inference = False

    def __exit__(self, *exc: Any) -> None:
        STATE.grad_enabled, STATE.inference = self.prev
