"""Anomaly detection: ``detect_anomaly`` / ``set_detect_anomaly``.

While enabled, every recorded node keeps the stack of the forward call that created it, and
the engine checks each gradient a node produces: the first one containing NaN raises an error
naming the node (``DivBackward0``: the backward of the forward ``div``), with that forward
stack, as PyTorch does.
"""

from __future__ import annotations

import traceback
import warnings
from typing import Any

from ..core._lazy import lazy_import

np = lazy_import("numpy", globals(), "np")


__all__ = [
    "STATE", "is_anomaly_enabled", "is_anomaly_check_nan_enabled", "forward_trace",
    "set_detect_anomaly", "detect_anomaly", "checked_apply"
]


class _Anomaly:
    # process-wide, as PyTorch's anomaly mode (and a plain object is cheaper to read on the
    # recording hot path than a thread-local)
    enabled: bool = False
    check_nan: bool = True


STATE = _Anomaly()


def is_anomaly_enabled() -> bool:
    return STATE.enabled


def is_anomaly_check_nan_enabled() -> bool:
    return STATE.check_nan


def forward_trace() -> list[str]:
    return traceback.format_stack()[:-3]  # drop the recording machinery's own frames


class set_detect_anomaly:
    """Turn anomaly detection on or off, now or for a ``with`` block."""

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        self.prev = (STATE.enabled, STATE.check_nan)
        STATE.enabled, STATE.check_nan = bool(mode), bool(check_nan)

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: Any) -> None:
        STATE.enabled, STATE.check_nan = self.prev


class detect_anomaly:
    """Context manager (and decorator) enabling anomaly detection inside its block."""

    def __init__(self, check_nan: bool = True) -> None:
        self.check_nan = check_nan

    def __enter__(self) -> None:
        warnings.warn("Anomaly Detection has been enabled. This mode will increase the runtime "
                      "and should only be enabled for debugging.", stacklevel=2)
        self.prev = (STATE.enabled, STATE.check_nan)
        STATE.enabled, STATE.check_nan = True, self.check_nan

    def __exit__(self, *exc: Any) -> None:
        STATE.enabled, STATE.check_nan = self.prev

    def __call__(self, fn: Any) -> Any:
        import functools

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with detect_anomaly(self.check_nan):
                return fn(*args, **kwargs)

        return wrapper


def _where(node: Any) -> str:
    trace = getattr(node, "trace", None)
    if not trace:
        return ""
    return ("\nTraceback of forward call that caused the error:\n" + "".join(trace)).rstrip()


def checked_apply(node: Any, grads: list, create_graph: bool) -> list:
    """``node.apply`` that names the forward op when it fails or produces NaN."""
    try:
        outs = node.apply(grads, create_graph)
    except Exception:
        warnings.warn(f"Error detected in {node.name()}.{_where(node)}", stacklevel=2)
        raise
    if STATE.check_nan:
        for i, g in enumerate(outs):
            if g is not None and g._dtype.is_floating_point and np.isnan(
                    np.asarray(g.numpy(force=True), dtype=np.float64)).any():
                raise RuntimeError(f"Function '{node.name()}' returned nan values in its {i}th "
                                   f"output.{_where(node)}")
    return outs
