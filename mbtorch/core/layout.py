"""Memory layouts (``torch.layout``): every dense tensor is ``strided``; ``sparse_coo`` is the
layout of ``mbtorch.sparse``'s coordinate-format tensors."""

from __future__ import annotations

__all__ = ["NamedConstant", "layout", "strided", "sparse_coo"]


class NamedConstant:
    """A module-level constant object of torch's (a layout, a memory format): compared by
    identity, printed as PyTorch prints it, pickled as the name of the instance."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"torch.{self.name}"

    def __reduce__(self):
        return self.name  # pickles as the module-level instance


class layout(NamedConstant):  # noqa: N801 - torch's spelling
    """A tensor layout."""

    __slots__ = ()


strided = layout("strided")
sparse_coo = layout("sparse_coo")
