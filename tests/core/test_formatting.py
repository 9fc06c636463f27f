"""Tensor ``repr`` and ``mbtorch.set_printoptions`` (``core/formatting.py``) against PyTorch's
output, character for character (with ``torch.`` read as ``mbtorch.``), under every option."""

import numpy as np
import pytest

import mbtorch as mt
from mbtorch.core.formatting import get_printoptions, printoptions

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(0)
CASES = [
    np.zeros((3, 300), np.float16), np.array([1.0, np.inf]), np.array([1.0, -np.inf, np.nan, 0.0]),
    np.arange(30.0).reshape(3, 10) / 7, RNG.normal(size=(5, 7)) * 1e5, RNG.normal(size=2000),
    RNG.normal(size=(40, 40)), np.array([1e-5, 1.0]), np.array(3.5), np.array([123456789.0, 1.0]),
    RNG.integers(-1000, 1000, (50, 30)), np.array([True, False]), RNG.normal(size=(3, 4, 50)),
    np.array([2.0, 3.0], np.float32), RNG.normal(size=30).astype(np.float32), np.zeros((0, 3)),
    np.array([-0.0, 5e-5]), RNG.integers(0, 5, 2000).astype(np.int32),
]
OPTIONS = [{}, {"precision": 2}, {"sci_mode": True}, {"sci_mode": False}, {"threshold": 5},
           {"edgeitems": 1, "threshold": 10}, {"linewidth": 40}, {"profile": "short"},
           {"profile": "full"}, {"precision": 6, "linewidth": 120}]


@pytest.fixture
def restore_options():
    yield
    mt.set_printoptions(profile="default")
    torch.set_printoptions(profile="default")


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: ",".join(map(str, o.items())) or "-")
def test_repr_matches_torch_under_print_options(options, restore_options):
    mt.set_printoptions(**options)
    torch.set_printoptions(**options)
    for arr in CASES:
        dtypes = [None, "float64", "bfloat16"] if arr.dtype.kind == "f" else [None]
        for dtype in dtypes:
            t = torch.tensor(arr, dtype=getattr(torch, dtype)) if dtype else torch.tensor(arr)
            m = mt.tensor(arr, dtype=getattr(mt, dtype)) if dtype else mt.tensor(arr)
            assert repr(m) == repr(t).replace("torch.", "mbtorch."), (arr.shape, dtype)


def test_repr_suffixes_and_autograd_match_torch(restore_options):
    t = torch.tensor(RNG.normal(size=(4, 9)), requires_grad=True)
    m = mt.tensor(t.detach().numpy(), requires_grad=True)
    assert repr(m) == repr(t).replace("torch.", "mbtorch.")
    mt.set_printoptions(precision=1, sci_mode=True)
    torch.set_printoptions(precision=1, sci_mode=True)
    assert repr(m.detach()[:2, :3]) == repr(t.detach()[:2, :3]).replace("torch.", "mbtorch.")


def test_set_printoptions_semantics(restore_options):
    mt.set_printoptions(precision=2)
    assert repr(mt.tensor([1.12345])) == "tensor([1.12])"
    mt.set_printoptions(threshold=5)
    assert repr(mt.arange(10)) == "tensor([0, 1, 2,  ..., 7, 8, 9])"
    assert get_printoptions()["precision"] == 2  # options accumulate; sci_mode resets
    mt.set_printoptions(profile="default")
    assert repr(mt.tensor([1.12345])) == "tensor([1.1235])"
    assert get_printoptions() == {"precision": 4, "threshold": 1000, "edgeitems": 3,
                                  "linewidth": 80, "sci_mode": None}
    with printoptions(sci_mode=True):
        assert repr(mt.tensor([1.5])) == "tensor([1.5000e+00])"
    assert repr(mt.tensor([1.5])) == "tensor([1.5000])"
    with pytest.raises(ValueError, match="profile"):
        mt.set_printoptions(profile="long")
