"""``torch.utils.dlpack``: ``from_dlpack`` and ``to_dlpack`` under their historical module
(the same functions as ``mbtorch.from_dlpack`` / ``mbtorch.to_dlpack``)."""

from __future__ import annotations

from ..core.ops.dlpack import from_dlpack, to_dlpack

__all__ = ["from_dlpack", "to_dlpack"]
