"""Parallel training wrappers (PyTorch's ``torch.nn.parallel``)."""

from .data_parallel import DataParallel
from .distributed import DistributedDataParallel

__all__ = ["DataParallel", "DistributedDataParallel"]
