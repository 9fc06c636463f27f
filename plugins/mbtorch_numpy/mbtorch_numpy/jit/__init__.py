"""Kernels of the cpu device compiled by Numba, where NumPy's passes over strided views are
the bottleneck: ``windows`` (2-D max pooling, im2col and col2im), ``scatter`` (writes along
the last dim with full rows of indices: max pooling's gradient) and ``fused`` (the backend's
``fuse`` hook: a compiled replay's chains of pointwise kernels as one loop). NumPy-only (the
cuda backend shares ``mbtorch_numpy.xp``, not these); Numba is imported at a kernel's first
call."""

import numpy as np

__all__ = ["FLOATS", "fused", "scatter", "windows"]

FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
"""The dtypes the compiled kernels take; the others run the NumPy kernels."""
