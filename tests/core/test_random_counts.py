"""``poisson`` and ``binomial`` (``random_counts.py``): shapes, dtypes, reproducibility under
``manual_seed``, sample moments near the distribution's, PyTorch's argument checks."""

import pytest

import mbtorch as mt
from tests.core.torch_parity import same_error

torch = pytest.importorskip("torch")


def test_poisson_moments_and_reproducibility():
    rates = mt.tensor([0.0, 1.0, 5.0, 30.0]).repeat(4000, 1)
    mt.manual_seed(1)
    a = mt.poisson(rates)
    mt.manual_seed(1)
    b = mt.poisson(rates)
    assert a.dtype is mt.float32 and tuple(a.shape) == (4000, 4)
    assert mt.equal(a, b)
    assert bool((a == a.round()).all()) and bool((a >= 0).all())
    mean, var = a.mean(0).tolist(), a.var(0).tolist()
    for got_mean, got_var, rate in zip(mean, var, [0.0, 1.0, 5.0, 30.0]):
        assert abs(got_mean - rate) <= 4 * (rate / 4000) ** 0.5 + 1e-9
        assert abs(got_var - rate) <= 0.15 * rate + 1e-9
    assert mt.poisson(mt.tensor([2.0], dtype=mt.float64)).dtype is mt.float64


def test_binomial_moments_broadcast_and_clamping():
    mt.manual_seed(2)
    count = mt.tensor([3.0, 10.0, -3.0, 4.0]).repeat(4000, 1)
    out = mt.binomial(count, mt.tensor([0.5, 0.2, 0.5, 1.5]))
    assert out.dtype is mt.float32 and tuple(out.shape) == (4000, 4)
    mean = out.mean(0).tolist()
    assert abs(mean[0] - 1.5) < 0.1 and abs(mean[1] - 2.0) < 0.1
    assert mean[2] == 0.0 and mean[3] == 4.0  # as torch: a negative count draws 0, p > 1 hits
    assert torch.binomial(torch.tensor([-3.0]), torch.tensor([0.5])).item() == 0.0
    assert torch.binomial(torch.tensor([4.0]), torch.tensor([1.5])).item() == 4.0
    assert tuple(mt.binomial(mt.tensor([3.0, 4.0]), mt.tensor([0.5])).shape) == (2,)


@pytest.mark.parametrize("call,exc", [
    (lambda m: m.poisson(m.tensor([-1.0])), RuntimeError),
    (lambda m: m.poisson(m.tensor([float("nan")])), RuntimeError),
    (lambda m: m.poisson(m.tensor([1, 2])), NotImplementedError),
    (lambda m: m.binomial(m.tensor([3]), m.tensor([0.5])), ValueError),
])
def test_errors_match_torch(call, exc):
    same_error(call, exc)


def test_other_generators_are_refused():
    with pytest.raises(NotImplementedError, match="default generator"):
        mt.poisson(mt.tensor([1.0]), generator=mt.Generator())
