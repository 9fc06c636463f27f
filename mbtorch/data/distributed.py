"""``DistributedSampler``: each rank of a data-parallel job reads its own share of a dataset.

The assignment is PyTorch's, index for index: one order of the whole dataset per epoch (a
permutation drawn from a generator seeded with ``seed + epoch`` when ``shuffle``, else
``0 .. n-1``), padded by repeating its head until it divides evenly (or cut to the largest
multiple with ``drop_last``), then dealt out round-robin: rank ``r`` gets positions
``r, r + R, r + 2R, ...``. Every rank must use the same ``seed`` and call ``set_epoch`` with the
same epoch, so their shares stay disjoint. The permutation comes from ``mbtorch.Generator``,
whose stream is not ``torch.Generator``'s, so shuffled orders differ from PyTorch's.
"""

from __future__ import annotations

import math
from typing import Iterator, Sized

import mbtorch

from . import _random
from .sampler import Sampler

__all__ = ["DistributedSampler"]


def _from_group(what: str) -> int:
    from .. import distributed as dist

    if not dist.is_available():
        raise RuntimeError("Requires distributed package to be available")
    return dist.get_world_size() if what == "num_replicas" else dist.get_rank()


class DistributedSampler(Sampler[int]):
    """This rank's indices of ``dataset``, ``len(dataset) / num_replicas`` of them (rounded up
    by padding, or down with ``drop_last``). ``num_replicas`` and ``rank`` default to the
    process group's.

    >>> s = DistributedSampler(range(5), num_replicas=2, rank=1, shuffle=False)
    >>> list(s)   # rank 0 gets [0, 2, 4], rank 1 [1, 3, 0] (padded with the head)
    [1, 3, 0]
    """

    def __init__(self, dataset: Sized, num_replicas: int | None = None,
                 rank: int | None = None, shuffle: bool = True, seed: int = 0,
                 drop_last: bool = False) -> None:
        if num_replicas is None:
            num_replicas = _from_group("num_replicas")
        if rank is None:
            rank = _from_group("rank")
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval "
                             f"[0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.drop_last = drop_last
        n = len(dataset)
        if drop_last and n % num_replicas != 0:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas
        self.shuffle = shuffle
        self.seed = seed

    def _order(self) -> list[int]:
        n = len(self.dataset)
        if not self.shuffle:
            return list(range(n))
        g = mbtorch.Generator()
        g.manual_seed(self.seed + self.epoch)
        return _random.randperm(n, g)

    def __iter__(self) -> Iterator[int]:
        indices = self._order()
        if not self.drop_last:
            pad = self.total_size - len(indices)
            if pad <= len(indices):
                indices += indices[:pad]
            else:
                indices += (indices * math.ceil(pad / len(indices)))[:pad]
        else:
            indices = indices[:self.total_size]
        if len(indices) != self.total_size:
            raise RuntimeError(f"DistributedSampler: {len(indices)} indices for a total size of "
                               f"{self.total_size} (did the dataset change size?)")
        return iter(indices[self.rank:self.total_size:self.num_replicas])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Use the order of epoch ``epoch`` (call it at the start of every epoch, on every
        rank, with ``shuffle=True``: otherwise each epoch repeats the same order)."""
        self.epoch = epoch
