"""Backend discovery: entry points, lazy loading, fault isolation, the status report.

``get_backend("opencl")`` is the only entry to this module on the op path; it is a dict hit
once the backend is loaded. Loading imports the plugin's hooks module, registers it with a
pluggy ``PluginManager``, calls its ``mbtorch_backend`` hook and validates the spec. Any
failure is recorded with its reason and turned into a clear error for that device only.

Set ``MBTORCH_DISABLE_PLUGIN_AUTOLOAD=1`` (any value but empty or ``0``) to skip entry-point
discovery (as pytest's ``PYTEST_DISABLE_PLUGIN_AUTOLOAD``); then only plugins passed to
``register_plugin`` exist.
"""

from __future__ import annotations

import os
import threading
import traceback
from dataclasses import dataclass, field
from typing import Any

import pluggy

from . import hookspecs
from .backend import Backend, BackendSpec, PluginError, validate
from .op import PRIMITIVES

__all__ = [
    "ENTRY_POINT_GROUP", "AUTOLOAD_ENV", "KNOWN_PACKAGES", "BackendStatus", "autoload_disabled",
    "rescan", "register_plugin", "unregister", "get_backend", "status", "loaded_backends"
]

ENTRY_POINT_GROUP = "mbtorch.backends"
AUTOLOAD_ENV = "MBTORCH_DISABLE_PLUGIN_AUTOLOAD"
KNOWN_PACKAGES = {"cpu": "mbtorch-numpy", "cuda": "mbtorch-cuda", "opencl": "mbtorch-opencl",
                  "mini": "mbtorch-mini (the plugin template in examples/mbtorch_mini)"}


@dataclass
class BackendStatus:
    """One row of ``mbtorch.backends.status()``.

    ``state`` is ``available``, ``unavailable`` (installed, but this machine cannot run it:
    ``reason`` says why), ``broken`` (failed to import or registered an invalid spec:
    ``reason`` names the error) or ``not loaded`` (found, not imported yet). ``native_ops``
    counts the kernels in the plugin's table, ``native_composites`` those that override a
    composite's decomposition. A broken plugin whose device type is unknown is listed with
    ``device_type='?'``.
    """

    device_type: str
    plugin: str
    distribution: str = ""
    version: str = ""
    state: str = "not loaded"
    reason: str = ""
    device_count: int = 0
    dtypes: tuple[str, ...] = ()
    native_ops: int = 0
    native_composites: int = 0
    info: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        head = f"{self.device_type}: {self.state}"
        return f"{head} ({self.reason})" if self.reason else head


_lock = threading.RLock()
_backends: dict[str, Backend] = {}
_status: dict[str, BackendStatus] = {}
_entry_points: dict[str, Any] | None = None
_pm = pluggy.PluginManager(hookspecs.PROJECT)
_pm.add_hookspecs(hookspecs)


def autoload_disabled() -> bool:
    """Whether ``MBTORCH_DISABLE_PLUGIN_AUTOLOAD`` is set (to anything but empty or ``0``)."""
    return os.environ.get(AUTOLOAD_ENV, "") not in ("", "0")


def rescan() -> None:
    """Forget the entry points found so far and look again at the next use.

    For a plugin installed while the process runs (a notebook, a test fixture); loaded
    backends stay loaded, plugins not loaded yet are found afresh.
    """
    global _entry_points
    with _lock:
        _entry_points = None
        for name in [k for k, st in _status.items() if st.state == "not loaded"]:
            del _status[name]


def _scan() -> dict[str, Any]:
    global _entry_points
    if _entry_points is None:
        found: dict[str, Any] = {}
        if not autoload_disabled():
            # here, not at module level: importlib.metadata is a tenth of ``import mbtorch``
            # and only discovery needs it (once per process)
            from importlib import metadata

            for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
                found.setdefault(ep.name, ep)
        _entry_points = found
        for name, ep in found.items():
            dist = getattr(ep, "dist", None)
            _status.setdefault(name, BackendStatus(
                name, ep.value, dist.name if dist else "", dist.version if dist else ""))
    return _entry_points


def _short_error(exc: BaseException) -> str:
    tb = traceback.extract_tb(exc.__traceback__)
    where = f" (at {tb[-1].filename}:{tb[-1].lineno})" if tb else ""
    return f"{type(exc).__name__}: {exc}{where}"


