"""Datasets: the map-style ``Dataset`` and the stream-style ``IterableDataset`` protocols, and
the combinators PyTorch ships with them (``TensorDataset``, ``Subset``, ``ConcatDataset``,
``ChainDataset``, ``random_split``).

A map-style dataset answers ``dataset[i]`` and ``len(dataset)``; an iterable one answers
``iter(dataset)``. Neither knows about batching, workers or devices: that is the
``DataLoader``'s job.
"""

from __future__ import annotations

import bisect
import itertools
import math
import warnings
from typing import Any, Generic, Iterable, Iterator, Sequence, TypeVar

from . import _random

T_co = TypeVar("T_co", covariant=True)

__all__ = ["ChainDataset", "ConcatDataset", "Dataset", "IterableDataset", "StackDataset",
           "Subset", "TensorDataset", "random_split"]


class Dataset(Generic[T_co]):
    """A map from keys (usually ``0 .. len-1``) to samples.

    Subclasses override ``__getitem__`` and, for the default samplers, ``__len__``. A subclass
    may also define ``__getitems__(indices) -> list`` to fetch a whole batch at once; the
    ``DataLoader`` then calls it instead of ``__getitem__`` once per index.
    """

    def __getitem__(self, index: Any) -> T_co:
        raise NotImplementedError("Subclasses of Dataset should implement __getitem__.")

    def __add__(self, other: "Dataset[T_co]") -> "ConcatDataset[T_co]":
        return ConcatDataset([self, other])


class IterableDataset(Dataset[T_co]):
    """A stream of samples: subclasses implement ``__iter__``.

    With ``num_workers > 0`` every worker process iterates its own copy of the dataset, so
    a dataset that does not split its stream with ``get_worker_info()`` yields every sample
    once per worker, exactly as in PyTorch.
    """

    def __iter__(self) -> Iterator[T_co]:
        raise NotImplementedError("Subclasses of IterableDataset should implement __iter__.")

    def __add__(self, other: "Dataset[T_co]") -> "ChainDataset":
        return ChainDataset([self, other])


def _size0(t: Any) -> int:
    return t.size(0) if hasattr(t, "size") and callable(t.size) else len(t)


class TensorDataset(Dataset):
    """Samples are the ``index``-th rows of the given tensors (all of the same first size).

    >>> ds = TensorDataset(mbtorch.zeros(5, 3), mbtorch.arange(5))
    >>> x, y = ds[2]
    """

    def __init__(self, *tensors: Any) -> None:
        if any(_size0(tensors[0]) != _size0(t) for t in tensors):
            # torch raises AssertionError here; callers porting torch code may rely on it.
            raise AssertionError("Size mismatch between tensors")
        self.tensors = tensors

    def __getitem__(self, index: Any) -> tuple:
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return _size0(self.tensors[0])


class StackDataset(Dataset):
    """Several equally long datasets side by side: sample ``i`` is the tuple (positional
    datasets) or dict (keyword datasets) of their samples ``i``.

    >>> StackDataset(images, labels)[0]            # (images[0], labels[0])
    >>> StackDataset(x=images, y=labels)[0]        # {'x': images[0], 'y': labels[0]}
    """

    datasets: "tuple | dict"

    def __init__(self, *args: Dataset, **kwargs: Dataset) -> None:
        if args and kwargs:
            raise ValueError("Supported either ``tuple``- (via ``args``) or``dict``- (via "
                             "``kwargs``) like input/output, but both types are given.")
        if not args and not kwargs:
            raise ValueError("At least one dataset should be passed")
        parts = list(args) if args else list(kwargs.values())
        self._length = len(parts[0])
        if any(self._length != len(d) for d in parts):
            raise ValueError("Size mismatch between datasets")
        self.datasets = args if args else kwargs

    def __getitem__(self, index: Any) -> Any:
        if isinstance(self.datasets, dict):
            return {k: d[index] for k, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)

    def __getitems__(self, indices: list) -> list:
        """A batch, fetched from each part with its own ``__getitems__`` where it has one."""
        named = self.datasets.items() if isinstance(self.datasets, dict) else enumerate(
            self.datasets)
        columns = {key: _batch_of(d, indices) for key, d in named}
        if isinstance(self.datasets, dict):
            return [{k: col[n] for k, col in columns.items()} for n in range(len(indices))]
        return [tuple(col[n] for col in columns.values()) for n in range(len(indices))]

    def __len__(self) -> int:
        return self._length


