"""``unique_consecutive`` (``consecutive_runs.py``) against PyTorch: flattened and along a
dim, inverse and counts, empty inputs, errors."""

import numpy as np
import pytest

import mbtorch as mt
from tests.core.torch_parity import same

torch = pytest.importorskip("torch")

FLAT = np.array([1, 1, 2, 2, 3, 1, 1, 2])
ROWS = np.array([[1, 1], [1, 1], [2, 3], [1, 1]])


@pytest.mark.parametrize("inverse", [False, True])
@pytest.mark.parametrize("counts", [False, True])
@pytest.mark.parametrize("data,dim", [(FLAT, None), (ROWS, None), (ROWS, 0), (ROWS, 1),
                                      (ROWS, -1), (np.array([3.0, 3.0, np.nan, 1.0]), None),
                                      (np.arange(24).reshape(2, 3, 4) // 5, 2)])
def test_matches_torch(inverse, counts, data, dim):
    kwargs = {"return_inverse": inverse, "return_counts": counts, "dim": dim}
    same(mt.unique_consecutive(mt.tensor(data), **kwargs),
         torch.unique_consecutive(torch.tensor(data), **kwargs))
    same(mt.tensor(data).unique_consecutive(**kwargs),
         torch.tensor(data).unique_consecutive(**kwargs))


def test_empty_and_scalar_inputs():
    kwargs = {"return_inverse": True, "return_counts": True}
    same(mt.unique_consecutive(mt.tensor([], dtype=mt.int64), **kwargs),
         torch.unique_consecutive(torch.tensor([], dtype=torch.int64), **kwargs))
    same(mt.unique_consecutive(mt.zeros(0, 3), dim=0, **kwargs),
         torch.unique_consecutive(torch.zeros(0, 3), dim=0, **kwargs))
    same(mt.unique_consecutive(mt.tensor(5), **kwargs),
         torch.unique_consecutive(torch.tensor(5), **kwargs))


def test_errors():
    with pytest.raises(RuntimeError) as theirs:
        torch.unique_consecutive(torch.zeros(3, 0), dim=0)
    with pytest.raises(RuntimeError) as ours:
        mt.unique_consecutive(mt.zeros(3, 0), dim=0)
    assert str(ours.value) == str(theirs.value)
    with pytest.raises(IndexError):
        mt.unique_consecutive(mt.zeros(3), dim=1)
