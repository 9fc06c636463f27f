"""``unravel_index``, ``nonzero_static`` and ``renorm`` (``index_math.py``) against PyTorch:
wrapping of out-of-range indices, padding and truncation, norms, gradients, errors."""

import numpy as np
import pytest

import mbtorch as mt
from tests.core.torch_parity import grads_match, same

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(31)


@pytest.mark.parametrize("indices,shape", [
    ([4, 1], (2, 3)), (4, (2, 3)), ([-1, 7], (2, 3)), ([[1, 5]], (2, 3)), ([1], 6),
    ([0, 23, 11], (2, 3, 4)), ([3], (4, 1)), ([], (2, 2)),
])
def test_unravel_index_matches_torch(indices, shape):
    ours = mt.unravel_index(mt.tensor(indices, dtype=mt.int64), shape)
    theirs = torch.unravel_index(torch.tensor(indices, dtype=torch.int64), shape)
    same(ours, theirs)


def test_unravel_index_int32_and_errors():
    same(mt.unravel_index(mt.tensor([5], dtype=mt.int32), (2, 3)),
         torch.unravel_index(torch.tensor([5], dtype=torch.int32), (2, 3)))
    with pytest.raises(TypeError) as theirs:
        torch.unravel_index(torch.tensor([1.0]), (2, 3))
    with pytest.raises(TypeError) as ours:
        mt.unravel_index(mt.tensor([1.0]), (2, 3))
    assert str(ours.value).split("got")[0] == str(theirs.value).split("got")[0]
    with pytest.raises(ValueError, match="negative"):
        mt.unravel_index(mt.tensor([1]), (2, -3))


@pytest.mark.parametrize("data", [[[1, 0], [0, 1]], [0, 3, 0, 4, 5], [[0.0, 0.0]], 7])
@pytest.mark.parametrize("size,fill", [(0, -1), (1, 7), (3, -1), (6, 9)])
def test_nonzero_static_matches_torch(data, size, fill):
    same(mt.nonzero_static(mt.tensor(data), size=size, fill_value=fill),
         torch.nonzero_static(torch.tensor(data), size=size, fill_value=fill))
    same(mt.tensor(data).nonzero_static(size=size), torch.tensor(data).nonzero_static(size=size))


def test_nonzero_static_bad_size():
    with pytest.raises(RuntimeError) as theirs:
        torch.nonzero_static(torch.tensor([0, 3]), size=-1)
    with pytest.raises(RuntimeError) as ours:
        mt.nonzero_static(mt.tensor([0, 3]), size=-1)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("p,dim,maxnorm", [(2, 0, 3.0), (1, 1, 3.0), (3, -1, 0.5),
                                           (float("inf"), 0, 1.0), (2.5, 1, 100.0)])
def test_renorm_matches_torch(p, dim, maxnorm):
    x = RNG.normal(size=(3, 4, 2))
    same(mt.renorm(mt.tensor(x), p, dim, maxnorm), torch.renorm(torch.tensor(x), p, dim, maxnorm),
         rtol=1e-12)
    same(mt.tensor(x.astype(np.float32)).renorm(p, dim, maxnorm),
         torch.tensor(x.astype(np.float32)).renorm(p, dim, maxnorm), rtol=1e-6)
    grads_match(lambda m, t: m.renorm(t, p, dim, maxnorm), x)
    ours, theirs = mt.tensor(x), torch.tensor(x)
    assert ours.renorm_(p, dim, maxnorm) is ours
    theirs.renorm_(p, dim, maxnorm)
    same(ours, theirs, rtol=1e-12)


@pytest.mark.parametrize("args", [(mt.tensor([1.0, 2.0]), 1, 0, 3),
                                  (mt.tensor([[1.0, 2.0]]), -1, 1, 3),
                                  (mt.tensor([[1.0, 2.0]]), 1, 1, -3),
                                  (mt.tensor([[1, 2]]), 1, 1, 3)])
def test_renorm_errors_match_torch(args):
    targs = (torch.tensor(args[0].numpy()),) + args[1:]
    with pytest.raises(RuntimeError) as theirs:
        torch.renorm(*targs)
    with pytest.raises(RuntimeError) as ours:
        mt.renorm(*args)
    assert str(ours.value) == str(theirs.value)
