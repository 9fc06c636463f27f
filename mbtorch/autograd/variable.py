"""``Variable``: PyTorch's pre-0.4 autograd wrapper, kept because real programs still call it.

Since PyTorch 0.4 every tensor is a variable: ``Variable(t, requires_grad=True)`` returns a
plain ``Tensor`` that shares ``t``'s storage, detached from ``t``'s graph (a new leaf), and
``isinstance(x, Variable)`` is true for every tensor. Both hold here.
"""

from __future__ import annotations

import warnings
from typing import Any

from ..core.tensor import Tensor

__all__ = ["Variable"]


class _VariableMeta(type):
    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, Tensor)

    def __call__(cls, data: Any = None, requires_grad: bool = False, volatile: bool = False,
                 **kwargs: Any) -> Tensor:
        if kwargs:
            raise TypeError(f"Variable() got unexpected keyword argument(s) {sorted(kwargs)}")
        if volatile:
            warnings.warn("volatile was removed and now has no effect. Use `with "
                          "torch.no_grad():` instead.", UserWarning, stacklevel=2)
        if data is None:
            from ..core.ops.creation import empty

            return empty(0).requires_grad_(bool(requires_grad))
        if not isinstance(data, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got "
                            f"{type(data).__name__}")
        return data.detach().requires_grad_(bool(requires_grad))


class Variable(metaclass=_VariableMeta):
    """``Variable(data=None, requires_grad=False, volatile=False)``: ``data`` as a new leaf
    tensor sharing its storage (``data.detach().requires_grad_(requires_grad)``)."""
