"""Datasets and random_split, against torch.utils.data where it is importable."""

from __future__ import annotations

import numpy as np
import pytest
from mbtorch.utils.data import (
    ChainDataset,
    ConcatDataset,
    Dataset,
    IterableDataset,
    Subset,
    TensorDataset,
    random_split,
)

import mbtorch


class Range(IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        return self.n


def test_tensor_dataset_rows():
    x = mbtorch.arange(12).reshape(4, 3)
    y = mbtorch.tensor([10, 11, 12, 13])
    ds = TensorDataset(x, y)
    assert len(ds) == 4
    xi, yi = ds[2]
    assert xi.tolist() == [6, 7, 8] and yi.item() == 12
    assert ds[-1][1].item() == 13
    with pytest.raises(IndexError):
        ds[4]


def test_tensor_dataset_size_mismatch_matches_torch(torch_or_skip):
    torch = torch_or_skip
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        torch.utils.data.TensorDataset(torch.zeros(3), torch.zeros(4))
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        TensorDataset(mbtorch.zeros(3), mbtorch.zeros(4))


def test_subset_and_concat():
    base = list(range(10, 20))
    sub = Subset(base, [3, 1, 7])
    assert len(sub) == 3 and [sub[i] for i in range(3)] == [13, 11, 17]
    assert sub.__getitems__([0, 2]) == [13, 17]
    cat = ConcatDataset([Subset(base, [0, 1]), Subset(base, [5, 6, 7])])
    assert len(cat) == 5 and cat.cumulative_sizes == [2, 5]
    assert [cat[i] for i in range(5)] == [10, 11, 15, 16, 17]
    assert cat[-1] == 17 and cat[-5] == 10
    with pytest.raises(ValueError, match="absolute value of index should not exceed"):
        cat[-6]


def test_dataset_add_makes_concat_and_chain():
    class Two(Dataset):
        def __getitem__(self, i):
            return [1, 2][i]

        def __len__(self):
            return 2

    both = Two() + Two()
    assert isinstance(both, ConcatDataset) and [both[i] for i in range(4)] == [1, 2, 1, 2]
    chain = Range(2) + Range(3)
    assert isinstance(chain, ChainDataset)
    assert list(chain) == [0, 1, 0, 1, 2] and len(chain) == 5


def test_concat_errors():
    with pytest.raises(AssertionError, match="datasets should not be an empty iterable"):
        ConcatDataset([])
    with pytest.raises(AssertionError, match="does not support IterableDataset"):
        ConcatDataset([Range(3)])


def test_base_classes_say_what_to_implement():
    with pytest.raises(NotImplementedError, match="__getitem__"):
        Dataset()[0]
    with pytest.raises(NotImplementedError, match="__iter__"):
        iter(IterableDataset())


def _split_contents(splits):
    return [[s[i] for i in range(len(s))] for s in splits]


def test_random_split_lengths_partition_and_determinism():
    data = list(range(20))
    a = random_split(data, [5, 15], generator=mbtorch.Generator().manual_seed(3))
    b = random_split(data, [5, 15], generator=mbtorch.Generator().manual_seed(3))
    c = random_split(data, [5, 15], generator=mbtorch.Generator().manual_seed(4))
    assert [len(s) for s in a] == [5, 15]
    assert _split_contents(a) == _split_contents(b)
    assert _split_contents(a) != _split_contents(c)
    assert sorted(sum(_split_contents(a), [])) == data


def test_random_split_fractions_match_torch_lengths(torch_or_skip):
    torch = torch_or_skip
    for n, fracs in [(10, [0.3, 0.3, 0.4]), (11, [0.5, 0.5]), (7, [0.1, 0.2, 0.7])]:
        ours = [len(s) for s in random_split(range(n), fracs)]
        theirs = [len(s) for s in torch.utils.data.random_split(range(n), fracs)]
        assert ours == theirs


def test_random_split_default_generator_follows_manual_seed():
    mbtorch.manual_seed(11)
    a = _split_contents(random_split(range(8), [4, 4]))
    mbtorch.manual_seed(11)
    b = _split_contents(random_split(range(8), [4, 4]))
    assert a == b


def test_random_split_errors_and_warning():
    with pytest.raises(ValueError, match="Sum of input lengths does not equal"):
        random_split(range(5), [2, 2])
    with pytest.raises(ValueError, match="Fraction at index 0 is not between 0 and 1"):
        random_split(range(5), [-0.5, 1.5])
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
        random_split(range(2), [1.0, 0.0])


def test_tensor_dataset_holds_numpy_too():
    ds = TensorDataset(np.arange(6).reshape(3, 2), np.array([1, 2, 3]))
    x, y = ds[1]
    assert x.tolist() == [2, 3] and y == 2
