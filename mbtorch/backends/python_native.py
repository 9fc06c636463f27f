"""``mbtorch.backends.python_native``: PyTorch's switches for the operation overrides its
Python kernel languages (Triton, CuTe DSL) register. mbtorch registers no such overrides, so
``all_dsls`` and ``available_dsls`` are empty and every DSL's operation list is empty; the
operation and dispatch-key filters are kept as PyTorch keeps them (sets of names, readable,
with a context manager) and have nothing to filter here.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

__all__ = [
    "all_dsls", "available_dsls", "get_dsl_operations", "disable_operations",
    "enable_operations", "disable_dispatch_keys", "enable_dispatch_keys",
    "operations_disabled", "is_operation_disabled", "is_dsl_disabled",
]

all_dsls: list[str] = []
available_dsls: list[str] = []

_disabled_ops: set[str] = set()
_disabled_keys: set[str] = set()


def get_dsl_operations(dsl_name: str) -> list[str]:
    """The operations ``dsl_name`` overrides: none, for any name."""
    return []


def disable_operations(*op_symbols: str) -> None:
    _disabled_ops.update(op_symbols)


def enable_operations(*op_symbols: str) -> None:
    _disabled_ops.difference_update(op_symbols)


def disable_dispatch_keys(*dispatch_keys: str) -> None:
    _disabled_keys.update(dispatch_keys)


def enable_dispatch_keys(*dispatch_keys: str) -> None:
    _disabled_keys.difference_update(dispatch_keys)


@contextmanager
def operations_disabled(*op_symbols: str) -> Iterator[None]:
    """Disable the operations inside a ``with`` block; re-enable only those it disabled."""
    already = {op for op in op_symbols if op in _disabled_ops}
    disable_operations(*op_symbols)
    try:
        yield
    finally:
        enable_operations(*(op for op in op_symbols if op not in already))


def is_operation_disabled(op_symbol: str) -> bool:
    return op_symbol in _disabled_ops


def is_dsl_disabled(dsl_name: str) -> bool:
    """False: no DSL is registered, so none is disabled (PyTorch answers False for a name it
    does not know, too)."""
    return False
