"""``bincount``, ``histogram``, ``histogramdd`` (``histograms.py``) against PyTorch: dtypes,
weights, ranges, edge tensors, densities, out-of-range values and NaN, errors."""

import numpy as np
import pytest

import mbtorch as mt
from tests.core.torch_parity import same, same_error

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(5)


@pytest.mark.parametrize("weights", [None, "float32", "float64", "int64"])
@pytest.mark.parametrize("minlength", [0, 3, 12])
def test_bincount_matches_torch(weights, minlength):
    x = RNG.integers(0, 8, 20)
    w = None if weights is None else (RNG.normal(size=20) * 4).astype(weights)
    ours = mt.bincount(mt.tensor(x), None if w is None else mt.tensor(w), minlength)
    theirs = torch.bincount(torch.tensor(x), None if w is None else torch.tensor(w), minlength)
    same(ours, theirs)
    same(mt.tensor(x).bincount(minlength=minlength), torch.tensor(x).bincount(minlength=minlength))


def test_bincount_small_dtypes_and_empty():
    same(mt.bincount(mt.tensor([1, 3, 1], dtype=mt.int8)),
         torch.bincount(torch.tensor([1, 3, 1], dtype=torch.int8)))
    same(mt.bincount(mt.tensor([], dtype=mt.int64)), torch.bincount(torch.tensor([],
                                                                          dtype=torch.int64)))
    same(mt.bincount(mt.tensor([], dtype=mt.int64), minlength=3),
         torch.bincount(torch.tensor([], dtype=torch.int64), minlength=3))


@pytest.mark.parametrize("call,exc", [
    (lambda m: m.bincount(m.tensor([-1, 2])), RuntimeError),
    (lambda m: m.bincount(m.tensor([[1]])), RuntimeError),
    (lambda m: m.bincount(m.tensor([1]), minlength=-1), RuntimeError),
    (lambda m: m.bincount(m.tensor([1, 2]), weights=m.tensor([1.0])), RuntimeError),
    (lambda m: m.bincount(m.tensor([1.0, 2.0])), NotImplementedError),
])
def test_bincount_errors_match_torch(call, exc):
    same_error(call, exc)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kwargs", [{}, {"range": (-1.0, 1.5)}, {"density": True},
                                    {"weight": True}, {"weight": True, "density": True}])
@pytest.mark.parametrize("bins", [1, 4, 13])
def test_histogram_int_bins(dtype, kwargs, bins):
    x = RNG.normal(size=(5, 8)).astype(dtype)
    x[0, 0] = x.max()  # the right edge falls in the last bin
    ok, tk = dict(kwargs), dict(kwargs)
    if kwargs.get("weight"):
        w = RNG.random((5, 8)).astype(dtype)
        ok["weight"], tk["weight"] = mt.tensor(w), torch.tensor(w)
    same(mt.histogram(mt.tensor(x), bins, **ok), torch.histogram(torch.tensor(x), bins, **tk),
         rtol=1e-5)
    same(mt.tensor(x).histogram(bins, **ok), torch.tensor(x).histogram(bins, **tk), rtol=1e-5)


def test_histogram_edge_tensor_nan_and_degenerate_range():
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0, np.nan, -7.0], np.float32)
    edges = np.array([0.0, 2.0, 2.5, 5.0], np.float32)
    same(mt.histogram(mt.tensor(x), mt.tensor(edges), density=True),
         torch.histogram(torch.tensor(x), torch.tensor(edges), density=True))
    same(mt.histogram(mt.tensor([1.0, 1.0, 1.0]), 4), torch.histogram(torch.tensor([1.0] * 3), 4))
    same(mt.histogram(mt.tensor([]), 2), torch.histogram(torch.tensor([]), 2))
    assert type(mt.histogram(mt.tensor([1.0]), 2)).__name__ == "histogram"


@pytest.mark.parametrize("call,exc", [
    (lambda m: m.histogram(m.tensor([1, 2]), 2), NotImplementedError),
    (lambda m: m.histogram(m.tensor([1.0, 2.0]), 0), RuntimeError),
    (lambda m: m.histogram(m.tensor([1.0, 2.0]), 2, range=(3.0, 1.0)), RuntimeError),
    (lambda m: m.histogram(m.tensor([1.0, float("nan")]), 2), RuntimeError),
    (lambda m: m.histogram(m.zeros(3), m.zeros(2, 2)), RuntimeError),
    (lambda m: m.histogramdd(m.zeros(3), 2), RuntimeError),
])
def test_histogram_errors_match_torch(call, exc):
    same_error(call, exc)


@pytest.mark.parametrize("bins", [2, [3, 4], "edges"])
@pytest.mark.parametrize("kwargs", [{}, {"density": True}, {"weight": True}])
def test_histogramdd_matches_torch(bins, kwargs):
    pts = RNG.normal(size=(2, 10, 2)).astype(np.float32)
    ok, tk = dict(kwargs), dict(kwargs)
    if kwargs.get("weight"):
        w = RNG.random((2, 10)).astype(np.float32)
        ok["weight"], tk["weight"] = mt.tensor(w), torch.tensor(w)
    if bins == "edges":
        e = [np.array([-3.0, -0.5, 0.0, 3.0], np.float32), np.array([-1.0, 1.0], np.float32)]
        mb, tb = [mt.tensor(v) for v in e], [torch.tensor(v) for v in e]
    else:
        mb = tb = bins
    ours = mt.histogramdd(mt.tensor(pts), mb, **ok)
    theirs = torch.histogramdd(torch.tensor(pts), tb, **tk)
    same(ours.hist, theirs.hist, rtol=1e-5)
    same(tuple(ours.bin_edges), tuple(theirs.bin_edges))


def test_histogramdd_range():
    pts = np.array([[0.0, 1], [1, 0], [2, 0], [2, 2]], np.float32)
    same(mt.histogramdd(mt.tensor(pts), 2, range=[0.0, 1.0, 0.0, 1.0], density=True).hist,
         torch.histogramdd(torch.tensor(pts), 2, range=[0.0, 1.0, 0.0, 1.0], density=True).hist)
