"""The ``mini`` kernel table: exactly the primitives of ``mbtorch.core.op.PRIMITIVES``.

Every other op (softmax, var, conv, indexing, ...) runs through its decomposition into these,
which is the point of the template: a new device is usable once its primitives are.

The table comes from ``plugin_api.xp_kernels``, the primitive kernels shared by every
NumPy-compatible array module; a device with its own array type writes each kernel itself,
with the calling convention listed in README.md. ``erf`` below shows such a hand-written
kernel.
"""

from __future__ import annotations

__all__ = ["erf", "KERNELS"]

import math

import numpy as np

from mbtorch.core.plugin_api import xp_kernels

from .storage import native_dtype

_erf_float64 = np.vectorize(math.erf, otypes=[np.float64])


def erf(x: np.ndarray) -> np.ndarray:
    """ERF: ``x`` floating (float16/bfloat16 arrive as float32); result of ``x``'s dtype."""
    return _erf_float64(x).astype(x.dtype)


KERNELS = xp_kernels(np, native_dtype, erf)
