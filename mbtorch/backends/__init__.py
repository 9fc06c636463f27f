"""Backend (plugin) discovery and status.

``mbtorch.backends.status()`` lists every backend found (installed through the entry-point
group ``mbtorch.backends`` or registered by hand) with its state and the reason when it cannot
be used; ``python -m mbtorch info`` prints the same report.

The submodules PyTorch programs touch answer from the same registry: ``cudnn`` and ``cuda``
(their flags, ``is_available()`` / ``is_built()``), ``mps``, and ``opencl``. The CPU-library
ones (``cpu``, ``mkl``, ``mkldnn``, ``openmp``, ``opt_einsum``, ``nnpack``, ``mha``,
``miopen``, ``quantized``, ``kleidiai``, ``cusparselt``, ``python_native``) say what mbtorch's
own kernels use — each module's docstring says what its flags control.
"""

from __future__ import annotations

from ..core.fallback import is_cpu_fallback_enabled, set_cpu_fallback  # noqa: F401
from ..core.plugins import (  # noqa: F401
    AUTOLOAD_ENV,
    ENTRY_POINT_GROUP,
    BackendStatus,
    register_plugin,
    rescan,
    status,
    unregister,
)

from . import cuda, cudnn, mps, opencl  # noqa: E402
from . import cpu, cusparselt, kleidiai, mha, miopen, mkl, mkldnn, nnpack  # noqa: E402
from . import openmp, opt_einsum, python_native, quantized  # noqa: E402

__all__ = ["AUTOLOAD_ENV", "ENTRY_POINT_GROUP", "BackendStatus", "is_cpu_fallback_enabled",
           "register_plugin", "rescan", "set_cpu_fallback", "status", "unregister", "cuda",
           "cudnn", "mps", "opencl", "cpu", "cusparselt", "kleidiai", "mha", "miopen", "mkl",
           "mkldnn", "nnpack", "openmp", "opt_einsum", "python_native", "quantized"]
