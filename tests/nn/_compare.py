"""Helpers that run the same layer in PyTorch and mbtorch and compare outputs and gradients.

Callers import torch themselves (``pytest.importorskip("torch")`` inside the test); this module
only touches torch objects it is handed, so importing it never needs torch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import mbtorch as mt

TOL = {"float32": (2e-5, 2e-5), "float64": (1e-10, 1e-10)}


def to_mt(t: Any, requires_grad: bool | None = None) -> mt.Tensor:
    """A torch tensor's values as a new mbtorch leaf (same dtype)."""
    rg = t.requires_grad if requires_grad is None else requires_grad
    return mt.tensor(t.detach().numpy().copy(), requires_grad=rg)


def np_of(x: Any) -> np.ndarray:
    if hasattr(x, "detach") and not isinstance(x, mt.Tensor):
        return x.detach().numpy()
    return x.detach().numpy(force=True)


def close(actual: Any, expected: Any, rtol: float, atol: float, what: str = "") -> None:
    a, e = np_of(actual), np_of(expected)
    assert a.shape == e.shape, f"{what}: shape {a.shape} != {e.shape}"
    if a.dtype.kind in "biu":
        np.testing.assert_array_equal(a, e, err_msg=what)
    else:
        np.testing.assert_allclose(a.astype(np.float64), e.astype(np.float64), rtol=rtol,
                                   atol=atol, err_msg=what, equal_nan=True)


def copy_state(tmod: Any, mmod: Any) -> None:
    """Load the torch module's full state dict into the mbtorch module (numpy round trip);
    strict, so any naming difference between the two fails here."""
    sd = {k: mt.tensor(v.detach().numpy().copy()) for k, v in tmod.state_dict().items()}
    mmod.load_state_dict(sd)


def _flat_outputs(out: Any) -> list:
    if isinstance(out, (tuple, list)):
        return [o for x in out for o in _flat_outputs(x)]
    return [] if out is None else [out]


def check_module(tmod: Any, mmod: Any, *inputs: Any, rtol: float | None = None,
                 atol: float | None = None, grad: bool = True, copy: bool = True,
                 kwargs: dict | None = None, mkwargs: dict | None = None, seed: int = 0) -> Any:
    """Forward ``inputs`` (torch tensors) through both modules and compare every output; then
    back-propagate the same random cotangents and compare the gradients of the floating
    inputs and of every parameter (by name). Returns the mbtorch outputs."""
    import torch

    if copy:
        copy_state(tmod, mmod)
    dtype = next((str(x.dtype).split(".")[-1] for x in inputs
                  if hasattr(x, "is_floating_point") and x.is_floating_point()), "float32")
    r0, a0 = TOL.get(dtype, TOL["float32"])
    rtol, atol = (r0 if rtol is None else rtol), (a0 if atol is None else atol)
    t_in = [x.detach().clone().requires_grad_(grad and x.is_floating_point())
            if isinstance(x, torch.Tensor) else x for x in inputs]
    m_in = [to_mt(x) if isinstance(x, torch.Tensor) else x for x in t_in]
    t_out = _flat_outputs(tmod(*t_in, **(kwargs or {})))
    m_out = _flat_outputs(mmod(*m_in, **(mkwargs if mkwargs is not None else kwargs or {})))
    assert len(t_out) == len(m_out), f"{len(m_out)} outputs, torch gives {len(t_out)}"
    for i, (m, t) in enumerate(zip(m_out, t_out)):
        close(m, t, rtol, atol, f"output {i}")
    if not grad:
        return m_out
    gen = np.random.default_rng(seed)
    t_loss, m_loss = 0, 0
    for m, t in zip(m_out, t_out):
        if t.is_floating_point() and t.requires_grad:
            w = gen.standard_normal(tuple(t.shape)).astype(str(t.dtype).split(".")[-1])
            t_loss = t_loss + (t * torch.from_numpy(w)).sum()
            m_loss = m_loss + (m * mt.tensor(w)).sum()
    t_loss.backward()
    m_loss.backward()
    for i, (m, t) in enumerate(zip(m_in, t_in)):
        if isinstance(t, torch.Tensor) and t.requires_grad:
            assert m.grad is not None, f"input {i} got no gradient"
            close(m.grad, t.grad, rtol, atol, f"grad of input {i}")
    t_params = dict(tmod.named_parameters())
    m_params = dict(mmod.named_parameters())
    assert list(m_params) == list(t_params)
    for name, tp in t_params.items():
        mp = m_params[name]
        if tp.grad is None:
            assert mp.grad is None or not np_of(mp.grad).any(), f"{name} has a gradient"
        else:
            assert mp.grad is not None, f"parameter {name} got no gradient"
            close(mp.grad, tp.grad, rtol, atol, f"grad of {name}")
    return m_out


def randn(torch: Any, *shape: int, dtype: Any = None, seed: int = 0) -> Any:
    """A torch tensor from NumPy's generator (independent of torch's global RNG)."""
    gen = np.random.default_rng(seed)
    arr = gen.standard_normal(shape)
    return torch.from_numpy(arr).to(dtype or torch.float32)
