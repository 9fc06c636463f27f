"""``median``, ``nanmedian``, ``mode``, ``quantile``, ``nanquantile`` (``quantiles.py``)
against PyTorch: dims, keepdim, NaN, ties, interpolation modes, q tensors, gradients, errors.
"""

import numpy as np
import pytest

import mbtorch as mt
from tests.core.torch_parity import grads_match, same, same_error

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(3)
A = RNG.normal(size=(4, 5)).astype(np.float32)
A_NAN = A.copy()
A_NAN[1, 2] = np.nan
A_NAN[3, :] = np.nan
INTS = RNG.integers(0, 4, (3, 7))


@pytest.mark.parametrize("name", ["median", "nanmedian"])
@pytest.mark.parametrize("data", [A, A_NAN, INTS], ids=["float", "nan", "int"])
def test_median_all_and_along_dims(name, data):
    if name == "nanmedian" and data is INTS:
        data = data.astype(np.float64)
    ours, theirs = mt.tensor(data), torch.tensor(data)
    same(getattr(mt, name)(ours), getattr(torch, name)(theirs))
    for dim in (0, 1, -1):
        for keepdim in (False, True):
            res = getattr(ours, name)(dim, keepdim)
            ref = getattr(theirs, name)(dim, keepdim)
            same(res.values, ref.values)
            # the index points at the reported value; it is PyTorch's own one where that is
            # unambiguous (distinct values; a slice of only NaN has an unspecified index)
            picked = torch.tensor(data).gather(dim, torch.tensor(res.indices.numpy())
                                               if keepdim else
                                               torch.tensor(res.indices.numpy()).unsqueeze(dim))
            same(mt.tensor(picked.numpy() if keepdim else picked.squeeze(dim).numpy()),
                 ref.values)
            if data is A or (data is A_NAN and name == "median"):
                same(res.indices, ref.indices)


def test_median_even_count_is_the_lower_one_and_names():
    res = mt.median(mt.tensor([[4.0, 1.0, 2.0, 1.0]]), 1)
    assert res.values.tolist() == [1.0] and res.indices.tolist() == [3]
    assert type(res).__name__ == "median"
    assert mt.median(mt.tensor([1, 5, 2, 7])).item() == 2


def test_median_scalars_and_empty():
    same(mt.median(mt.tensor(3.0), 0), torch.median(torch.tensor(3.0), 0))
    same(mt.median(mt.zeros(0)), torch.median(torch.zeros(0)))
    for name in ("median", "nanmedian", "mode"):
        with pytest.raises(IndexError) as theirs:
            getattr(torch, name)(torch.zeros(2, 0), 1)
        with pytest.raises(IndexError) as ours:
            getattr(mt, name)(mt.zeros(2, 0), 1)
        assert str(ours.value) == str(theirs.value)


def test_mode_picks_smallest_most_frequent_and_last_index():
    x = np.array([[1, 2, 2, 3, 3, 1, 5], [4, 4, 4, 0, 0, 0, 0]])
    same(mt.mode(mt.tensor(x), 1), torch.mode(torch.tensor(x), 1))
    same(mt.tensor(x).mode(0, True), torch.tensor(x).mode(0, True))
    same(mt.mode(mt.tensor(3.0)), torch.mode(torch.tensor(3.0)))
    f = np.array([2.5, -1.0, 2.5, 7.0, -1.0, 0.0])
    same(mt.mode(mt.tensor(f)), torch.mode(torch.tensor(f)))


@pytest.mark.parametrize("interpolation", ["linear", "lower", "higher", "midpoint", "nearest"])
@pytest.mark.parametrize("name", ["quantile", "nanquantile"])
@pytest.mark.parametrize("dim,keepdim", [(None, False), (None, True), (1, False), (0, True)])
def test_quantile_matches_torch(interpolation, name, dim, keepdim):
    for q in (0.3, 0.5, [0.0, 0.25, 0.5, 0.9, 1.0]):
        mq = mt.tensor(q, dtype=mt.float32) if isinstance(q, list) else q
        tq = torch.tensor(q, dtype=torch.float32) if isinstance(q, list) else q
        for data in (A, A_NAN):
            same(getattr(mt, name)(mt.tensor(data), mq, dim, keepdim,
                                   interpolation=interpolation),
                 getattr(torch, name)(torch.tensor(data), tq, dim, keepdim,
                                      interpolation=interpolation))


def test_quantile_float64_and_method():
    x = RNG.normal(size=(3, 6))
    same(mt.tensor(x).quantile(mt.tensor([0.1, 0.7], dtype=mt.float64), dim=-1),
         torch.tensor(x).quantile(torch.tensor([0.1, 0.7], dtype=torch.float64), dim=-1))


def test_gradients_match_torch():
    x = RNG.normal(size=(3, 5))
    grads_match(lambda m, t: m.quantile(t, 0.3, dim=1), x)
    grads_match(lambda m, t: m.nanquantile(t, 0.6, dim=0, interpolation="midpoint"), x)
    grads_match(lambda m, t: m.median(t, 1).values, x)
    grads_match(lambda m, t: m.median(t).reshape(1), x)


@pytest.mark.parametrize("call", [
    lambda m: m.quantile(m.tensor([1, 2]), 0.5),
    lambda m: m.quantile(m.tensor([1.0, 2.0]), 1.5),
    lambda m: m.quantile(m.tensor([1.0, 2.0]), m.tensor([0.5], dtype=m.float64)),
    lambda m: m.quantile(m.tensor([1.0, 2.0]), 0.5, interpolation="foo"),
    lambda m: m.quantile(m.zeros(0), 0.5),
])
def test_quantile_errors_match_torch(call):
    same_error(call, RuntimeError)


def test_bad_dim_and_input():
    with pytest.raises(IndexError):
        mt.median(mt.zeros(2, 2), 2)
    with pytest.raises(TypeError, match="median"):
        mt.median([1.0, 2.0])