def _batch_of(dataset: Any, indices: list) -> list:
    getitems = getattr(dataset, "__getitems__", None)
    if not callable(getitems):
        return [dataset[i] for i in indices]
    items = getitems(indices)
    if len(items) != len(indices):
        raise ValueError(f"Nested dataset's output size mismatch. Expected {len(indices)}, got "
                         f"{len(items)}")
    return items


class ConcatDataset(Dataset):
    """The concatenation of several map-style datasets."""

    datasets: list
    cumulative_sizes: list

    @staticmethod
    def cumsum(sequence: Iterable) -> list:
        r, s = [], 0
        for e in sequence:
            s += len(e)
            r.append(s)
        return r

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = list(datasets)
        # AssertionError (not ValueError) to match torch, which callers may catch.
        if len(self.datasets) == 0:
            raise AssertionError("datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise AssertionError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = self.cumsum(self.datasets)

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx: int) -> Any:
        if idx < 0:
            if -idx > len(self):
                raise ValueError("absolute value of index should not exceed dataset length")
            idx = len(self) + idx
        dataset_idx = bisect.bisect_right(self.cumulative_sizes, idx)
        if dataset_idx == 0:
            sample_idx = idx
        else:
            sample_idx = idx - self.cumulative_sizes[dataset_idx - 1]
        return self.datasets[dataset_idx][sample_idx]


class ChainDataset(IterableDataset):
    """Iterable datasets chained one after another (lazily, as ``itertools.chain``)."""

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = datasets

    def __iter__(self) -> Iterator:
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise AssertionError("ChainDataset only supports IterableDataset")
            yield from d

    def __len__(self) -> int:
        total = 0
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise AssertionError("ChainDataset only supports IterableDataset")
            total += len(d)
        return total


class Subset(Dataset[T_co]):
    """The samples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset: Dataset[T_co], indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, idx: Any) -> Any:
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __getitems__(self, indices: list[int]) -> list:
        # Keep a batched fetch batched when the wrapped dataset supports it.
        if callable(getattr(self.dataset, "__getitems__", None)):
            return self.dataset.__getitems__([self.indices[i] for i in indices])
        return [self.dataset[self.indices[i]] for i in indices]

    def __len__(self) -> int:
        return len(self.indices)


def _lengths_from_fractions(fractions: Sequence[float], n: int) -> list[int]:
    lengths = []
    for i, frac in enumerate(fractions):
        if frac < 0 or frac > 1:
            raise ValueError(f"Fraction at index {i} is not between 0 and 1")
        lengths.append(int(math.floor(n * frac)))
    # Hand the remainder out one by one, round-robin, as torch does.
    for i in range(n - sum(lengths)):
        lengths[i % len(lengths)] += 1
    for i, length in enumerate(lengths):
        if length == 0:
            warnings.warn(f"Length of split at index {i} is 0. This might result in an empty "
                          "dataset.", stacklevel=3)
    return lengths


def random_split(dataset: Dataset, lengths: Sequence[int | float],
                 generator: Any = None) -> list[Subset]:
    """Split ``dataset`` into non-overlapping random subsets of the given lengths.

    ``lengths`` are counts summing to ``len(dataset)``, or fractions summing to 1 (the
    remainder of the floors goes round-robin to the first splits). ``generator`` (a
    ``mbtorch.Generator``) makes the split reproducible; by default the global one is used.

    >>> train, val = random_split(range(10), [0.8, 0.2], generator=mbtorch.Generator().manual_seed(0))
    """  # noqa: E501
    n = len(dataset)  # type: ignore[arg-type]
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        lengths = _lengths_from_fractions(lengths, n)
    if sum(lengths) != n:
        raise ValueError("Sum of input lengths does not equal the length of the input dataset!")
    indices = _random.randperm(sum(lengths), generator)
    return [Subset(dataset, indices[offset - length: offset])
            for offset, length in zip(itertools.accumulate(lengths), lengths)]
