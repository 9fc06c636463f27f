"""``mbtorch.accelerator``: answers from the plugin registry, and PyTorch's answers where only
``cpu`` is available (this torch is a CPU build, so it is the oracle for that case)."""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import pytest
import torch

import mbtorch as mt
from mbtorch import accelerator as acc
from mbtorch.core import plugins
from mbtorch.core.ops import _common


class _Runtime:
    def __init__(self):
        self.calls = []

    def set_device(self, i):
        self.calls.append(("set_device", i))

    def memory_allocated(self, i):
        return 100 + i

    def max_memory_allocated(self, i):
        return 200 + i

    def reset_peak_memory_stats(self, i):
        self.calls.append(("reset", i))

    def empty_cache(self):
        self.calls.append(("empty_cache",))


def _backend(device_type, count, runtime=None):
    synced = []
    spec = SimpleNamespace(device_count=count, synchronize=synced.append, runtime=runtime,
                           info={})
    return SimpleNamespace(device_type=device_type, spec=spec, synced=synced)


@pytest.fixture
def registry(monkeypatch):
    """A fake plugin registry: ``registry(cuda=None, opencl=2)`` installs ``cuda``
    (unavailable) and ``opencl`` (available, 2 devices) next to ``cpu``."""
    saved = dict(_common._current_index)

    def install(**types):
        backends = {"cpu": _backend("cpu", 1)}
        rows = [SimpleNamespace(device_type="cpu")]
        for name, count in types.items():
            rows.append(SimpleNamespace(device_type=name))
            if count is not None:
                backends[name] = _backend(name, count, _Runtime())

        def get_backend(name):
            if name not in backends:
                raise RuntimeError(f"device '{name}' is unavailable: fake")
            return backends[name]

        monkeypatch.setattr(plugins, "status", lambda load=True: rows)
        monkeypatch.setattr(plugins, "get_backend", get_backend)
        return backends

    yield install
    _common._current_index.clear()
    _common._current_index.update(saved)
    _common._resolved.clear()


def test_only_cpu_answers_as_cpu_torch(registry):
    registry(cuda=None)  # installed, no GPU
    assert acc.is_available() is torch.accelerator.is_available() is False
    assert acc.current_accelerator() is torch.accelerator.current_accelerator() is None
    assert acc.current_accelerator(check_available=True) is None
    assert acc.device_count() == torch.accelerator.device_count() == 0
    for call in (lambda m: m.current_device_index(), lambda m: m.synchronize(),
                 lambda m: m.set_device_index(0), lambda m: m.memory_allocated()):
        with pytest.raises(RuntimeError, match="Cannot access accelerator device when none"):
            call(torch.accelerator)
        with pytest.raises(RuntimeError, match="Cannot access accelerator device when none"):
            call(acc)
    for call in (lambda m: m.synchronize("cuda"), lambda m: m.set_device_index("cuda:0")):
        with pytest.raises(RuntimeError, match="Accelerator expected"):
            call(torch.accelerator)
        with pytest.raises(RuntimeError, match="Accelerator expected"):
            call(acc)
    with acc.device_index(None), torch.accelerator.device_index(None):
        pass


@pytest.mark.parametrize("types,expected", [
    ({"cuda": None, "opencl": 2}, "opencl"),
    ({"cuda": 1, "opencl": 2}, "cuda"),
    ({"opencl": 2, "zzz": 1, "aaa": 3}, "opencl"),
    ({"zzz": 1, "aaa": 3}, "aaa"),
    ({"cuda": 0, "opencl": None, "zzz": 1}, "zzz"),  # a plugin with no device does not count
])
def test_first_available_plugin_is_the_accelerator(registry, types, expected):
    backends = registry(**types)
    assert acc.is_available()
    assert acc.current_accelerator() == mt.device(expected)
    assert acc.current_accelerator().index is None
    assert acc.current_accelerator(check_available=True) == mt.device(expected)
    assert acc.device_count() == backends[expected].spec.device_count


def test_device_index_selection(registry):
    backends = registry(opencl=3)
    assert acc.current_device_index() == 0
    acc.set_device_index(2)
    assert acc.current_device_index() == 2 == _common._current_index["opencl"]
    assert backends["opencl"].spec.runtime.calls == [("set_device", 2)]
    acc.set_device_index("opencl:1")
    assert acc.current_device_index() == 1
    with acc.device_index(0):
        assert acc.current_device_index() == 0
    assert acc.current_device_index() == 1
    acc.set_device_index(-1)  # a no-op, as in PyTorch
    assert acc.current_device_index() == 1
    with pytest.warns(FutureWarning):
        assert acc.current_device_idx() == 1
    with pytest.warns(FutureWarning):
        acc.set_device_idx(mt.device("opencl", 0))
    assert acc.current_device_index() == 0


def test_device_index_errors(registry):
    registry(opencl=2)
    with pytest.raises(RuntimeError, match="invalid device ordinal 5: there are 2 opencl"):
        acc.set_device_index(5)
    with pytest.raises(ValueError, match="cuda doesn't match the current accelerator opencl"):
        acc.set_device_index("cuda:0")
    with pytest.raises(ValueError, match="Expected a torch.device with a specified index"):
        acc.set_device_index("opencl")
    with pytest.raises(TypeError, match="device must be a device, str or int, not float"):
        acc.synchronize(1.5)


def test_synchronize_waits_on_the_plugins_device(registry):
    backends = registry(cuda=2)
    acc.synchronize()
    acc.synchronize(1)
    acc.synchronize("cuda:1")
    acc.synchronize(mt.device("cuda"))
    assert backends["cuda"].synced == [0, 1, 1, 0]


def test_memory_queries_go_to_the_plugins_runtime(registry):
    backends = registry(cuda=2)
    assert acc.memory_allocated() == 100 and acc.memory_allocated(1) == 101
    assert acc.max_memory_allocated("cuda:1") == 201
    acc.reset_peak_memory_stats()
    acc.empty_cache()
    assert backends["cuda"].spec.runtime.calls == [("reset", 0), ("empty_cache",)]
    backends["cuda"].spec.runtime = None
    with pytest.raises(RuntimeError, match="the cuda plugin does not report memory use"):
        acc.memory_allocated()


def test_real_registry_is_answered_truthfully():
    usable = [s.device_type for s in mt.backends.status()
              if s.device_type != "cpu" and s.state == "available" and s.device_count > 0]
    assert acc.is_available() == bool(usable)
    counts = {s.device_type: s.device_count for s in mt.backends.status()}
    assert acc.device_count() == (counts[acc.current_accelerator().type] if usable else 0)
    if usable:
        order = [t for t in acc.PREFERRED if t in usable] + sorted(
            set(usable) - set(acc.PREFERRED))
        assert acc.current_accelerator().type == order[0]
        assert mt.zeros(2, device=acc.current_accelerator()).device.type == order[0]
    if "cuda" in usable:
        assert mt.cuda.is_available()


def test_reachable_as_torch_accelerator():
    assert mt.accelerator is acc
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        device = acc.current_accelerator() or mt.device("cpu")
    assert mt.ones(1, device=device).device.type == device.type
