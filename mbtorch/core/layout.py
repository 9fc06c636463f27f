"""Memory layouts (``torch.layout``): every dense tensor is ``strided``; ``sparse_coo`` is the
layout of ``mbtorch.sparse``'s coordinate-format tensors."""

from __future__ import annotations

__all__ = ["layout", "strided", "sparse_coo"]


class layout:
    """A tensor layout; compared by identity, printed as PyTorch prints its own."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"torch.{self.name}"

    def __reduce__(self):
        return self.name  # pickles as the module-level instance


strided = layout("strided")
sparse_coo = layout("sparse_coo")
