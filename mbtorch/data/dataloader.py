"""``DataLoader``: batches from a dataset, in the main process or in worker processes.

The loader turns sampler indices into batches with a fetcher (``dataset[i]`` for each index,
then ``collate_fn``). With ``num_workers=0`` that happens in the calling process; otherwise in
worker processes (see ``_multiprocess.py``), which send batches back as NumPy arrays that the
main process turns into tensors again.
"""

from __future__ import annotations

import math
import multiprocessing
import warnings
from typing import Any, Callable, Iterable, Iterator

from . import _random
from ._worker import IterableFetcher, MapFetcher
from .collate import default_collate, default_convert
from .dataset import Dataset, IterableDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler

__all__ = ["DataLoader"]

_FROZEN = ("batch_size", "batch_sampler", "sampler", "drop_last", "dataset",
           "persistent_workers")


class _InfiniteConstantSampler(Sampler):
    """The index stream for an ``IterableDataset``: ``None`` forever (the dataset decides)."""

    def __iter__(self) -> Iterator[None]:
        while True:
            yield None


def _check_options(num_workers: int, timeout: float, prefetch_factor: int | None,
                   persistent_workers: bool) -> int | None:
    if num_workers < 0:
        raise ValueError("num_workers option should be non-negative; use num_workers=0 to "
                         "disable multiprocessing.")
    if timeout < 0:
        raise ValueError("timeout option should be non-negative")
    if num_workers == 0 and prefetch_factor is not None:
        raise ValueError("prefetch_factor option could only be specified in multiprocessing."
                         "let num_workers > 0 to enable multiprocessing, otherwise set "
                         "prefetch_factor to None.")
    if num_workers > 0 and prefetch_factor is None:
        prefetch_factor = 2
    elif prefetch_factor is not None and prefetch_factor < 0:
        raise ValueError("prefetch_factor option should be non-negative")
    if persistent_workers and num_workers == 0:
        raise ValueError("persistent_workers option needs num_workers > 0")
    return prefetch_factor


def _check_iterable_options(shuffle: Any, sampler: Any, batch_sampler: Any) -> None:
    if shuffle not in {False, None}:
        raise ValueError(f"DataLoader with IterableDataset: expected unspecified shuffle "
                         f"option, but got shuffle={shuffle}")
    if sampler is not None:
        raise ValueError(f"DataLoader with IterableDataset: expected unspecified sampler "
                         f"option, but got sampler={sampler}")
    if batch_sampler is not None:
        raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                         f"batch_sampler option, but got batch_sampler={batch_sampler}")


def _mp_context(ctx: Any, num_workers: int) -> Any:
    """The start method: the one asked for, else ``fork`` where the platform has it (datasets
    are then inherited, not pickled), else the platform default."""
    if ctx is None:
        return None
    if num_workers == 0:
        raise ValueError(f"multiprocessing_context can only be used with multi-process "
                         f"loading (num_workers > 0), but got num_workers={num_workers}")
    if isinstance(ctx, str):
        valid = multiprocessing.get_all_start_methods()
        if ctx not in valid:
            raise ValueError(f"multiprocessing_context option should specify a valid start "
                             f"method in {valid!r}, but got multiprocessing_context={ctx!r}")
        ctx = multiprocessing.get_context(ctx)
    if not isinstance(ctx, multiprocessing.context.BaseContext):
        raise TypeError(f"multiprocessing_context option should be a valid context object or "
                        f"a string specifying the start method, but got "
                        f"multiprocessing_context={ctx}")
    return ctx


