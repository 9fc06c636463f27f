"""``logcumsumexp``: the running ``log(sum(exp(x)))`` along a dim.

A Hillis-Steele scan (``scans._scan``) with ``logaddexp`` as the combining step and ``-inf``
as its identity: log2(n) steps, each exact to rounding whatever the spread of the values (a
single ``log(cumsum(exp(x - max)))`` would lose the early, small terms to underflow), and
differentiable through ``logaddexp`` and ``gather``.
"""

from __future__ import annotations

from ..tensor import Tensor, method_table, wrap_dim
from . import views as _v
from .scans import _scan
from .special import logaddexp

TENSOR_METHODS: dict = {}
"""The ``Tensor`` methods this module provides, by name (installed by ``mbtorch.core.ops``)."""
tensor_method = method_table(TENSOR_METHODS)


@tensor_method
def logcumsumexp(input: Tensor, dim: int) -> Tensor:
    """``log(cumsum(exp(input), dim))`` computed without overflow or underflow.

    >>> mbtorch.logcumsumexp(mbtorch.tensor([0.0, 0.0]), 0)
    tensor([0.0000, 0.6931])
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"logcumsumexp(): argument 'input' must be Tensor, not "
                        f"{type(input).__name__}")
    if not input._dtype.is_floating_point:
        raise NotImplementedError(f'"logcumsumexp_out_cpu" not implemented for '
                                  f"'{input._dtype.scalar_name}'")
    d = wrap_dim(dim, max(input.ndim, 1), "logcumsumexp")
    x = input if input.ndim else _v.reshape(input, (1,))
    out = _scan(x, d, logaddexp, float("-inf"))  # float16/bfloat16 scan in float32
    return out if input.ndim else _v.reshape(out, ())


__all__ = ["logcumsumexp"]
