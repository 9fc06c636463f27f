"""The math, statistics, splitting and indexing compositions of issue 15 (``quantiles.py``,
``histograms.py``, ``covariance.py``, ``scatter_reduce.py``, ``view_scatter.py``,
``integration.py``, ``integer_math.py``, ``float_math.py``, ``signal_windows.py``,
``consecutive_runs.py``, ``index_math.py``, ``log_cumulative.py``, ...) run on the template
backend ``mini``, which has only primitive kernels, and give PyTorch's values there too."""

import numpy as np
import pytest

import mbtorch as mt
from tests.core.torch_parity import same

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(41)
A = RNG.normal(size=(3, 5))
A[1, 2] = np.nan
B = RNG.normal(size=(3, 5))
INTS = RNG.integers(-20, 21, (3, 5))
SMALL = RNG.integers(0, 4, (3, 5))

CASES = {
    "median": lambda m, a, b, i, j: m.median(a, 1),
    "nanmedian": lambda m, a, b, i, j: m.nanmedian(a),
    "mode": lambda m, a, b, i, j: m.mode(j, 1),
    "quantile": lambda m, a, b, i, j: m.quantile(
        b, m.tensor([0.2, 0.5], dtype=m.float64, device=b.device), 1),
    "nanquantile": lambda m, a, b, i, j: m.nanquantile(a, 0.7, interpolation="nearest"),
    "histogram": lambda m, a, b, i, j: m.histogram(b, 4),
    "bincount": lambda m, a, b, i, j: m.bincount(j.reshape(-1), minlength=6),
    "cov": lambda m, a, b, i, j: m.cov(b, aweights=b[0].abs()),
    "corrcoef": lambda m, a, b, i, j: m.corrcoef(b),
    "scatter_reduce": lambda m, a, b, i, j: b.scatter_reduce(1, j, b * 2, "amax",
                                                             include_self=False),
    "scatter_prod": lambda m, a, b, i, j: b.scatter_reduce(0, j.clamp(max=2), b, "prod"),
    "index_reduce": lambda m, a, b, i, j: b.index_reduce(
        1, m.tensor([4, 0], device=b.device), b[:, :2], "mean"),
    "put": lambda m, a, b, i, j: b.put(m.tensor([0, -1], device=b.device), b[0, :2]),
    "slice_scatter": lambda m, a, b, i, j: m.slice_scatter(b, b[:, :2], 1, 0, 4, 2),
    "diagonal_scatter": lambda m, a, b, i, j: m.diagonal_scatter(b, b[0, :3], 1),
    "diagflat": lambda m, a, b, i, j: m.diagflat(i[0], -1),
    "tensor_split": lambda m, a, b, i, j: m.tensor_split(b, [1, 3], 1),
    "trapezoid": lambda m, a, b, i, j: m.trapezoid(b, b[0].sort().values),
    "cumulative_trapezoid": lambda m, a, b, i, j: m.cumulative_trapezoid(i, dx=0.5),
    "gradient": lambda m, a, b, i, j: m.gradient(b, edge_order=2),
    "gcd": lambda m, a, b, i, j: m.gcd(i, j),
    "lcm": lambda m, a, b, i, j: m.lcm(i, j + 1),
    "shifts": lambda m, a, b, i, j: ((i << j), (i >> j)),
    "fmax": lambda m, a, b, i, j: m.fmax(a, b),
    "frexp": lambda m, a, b, i, j: m.frexp(b * 1e5),
    "nextafter": lambda m, a, b, i, j: m.nextafter(b, a),
    "ldexp": lambda m, a, b, i, j: m.ldexp(b, i),
    "logcumsumexp": lambda m, a, b, i, j: m.logcumsumexp(b * 50, 1),
    "unique_consecutive": lambda m, a, b, i, j: m.unique_consecutive(
        j, return_inverse=True, return_counts=True, dim=1),
    "unravel_index": lambda m, a, b, i, j: m.unravel_index(i, (3, 4)),
    "nonzero_static": lambda m, a, b, i, j: m.nonzero_static(j, size=20),
    "renorm": lambda m, a, b, i, j: m.renorm(b, 2, 0, 1.0),
}


@pytest.mark.filterwarnings("ignore:index_reduce")  # PyTorch's beta notice
@pytest.mark.parametrize("name", sorted(CASES))
def test_on_mini_as_in_torch(name, mini_device):
    fn = CASES[name]
    ours = fn(mt, *[mt.tensor(v, device=mini_device) for v in (A, B, INTS, SMALL)])
    theirs = fn(torch, *[torch.tensor(v) for v in (A, B, INTS, SMALL)])
    flat = ours if isinstance(ours, (tuple, list)) else (ours,)
    for t in flat:
        assert t.device.type == "mini"
    same(tuple(t.cpu() for t in flat), tuple(theirs) if isinstance(theirs, (tuple, list))
         else (theirs,), rtol=1e-10, atol=1e-12)


def test_windows_and_ranges_on_mini(mini_device):
    same(mt.hann_window(7, dtype=mt.float64, device=mini_device).cpu(),
         torch.hann_window(7, dtype=torch.float64), rtol=1e-12)
    same(mt.kaiser_window(6, dtype=mt.float64, device=mini_device).cpu(),
         torch.kaiser_window(6, dtype=torch.float64), rtol=1e-12)
    same(mt.logspace(0, 3, 4, device=mini_device).cpu(), torch.logspace(0, 3, 4), rtol=1e-6)
