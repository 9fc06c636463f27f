"""The training-step implementations compute the same math: first losses and updates agree.

The mbtorch "plain ops" and "functional" steps are written against the PyTorch API, so they
are checked here by running them on PyTorch itself beside the hand-written NumPy floor.
"""

from __future__ import annotations

import numpy as np
import pytest

from bench import cnn, mlp
from bench import training as tr
from bench.targets import Target, discover


def _torch_target():
    torch = pytest.importorskip("torch")
    return Target("torch:cpu", "torch", torch, "cpu")


def test_numpy_floor_matches_pytorch_nn_over_steps():
    t = _torch_target()
    arrays, (x, y, onehot) = mlp.init(batch_size=8)
    floor = mlp.NumpyMLP(arrays, x, y)
    step = tr.nn_step(t, mlp.nn_model(t.lib, arrays), x, y)
    for _ in range(3):  # momentum only shows from the second step on
        np.testing.assert_allclose(tr.first_loss(step), floor.step(), rtol=1e-5)


def test_plain_ops_step_matches_floor():
    t = _torch_target()
    arrays, (x, y, onehot) = mlp.init(batch_size=8)
    floor = mlp.NumpyMLP(arrays, x, y)
    step = mlp.plain_step(t, arrays, x, onehot)
    for _ in range(3):
        np.testing.assert_allclose(tr.first_loss(step), floor.step(), rtol=1e-5)


def test_cnn_functional_step_matches_nn_step():
    t = _torch_target()
    arrays, (x, y, onehot) = cnn.init(batch_size=4)
    nn_step = tr.nn_step(t, cnn.nn_model(t.lib, arrays), x, y)
    fn_step = cnn.functional_step(t, arrays, x, onehot)
    for _ in range(3):
        np.testing.assert_allclose(tr.first_loss(fn_step), tr.first_loss(nn_step), rtol=1e-5)


def test_missing_names_are_reported():
    import mbtorch

    lacking = tr.missing(mbtorch, ("tensor", "no_such_thing", "nn.NoSuchLayer"))
    assert lacking == ["no_such_thing", "nn.NoSuchLayer"]


def test_mbtorch_step_is_built_or_skipped_with_reason():
    t = discover(["cpu"]).get("mbtorch:cpu")
    assert t is not None
    arrays, (x, y, onehot) = mlp.init(batch_size=4)
    step, note = mlp.make_step(t, arrays, x, y, onehot)
    if step is None:
        assert note.startswith("not implemented yet in mbtorch: ")
    else:
        assert np.isfinite(tr.first_loss(step))
