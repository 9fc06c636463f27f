"""The distributions under test, each with float64 parameters and valid values, built the same
way in PyTorch and mbtorch so the tests compare them on identical inputs.

Importing this module needs no torch: callers pass the torch module in."""

from __future__ import annotations

from typing import Any

import numpy as np

import mbtorch as mt

RNG = np.random.default_rng(1234)
SHAPE = (2, 3)


def _pos(lo: float, hi: float) -> np.ndarray:
    return RNG.uniform(lo, hi, SHAPE)


# name -> (parameters by keyword, values to score); values broadcast against the batch
SPECS: dict[str, tuple[dict, np.ndarray]] = {
    "Normal": ({"loc": RNG.normal(size=SHAPE), "scale": _pos(0.5, 2)}, RNG.normal(size=SHAPE)),
    "Uniform": ({"low": -_pos(0.5, 1), "high": _pos(0.5, 2)}, RNG.uniform(-0.4, 0.4, SHAPE)),
    "Exponential": ({"rate": _pos(0.5, 3)}, _pos(0.1, 3)),
    "Laplace": ({"loc": RNG.normal(size=SHAPE), "scale": _pos(0.5, 2)}, RNG.normal(size=SHAPE)),
    "Cauchy": ({"loc": RNG.normal(size=SHAPE), "scale": _pos(0.5, 2)}, RNG.normal(size=SHAPE)),
    "Gumbel": ({"loc": RNG.normal(size=SHAPE), "scale": _pos(0.5, 2)}, RNG.normal(size=SHAPE)),
    "LogNormal": ({"loc": RNG.normal(size=SHAPE), "scale": _pos(0.3, 1)}, _pos(0.1, 3)),
    "HalfNormal": ({"scale": _pos(0.5, 2)}, _pos(0.1, 3)),
    "HalfCauchy": ({"scale": _pos(0.5, 2)}, _pos(0.1, 3)),
    "Gamma": ({"concentration": _pos(0.3, 6), "rate": _pos(0.5, 3)}, _pos(0.1, 4)),
    "Chi2": ({"df": _pos(0.5, 8)}, _pos(0.1, 6)),
    "Beta": ({"concentration1": _pos(0.3, 4), "concentration0": _pos(0.3, 4)},
             _pos(0.05, 0.95)),
    "StudentT": ({"df": _pos(3, 9), "loc": RNG.normal(size=SHAPE), "scale": _pos(0.5, 2)},
                 RNG.normal(size=SHAPE)),
    "Poisson": ({"rate": _pos(0.5, 12)}, RNG.integers(0, 12, SHAPE).astype(np.float64)),
    "Bernoulli": ({"probs": _pos(0.1, 0.9)}, RNG.integers(0, 2, SHAPE).astype(np.float64)),
    "Geometric": ({"probs": _pos(0.1, 0.9)}, RNG.integers(0, 6, SHAPE).astype(np.float64)),
    "Binomial": ({"total_count": np.full(SHAPE, 10.0), "probs": _pos(0.1, 0.9)},
                 RNG.integers(0, 11, SHAPE).astype(np.float64)),
    "Weibull": ({"scale": _pos(0.5, 2), "concentration": _pos(0.5, 3)}, _pos(0.1, 3)),
    "Pareto": ({"scale": _pos(0.5, 1), "alpha": _pos(2.5, 5)}, _pos(1.0, 4)),
    "InverseGamma": ({"concentration": _pos(2.5, 6), "rate": _pos(0.5, 3)}, _pos(0.1, 3)),
    "FisherSnedecor": ({"df1": _pos(3, 10), "df2": _pos(9, 15)}, _pos(0.1, 3)),
    "Kumaraswamy": ({"concentration1": _pos(0.5, 4), "concentration0": _pos(0.5, 4)},
                    _pos(0.05, 0.95)),
    "NegativeBinomial": ({"total_count": _pos(1, 8), "probs": _pos(0.1, 0.6)},
                         RNG.integers(0, 10, SHAPE).astype(np.float64)),
    "GeneralizedPareto": ({"loc": RNG.normal(size=SHAPE), "scale": _pos(0.5, 2),
                           "concentration": np.array([[-0.2, 0.0, 0.1], [0.2, -0.1, 0.05]])},
                          None),
    "ContinuousBernoulli": ({"probs": np.array([[0.1, 0.4995, 0.3], [0.7, 0.9, 0.5004]])},
                            _pos(0.05, 0.95)),
    "VonMises": ({"loc": RNG.uniform(-1, 1, SHAPE), "concentration": _pos(0.5, 8)},
                 RNG.uniform(-np.pi, np.pi, SHAPE)),
}
# GeneralizedPareto: values inside each support (above loc, below the upper end if any)
SPECS["GeneralizedPareto"] = (SPECS["GeneralizedPareto"][0],
                              SPECS["GeneralizedPareto"][0]["loc"] + _pos(0.1, 1.0))

# (distribution, method) that PyTorch has and mbtorch does not (each must raise
# NotImplementedError here, so a gap stays explicit); none at present
KNOWN_GAPS: set = set()

CONTINUOUS = {"Normal", "Uniform", "Exponential", "Laplace", "Cauchy", "Gumbel", "LogNormal",
              "HalfNormal", "HalfCauchy", "Gamma", "Chi2", "Beta", "StudentT", "Weibull", "Pareto",
              "InverseGamma", "FisherSnedecor", "Kumaraswamy", "GeneralizedPareto",
              "ContinuousBernoulli"}


def build(lib: Any, name: str, requires_grad: bool = False, float_params: bool = True) -> tuple:
    """``(distribution, params)`` from ``lib`` (torch.distributions or mbtorch.distributions),
    its float parameters leaves that require grad when asked."""
    kwargs, _ = SPECS[name]
    tensor = lib.__name__.startswith("torch")
    params = {}
    for key, arr in kwargs.items():
        grad = requires_grad and key != "total_count"
        if tensor:
            import torch

            params[key] = torch.tensor(arr, dtype=torch.float64, requires_grad=grad)
        else:
            params[key] = mt.tensor(arr, dtype=mt.float64, requires_grad=grad)
    return getattr(lib, name)(**params), params


def value(lib: Any, name: str) -> Any:
    arr = SPECS[name][1]
    if lib.__name__.startswith("torch"):
        import torch

        return torch.tensor(arr, dtype=torch.float64)
    return mt.tensor(arr, dtype=mt.float64)


def np_of(x: Any) -> np.ndarray:
    if isinstance(x, mt.Tensor):
        return x.detach().numpy(force=True)
    return x.detach().numpy()
