"""``trapezoid``, ``trapz``, ``cumulative_trapezoid`` and ``gradient`` (``integration.py``)
against PyTorch: spacings as numbers and sample points, dims, integer inputs, edge orders,
gradients, errors."""

import numpy as np
import pytest

import mbtorch as mt
from tests.core.torch_parity import grads_match, same, same_error

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(17)
Y = RNG.normal(size=(3, 5))
XS = np.sort(RNG.normal(size=5))
YI = RNG.integers(0, 9, (3, 5))


def _lib_args(lib, args):
    return [lib.tensor(a) if isinstance(a, np.ndarray) else a for a in args]


CASES = [((Y,), {}), ((Y, XS), {}), ((Y,), {"dx": 0.5, "dim": 0}), ((YI,), {}),
         ((YI,), {"dx": 2}), ((Y.astype(np.float32), XS[:3].astype(np.float32)), {"dim": 0}),
         ((Y, np.sort(Y, 1)), {}), ((Y, XS[None, :]), {})]


@pytest.mark.parametrize("name", ["trapezoid", "trapz", "cumulative_trapezoid"])
@pytest.mark.parametrize("args,kwargs", CASES)
def test_integrals_match_torch(name, args, kwargs):
    same(getattr(mt, name)(*_lib_args(mt, args), **kwargs),
         getattr(torch, name)(*_lib_args(torch, args), **kwargs), rtol=1e-6)


def test_empty_and_single_sample():
    same(mt.trapezoid(mt.zeros(3, 0)), torch.trapezoid(torch.zeros(3, 0)))
    same(mt.trapezoid(mt.ones(2, 1)), torch.trapezoid(torch.ones(2, 1)))
    same(mt.cumulative_trapezoid(mt.ones(2, 1)), torch.cumulative_trapezoid(torch.ones(2, 1)))


def test_integral_gradients():
    grads_match(lambda m, y, x: m.trapezoid(y, x), Y, XS)
    grads_match(lambda m, y: m.cumulative_trapezoid(y, dx=0.3, dim=0), Y)


GRADIENT_KWARGS = [{}, {"spacing": 2.0}, {"spacing": [2.0, 3.0]}, {"dim": 1},
                   {"dim": 0, "edge_order": 2}, {"spacing": "coords", "dim": 1},
                   {"spacing": "coords", "dim": 1, "edge_order": 2},
                   {"edge_order": 2, "spacing": (0.5, 0.5)}, {"dim": [1, 0], "spacing": 3}]


def _gradient_kwargs(lib, kwargs):
    out = dict(kwargs)
    if kwargs.get("spacing") == "coords":
        out["spacing"] = [lib.tensor(XS)]
    return out


@pytest.mark.parametrize("kwargs", GRADIENT_KWARGS)
def test_gradient_matches_torch(kwargs):
    same(mt.gradient(mt.tensor(Y), **_gradient_kwargs(mt, kwargs)),
         torch.gradient(torch.tensor(Y), **_gradient_kwargs(torch, kwargs)), rtol=1e-10)
    if kwargs.get("spacing") != "coords":
        same(mt.gradient(mt.tensor(YI), **kwargs), torch.gradient(torch.tensor(YI), **kwargs))


def test_gradient_of_gradient_flows():
    grads_match(lambda m, y: m.gradient(y, spacing=[m.tensor(XS)], dim=1,
                                        edge_order=2)[0], Y)


@pytest.mark.parametrize("call", [
    lambda m: m.gradient(m.ones(3), edge_order=3),
    lambda m: m.gradient(m.ones(2), edge_order=2),
    lambda m: m.gradient(m.ones(3, 3), spacing=[1.0, 2.0, 3.0]),
    lambda m: m.gradient(m.ones(3), spacing=[m.ones(3, 1)], dim=0),
    lambda m: m.trapezoid(m.ones(3), m.ones(4)),
    lambda m: m.trapezoid(m.tensor([True, False])),
])
def test_errors_match_torch(call):
    same_error(call, RuntimeError)


def test_argument_type_errors():
    with pytest.raises(TypeError):
        mt.trapezoid(mt.ones(3), 2)
    with pytest.raises(TypeError):
        mt.trapezoid(mt.ones(3), mt.ones(3), dx=1.0)
