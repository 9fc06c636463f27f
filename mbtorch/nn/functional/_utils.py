"""Argument helpers shared by the functional modules."""

from __future__ import annotations

from typing import Any

__all__ = ["assert_int_or_pair"]


def _tuple(v: Any, n: int, name: str, op: str) -> tuple[int, ...]:
    if isinstance(v, int):
        return (v,) * n
    v = tuple(v)
    if len(v) == 1:
        return v * n
    if len(v) != n:
        raise ValueError(f"{op}(): expected {name} to be a single integer or a tuple of {n} "
                         f"integers, got {v}")
    return v


def assert_int_or_pair(arg: Any, arg_name: str, message: str) -> None:
    """PyTorch's public argument check: ``arg`` is an int or a pair."""
    if not (isinstance(arg, int) or len(arg) == 2):
        raise AssertionError(message.format(arg_name))
