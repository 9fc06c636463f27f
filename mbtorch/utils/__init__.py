"""``mbtorch.utils``: PyTorch's ``torch.utils`` names. ``mbtorch.utils.data`` *is*
``mbtorch.data`` (the same module objects, registered under both names), so
``from mbtorch.utils.data import DataLoader`` and
``from mbtorch.utils.data.dataloader import default_collate`` work as in PyTorch."""

from __future__ import annotations

import sys

from .. import data
from . import checkpoint, dlpack
from ..data import collate, dataloader, dataset, distributed, sampler

# Alias the package and its public submodules rather than re-importing them, so the classes
# are identical under both names (isinstance checks and pickling agree).
sys.modules[f"{__name__}.data"] = data
for _mod in (collate, dataloader, dataset, distributed, sampler):
    sys.modules[f"{__name__}.data.{_mod.__name__.rsplit('.', 1)[1]}"] = _mod

__all__ = ["checkpoint", "data", "dlpack"]
