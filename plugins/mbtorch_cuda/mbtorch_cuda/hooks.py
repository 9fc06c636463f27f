"""Entry point module: hands mbtorch the ``cuda`` backend description.

Import-light on purpose: CuPy is imported inside the hook, and every way the device can be
missing (no CuPy, no driver, no GPU, no NVRTC) becomes ``available=False`` with a reason that
says what to do, which mbtorch raises when ``device='cuda'`` is asked for.
"""

from __future__ import annotations

from typing import Any

from mbtorch.core.hookspecs import PLUGIN_API_VERSION, hookimpl

__all__ = ["DEVICE_TYPE", "DISTRIBUTION", "DLPACK_CUDA", "INSTALL_HINT", "probe", "mbtorch_backend"]

DEVICE_TYPE = "cuda"
DISTRIBUTION = "mbtorch-cuda"
DLPACK_CUDA = 2  # kDLCUDA
INSTALL_HINT = "pip install 'mbtorch-cuda[cuda12]' (CUDA 12 drivers) or '[cuda13]'"


def _unavailable(reason: str, info: dict | None = None):
    from mbtorch.core.backend import BackendSpec

    from . import __version__

    return BackendSpec(device_type=DEVICE_TYPE, api_version=PLUGIN_API_VERSION,
                       distribution=DISTRIBUTION, version=__version__, available=False,
                       reason=reason, device_count=0, info=info or {})


def probe(cupy: Any) -> tuple[int, str]:
    """``(device count, reason)``: the reason is empty when CUDA can be used."""
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # noqa: BLE001 - CUDARuntimeError, or a driver that is missing
        return 0, f"installed, no CUDA device: {type(exc).__name__}: {exc}"
    if count == 0:
        return 0, "installed, no CUDA device: the CUDA runtime lists none"
    try:  # CuPy compiles every kernel, its own ufuncs too, with NVRTC
        cupy.cuda.nvrtc.getVersion()
    except Exception as exc:  # noqa: BLE001 - DynamicLibNotFoundError and kin
        return 0, (f"installed, {count} CUDA device(s), but NVRTC cannot be loaded "
                   f"({type(exc).__name__}: {exc}); {INSTALL_HINT}")
    return count, ""


@hookimpl
def mbtorch_backend(api_version: int):
    try:
        import cupy
    except ImportError as exc:
        return _unavailable(f"installed, but CuPy is not installed ({exc}); {INSTALL_HINT}")
    count, reason = probe(cupy)
    info = {"cupy": cupy.__version__}
    if reason:
        return _unavailable(reason, info)
    import cupyx.scipy.special

    from mbtorch.core.backend import BackendSpec

    from . import __version__, fusion, kernels, storage

    allocator = storage.PeakTrackingAllocator(cupy)
    cupy.cuda.set_allocator(allocator)
    runtime = storage.CudaRuntime(cupy, allocator)
    info["cuda runtime"] = str(cupy.cuda.runtime.runtimeGetVersion())
    info["cuda driver"] = str(cupy.cuda.runtime.driverGetVersion())
    for i in range(count):
        info[f"cuda:{i}"] = runtime.device_name(i)
    return BackendSpec(
        device_type=DEVICE_TYPE, api_version=PLUGIN_API_VERSION, distribution=DISTRIBUTION,
        version=__version__, device_count=count,
        dtypes=frozenset(storage.supported_dtypes(cupy)), storage=storage.CupyStorage(cupy),
        kernels=kernels.build(cupy, cupyx.scipy.special.erf, device_count=count), info=info,
        dlpack_device_type=DLPACK_CUDA, from_dlpack=cupy.from_dlpack,
        synchronize=runtime.synchronize, runtime=runtime, fuse=fusion.make_fuse(cupy),
    )
