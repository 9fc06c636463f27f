"""Samplers: orders, lengths, reproducibility with a seeded generator, torch's errors."""

from __future__ import annotations

import numpy as np
import pytest
from mbtorch.utils.data import (
    BatchSampler,
    RandomSampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)

import mbtorch


def gen(seed):
    return mbtorch.Generator().manual_seed(seed)


def test_sequential():
    s = SequentialSampler(range(4))
    assert list(s) == [0, 1, 2, 3] and len(s) == 4


def test_random_sampler_is_a_seeded_permutation():
    a = list(RandomSampler(range(50), generator=gen(0)))
    b = list(RandomSampler(range(50), generator=gen(0)))
    c = list(RandomSampler(range(50), generator=gen(1)))
    assert sorted(a) == list(range(50))
    assert a == b and a != c


def test_random_sampler_new_order_each_epoch():
    s = RandomSampler(range(30), generator=gen(0))
    assert list(s) != list(s)


def test_random_sampler_num_samples_without_replacement():
    s = RandomSampler(range(4), num_samples=10, generator=gen(2))
    out = list(s)
    assert len(out) == len(s) == 10
    assert sorted(out[:4]) == sorted(out[4:8]) == [0, 1, 2, 3]  # whole permutations first


def test_random_sampler_with_replacement():
    out = list(RandomSampler(range(5), replacement=True, num_samples=100, generator=gen(0)))
    assert len(out) == 100 and set(out) <= set(range(5)) and len(set(out)) == 5
    assert out == list(RandomSampler(range(5), replacement=True, num_samples=100,
                                     generator=gen(0)))


def test_random_sampler_errors_match_torch(torch_or_skip):
    torch = torch_or_skip
    for ours, theirs in [(RandomSampler, torch.utils.data.RandomSampler)]:
        for kwargs, exc in [({"replacement": 1}, TypeError), ({"num_samples": 0}, ValueError),
                            ({"num_samples": 2.5}, ValueError)]:
            with pytest.raises(exc) as e_theirs:
                theirs(range(3), **kwargs)
            with pytest.raises(exc) as e_ours:
                ours(range(3), **kwargs)
            assert str(e_ours.value) == str(e_theirs.value)


def test_subset_random_sampler():
    idx = [10, 20, 30, 40]
    out = list(SubsetRandomSampler(idx, generator=gen(5)))
    assert sorted(out) == idx and len(SubsetRandomSampler(idx)) == 4
    assert out == list(SubsetRandomSampler(idx, generator=gen(5)))


def test_weighted_sampler_follows_weights():
    w = [0.0, 1.0, 3.0]
    out = np.array(list(WeightedRandomSampler(w, 4000, generator=gen(0))))
    counts = np.bincount(out, minlength=3)
    assert counts[0] == 0
    assert 0.70 < counts[2] / 4000 < 0.80  # expected 0.75; 4000 draws: sd ~0.007


def test_weighted_sampler_without_replacement():
    out = list(WeightedRandomSampler([1, 1, 1, 1, 0], 4, replacement=False, generator=gen(1)))
    assert sorted(out) == [0, 1, 2, 3]
    with pytest.raises(RuntimeError, match="not enough non-negative category"):
        list(WeightedRandomSampler([1, 0, 0], 2, replacement=False))
    with pytest.raises(RuntimeError, match="cannot sample n_sample > prob_dist.size"):
        list(WeightedRandomSampler([1, 1], 3, replacement=False))


def test_weighted_sampler_errors():
    with pytest.raises(ValueError, match="num_samples should be a positive integer value"):
        WeightedRandomSampler([1.0], 0)
    with pytest.raises(ValueError, match="replacement should be a boolean value"):
        WeightedRandomSampler([1.0], 1, replacement=0)
    with pytest.raises(ValueError, match=r"weights should be a 1d sequence but given weights "
                                         r"have shape \(1, 2\)"):
        WeightedRandomSampler([[1.0, 2.0]], 1)
    with pytest.raises(RuntimeError, match="probability entry < 0"):
        list(WeightedRandomSampler([1.0, -1.0], 2))
    with pytest.raises(RuntimeError, match="sum of probabilities <= 0"):
        list(WeightedRandomSampler([0.0, 0.0], 2))


def test_batch_sampler_matches_torch(torch_or_skip):
    torch = torch_or_skip
    for n, bs, drop in [(10, 3, False), (10, 3, True), (9, 3, True), (2, 5, False)]:
        ours = BatchSampler(SequentialSampler(range(n)), bs, drop)
        theirs = torch.utils.data.BatchSampler(torch.utils.data.SequentialSampler(range(n)),
                                               bs, drop)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)


def test_batch_sampler_errors():
    with pytest.raises(ValueError, match="batch_size should be a positive integer value, but "
                                         "got batch_size=0"):
        BatchSampler(range(3), 0, False)
    with pytest.raises(ValueError, match="drop_last should be a boolean value"):
        BatchSampler(range(3), 2, "no")


def test_batch_sampler_over_plain_iterables():
    assert list(BatchSampler(range(5), 2, False)) == [[0, 1], [2, 3], [4]]
