"""Kernels for NumPy-compatible array modules (NumPy, CuPy): written once against an array
module ``xp`` and built into a kernel table by each backend that has one.

- ``primitive_kernels``: a kernel for every primitive of ``mbtorch.core.op.PRIMITIVES``;
- ``composite_kernels``: native kernels for composites through ``xp``'s own routines;
- ``inplace_kernels``: in-place variants (``op.INPLACE``) through ufuncs' ``out=``;
- ``out_kernels``: out variants (``BackendSpec.out_kernels``) for compiled replays' buffers.

Why here, inside the cpu plugin's distribution: the core keeps the contract (the primitive
list and calling conventions, ``plugin_api``'s errors and the Philox stream) and no NumPy
kernels, and the backends need one copy of these. A separate ``mbtorch-xp`` distribution
would be cleaner on paper, but the plugins could only name it as a dependency that pip looks
up on PyPI (a local path is not allowed in published metadata), so ``pip install -e
plugins/mbtorch_numpy`` would stop being enough for a working cpu device, and an unregistered
name on PyPI invites anyone to claim it. Living in ``mbtorch-numpy``, the cpu device needs
nothing more, and ``mbtorch-cuda`` depends on ``mbtorch-numpy`` (NumPy is already its
dependency and CuPy mirrors NumPy). ``mbtorch_cuda`` imports only this subpackage, never the
cpu backend's hooks, storage or kernel table: the backends stay independent, and importing it
costs nothing beyond the array module (it imports neither NumPy, ml_dtypes nor SciPy itself).
"""

from __future__ import annotations

from typing import Any, Callable

from mbtorch.core import dtypes as _dt
from mbtorch.core.op import Op

from . import composites as _composites
from . import out as _out
from . import primitives as _primitives
from .primitives import HALF
from .quiet import QuietCalls

__all__ = [
    "HALF", "QuietCalls", "composite_kernels", "inplace_kernels", "out_kernels",
    "primitive_kernels"
]


def primitive_kernels(xp: Any, native_dtype: Callable[[_dt.dtype], Any],
                      erf: Callable[[Any], Any], quiet: QuietCalls | None = None
                      ) -> dict[Op, Callable]:
    """The primitive kernel table for a NumPy-compatible array module ``xp``.

    ``native_dtype`` maps mbtorch dtypes to ``xp`` dtypes (used by ``CAST``); ``erf`` is the
    module's error function (``scipy.special.erf``, ``cupyx.scipy.special.erf``), given
    float32 for float16/bfloat16 inputs. ``quiet`` (``quiet.for_numpy()``): the ufunc kernels
    run with the module's floating-point errors ignored, inline (marked ``kernel.quiet``)."""
    return _primitives.build(xp, native_dtype, erf, quiet)


def composite_kernels(xp: Any, quiet: QuietCalls | None = None) -> dict[Op, Callable]:
    """Native kernels for composites (``SUB``, ``ARGMAX``, ``VAR``, ``CUMSUM``, ``SOFTMAX``,
    ``IM2COL``...) through ``xp``'s own routines; a backend adds what it has better (fused
    kernels) on top. ``quiet``: as for ``primitive_kernels``."""
    return _composites.build(xp, quiet)


def inplace_kernels(xp: Any) -> dict[Op, Callable]:
    """In-place kernels (``op.INPLACE``) for a NumPy-compatible module whose ufuncs take
    ``out=`` and handle operands that overlap it (NumPy's do)."""
    weak_scalar = _primitives.weak_scalar

    def inplace(f: Callable) -> Callable:
        def kernel(out, a, b):
            if type(b) is float:
                b = weak_scalar(xp, b, out)  # as the out-of-place kernel takes it
            f(a, b, out=out)

        kernel.__name__ = getattr(f, "__name__", "ufunc") + "_"
        return kernel

    return {Op.ADD: inplace(xp.add), Op.SUB: inplace(xp.subtract),
            Op.MUL: inplace(xp.multiply), Op.DIV: inplace(xp.true_divide)}


def out_kernels(xp: Any, kernels: dict[Op, Callable], quiet: QuietCalls | None = None
                ) -> dict[Op, Callable]:
    """Out kernels (``kernel(out, *args)``, ``BackendSpec.out_kernels``) matching the backend's
    table ``kernels`` (as registered: the plain kernels a few of them fall back on) for a
    module whose ufuncs, ``matmul`` and reductions take ``out=``; ``quiet``: as for
    ``primitive_kernels``."""
    return _out.build(xp, kernels, quiet)
