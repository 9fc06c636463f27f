"""``mbtorch.accelerator``: the device-agnostic accelerator API, as ``torch.accelerator``.

PyTorch's accelerator is the one non-CPU device type the build supports. Here devices are
plugins, so the accelerator is the first *available* non-``cpu`` backend (installed, loaded,
and seeing at least one device; see ``mbtorch.backends.status()``), in this order: ``cuda``,
then ``opencl``, then any other plugin by device-type name. An OpenCL device is an accelerator
whenever the ``mbtorch-opencl`` plugin finds one, whatever hardware runs it (a GPU, or a CPU
through an OpenCL driver such as PoCL). With only ``cpu`` available, ``is_available()`` is
False and ``current_accelerator()`` None, as on a CPU-only PyTorch.

>>> device = acc if (acc := mbtorch.accelerator.current_accelerator()) else "cpu"
"""

from __future__ import annotations

import warnings
from typing import Any

from .core import plugins as _plugins
from .core.device import device as _device
from .core.ops import _common

__all__ = [
    "current_accelerator", "current_device_idx", "current_device_index", "device_count",
    "device_index", "empty_cache", "is_available", "max_memory_allocated", "memory_allocated",
    "reset_peak_memory_stats", "set_device_idx", "set_device_index", "synchronize",
]

PREFERRED = ("cuda", "opencl")
"""Device types that win over other plugins, in order; the rest follow by name."""

_NONE_AVAILABLE = "Cannot access accelerator device when none is available."


def _candidates() -> list[str]:
    known = {s.device_type for s in _plugins.status(load=False)} - {"cpu", "?"}
    return [t for t in PREFERRED if t in known] + sorted(known - set(PREFERRED))


def _backend() -> Any:
    """The accelerator's backend, or None; loads candidate plugins in order until one is
    available, so a machine with CUDA never imports the OpenCL plugin for this."""
    for device_type in _candidates():
        try:
            be = _plugins.get_backend(device_type)
        except RuntimeError:  # unavailable or broken: not an accelerator
            continue
        if be.spec.device_count > 0:
            return be
    return None


def _require() -> Any:
    be = _backend()
    if be is None:
        raise RuntimeError(_NONE_AVAILABLE)
    return be


def current_accelerator(check_available: bool = False) -> _device | None:
    """The accelerator as a device without index (``device(type='cuda')``), or None.

    Only available plugins are considered, so ``check_available`` changes nothing here; it
    is accepted for PyTorch's signature."""
    be = _backend()
    return None if be is None else _device(be.device_type)


def is_available() -> bool:
    """Whether some non-``cpu`` backend is available (see the module docstring)."""
    return _backend() is not None


def device_count() -> int:
    """How many devices the accelerator's plugin sees; 0 without an accelerator."""
    be = _backend()
    return 0 if be is None else be.spec.device_count


def current_device_index() -> int:
    """The index ``device=<accelerator>`` currently means."""
    be = _require()
    return _common._current_index.get(be.device_type, 0)


def _get_device_index(device: Any, optional: bool, op: str) -> int:
    """PyTorch's ``_get_device_index``: an int as is; a device or string must be of the
    accelerator's type; no index means the current one (only when ``optional``)."""
    if isinstance(device, int) and not isinstance(device, bool):
        return device
    index = None
    if isinstance(device, (str, _device)):
        d = _device(device)
        acc = current_accelerator()
        if acc is None:
            raise RuntimeError("Accelerator expected")
        if acc.type != d.type:
            raise ValueError(f"{d.type} doesn't match the current accelerator {acc}.")
        index = d.index
    elif device is not None:
        raise TypeError(f"accelerator.{op}(): device must be a device, str or int, not "
                        f"{type(device).__name__}")
    if index is None:
        if not optional:
            raise ValueError(f"Expected a torch.device with a specified index or an integer, "
                             f"but got:{device}")
        return current_device_index()
    return index


def _checked(be: Any, index: int, op: str) -> int:
    count = be.spec.device_count
    if not 0 <= index < count:
        raise RuntimeError(f"accelerator.{op}(): invalid device ordinal {index}: there are "
                           f"{count} {be.device_type} device(s)")
    return index


def set_device_index(device: Any, /) -> None:
    """Make ``device`` (an int, ``"cuda:1"`` or a device of the accelerator's type) the one
    ``device=<accelerator>`` means; a negative index is a no-op, as in PyTorch."""
    index = _get_device_index(device, False, "set_device_index")
    if index < 0:
        return
    be = _require()
    _checked(be, index, "set_device_index")
    runtime = be.spec.runtime
    if runtime is not None and hasattr(runtime, "set_device"):
        runtime.set_device(index)
    _common.set_current_device_index(be.device_type, index)


def current_device_idx() -> int:
    """Deprecated spelling of ``current_device_index``."""
    warnings.warn("Use `current_device_index` instead.", FutureWarning, stacklevel=2)
    return current_device_index()


def set_device_idx(device: Any, /) -> None:
    """Deprecated spelling of ``set_device_index``."""
    warnings.warn("Use `set_device_index` instead.", FutureWarning, stacklevel=2)
    set_device_index(device)


def synchronize(device: Any = None, /) -> None:
    """Wait until the work queued on ``device`` (default: the current one) has finished; a
    backend that runs synchronously has nothing to wait for."""
    index = _get_device_index(device, True, "synchronize")
    be = _require()
    _checked(be, index, "synchronize")
    if be.spec.synchronize is not None:
        be.spec.synchronize(index)


class device_index:  # noqa: N801 - torch's spelling
    """``with device_index(1):`` makes accelerator device 1 current inside the block;
    ``device_index(None)`` changes nothing."""

    def __init__(self, device: int | None, /) -> None:
        self.idx = device
        self.prev_idx = -1

    def __enter__(self) -> None:
        if self.idx is not None:
            self.prev_idx = current_device_index()
            set_device_index(self.idx)

    def __exit__(self, *exc_info: object) -> None:
        if self.idx is not None:
            set_device_index(self.prev_idx)


def _runtime(op: str) -> Any:
    be = _require()
    runtime = be.spec.runtime
    if runtime is None or not hasattr(runtime, op):
        raise RuntimeError(f"accelerator.{op}(): the {be.device_type} plugin does not report "
                           f"memory use (its BackendSpec.runtime has no {op})")
    return be, runtime


def memory_allocated(device_index: Any = None, /) -> int:
    """Bytes held by tensors on the accelerator device (as the plugin's runtime counts)."""
    be, runtime = _runtime("memory_allocated")
    index = _get_device_index(device_index, True, "memory_allocated")
    return runtime.memory_allocated(_checked(be, index, "memory_allocated"))


def max_memory_allocated(device_index: Any = None, /) -> int:
    """The peak of ``memory_allocated`` since start or ``reset_peak_memory_stats``."""
    be, runtime = _runtime("max_memory_allocated")
    index = _get_device_index(device_index, True, "max_memory_allocated")
    return runtime.max_memory_allocated(_checked(be, index, "max_memory_allocated"))


def reset_peak_memory_stats(device_index: Any = None, /) -> None:
    be, runtime = _runtime("reset_peak_memory_stats")
    index = _get_device_index(device_index, True, "reset_peak_memory_stats")
    runtime.reset_peak_memory_stats(_checked(be, index, "reset_peak_memory_stats"))


def empty_cache() -> None:
    """Give cached, unused accelerator memory back to the driver."""
    _runtime("empty_cache")[1].empty_cache()
