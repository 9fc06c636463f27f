"""``mbtorch.backends.cpu``: ``get_cpu_capability()``, the SIMD level the ``cpu`` device's
kernels run at, in PyTorch's words ("AVX512", "AVX2", "DEFAULT").

The ``cpu`` device computes through NumPy, which picks its kernels at run time from the
targets it was built with; the answer is the highest of those this CPU supports. Other
architectures answer "DEFAULT" (PyTorch's SVE/VSX/ZVECTOR levels have no NumPy counterpart
this module can read reliably).
"""

from __future__ import annotations

__all__ = ["get_cpu_capability"]

# NumPy's dispatch targets (names across NumPy 1.x and 2.x) by the PyTorch level they reach
_AVX512_TARGETS = {"X86_V4", "AVX512_SKX", "AVX512_CLX", "AVX512_CNL", "AVX512_ICL",
                   "AVX512_SPR"}
_AVX2_TARGETS = {"X86_V3", "AVX2", "FMA3"} | _AVX512_TARGETS


def _numpy_cpu_targets() -> tuple[set[str], dict[str, bool]]:
    try:
        from numpy._core import _multiarray_umath as umath
    except ImportError:  # NumPy 1.x
        from numpy.core import _multiarray_umath as umath
    targets = set(umath.__cpu_baseline__) | set(umath.__cpu_dispatch__)
    return targets, dict(umath.__cpu_features__)


def get_cpu_capability() -> str:
    """"AVX512", "AVX2" or "DEFAULT": the widest SIMD level NumPy was built for and this CPU
    has."""
    targets, features = _numpy_cpu_targets()
    usable = {t for t in targets if features.get(t, False)}
    if usable & _AVX512_TARGETS:
        return "AVX512"
    if usable & _AVX2_TARGETS:
        return "AVX2"
    return "DEFAULT"
