"""Entry point module: hands mbtorch the ``cpu`` backend description."""

from __future__ import annotations

from mbtorch.core.hookspecs import PLUGIN_API_VERSION, hookimpl

__all__ = ["DEVICE_TYPE", "EXPECTATIONS", "mbtorch_backend"]

DEVICE_TYPE = "cpu"

# Known gaps of this backend for the conformance suite (mbtorch-conformance), each with its
# reason: none (gaps common to every backend are the suite's own, mbtorch_conformance.gaps).
EXPECTATIONS: dict = {"xfail": {}}


@hookimpl
def mbtorch_backend(api_version: int):
    import numpy as np

    from mbtorch.core.backend import BackendSpec

    from . import __version__
    from .jit.fused import fuse
    from .kernels import INPLACE_KERNELS, KERNELS, QUIET, out_overrides, quiet_kernels
    from .storage import DTYPES, NumpyStorage, malloc_tuning
    from .xp import out_kernels

    # PyTorch never warns on floating-point exceptions (1/0, overflow); NumPy would. The
    # kernels ignore them for their own calls only: the user's np.geterr() stays as it was.
    kernels = quiet_kernels(KERNELS)
    shared_out = out_kernels(np, kernels, QUIET)
    return BackendSpec(
        device_type=DEVICE_TYPE, api_version=PLUGIN_API_VERSION, distribution="mbtorch-numpy",
        version=__version__, device_count=1, dtypes=frozenset(DTYPES), storage=NumpyStorage(),
        kernels=kernels, inplace_kernels=quiet_kernels(INPLACE_KERNELS),
        out_kernels={**shared_out, **out_overrides(shared_out)}, fuse=fuse,
        info={"numpy": np.__version__,
              "numba": _distribution_version("numba") + " (2-D pooling, im2col, col2im, "
                       "fused pointwise chains)",
              "malloc": malloc_tuning()},
        dlpack_device_type=1,
        from_dlpack=np.from_dlpack, expectations=EXPECTATIONS,
    )


def _distribution_version(name: str) -> str:
    """An installed distribution's version without importing it (Numba's import is slow)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"
