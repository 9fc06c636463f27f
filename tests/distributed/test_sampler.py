"""``DistributedSampler``: PyTorch's index assignment (padding, drop_last, round-robin)."""

from __future__ import annotations

import itertools

import pytest

import mbtorch
from mbtorch.data import DataLoader, DistributedSampler, TensorDataset

CASES = list(itertools.product([1, 5, 7, 8, 10], [1, 2, 3, 4], [False, True]))


@pytest.mark.parametrize("n, replicas, drop_last", CASES)
def test_unshuffled_matches_torch(n, replicas, drop_last):
    torch = pytest.importorskip("torch")
    from torch.utils.data.distributed import DistributedSampler as TorchSampler

    for rank in range(replicas):
        ours = DistributedSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
        theirs = TorchSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
        assert list(ours) == list(theirs)
        assert len(ours) == len(theirs) and ours.total_size == theirs.total_size
    del torch


@pytest.mark.parametrize("n, replicas, drop_last", CASES)
def test_shuffled_assignment_is_torchs(monkeypatch, n, replicas, drop_last):
    """Feed our epoch permutation to torch's own sampler code: same shares, index for
    index (the generators differ, the assignment must not)."""
    torch = pytest.importorskip("torch")
    import torch.utils.data.distributed as tdist

    for epoch in (0, 3):
        g = mbtorch.Generator()
        g.manual_seed(7 + epoch)
        perm = mbtorch.randperm(n, generator=g).tolist()
        monkeypatch.setattr(tdist.torch, "randperm",
                            lambda m, generator=None, _p=perm: torch.tensor(_p))
        for rank in range(replicas):
            ours = DistributedSampler(range(n), replicas, rank, seed=7, drop_last=drop_last)
            theirs = tdist.DistributedSampler(range(n), replicas, rank, seed=7,
                                              drop_last=drop_last)
            ours.set_epoch(epoch)
            theirs.set_epoch(epoch)
            assert list(ours) == list(theirs)


def test_shares_cover_the_dataset_and_epochs_reshuffle():
    shares = [list(DistributedSampler(range(10), 3, r, seed=1)) for r in range(3)]
    assert all(len(s) == 4 for s in shares)
    flat = sum(shares, [])
    assert set(flat) == set(range(10)) and len(flat) == 12  # 2 padded from the head
    s = DistributedSampler(range(10), 3, 0, seed=1)
    first = list(s)
    assert list(s) == first  # same epoch: same order
    s.set_epoch(1)
    assert list(s) != first
    dropped = [list(DistributedSampler(range(10), 3, r, drop_last=True)) for r in range(3)]
    assert all(len(d) == 3 for d in dropped) and len(set(sum(dropped, []))) == 9


def test_with_a_dataloader():
    ds = TensorDataset(mbtorch.arange(6.0))
    loader = DataLoader(ds, batch_size=2, sampler=DistributedSampler(ds, 2, 1, shuffle=False))
    assert [b[0].tolist() for b in loader] == [[1.0, 3.0], [5.0]]


def test_errors_match_torch():
    with pytest.raises(ValueError, match=r"Invalid rank 2, rank should be in the interval "
                                         r"\[0, 1\]"):
        DistributedSampler(range(4), num_replicas=2, rank=2)
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        DistributedSampler(range(4))  # no group to take the world size from
