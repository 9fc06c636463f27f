"""DataLoader in the main process: batching, shuffling, samplers, options and torch's errors."""

from __future__ import annotations

import numpy as np
import pytest
from mbtorch.utils.data import (
    BatchSampler,
    DataLoader,
    IterableDataset,
    SequentialSampler,
    TensorDataset,
)

import mbtorch


def _ds(n=10):
    return TensorDataset(mbtorch.arange(n * 2).reshape(n, 2).float(), mbtorch.arange(n))


def _labels(loader):
    return [y.tolist() for _, y in loader]


class Stream(IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        return self.n


def test_batches_and_last_partial():
    loader = DataLoader(_ds(10), batch_size=4)
    batches = list(loader)
    assert len(loader) == 3 and len(batches) == 3
    x, y = batches[0]
    assert x.shape == (4, 2) and x.dtype is mbtorch.float32 and y.tolist() == [0, 1, 2, 3]
    assert batches[-1][1].tolist() == [8, 9]


def test_drop_last():
    loader = DataLoader(_ds(10), batch_size=4, drop_last=True)
    assert len(loader) == 2 and _labels(loader) == [[0, 1, 2, 3], [4, 5, 6, 7]]


def test_shuffle_is_reproducible_with_generator():
    def order(seed):
        loader = DataLoader(_ds(20), batch_size=5, shuffle=True,
                            generator=mbtorch.Generator().manual_seed(seed))
        return sum(_labels(loader), [])

    assert order(0) == order(0)
    assert order(0) != order(1)
    assert sorted(order(0)) == list(range(20))


def test_shuffle_follows_manual_seed():
    loader = DataLoader(_ds(20), batch_size=20, shuffle=True)
    mbtorch.manual_seed(7)
    a = _labels(loader)
    mbtorch.manual_seed(7)
    assert _labels(loader) == a


def test_custom_sampler_and_batch_sampler():
    ds = _ds(6)
    assert _labels(DataLoader(ds, batch_size=2, sampler=[5, 4, 3, 2, 1, 0])) == \
        [[5, 4], [3, 2], [1, 0]]
    bs = BatchSampler(SequentialSampler(range(6)), 4, drop_last=False)
    loader = DataLoader(ds, batch_sampler=bs)
    assert loader.batch_size is None and _labels(loader) == [[0, 1, 2, 3], [4, 5]]


def test_batch_size_none_yields_samples_converted():
    class Arrays:
        def __getitem__(self, i):
            return np.full(2, i)

        def __len__(self):
            return 3

    out = list(DataLoader(Arrays(), batch_size=None))
    assert len(out) == 3 and isinstance(out[1], mbtorch.Tensor) and out[1].tolist() == [1, 1]


def test_custom_collate_fn():
    loader = DataLoader(list(range(5)), batch_size=2, collate_fn=lambda b: sum(b))
    assert list(loader) == [1, 5, 4]


def test_getitems_is_used_for_batches():
    class Batched:
        calls = []

        def __getitems__(self, idx):
            self.calls.append(list(idx))
            return [i * 10 for i in idx]

        def __getitem__(self, i):
            raise AssertionError("__getitem__ should not be called")

        def __len__(self):
            return 4

    ds = Batched()
    assert [b.tolist() for b in DataLoader(ds, batch_size=3)] == [[0, 10, 20], [30]]
    assert ds.calls == [[0, 1, 2], [3]]


def test_iterable_dataset_batches_and_len():
    loader = DataLoader(Stream(7), batch_size=3)
    assert [b.tolist() for b in loader] == [[0, 1, 2], [3, 4, 5], [6]]
    assert len(loader) == 3
    assert len(DataLoader(Stream(7), batch_size=3, drop_last=True)) == 2
    assert [b.tolist() for b in DataLoader(Stream(7), batch_size=3, drop_last=True)] == \
        [[0, 1, 2], [3, 4, 5]]


def _error_of(factory):
    try:
        factory()
    except Exception as e:  # noqa: BLE001 - comparing whatever both raise
        return type(e).__name__, str(e)
    return None


@pytest.mark.parametrize("kwargs", [
    {"num_workers": -1}, {"timeout": -1}, {"prefetch_factor": 2},
    {"num_workers": 1, "prefetch_factor": -1}, {"persistent_workers": True},
    {"shuffle": True, "sampler": [0, 1]}, {"batch_sampler": [[0]], "batch_size": 2},
    {"batch_sampler": [[0]], "drop_last": True}, {"batch_size": None, "drop_last": True},
    {"multiprocessing_context": "fork"}, {"num_workers": 1, "multiprocessing_context": "nope"},
])
def test_option_errors_match_torch(torch_or_skip, kwargs):
    torch = torch_or_skip
    theirs = _error_of(lambda: torch.utils.data.DataLoader(list(range(4)), **kwargs))
    ours = _error_of(lambda: DataLoader(list(range(4)), **kwargs))
    assert theirs is not None and ours == theirs


@pytest.mark.parametrize("kwargs", [{"shuffle": True}, {"sampler": [0]},
                                    {"batch_sampler": [[0]]}])
def test_iterable_option_errors_match_torch(torch_or_skip, kwargs):
    torch = torch_or_skip

    class TStream(torch.utils.data.IterableDataset):
        def __iter__(self):
            return iter(range(3))

    theirs = _error_of(lambda: torch.utils.data.DataLoader(TStream(), **kwargs))
    ours = _error_of(lambda: DataLoader(Stream(3), **kwargs))
    assert theirs is not None and ours == theirs


def test_frozen_attributes():
    loader = DataLoader(_ds(4), batch_size=2)
    with pytest.raises(ValueError, match="batch_size attribute should not be set after "
                                         "DataLoader is initialized"):
        loader.batch_size = 3
    loader.num_workers = 0  # not frozen, as in torch


def test_timeout_needs_workers():
    with pytest.raises(AssertionError, match="needs num_workers > 0"):
        iter(DataLoader(_ds(4), timeout=1))


def test_pin_memory_is_accepted_with_torchs_warning():
    with pytest.warns(UserWarning, match="'pin_memory' argument is set as true"):
        loader = DataLoader(_ds(4), batch_size=2, pin_memory=True)
    assert _labels(loader) == [[0, 1], [2, 3]]
