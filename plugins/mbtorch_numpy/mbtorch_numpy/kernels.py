"""The cpu kernel table: the primitives and the composites' native kernels shared by every
NumPy-compatible backend (``plugin_api.xp_kernels`` / ``xp_composites``), on NumPy and SciPy.
A native composite kernel takes the decomposition's arguments, with handles in place of
tensors."""

from __future__ import annotations

import numpy as np
import scipy.special

from mbtorch.core.plugin_api import xp_composites, xp_kernels

from .storage import native_dtype

KERNELS = xp_kernels(np, native_dtype, scipy.special.erf)
KERNELS.update(xp_composites(np, native_dtype))
