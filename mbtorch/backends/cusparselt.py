"""``mbtorch.backends.cusparselt``: NVIDIA's structured-sparsity library; no mbtorch backend
uses it, so it is unavailable and has no version, as in a PyTorch built without it."""

from __future__ import annotations

__all__ = ["is_available", "version", "get_max_alg_id"]


def is_available() -> bool:
    return False


def version() -> int | None:
    return None


def get_max_alg_id() -> int | None:
    return None
