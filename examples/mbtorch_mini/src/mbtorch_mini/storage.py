"""Device memory for ``mini``: handles are NumPy arrays standing in for device buffers.

A real device keeps its own buffers; to keep that discipline here, data crossing the host
boundary (``from_numpy``, ``to_numpy``) is always copied, so a ``mini`` tensor never shares
memory with a host array, just as a GPU tensor would not.
"""

from __future__ import annotations

import numpy as np

from mbtorch.core import dtypes as dt
from mbtorch.core.host import NUMPY_DTYPES

__all__ = ["DTYPES", "native_dtype", "MiniStorage"]

DTYPES = dt.ALL_DTYPES  # every mbtorch dtype; a device may support fewer


def native_dtype(d: dt.dtype) -> np.dtype:
    """The NumPy dtype of mbtorch dtype ``d``: here the host's own (``from_numpy`` and
    ``to_numpy`` must speak those), bfloat16 being ml_dtypes'; a device maps to its types."""
    return NUMPY_DTYPES[d]


class MiniStorage:
    """The six storage calls of ``mbtorch.core.backend.Storage``."""

    def empty(self, shape: tuple[int, ...], dtype: dt.dtype, device_index: int) -> np.ndarray:
        return np.empty(shape, native_dtype(dtype))

    def from_numpy(self, array: np.ndarray, device_index: int) -> np.ndarray:
        return np.array(array, copy=True, order="C")

    def to_numpy(self, handle: np.ndarray) -> np.ndarray:
        return np.array(handle, copy=True)

    def strides(self, handle: np.ndarray) -> tuple[int, ...]:
        size = handle.itemsize
        return tuple(s // size for s in handle.strides)

    def shape(self, handle: np.ndarray) -> tuple[int, ...]:
        return handle.shape

    def to_device(self, handle: np.ndarray, device_index: int) -> np.ndarray:
        return np.array(handle, copy=True, order="C")
