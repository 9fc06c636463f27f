"""Data-parallel running of ``mbtorch-train`` under ``mpiexec -n N`` (kept apart from the
program so its single-process path reads as before).

    mpiexec -n 2 python -m mbtorch.train --epochs 3

Every rank holds the same model (``DistributedDataParallel``: rank 0's weights at the start,
gradients averaged every step) and reads its own share of each epoch's shuffled training set
(``DistributedSampler``). ``--batch-size`` stays the *global* batch: each rank takes
``batch_size / N`` of it, so the number of steps, the learning-rate schedule and the
trajectory are those of one process (up to float rounding and batch-norm statistics, which
each rank computes on its own share). The test set is split between the ranks and the sums
of loss and correct answers are added up. Rank 0 alone draws progress, prints and writes the
checkpoint and the plot; the per-step losses it records are its own share's.
Outside a launcher (or with ``-n 1``) everything here is inert.
"""

from __future__ import annotations

from typing import Any

import mbtorch
import mbtorch.distributed as dist

__all__ = ["DataParallel"]


class DataParallel:
    """The job's data-parallel state; ``active`` only with more than one process."""

    def __init__(self) -> None:
        self.active = dist.launcher_world_size() > 1
        if self.active and not dist.is_initialized():
            dist.init_process_group("mpi")
        self.rank = dist.get_rank() if self.active else 0
        self.world = dist.get_world_size() if self.active else 1
        self.is_main = self.rank == 0

    def local_batch(self, batch_size: int) -> int:
        if batch_size % self.world:
            raise ValueError(f"--batch-size {batch_size} (the global batch) must be a multiple "
                             f"of the number of processes, {self.world}")
        return batch_size // self.world

    def steps(self, n_train: int, batch_size: int) -> int:
        """Steps per epoch: every rank takes the same number (its share is padded to
        ``ceil(n / N)`` samples), the single-process count when ``N`` divides ``n``."""
        share = -(-n_train // self.world)
        return -(-share // self.local_batch(batch_size))

    def train_loader(self, images: Any, labels: Any, batch_size: int, seed: int, epoch: int,
                     num_workers: int) -> Any:
        """This rank's batches of epoch ``epoch`` (one shuffle of the whole set per epoch,
        the same on every rank, dealt out by ``DistributedSampler``)."""
        from mbtorch.data import BatchSampler, DataLoader, DistributedSampler, TensorDataset

        ds = TensorDataset(images, labels)
        sampler = DistributedSampler(ds, self.world, self.rank, shuffle=True, seed=seed)
        sampler.set_epoch(epoch)
        batches = BatchSampler(sampler, self.local_batch(batch_size), drop_last=False)
        return DataLoader(ds, batch_size=None, sampler=batches, num_workers=num_workers)

    def wrap(self, model: Any) -> Any:
        if not self.active:
            return model
        from mbtorch.nn.parallel import DistributedDataParallel

        return DistributedDataParallel(model)

    def test_share(self, images: Any, labels: Any) -> tuple[Any, Any]:
        """Rank ``r`` evaluates samples ``r, r + N, ...``: disjoint, together the whole set."""
        if not self.active:
            return images, labels
        return images[self.rank::self.world], labels[self.rank::self.world]

    def eval_model(self, model: Any) -> Any:
        """The model to evaluate: the wrapped module, with rank 0's buffers (batch-norm
        statistics), so every rank evaluates the weights rank 0 saves."""
        if not self.active:
            return model
        with mbtorch.no_grad():
            for b in model.module.buffers():
                dist.broadcast(b, src=0)
        return model.module

    def sum(self, *values: float) -> list[float]:
        """Each value added up over the ranks."""
        if not self.active:
            return list(values)
        t = mbtorch.tensor(values, dtype=mbtorch.float64)
        dist.all_reduce(t)
        return t.tolist()

    def any(self, flag: bool) -> bool:
        """Whether any rank says so (all ranks must stop at the same step)."""
        if not self.active:
            return flag
        t = mbtorch.tensor([int(flag)])
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return bool(t.item())

    def close(self) -> None:
        if self.active and dist.is_initialized():
            dist.destroy_process_group()
