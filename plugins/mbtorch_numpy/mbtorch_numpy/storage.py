"""Host memory: handles are NumPy arrays; ``from_numpy`` shares, as ``torch.from_numpy``."""

from __future__ import annotations

import numpy as np

from mbtorch.core import dtypes as dt
from mbtorch.core.host import NUMPY_DTYPES as NATIVE

DTYPES = tuple(NATIVE)


def native_dtype(d: dt.dtype) -> np.dtype:
    return NATIVE[d]


class NumpyStorage:
    def empty(self, shape, dtype, device_index):
        return np.empty(shape, NATIVE[dtype])

    def from_numpy(self, array, device_index):
        return array

    def to_numpy(self, handle):
        return handle

    def strides(self, handle):
        size = handle.itemsize
        return tuple(s // size for s in handle.strides)

    def shape(self, handle):
        return handle.shape

    def to_device(self, handle, device_index):
        return handle.copy()
