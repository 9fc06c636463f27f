"""``nn.utils``: gradient clipping against PyTorch, parameter/vector round trips."""

from __future__ import annotations

import math

import numpy as np
import pytest

import mbtorch as mt
from mbtorch.nn import utils
from tests.nn._compare import close, to_mt

SHAPES = [(3, 4), (5,), (2, 2, 3)]


def _grads(torch, scale):
    gen = np.random.default_rng(0)
    t_params, m_params = [], []
    for shape in SHAPES:
        p = torch.zeros(shape, requires_grad=True)
        p.grad = torch.from_numpy(gen.standard_normal(shape).astype(np.float32) * scale)
        q = to_mt(p)
        q.grad = mt.tensor(p.grad.numpy().copy())
        t_params.append(p)
        m_params.append(q)
    return t_params, m_params


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf, "inf"])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    torch = pytest.importorskip("torch")
    t_params, m_params = _grads(torch, 2.0)
    nt = float(norm_type)
    t_total = torch.nn.utils.clip_grad_norm_(t_params, max_norm, nt)
    m_total = utils.clip_grad_norm_(m_params, max_norm, norm_type)
    close(m_total, t_total, 1e-5, 1e-6, "total norm")
    for i, (m, t) in enumerate(zip(m_params, t_params)):
        close(m.grad, t.grad, 1e-5, 1e-7, f"grad {i}")


def test_clip_grad_norm_single_tensor_none_grads_and_nonfinite():
    torch = pytest.importorskip("torch")
    t_params, m_params = _grads(torch, 1.0)
    close(utils.clip_grad_norm_(m_params[0], 0.1), torch.nn.utils.clip_grad_norm_(
        t_params[0], 0.1), 1e-5, 1e-6)
    close(m_params[0].grad, t_params[0].grad, 1e-5, 1e-7)
    no_grad = mt.zeros(3, requires_grad=True)
    assert float(utils.clip_grad_norm_([no_grad], 1.0)) == 0.0
    m_params[1].grad = mt.tensor([float("inf")] * 5)
    with pytest.raises(RuntimeError, match="non-finite"):
        utils.clip_grad_norm_(m_params, 1.0, error_if_nonfinite=True)


@pytest.mark.parametrize("clip", [0.1, 1.0, 10.0])
def test_clip_grad_value_matches_torch(clip):
    torch = pytest.importorskip("torch")
    t_params, m_params = _grads(torch, 2.0)
    torch.nn.utils.clip_grad_value_(t_params, clip)
    assert utils.clip_grad_value_(m_params, clip) is None
    for m, t in zip(m_params, t_params):
        close(m.grad, t.grad, 0, 0)


def test_parameters_to_vector_round_trip():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    t_net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    m_net = mt.nn.Sequential(mt.nn.Linear(3, 4), mt.nn.ReLU(), mt.nn.Linear(4, 2))
    m_net.load_state_dict({k: to_mt(v) for k, v in t_net.state_dict().items()})
    vec = utils.parameters_to_vector(m_net.parameters())
    close(vec, torch.nn.utils.parameters_to_vector(t_net.parameters()), 0, 0)
    assert vec.shape == (sum(p.numel() for p in m_net.parameters()),)
    new = mt.arange(vec.numel(), dtype=mt.float32)
    utils.vector_to_parameters(new, m_net.parameters())
    torch.nn.utils.vector_to_parameters(torch.arange(vec.numel(), dtype=torch.float32),
                                        t_net.parameters())
    for (name, mp), tp in zip(m_net.named_parameters(), t_net.parameters()):
        close(mp, tp, 0, 0, name)
    assert m_net[0].weight.requires_grad and m_net[0].weight.is_leaf
    close(utils.parameters_to_vector(m_net.parameters()), new, 0, 0)
    with pytest.raises(TypeError, match="expected torch.Tensor"):
        utils.vector_to_parameters([1.0, 2.0], m_net.parameters())
