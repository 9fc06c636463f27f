"""Thread-local execution state read on the per-op hot path (grad mode lives here so the
dispatcher can test it without importing autograd)."""

from __future__ import annotations

import threading

__all__ = ["STATE"]


class _State(threading.local):
    grad_enabled: bool = True
    inference: bool = False
    tracer: object = None  # mbtorch.graph.capture.Tracer recording this thread's ops


STATE = _State()