def register_plugin(plugin: Any, name: str | None = None) -> BackendStatus:
    """Register a hooks module or object by hand and load its backend.

    Fault-isolated: a broken plugin is recorded and returned with ``state='broken'``.
    """
    with _lock:
        name = name or getattr(plugin, "__name__", type(plugin).__name__)
        st = BackendStatus("?", name)
        try:
            if _pm.is_registered(plugin):
                _pm.unregister(plugin)
            _pm.register(plugin, name=name)
            others = [p for p in _pm.get_plugins() if p is not plugin]
            caller = _pm.subset_hook_caller("mbtorch_backend", remove_plugins=others)
            spec = caller(api_version=hookspecs.PLUGIN_API_VERSION)
            if spec is None:
                raise PluginError(f"plugin {name!r} implements no mbtorch_backend hook")
            validate(spec, name)
        except Exception as exc:  # noqa: BLE001 - fault isolation is the point
            if _pm.is_registered(plugin):
                _pm.unregister(plugin)
            st.state, st.reason = "broken", _short_error(exc)
            dev = getattr(plugin, "DEVICE_TYPE", None)
            if dev:
                st.device_type = dev
                _status[dev] = st
                _backends.pop(dev, None)
            else:  # listed under its plugin name until its device type is known
                _status[f"?{name}"] = st
            return st
        return _install(spec, name)


def _install(spec: BackendSpec, plugin: str) -> BackendStatus:
    composites = sum(1 for op in spec.kernels if op not in PRIMITIVES)
    st = BackendStatus(spec.device_type, plugin, spec.distribution, spec.version,
                       "available" if spec.available else "unavailable", spec.reason,
                       spec.device_count if spec.available else 0,
                       tuple(sorted(d.name for d in spec.dtypes)), len(spec.kernels),
                       composites, dict(spec.info))
    _status[spec.device_type] = st
    if spec.available:
        _backends[spec.device_type] = Backend(spec, plugin)
    else:
        _backends.pop(spec.device_type, None)
    return st


def unregister(device_type: str) -> None:
    """Forget a backend (used by tests and by plugin authors reloading their plugin)."""
    with _lock:
        be = _backends.pop(device_type, None)
        _status.pop(device_type, None)
        if be is not None and _pm.has_plugin(be.plugin):
            _pm.unregister(name=be.plugin)


def _load_entry_point(device_type: str) -> None:
    ep = _scan().get(device_type)
    if ep is None:
        return
    try:
        module = ep.load()
    except Exception as exc:  # noqa: BLE001
        st = _status[device_type]
        st.state, st.reason = "broken", f"import failed: {_short_error(exc)}"
        return
    st = register_plugin(module, name=ep.value)
    if st.state == "broken" and st.device_type == "?":
        _status.pop(f"?{ep.value}", None)
        st.device_type = device_type
        _status[device_type] = st
    old = _status.get(device_type)
    if old is not None and not old.distribution and ep.dist is not None:
        old.distribution, old.version = ep.dist.name, ep.dist.version


def get_backend(device_type: str) -> Backend:
    """The backend for ``device_type``, loading its plugin on first use."""
    be = _backends.get(device_type)
    if be is not None:
        return be
    with _lock:
        if device_type not in _status or _status[device_type].state == "not loaded":
            _load_entry_point(device_type)
        be = _backends.get(device_type)
        if be is not None:
            return be
        st = _status.get(device_type)
    if st is None:
        pkg = KNOWN_PACKAGES.get(device_type, f"a plugin providing '{device_type}'")
        hint = f"install {pkg}"
        if autoload_disabled():
            hint += f" (plugin autoloading is off: {AUTOLOAD_ENV} is set)"
        raise RuntimeError(f"no backend provides device '{device_type}'; {hint}")
    if st.state == "unavailable":
        raise RuntimeError(f"device '{device_type}' is unavailable: {st.reason}")
    raise RuntimeError(f"the backend for device '{device_type}' ({st.plugin}) is broken: "
                       f"{st.reason}")


def status(load: bool = True) -> list[BackendStatus]:
    """Every known backend with its state and reason; ``load`` imports each plugin first."""
    with _lock:
        for name in list(_scan()):
            if load and _status[name].state == "not loaded":
                _load_entry_point(name)
        return sorted(_status.values(), key=lambda s: s.device_type)


def loaded_backends() -> dict[str, Backend]:
    return dict(_backends)
