"""``compile(module)``: an ``nn.Module`` whose calls are compiled (``torch.compile``'s
``OptimizedModule``): the original is ``_orig_mod``, parameters and state-dict keys are
reached through it (``_orig_mod.`` prefixed, as PyTorch's), and other attributes read
through to it."""

from __future__ import annotations

__all__ = ["OptimizedModule"]

from typing import Any

from ..nn.modules.module import Module


class OptimizedModule(Module):
    """The compiled wrapper of a module; call it as the module."""

    def __init__(self, mod: Module, compiled: Any) -> None:
        super().__init__()
        self._orig_mod = mod
        object.__setattr__(self, "_compiled", compiled)
        self.training = mod.training

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._compiled(*args, **kwargs)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self._compiled(*args, **kwargs)

    def train(self, mode: bool = True) -> "OptimizedModule":
        self._orig_mod.train(mode)
        self.training = mode
        return self

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self.__dict__["_modules"]["_orig_mod"], name)
