"""Samplers: iterables of dataset keys (indices) that decide the order a ``DataLoader`` reads
a map-style dataset in, and ``BatchSampler``, which groups those keys into batches.

Randomness comes from ``mbtorch.Generator`` objects (``generator=``); without one the default
generator is used, so ``mbtorch.manual_seed`` makes every shuffle reproducible.
"""

from __future__ import annotations

from typing import Any, Generic, Iterable, Iterator, Sequence, Sized, TypeVar

from . import _random

T_co = TypeVar("T_co", covariant=True)

__all__ = ["BatchSampler", "RandomSampler", "Sampler", "SequentialSampler",
           "SubsetRandomSampler", "WeightedRandomSampler"]

_CHUNK = 32  # sampling with replacement draws this many indices at a time, as torch does


class Sampler(Generic[T_co]):
    """Base class: subclasses implement ``__iter__`` (and ``__len__`` when they can)."""

    def __init__(self, data_source: Sized | None = None) -> None:
        # torch accepts and ignores data_source here, kept for subclasses that pass it.
        pass

    def __iter__(self) -> Iterator[T_co]:
        raise NotImplementedError


class SequentialSampler(Sampler[int]):
    """``0, 1, ..., len(data_source) - 1``."""

    def __init__(self, data_source: Sized) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


def _check_positive_int(value: Any, name: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name} should be a positive integer value, but got {name}={value}")


class RandomSampler(Sampler[int]):
    """A random order of the dataset's indices (without replacement: one permutation per
    epoch; with ``replacement=True``: ``num_samples`` independent uniform draws).

    >>> list(RandomSampler(range(4), generator=mbtorch.Generator().manual_seed(0)))
    """

    def __init__(self, data_source: Sized, replacement: bool = False,
                 num_samples: int | None = None, generator: Any = None) -> None:
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not isinstance(self.replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got "
                            f"replacement={self.replacement}")
        _check_positive_int(self.num_samples, "num_samples")

    @property
    def num_samples(self) -> int:
        # Read lazily: the dataset may change size between construction and iteration.
        if self._num_samples is None:
            return len(self.data_source)
        return self._num_samples

    def __iter__(self) -> Iterator[int]:
        n = len(self.data_source)
        if self.replacement:
            for _ in range(self.num_samples // _CHUNK):
                yield from _random.randint(n, _CHUNK, self.generator)
            yield from _random.randint(n, self.num_samples % _CHUNK, self.generator)
        else:
            for _ in range(self.num_samples // n):
                yield from _random.randperm(n, self.generator)
            yield from _random.randperm(n, self.generator)[: self.num_samples % n]

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler[int]):
    """The given indices, in a random order each epoch."""

    def __init__(self, indices: Sequence[int], generator: Any = None) -> None:
        self.indices = indices
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        for i in _random.randperm(len(self.indices), self.generator):
            yield self.indices[i]

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler[int]):
    """``num_samples`` indices in ``[0, len(weights))`` drawn with probabilities proportional
    to ``weights`` (which need not sum to one)."""

    def __init__(self, weights: Sequence[float], num_samples: int, replacement: bool = True,
                 generator: Any = None) -> None:
        _check_positive_int(num_samples, "num_samples")
        if not isinstance(replacement, bool):
            raise ValueError(f"replacement should be a boolean value, but got "
                             f"replacement={replacement}")
        self.weights = _as_weights(weights)
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        return iter(_random.multinomial(self.weights, self.num_samples, self.replacement,
                                        self.generator))

    def __len__(self) -> int:
        return self.num_samples


def _as_weights(weights: Any) -> Any:
    """``weights`` as a float64 tensor, checked 1-d as torch checks it."""
    import mbtorch

    w = mbtorch.as_tensor(weights, dtype=mbtorch.float64)
    if w.dim() != 1:
        raise ValueError(f"weights should be a 1d sequence but given weights have shape "
                         f"{tuple(w.shape)}")
    return w


class BatchSampler(Sampler[list]):
    """Groups the indices of ``sampler`` into lists of ``batch_size`` (the last one shorter
    unless ``drop_last``).

    >>> list(BatchSampler(SequentialSampler(range(5)), batch_size=2, drop_last=False))
    [[0, 1], [2, 3], [4]]
    """

    def __init__(self, sampler: Sampler | Iterable, batch_size: int, drop_last: bool) -> None:
        _check_positive_int(batch_size, "batch_size")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got "
                             f"drop_last={drop_last}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self) -> Iterator[list]:
        it = iter(self.sampler)
        while True:
            batch = [i for _, i in zip(range(self.batch_size), it)]
            if not batch or (self.drop_last and len(batch) < self.batch_size):
                return
            yield batch

    def __len__(self) -> int:
        if self.drop_last:
            return len(self.sampler) // self.batch_size  # type: ignore[arg-type]
        return (len(self.sampler) + self.batch_size - 1) // self.batch_size  # type: ignore
