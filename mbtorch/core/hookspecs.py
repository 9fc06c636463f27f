"""The plugin contract: the hooks a backend package implements, with their call semantics.

A backend package declares an entry point in the group ``mbtorch.backends`` whose *name* is
the device type it provides and whose value is the module holding its hook implementations::

    [project.entry-points."mbtorch.backends"]
    opencl = "mbtorch_opencl.hooks"

The core imports that module only when the device type is first used or when backends are
listed (``mbtorch.backends.status()``, ``python -m mbtorch info``), so a plugin's hooks module
should import its array library inside the hook, not at module level.
"""

from __future__ import annotations

import pluggy

__all__ = ["PROJECT", "PLUGIN_API_VERSION", "hookspec", "hookimpl", "mbtorch_backend"]

PROJECT = "mbtorch"
PLUGIN_API_VERSION = 1
"""Bumped on any incompatible change to the hooks, the ``BackendSpec`` or the kernel
calling convention. A plugin states the version it was written for in its spec; the core
refuses a plugin whose version differs."""

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec(firstresult=True)
def mbtorch_backend(api_version: int):  # -> mbtorch.core.backend.BackendSpec
    """Describe the backend this plugin provides.

    Called at most once per process, when the plugin's device type is first needed, with the
    core's ``PLUGIN_API_VERSION``. Return a :class:`mbtorch.core.backend.BackendSpec`. The spec
    is validated before use: a wrong API version, an unknown op, a missing primitive or a
    non-callable kernel makes the plugin *broken* (reported by ``status()`` with the reason)
    without affecting other backends. If the device cannot be used on this machine (no driver,
    no GPU), return a spec with ``available=False`` and a human ``reason``; the core then
    raises that reason when the device is requested. Exceptions raised here are caught and
    reported the same way as a broken plugin.
    """
