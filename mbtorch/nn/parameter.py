"""``Parameter``: a tensor that a ``Module`` registers as a learnable weight."""

from __future__ import annotations

from typing import Any

from ..core.tensor import Tensor

__all__ = ["Parameter", "Buffer"]


class Parameter(Tensor):
    """A leaf tensor that requires grad by default and is registered when assigned to a
    ``Module`` attribute. It shares storage with the tensor it was made from."""

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = True) -> "Parameter":
        from .. import empty

        if data is None:
            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter(): data must be a Tensor, not {type(data).__name__}")
        return Tensor._make_subclass(cls, data.detach(), requires_grad)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo: dict) -> "Parameter":
        if id(self) in memo:
            return memo[id(self)]
        out = Parameter(self.detach().clone(), self.requires_grad)
        if self.grad is not None:
            out.grad = self.grad.__deepcopy__(memo)
        memo[id(self)] = out
        return out


class Buffer:
    """Marks a tensor to be registered as a buffer on assignment (``nn.Buffer``)."""

    def __init__(self, data: Tensor, persistent: bool = True):
        self.data = data
        self.persistent = persistent
