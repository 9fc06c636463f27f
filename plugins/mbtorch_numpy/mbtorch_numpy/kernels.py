"""The cpu kernel table: the shared NumPy-compatible primitives, plus native kernels for
composites where NumPy has a faster or more precise routine (a native composite kernel takes
the decomposition's arguments, with handles in place of tensors)."""

from __future__ import annotations

import numpy as np
import scipy.special

from mbtorch.core.op import Op
from mbtorch.core.plugin_api import xp_kernels

from .storage import native_dtype


def _ufunc(f):
    def kernel(*args):
        return f(*args, out=...)

    kernel.__name__ = f.__name__
    return kernel


KERNELS = xp_kernels(np, native_dtype, scipy.special.erf)
KERNELS.update({
    Op.SUB: _ufunc(np.subtract), Op.NEG: _ufunc(np.negative), Op.MINIMUM: _ufunc(np.minimum),
    Op.NE: _ufunc(np.not_equal), Op.LE: _ufunc(np.less_equal), Op.GT: _ufunc(np.greater),
    Op.GE: _ufunc(np.greater_equal), Op.BITWISE_NOT: _ufunc(np.invert),
    Op.LOGICAL_NOT: _ufunc(np.logical_not), Op.LOGICAL_AND: _ufunc(np.logical_and),
    Op.LOGICAL_OR: _ufunc(np.logical_or), Op.LOGICAL_XOR: _ufunc(np.logical_xor),
    Op.EXP2: _ufunc(np.exp2), Op.LOG2: _ufunc(np.log2), Op.LOG10: _ufunc(np.log10),
    Op.TAN: _ufunc(np.tan), Op.ASIN: _ufunc(np.arcsin), Op.ACOS: _ufunc(np.arccos),
    Op.ATAN: _ufunc(np.arctan), Op.SINH: _ufunc(np.sinh), Op.COSH: _ufunc(np.cosh),
    Op.CEIL: _ufunc(np.ceil), Op.TRUNC: _ufunc(np.trunc), Op.SQUARE: _ufunc(np.square),
    Op.ISNAN: _ufunc(np.isnan), Op.ISINF: _ufunc(np.isinf), Op.ISFINITE: _ufunc(np.isfinite),
})
