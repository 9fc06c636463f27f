"""``multinomial`` against PyTorch: shapes, dtypes, errors and the sampling distribution
(the draws themselves differ: each library has its own random stream)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import mbtorch as mt

P = [0.2, 0.0, 0.5, 0.3]


@pytest.mark.parametrize("replacement", [True, False])
@pytest.mark.parametrize("rows", [None, 3])
def test_shape_dtype_and_support(replacement, rows):
    p = np.array(P if rows is None else [P] * rows, np.float32)
    n = 3
    ours = mt.multinomial(mt.tensor(p), n, replacement=replacement)
    theirs = torch.multinomial(torch.tensor(p), n, replacement=replacement)
    assert tuple(ours.shape) == tuple(theirs.shape) and ours.dtype is mt.int64
    assert not (ours == 1).any()  # zero weight: never drawn
    if not replacement:  # distinct categories per row
        for row in ours.reshape(-1, n).tolist():
            assert len(set(row)) == n


def test_frequencies_with_replacement():
    mt.manual_seed(0)
    x = mt.multinomial(mt.tensor(P, dtype=mt.float64), 40000, replacement=True)
    freq = np.bincount(x.numpy(), minlength=4) / 40000
    np.testing.assert_allclose(freq, P, atol=0.01)


def test_first_draw_without_replacement_follows_the_weights():
    mt.manual_seed(1)
    p = mt.tensor([P] * 20000)
    first = mt.multinomial(p, 2)[:, 0]
    freq = np.bincount(first.numpy(), minlength=4) / 20000
    np.testing.assert_allclose(freq, P, atol=0.015)


def test_zero_weights_come_last_without_replacement():
    assert mt.multinomial(mt.tensor([0.0, 0.5, 0.0]), 3)[0].item() == \
        torch.multinomial(torch.tensor([0.0, 0.5, 0.0]), 3)[0].item() == 1


def test_generator_reproducible():
    g1, g2 = mt.Generator().manual_seed(5), mt.Generator().manual_seed(5)
    p = mt.tensor(P)
    assert mt.multinomial(p, 4, True, generator=g1).tolist() == \
        p.multinomial(4, True, generator=g2).tolist()


@pytest.mark.parametrize("args, match", [
    (([0.5, 0.5], 3, False), "cannot sample n_sample > prob_dist.size"),
    (([-0.5, 1.0], 1, True), "element < 0"),
    (([float("nan"), 1.0], 1, True), "inf"),
    (([0.0, 0.0], 1, True), "sum of probabilities <= 0"),
    (([0.5, 0.5], 0, True), "n_sample <= 0"),
])
def test_errors_like_torch(args, match):
    p, n, repl = args
    with pytest.raises(RuntimeError, match=match):
        mt.multinomial(mt.tensor(p), n, repl)
    with pytest.raises(RuntimeError):
        torch.multinomial(torch.tensor(p), n, repl)
