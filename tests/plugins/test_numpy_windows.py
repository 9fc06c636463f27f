"""The cpu plugin's sliding-window kernels (``mbtorch_numpy/xp/windows.py``) against PyTorch:
max pooling's values and indices where windows tie (the first maximum wins), hold NaN or
signed zeros, with padding, ceil mode, dilation and overlapping windows, in one to three
spatial dims; and im2col/col2im through ``F.unfold``/``F.fold``."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import mbtorch as mt

POOLS = {1: "max_pool1d", 2: "max_pool2d", 3: "max_pool3d"}

# (input shape, kernel, stride, padding, dilation, ceil_mode)
CASES = [
    ((2, 3, 8, 8), 2, 2, 0, 1, False),
    ((2, 3, 9, 10), (3, 2), (2, 1), 1, (1, 2), True),
    ((1, 2, 7, 7), 3, 1, 1, 1, False),  # overlapping windows
    ((2, 2, 20), 4, 3, 2, 1, True),
    ((1, 2, 5, 6, 7), (2, 3, 2), (1, 2, 2), (1, 0, 1), (2, 1, 1), True),
]


def _pool(lib, x, shape, kernel, stride, padding, dilation, ceil_mode):
    f = getattr(lib.nn.functional, POOLS[len(shape) - 2])
    return f(x, kernel, stride, padding, dilation, ceil_mode, return_indices=True)


def _check(data, case):
    shape = case[0]
    want_v, want_i = _pool(torch, torch.from_numpy(data.copy()), *case)
    got_v, got_i = _pool(mt, mt.tensor(data), *case)
    np.testing.assert_array_equal(got_i.numpy(), want_i.numpy())
    np.testing.assert_array_equal(got_v.numpy(), want_v.numpy())
    assert got_i.dtype == mt.int64 and tuple(got_v.shape) == tuple(want_v.shape), shape


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32])
def test_max_pool_ties_like_torch(case, dtype):
    # rounded values: most windows hold their maximum more than once
    data = np.round(np.random.default_rng(0).standard_normal(case[0]) * 1.5).astype(dtype)
    _check(data, case)


@pytest.mark.parametrize("case", CASES)
def test_max_pool_nan_wins(case):
    # a window holding NaN gives NaN, indexed at a NaN of the input (which NaN: PyTorch's
    # cpu takes the last one, mbtorch the first, as its decomposition's argmax does)
    data = np.round(np.random.default_rng(1).standard_normal(case[0])).astype(np.float32)
    data.reshape(-1)[::7] = np.nan
    want_v, want_i = _pool(torch, torch.from_numpy(data.copy()), *case)
    got_v, got_i = _pool(mt, mt.tensor(data), *case)
    nan = np.isnan(want_v.numpy())
    np.testing.assert_array_equal(np.isnan(got_v.numpy()), nan)
    np.testing.assert_array_equal(got_v.numpy()[~nan], want_v.numpy()[~nan])
    np.testing.assert_array_equal(got_i.numpy()[~nan], want_i.numpy()[~nan])
    planes = data.reshape(data.shape[:2] + (-1,))
    picked = np.take_along_axis(planes, got_i.numpy().reshape(planes.shape[:2] + (-1,)), -1)
    assert np.isnan(picked.reshape(got_v.shape)[nan]).all()


def test_max_pool_signed_zero_index_is_the_first():
    data = np.zeros((1, 1, 2, 4), np.float32)
    data[0, 0, 0, 0] = -0.0
    data[0, 0, 1, 2] = -0.0
    _, want_i = torch.nn.functional.max_pool2d(torch.from_numpy(data), 2, return_indices=True)
    _, got_i = mt.nn.functional.max_pool2d(mt.tensor(data), 2, return_indices=True)
    np.testing.assert_array_equal(got_i.numpy(), want_i.numpy())


def test_max_pool_many_window_positions():
    # more than 256 positions per window: the running position needs a wider integer type
    case = ((1, 2, 20, 20), 17, 1, 0, 1, False)
    data = np.round(np.random.default_rng(2).standard_normal(case[0]) * 2).astype(np.float32)
    _check(data, case)


def test_max_pool_gradient_like_torch():
    data = np.round(np.random.default_rng(3).standard_normal((2, 3, 8, 8))).astype(np.float32)
    tx = torch.from_numpy(data.copy()).requires_grad_()
    torch.nn.functional.max_pool2d(tx, 2).pow(2).sum().backward()
    mx = mt.tensor(data, requires_grad=True)
    mt.nn.functional.max_pool2d(mx, 2).pow(2).sum().backward()
    np.testing.assert_array_equal(mx.grad.numpy(), tx.grad.numpy())


def test_unfold_fold_like_torch():
    data = np.random.default_rng(4).standard_normal((2, 3, 9, 8)).astype(np.float32)
    args = dict(kernel_size=(3, 2), dilation=(1, 2), stride=(2, 1))
    want = torch.nn.functional.unfold(torch.from_numpy(data), **args)
    got = mt.nn.functional.unfold(mt.tensor(data), **args)
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    want_f = torch.nn.functional.fold(want, (9, 8), **args)
    got_f = mt.nn.functional.fold(got, (9, 8), **args)
    np.testing.assert_allclose(got_f.numpy(), want_f.numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", ["float16", "bfloat16"])
def test_max_pool_half_like_torch(name):
    data = np.round(np.random.default_rng(5).standard_normal((2, 3, 8, 8)) * 1.5)
    data = data.astype(np.float32)
    want_v, want_i = torch.nn.functional.max_pool2d(
        torch.from_numpy(data).to(getattr(torch, name)), 2, return_indices=True)
    got_v, got_i = mt.nn.functional.max_pool2d(mt.tensor(data).to(getattr(mt, name)), 2,
                                               return_indices=True)
    assert got_v.dtype == getattr(mt, name)
    np.testing.assert_array_equal(got_i.numpy(), want_i.numpy())
    np.testing.assert_array_equal(got_v.float().numpy(), want_v.float().numpy())


def test_compiled_cnn_step_matches_eager_bit_for_bit():
    # the replay runs these kernels on planned buffers: its parameters must equal eager's
    def make():
        mt.manual_seed(0)
        nn = mt.nn
        model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 6, 3),
                              nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(24, 3))
        return model, mt.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

    def step(model, opt, x, y):
        opt.zero_grad()
        loss = mt.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    rng = np.random.default_rng(6)
    x = mt.tensor(rng.standard_normal((5, 1, 14, 14)).astype(np.float32))
    y = mt.tensor(rng.integers(0, 3, 5))
    (m1, o1), (m2, o2) = make(), make()
    compiled = mt.compile(step)
    for _ in range(4):
        a, b = compiled(m1, o1, x, y), step(m2, o2, x, y)
        assert a.item() == b.item()
    assert compiled.stats["replays"] >= 2
    for p, q in zip(m1.parameters(), m2.parameters()):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())
