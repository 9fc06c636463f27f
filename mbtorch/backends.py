"""Backend (plugin) discovery and status: ``mbtorch.backends.status()``."""

from __future__ import annotations

from .core.plugins import BackendStatus, register_plugin, status, unregister  # noqa: F401

__all__ = ["BackendStatus", "register_plugin", "status", "unregister"]
