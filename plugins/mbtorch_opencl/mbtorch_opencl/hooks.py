"""Entry point module: hands mbtorch the ``opencl`` backend description.

Import-light on purpose: PyOpenCL is imported inside the hook, so listing backends on a
machine without it reports the reason instead of failing.
"""

from __future__ import annotations

from mbtorch.core.hookspecs import PLUGIN_API_VERSION, hookimpl

__all__ = ["DEVICE_TYPE", "DISTRIBUTION", "mbtorch_backend"]

DEVICE_TYPE = "opencl"
DISTRIBUTION = "mbtorch-opencl"


def _unavailable(reason: str):
    from mbtorch.core.backend import BackendSpec

    from . import __version__

    return BackendSpec(device_type=DEVICE_TYPE, api_version=PLUGIN_API_VERSION,
                       distribution=DISTRIBUTION, version=__version__, available=False,
                       reason=reason, device_count=0)


@hookimpl
def mbtorch_backend(api_version: int):
    try:
        import pyopencl as cl
    except ImportError as exc:
        return _unavailable(f"installed, but PyOpenCL cannot be imported ({exc}); "
                            "pip install 'mbtorch-opencl[pocl]'")
    from mbtorch.core import dtypes as dt
    from mbtorch.core.backend import BackendSpec

    from . import __version__, storage

    try:
        devices = storage.enumerate_devices()
    except cl.Error as exc:  # no ICD / no platform: clGetPlatformIDs fails
        return _unavailable(f"installed, but no OpenCL platform was found ({exc}); install an "
                            "OpenCL driver or pip install 'mbtorch-opencl[pocl]'")
    if not devices:
        return _unavailable("installed, but the OpenCL platforms list no device")
    storage.DEVICES[:] = devices
    from .fused import fuse
    from .kernels import EXPECTATIONS, KERNELS
    from .pointwise import inplace_table

    dtypes = frozenset().union(*(d.dtypes for d in devices))
    from .probe import cache_dir

    info = {"pyopencl": cl.VERSION_TEXT, "kernel verdicts": str(cache_dir())}
    for d in devices:
        info[f"opencl:{d.index}"] = d.describe()
        info[f"opencl:{d.index} matmul"] = (
            "float32/float64 through NumPy's BLAS on mapped host buffers from 2^19 "
            "multiply-adds, on one BLAS thread below 2^26 (MBTORCH_OPENCL_HOST_BLAS=0: OpenCL "
            "kernel); smaller products and other dtypes: OpenCL GEMM"
            if storage.host_blas(d, dt.float32) else
            "OpenCL GEMM (vector width and fma proven in a child process on first use)")
        info[f"opencl:{d.index} extensions"] = d.device.extensions.strip()
        info[f"opencl:{d.index} dtypes"] = ", ".join(sorted(x.name for x in d.dtypes))
    return BackendSpec(
        device_type=DEVICE_TYPE, api_version=PLUGIN_API_VERSION, distribution=DISTRIBUTION,
        version=__version__, device_count=len(devices), dtypes=dtypes,
        storage=storage.OpenCLStorage(), kernels=KERNELS, expectations=EXPECTATIONS,
        info=info, synchronize=lambda index: storage.DEVICES[index].queue.finish(),
        fuse=fuse, inplace_kernels=inplace_table(), runtime=storage.OpenCLRuntime(),
    )
