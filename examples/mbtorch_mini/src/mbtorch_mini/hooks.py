"""Entry point module: hands mbtorch the ``mini`` backend description.

Keep this module cheap to import: mbtorch imports it when the device is first used or
listed, and the array library (here NumPy) is imported inside the hook.
"""

from __future__ import annotations

import os

from mbtorch.core.hookspecs import PLUGIN_API_VERSION, hookimpl

__all__ = ["DEVICE_TYPE", "UNAVAILABLE_ENV", "EXPECTATIONS", "mbtorch_backend"]

DEVICE_TYPE = "mini"
UNAVAILABLE_ENV = "MBTORCH_MINI_UNAVAILABLE"
"""Set to a reason to make the device report itself unavailable, as a GPU plugin does on a
machine without a driver (used by the tests and handy for trying the error path)."""

EXPECTATIONS: dict = {"xfail": {}}
"""Known gaps for the conformance suite (``mbtorch-conformance --device mini``): entry, dtype
and check (fnmatch patterns) mapped to the reason, e.g. ``{"xfail": {"pow:bfloat16:grad":
"why"}}``; an expected failure that passes is reported so that its declaration gets removed.
None here: gaps every backend shares are the suite's own (``mbtorch_conformance.gaps``)."""


def _quiet(kernel):
    """``kernel`` with NumPy's floating-point warnings off for its own calls: PyTorch never
    warns on 1/0 or overflow, and ``np.seterr`` would silence the user's NumPy code as well.
    (The cpu plugin does the same more cheaply; see ``mbtorch_numpy.kernels.quiet``.)"""
    import functools

    import numpy as np

    @functools.wraps(kernel)
    def run(*args):
        with np.errstate(all="ignore"):
            return kernel(*args)

    if hasattr(kernel, "nin"):
        run.nin = kernel.nin
    return run


@hookimpl
def mbtorch_backend(api_version: int):
    from mbtorch.core.backend import BackendSpec

    from . import __version__

    base = dict(device_type=DEVICE_TYPE, api_version=PLUGIN_API_VERSION,
                distribution="mbtorch-mini", version=__version__)
    reason = os.environ.get(UNAVAILABLE_ENV)
    if reason:
        # An unavailable backend needs no storage or kernels; mbtorch raises ``reason``
        # when the device is requested and lists it in ``mbtorch info``.
        return BackendSpec(**base, available=False, reason=f"installed, but {reason}")

    import numpy as np

    from .kernels import KERNELS
    from .storage import DTYPES, MiniStorage

    return BackendSpec(**base, device_count=2, dtypes=frozenset(DTYPES), storage=MiniStorage(),
                       kernels={op: _quiet(k) for op, k in KERNELS.items()},
                       info={"numpy": np.__version__, "memory": "host"},
                       expectations=EXPECTATIONS)
