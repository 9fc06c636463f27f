"""``nn.utils.parametrize``, ``nn.utils.parametrizations`` (weight norm, spectral norm,
orthogonal) and the hook-based ``nn.utils.weight_norm``/``spectral_norm``, against PyTorch:
state-dict keys, values and gradients (through the originals), removal, errors."""

from __future__ import annotations

import numpy as np
import pytest

import mbtorch as mt
from tests.nn._compare import check_module, close, randn

torch = pytest.importorskip("torch")
TP, MP = torch.nn.utils.parametrizations, mt.nn.utils.parametrizations
pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning", "ignore::UserWarning")


def _layers(kind):
    if kind == "linear":
        return torch.nn.Linear(4, 3), mt.nn.Linear(4, 3), (5, 4)
    if kind == "conv":
        return torch.nn.Conv2d(2, 3, 3), mt.nn.Conv2d(2, 3, 3), (2, 2, 5, 5)
    return torch.nn.ConvTranspose1d(2, 3, 3), mt.nn.ConvTranspose1d(2, 3, 3), (2, 2, 6)


def _check(t, m, shape):
    assert list(m.state_dict()) == list(t.state_dict())
    assert [n for n, _ in m.named_parameters()] == [n for n, _ in t.named_parameters()]
    check_module(t, m, randn(torch, *shape), rtol=1e-4, atol=1e-5)
    check_module(t, m, randn(torch, *shape, seed=1), copy=False, rtol=1e-4, atol=1e-5)
    for key, value in t.state_dict().items():  # buffers updated alike (power iteration)
        close(m.state_dict()[key], value, 1e-4, 1e-6, key)
    close(m.weight, t.weight, 1e-4, 1e-6, "weight")


@pytest.mark.parametrize("kind", ["linear", "conv", "convT"])
@pytest.mark.parametrize("dim", [0, 1, None])
def test_weight_norm_parametrization(kind, dim):
    t, m, shape = _layers(kind)
    TP.weight_norm(t, dim=dim)
    MP.weight_norm(m, dim=dim)
    _check(t, m, shape)


@pytest.mark.parametrize("kind", ["linear", "conv", "convT"])
@pytest.mark.parametrize("train", [True, False])
def test_spectral_norm_parametrization(kind, train):
    t, m, shape = _layers(kind)
    TP.spectral_norm(t, n_power_iterations=2)
    MP.spectral_norm(m, n_power_iterations=2)
    t.train(train)
    m.train(train)
    _check(t, m, shape)


@pytest.mark.parametrize("out_in,orth_map,trivial", [
    ((4, 4), None, True), ((3, 5), None, True), ((5, 3), None, True),
    ((4, 4), "householder", True), ((3, 5), "matrix_exp", True),
    ((5, 3), "householder", False), ((3, 5), "householder", False)], ids=str)
def test_orthogonal(out_in, orth_map, trivial):
    out_f, in_f = out_in
    t, m = torch.nn.Linear(in_f, out_f), mt.nn.Linear(in_f, out_f)
    m.load_state_dict({k: mt.tensor(v.detach().numpy().copy())
                       for k, v in t.state_dict().items()})
    TP.orthogonal(t, orthogonal_map=orth_map, use_trivialization=trivial)
    MP.orthogonal(m, orthogonal_map=orth_map, use_trivialization=trivial)
    w = m.weight.detach().numpy().astype(np.float64)
    gram = w @ w.T if out_f <= in_f else w.T @ w
    np.testing.assert_allclose(gram, np.eye(min(out_in)), atol=1e-5)
    _check(t, m, (6, in_f))


def test_register_remove_and_assign():
    P = mt.nn.utils.parametrize

    class Symmetric(mt.nn.Module):
        def forward(self, x):
            return x.triu() + x.triu(1).mT

        def right_inverse(self, a):
            return a.triu()

    m = mt.nn.Linear(3, 3)
    w0 = m.weight
    P.register_parametrization(m, "weight", Symmetric())
    assert P.is_parametrized(m) and P.is_parametrized(m, "weight")
    assert not P.is_parametrized(m, "bias")
    assert type(m).__name__ == "ParametrizedLinear"
    assert P.type_before_parametrizations(m) is mt.nn.Linear
    assert m.parametrizations.weight.original is w0  # optimisers keep working
    close(m.weight, m.weight.mT, 0, 0)
    m.weight = mt.eye(3) * 2.0  # goes through right_inverse
    close(m.parametrizations.weight.original, torch.eye(3) * 2, 0, 0)
    m(mt.randn(2, 3)).sum().backward()
    assert w0.grad is not None
    with P.cached():
        assert m.weight is m.weight
    P.remove_parametrizations(m, "weight")
    assert type(m) is mt.nn.Linear and m.weight is w0
    assert list(m.state_dict()) == ["bias", "weight"]  # re-registered last, as in PyTorch
    MP.weight_norm(m)
    P.remove_parametrizations(m, "weight")
    assert list(m.state_dict()) == ["bias", "weight"]


def test_parametrize_errors():
    P = mt.nn.utils.parametrize
    m = mt.nn.Linear(3, 2)
    with pytest.raises(ValueError, match="does not have a parameter, a buffer"):
        P.register_parametrization(m, "nope", mt.nn.Identity())

    class Shrink(mt.nn.Module):
        def forward(self, x):
            return x[:1]

    with pytest.raises(ValueError, match="may not change the dtype or the shape"):
        P.register_parametrization(m, "weight", Shrink())
    with pytest.raises(ValueError, match="does not have a parametrization on weight"):
        P.remove_parametrizations(m, "weight")
    P.register_parametrization(m, "weight", mt.nn.Identity())
    with pytest.raises(RuntimeError, match="does not implement right_inverse"):
        m.weight = mt.zeros(2, 3)
    with pytest.raises(ValueError, match="orthogonal_map has to be one of"):
        MP.orthogonal(mt.nn.Linear(2, 2), orthogonal_map="qr")
    with pytest.raises(ValueError, match="Expected a matrix or batch of matrices"):
        MP.orthogonal(mt.nn.Linear(2, 2), "bias")
    with pytest.raises(ValueError, match="n_power_iterations to be positive"):
        MP.spectral_norm(mt.nn.Linear(2, 2), n_power_iterations=0)


@pytest.mark.parametrize("fn", ["weight_norm", "spectral_norm"])
@pytest.mark.parametrize("kind", ["linear", "conv", "convT"])
def test_legacy_hook_norms(fn, kind):
    t, m, shape = _layers(kind)
    getattr(torch.nn.utils, fn)(t)
    getattr(mt.nn.utils, fn)(m)
    _check(t, m, shape)
    getattr(torch.nn.utils, "remove_" + fn)(t)
    getattr(mt.nn.utils, "remove_" + fn)(m)
    assert list(m.state_dict()) == list(t.state_dict())
    close(m.weight, t.weight, 1e-5, 1e-6, "weight after removal")
    with pytest.raises(ValueError, match="not found"):
        getattr(mt.nn.utils, "remove_" + fn)(m)
