"""``mbtorch.cuda``: the CUDA device's namespace, as ``torch.cuda``.

It answers on every machine: without the ``mbtorch-cuda`` plugin, CuPy or a GPU,
``is_available()`` is False and ``device_count()`` is 0, and the functions that need a device
raise the reason the plugin gave (``RuntimeError: device 'cuda' is unavailable: installed, no
CUDA device: ...``). The device work itself is the plugin's (``BackendSpec.runtime``); this
module only routes to it, so nothing here imports CuPy.
"""

from __future__ import annotations

import sys
from typing import Any

from .amp import cuda_amp as amp
from .core.device import device as _device
from .core.legacy import LEGACY_TYPES, legacy_type
from .core.ops import _common
from .core.plugins import get_backend

# ``from torch.cuda.amp import autocast`` works on a module that is no package only if the
# submodule is already registered
sys.modules[__name__ + ".amp"] = amp

__all__ = ["amp", "is_available", "device_count", "current_device", "set_device", "synchronize",
           "manual_seed", "manual_seed_all", "memory_allocated", "max_memory_allocated",
           "reset_peak_memory_stats", "empty_cache", "get_device_name", "device"]

DEVICE_TYPE = "cuda"

# ``torch.cuda.FloatTensor`` and the other legacy classes: constructors on this device, and
# ``isinstance`` true for tensors of their dtype on it
globals().update({_name: legacy_type(_name, DEVICE_TYPE) for _name in LEGACY_TYPES})
__all__ += list(LEGACY_TYPES)
device = _device  # mbtorch.cuda.device("cuda:0") reads as torch's


def _backend() -> Any:
    return get_backend(DEVICE_TYPE)  # raises the plugin's reason when unusable


def is_available() -> bool:
    """Whether ``device='cuda'`` can be used: the plugin is installed and sees a GPU."""
    try:
        _backend()
    except RuntimeError:
        return False
    return True


def device_count() -> int:
    """How many GPUs the plugin sees; 0 when CUDA cannot be used."""
    try:
        return _backend().spec.device_count
    except RuntimeError:
        return 0


def _index(dev: Any, op: str) -> int:
    """A device index from ``None`` (the current device), an int, ``"cuda:1"`` or a device."""
    be = _backend()
    if dev is None:
        index = _common._current_index.get(DEVICE_TYPE, 0)
    elif isinstance(dev, int) and not isinstance(dev, bool):
        index = dev
    else:
        d = _device(dev)
        if d.type != DEVICE_TYPE:
            raise ValueError(f"{op}(): expected a cuda device, got '{d}'")
        index = d.index if d.index is not None else _common._current_index.get(DEVICE_TYPE, 0)
    if not 0 <= index < be.spec.device_count:
        raise RuntimeError(f"{op}(): invalid device ordinal {index}: there are "
                           f"{be.spec.device_count} cuda device(s)")
    return index


def _runtime(op: str) -> Any:
    runtime = _backend().spec.runtime
    if runtime is None:
        raise RuntimeError(f"mbtorch.cuda.{op}(): the installed cuda plugin has no runtime "
                           "interface (BackendSpec.runtime)")
    return runtime


def current_device() -> int:
    """The index of the device ``device='cuda'`` means."""
    _backend()
    return _common._current_index.get(DEVICE_TYPE, 0)


def set_device(dev: Any) -> None:
    """Make ``dev`` (an int, ``"cuda:1"`` or a device) the one ``device='cuda'`` means."""
    index = _index(dev, "set_device")
    _runtime("set_device").set_device(index)
    _common.set_current_device_index(DEVICE_TYPE, index)


def synchronize(device: Any = None) -> None:
    """Wait until every kernel queued on ``device`` (default: current) has finished."""
    index = _index(device, "synchronize")
    sync = _backend().spec.synchronize
    if sync is not None:
        sync(index)


def manual_seed(seed: int) -> None:
    """Seed the generator; mbtorch keeps one for all devices (``mbtorch.manual_seed``), so
    this works without a GPU, as PyTorch's lazy seeding does."""
    from .core.ops.random import manual_seed as _seed

    _seed(seed)


manual_seed_all = manual_seed


def memory_allocated(device: Any = None) -> int:
    """Bytes held by tensors on ``device`` (CuPy's memory pool, in use)."""
    return _runtime("memory_allocated").memory_allocated(_index(device, "memory_allocated"))


def max_memory_allocated(device: Any = None) -> int:
    """The peak of ``memory_allocated`` since start or ``reset_peak_memory_stats``."""
    index = _index(device, "max_memory_allocated")
    return _runtime("max_memory_allocated").max_memory_allocated(index)


def reset_peak_memory_stats(device: Any = None) -> None:
    index = _index(device, "reset_peak_memory_stats")
    _runtime("reset_peak_memory_stats").reset_peak_memory_stats(index)


def empty_cache() -> None:
    """Give cached, unused GPU memory back to the driver (CuPy's pools)."""
    _runtime("empty_cache").empty_cache()


def get_device_name(device: Any = None) -> str:
    """The GPU's name, e.g. ``'NVIDIA H100 80GB HBM3'``."""
    return _runtime("get_device_name").device_name(_index(device, "get_device_name"))
