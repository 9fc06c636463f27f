"""``logspace`` and the deprecated ``range`` (``spaced_ranges.py``) against PyTorch."""

import pytest

import mbtorch as mt
from tests.core.torch_parity import same

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("args,kwargs", [
    ((0, 2, 3), {}), ((0, 2, 3), {"base": 2}), ((0, 2, 3), {"dtype": "int64"}),
    ((0, 1, 0), {}), ((-3, 3, 7), {"dtype": "float64"}), ((2, -1, 5), {"base": 0.5}),
    ((1, 1, 1), {}), ((0.5, 2.5, 9), {"base": 3.0, "dtype": "float32"}),
])
def test_logspace_matches_torch(args, kwargs):
    ours = dict(kwargs, **({"dtype": getattr(mt, kwargs["dtype"])} if "dtype" in kwargs else {}))
    theirs = dict(kwargs,
                  **({"dtype": getattr(torch, kwargs["dtype"])} if "dtype" in kwargs else {}))
    same(mt.logspace(*args, **ours), torch.logspace(*args, **theirs), rtol=1e-6)


def test_logspace_tensor_bounds_and_errors():
    same(mt.logspace(mt.tensor(0.0), mt.tensor(1.0), 4), torch.logspace(torch.tensor(0.0),
                                                                      torch.tensor(1.0), 4))
    with pytest.raises(RuntimeError, match="number of steps must be non-negative"):
        mt.logspace(0, 1, -1)


@pytest.mark.parametrize("args,kwargs", [
    ((0, 1, 0.25), {}), ((0, 3), {}), ((1, 4), {"dtype": "int64"}), ((3, 0, -0.5), {}),
    ((0, 1, 0.3), {"dtype": "float64"}), ((5, 5), {}), ((-2, 7, 3), {"dtype": "int32"}),
])
def test_range_matches_torch(args, kwargs):
    ours = dict(kwargs, **({"dtype": getattr(mt, kwargs["dtype"])} if "dtype" in kwargs else {}))
    theirs = dict(kwargs,
                  **({"dtype": getattr(torch, kwargs["dtype"])} if "dtype" in kwargs else {}))
    with pytest.warns(UserWarning, match="torch.range is deprecated"):
        res = mt.range(*args, **ours)
    with pytest.warns(UserWarning):
        ref = torch.range(*args, **theirs)
    same(res, ref)


@pytest.mark.parametrize("args", [(0, 3, -1), (0, 3, 0)])
def test_range_errors_match_torch(args):
    with pytest.warns(UserWarning), pytest.raises(RuntimeError) as theirs:
        torch.range(*args)
    with pytest.warns(UserWarning), pytest.raises(RuntimeError) as ours:
        mt.range(*args)
    assert str(ours.value) == str(theirs.value)
