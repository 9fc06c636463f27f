"""Kernels of the cpu device compiled by Numba, where NumPy's passes over strided views are
the bottleneck: ``windows`` (2-D max pooling, im2col and col2im) and ``scatter`` (writes along
the last dim with full rows of indices: max pooling's gradient). NumPy-only (the cuda backend
shares ``mbtorch_numpy.xp``, not these); Numba is imported at a kernel's first call."""

import numpy as np

__all__ = ["FLOATS", "PART_WORK", "scatter", "windows"]

FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
"""The dtypes the compiled kernels take; the others run the NumPy kernels."""
PART_WORK = 1 << 16
"""The least inner-loop iterations (about a nanosecond each) a kernel splits off to another
intra-op thread (``mbtorch.core.intraop``): handing a part over costs about 10-20 us."""