class DataLoader:
    """Iterate over ``dataset`` in batches, as ``torch.utils.data.DataLoader``.

    >>> loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True, num_workers=2)
    >>> for xb, yb in loader:
    ...     ...

    Worker processes start with ``fork`` where available (so datasets holding tensors need
    not be picklable); pass ``multiprocessing_context="spawn"`` to choose otherwise, in which
    case the dataset is pickled with its tensors sent as NumPy arrays. ``pin_memory`` is
    accepted for compatibility; no mbtorch backend has page-locked host memory yet.
    """

    def __init__(self, dataset: Dataset, batch_size: int | None = 1,
                 shuffle: bool | None = None, sampler: Sampler | Iterable | None = None,
                 batch_sampler: Sampler | Iterable | None = None, num_workers: int = 0,
                 collate_fn: Callable | None = None, pin_memory: bool = False,
                 drop_last: bool = False, timeout: float = 0,
                 worker_init_fn: Callable[[int], None] | None = None,
                 multiprocessing_context: Any = None, generator: Any = None, *,
                 prefetch_factor: int | None = None, persistent_workers: bool = False,
                 pin_memory_device: str = "", in_order: bool = True) -> None:
        prefetch_factor = _check_options(num_workers, timeout, prefetch_factor,
                                         persistent_workers)
        self.dataset = dataset
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = _mp_context(multiprocessing_context, num_workers)
        self.in_order = in_order
        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            _check_iterable_options(shuffle, sampler, batch_sampler)
        else:
            shuffle = bool(shuffle)
        sampler, batch_sampler, batch_size, drop_last = self._samplers(
            sampler, batch_sampler, batch_size, drop_last, shuffle, generator)
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn
        self.persistent_workers = persistent_workers
        self._iterator: Any = None
        self.__initialized = True
        if pin_memory:
            warnings.warn("'pin_memory' argument is set as true but no accelerator is found, "
                          "then device pinned memory won't be used.", stacklevel=2)

    def _samplers(self, sampler: Any, batch_sampler: Any, batch_size: Any, drop_last: bool,
                  shuffle: Any, generator: Any) -> tuple:
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")
        if sampler is None:
            if self._iterable:
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(self.dataset, generator=generator)
            else:
                sampler = SequentialSampler(self.dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        return sampler, batch_sampler, batch_size, drop_last

    def __setattr__(self, attr: str, val: Any) -> None:
        if self.__dict__.get("_DataLoader__initialized") and attr in _FROZEN:
            raise ValueError(f"{attr} attribute should not be set after "
                             f"{self.__class__.__name__} is initialized")
        super().__setattr__(attr, val)

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None

    @property
    def _index_sampler(self) -> Any:
        return self.batch_sampler if self._auto_collation else self.sampler

    def _make_fetcher(self) -> Any:
        kind = IterableFetcher if self._iterable else MapFetcher
        return kind(self.dataset, self._auto_collation, self.collate_fn, self.drop_last)

    def __iter__(self) -> Iterator:
        if self.num_workers == 0:
            return _SingleProcessIter(self)
        from ._multiprocess import MultiProcessIter

        if not self.persistent_workers:
            return MultiProcessIter(self)
        if self._iterator is not None and self._iterator._failed is not None:
            # A worker died while the loop body ran (told by SIGCHLD): start afresh.
            self._iterator._shutdown_workers(graceful=False)
        if self._iterator is None or self._iterator._shutdown:
            self._iterator = MultiProcessIter(self)
        else:
            self._iterator.reset()
        return self._iterator

    def __len__(self) -> int:
        if self._iterable:
            length = len(self.dataset)  # type: ignore[arg-type]
            if self.batch_size is not None:
                if self.drop_last:
                    return length // self.batch_size
                return math.ceil(length / self.batch_size)
            return length
        return len(self._index_sampler)

    def _base_seed(self) -> int:
        return _random.seed(self.generator)


class _SingleProcessIter:
    """Batches made in the calling process, one per ``next``."""

    def __init__(self, loader: DataLoader) -> None:
        if loader.timeout != 0:
            # torch raises AssertionError here too; the message says what to change.
            raise AssertionError("DataLoader timeout > 0 needs num_workers > 0: the "
                                 "single-process loader has no worker to wait for")
        self._len = loader.__len__
        # Drawn (and unused) as in torch, so that a seeded ``generator`` gives the same
        # shuffle whatever ``num_workers`` is.
        self._base_seed = loader._base_seed()
        self._sampler_iter = iter(loader._index_sampler)
        self._fetcher = loader._make_fetcher()

    def __iter__(self) -> "_SingleProcessIter":
        return self

    def __next__(self) -> Any:
        index = next(self._sampler_iter)
        return self._fetcher.fetch(index)

    def __len__(self) -> int:
        return self._len()
