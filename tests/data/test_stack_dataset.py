"""``StackDataset`` against ``torch.utils.data.StackDataset``: tuple and dict samples, batched
``__getitems__`` (using the parts' own where they have one), the DataLoader, and the errors."""

import pytest
from mbtorch.utils.data import DataLoader, StackDataset, TensorDataset

import mbtorch as mt

torch = pytest.importorskip("torch")
tdata = torch.utils.data


class Batched:
    """A dataset with ``__getitems__`` that records its calls."""

    def __init__(self, values):
        self.values, self.calls = values, []

    def __len__(self):
        return len(self.values)

    def __getitem__(self, i):
        return self.values[i]

    def __getitems__(self, indices):
        self.calls.append(list(indices))
        return [self.values[i] * 10 for i in indices]


def test_samples_match_torch():
    a, b = [1, 2, 3], ["x", "y", "z"]
    for args, kwargs in (((a, b), {}), ((), {"num": a, "name": b})):
        m, t = StackDataset(*args, **kwargs), tdata.StackDataset(*args, **kwargs)
        assert len(m) == len(t) == 3
        assert [m[i] for i in range(3)] == [t[i] for i in range(3)]
        assert m.__getitems__([2, 0]) == t.__getitems__([2, 0])
    assert mt.utils.data.StackDataset is mt.data.StackDataset


def test_getitems_uses_the_parts_own_batching():
    for cls in (StackDataset, tdata.StackDataset):
        part = Batched([1, 2, 3])
        ds = cls(part, [4, 5, 6])
        assert ds.__getitems__([0, 2]) == [(10, 4), (30, 6)]
        assert part.calls == [[0, 2]]
        named = cls(p=Batched([1, 2]), q=[7, 8])
        assert named.__getitems__([1]) == [{"p": 20, "q": 8}]


def test_with_the_dataloader():
    x, y = mt.arange(6.0).reshape(3, 2), mt.tensor([0, 1, 0])
    ds = StackDataset(TensorDataset(x), y)
    (feat,), labels = next(iter(DataLoader(ds, batch_size=3)))
    assert feat.tolist() == x.tolist() and labels.tolist() == [0, 1, 0]
    batch = next(iter(DataLoader(StackDataset(f=x, l=y), batch_size=2)))
    assert batch["f"].tolist() == [[0.0, 1.0], [2.0, 3.0]] and batch["l"].tolist() == [0, 1]


def test_errors_match_torch():
    for cls in (StackDataset, tdata.StackDataset):
        with pytest.raises(ValueError, match="At least one dataset"):
            cls()
        with pytest.raises(ValueError, match="both types are given"):
            cls([1], a=[1])
        with pytest.raises(ValueError, match="Size mismatch between datasets"):
            cls([1, 2], [1])
        with pytest.raises(ValueError, match="Size mismatch between datasets"):
            cls(a=[1, 2], b=[1])

    class Short(Batched):
        def __getitems__(self, indices):
            return []

    with pytest.raises(ValueError, match="output size mismatch. Expected 2, got 0"):
        StackDataset(Short([1, 2])).__getitems__([0, 1])
