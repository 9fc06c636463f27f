"""The top-level neural-network functions (``mbtorch._functional_aliases``) against PyTorch's
own ``torch.conv2d``, ``torch.batch_norm``, ... : ATen's argument orders, integer reductions
and returned tuples, on the same values."""

import subprocess
import sys

import numpy as np
import pytest

import mbtorch as mt
from tests.conftest import assert_close

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(15)


class P(tuple):
    """An (mbtorch, torch) pair of arguments; any other argument goes to both as it is."""


def pair(*shape, positive=False):
    a = RNG.random(shape) + 0.1 if positive else RNG.normal(size=shape)
    return P((mt.tensor(a), torch.tensor(a)))


def both(fn_name, args, kwargs=None, rtol=1e-10, atol=1e-10):
    """Call ``fn_name`` on mbtorch and torch with the paired arguments; compare every output."""
    kwargs = kwargs or {}
    pick = (lambda i: (lambda v: v[i] if isinstance(v, P) else v))
    out_m = getattr(mt, fn_name)(*map(pick(0), args), **{k: pick(0)(v) for k, v in kwargs.items()})
    out_t = getattr(torch, fn_name)(*map(pick(1), args),
                                    **{k: pick(1)(v) for k, v in kwargs.items()})
    if isinstance(out_t, tuple):
        assert isinstance(out_m, tuple) and len(out_m) == len(out_t)
        for m, t in zip(out_m, out_t):
            assert_close(m, t, rtol, atol)
    else:
        assert_close(out_m, out_t, rtol, atol)
    return out_m


def test_activations():
    x = pair(3, 4)
    both("celu", [x, 0.7])
    both("selu", [x])
    both("threshold", [x, 0.1, -2.0])
    both("hardshrink", [x, 0.3])
    w = pair(4)
    both("prelu", [x, w])
    both("rrelu", [x, 0.1, 0.3, False])
    assert_close(x[0].hardshrink(0.3), x[1].hardshrink(0.3))
    assert_close(x[0].prelu(w[0]), x[1].prelu(w[1]))
    with pytest.raises(NotImplementedError, match="rrelu.*generator"):
        mt.rrelu(x[0], generator=mt.Generator())


def test_convolutions_and_transposes():
    x, w, b = pair(2, 4, 7, 6), pair(6, 2, 3, 3), pair(6)
    both("conv2d", [x, w, b, (2, 1), 1, 1, 2])
    both("conv1d", [pair(2, 3, 9), pair(4, 3, 2)], {"padding": 1, "dilation": 2})
    both("conv3d", [pair(1, 2, 4, 5, 3), pair(3, 2, 2, 2, 2)], {"stride": 2})
    both("conv_transpose1d", [pair(2, 3, 5), pair(3, 2, 3), pair(2), 2, 1, 1])
    both("conv_transpose2d", [pair(1, 4, 3, 3), pair(4, 1, 2, 2)], {"groups": 2, "stride": 2})
    both("conv_transpose3d", [pair(1, 2, 2, 3, 2), pair(2, 3, 2, 2, 2)])
    both("conv_tbc", [pair(7, 2, 3), pair(3, 3, 5), pair(5), 1])


def test_pooling_with_atens_empty_stride_and_tuples():
    x = pair(2, 3, 9)
    both("max_pool1d", [x, 3])
    both("max_pool1d", [x, 2, (), 1, 2, True])
    values, indices = both("max_pool1d_with_indices", [x, 3, 2])
    assert indices.dtype is mt.int64 and values.shape == (2, 3, 4)
    both("max_pool2d", [pair(1, 2, 6, 5), (2, 2)], {"stride": 1, "padding": 1})
    both("max_pool3d", [pair(1, 1, 4, 4, 4), 2])
    both("avg_pool1d", [x, 3, 2, 1, False, False])
    both("adaptive_avg_pool1d", [x, 4])
    out = both("adaptive_max_pool1d", [x, 4])
    assert isinstance(out, tuple) and out[1].dtype is mt.int64


def test_shuffles():
    both("pixel_shuffle", [pair(1, 8, 2, 3), 2])
    both("pixel_unshuffle", [pair(1, 2, 4, 6), 2])
    both("channel_shuffle", [pair(2, 6, 2, 2), 3])


def test_normalisations_in_atens_argument_order():
    x = pair(4, 3, 5)
    w, b, rm, rv = pair(3), pair(3), pair(3), pair(3, positive=True)
    both("batch_norm", [x, w, b, rm, rv, False, 0.1, 1e-5, True])
    rm_m, rv_m = mt.zeros(3, dtype=mt.float64), mt.ones(3, dtype=mt.float64)
    rm_t, rv_t = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    both("batch_norm", [x, w, b, P((rm_m, rm_t)), P((rv_m, rv_t)), True, 0.3, 1e-5, False])
    assert_close(rm_m, rm_t)  # running statistics updated alike
    assert_close(rv_m, rv_t)
    both("instance_norm", [x, w, b, None, None, True, 0.1, 1e-5, False])
    both("layer_norm", [x, [3, 5]], {"eps": 1e-3})
    both("layer_norm", [x, (5,), pair(5), pair(5), 1e-5, False])
    both("group_norm", [pair(2, 6, 4), 3, pair(6), pair(6)])
    both("rms_norm", [x, [5], pair(5)])


def test_embedding_takes_weight_first():
    w = pair(10, 3)
    idx = P((mt.tensor([[1, 2], [4, 9]]), torch.tensor([[1, 2], [4, 9]])))
    both("embedding", [w, idx])
    wm = mt.tensor(RNG.normal(size=(10, 3)), requires_grad=True)
    mt.embedding(wm, idx[0], 2).sum().backward()
    wt = torch.tensor(wm.detach().numpy(), requires_grad=True)
    torch.embedding(wt, idx[1], 2).sum().backward()
    assert_close(wm.grad, wt.grad)


@pytest.mark.parametrize("mode", [0, 1, 2])
@pytest.mark.parametrize("padding_idx", [None, 2])
def test_embedding_bag_returns_atens_four_tensors(mode, padding_idx):
    w = pair(10, 3)  # float64: PyTorch's general path, which fills offset2bag in every mode
    idx = P((mt.tensor([1, 2, 4, 5, 4, 3, 2, 9]), torch.tensor([1, 2, 4, 5, 4, 3, 2, 9])))
    offs = P((mt.tensor([0, 4, 4]), torch.tensor([0, 4, 4])))
    both("embedding_bag", [w, idx, offs, False, mode, False, None, False, padding_idx])
    last = P((mt.tensor([0, 4, 8]), torch.tensor([0, 4, 8])))
    both("embedding_bag", [w, idx, last, False, mode, False, None, True, padding_idx])
    with pytest.raises(ValueError, match="embedding_bag.*mode"):
        mt.embedding_bag(w[0], idx[0], offs[0], mode=3)
    with pytest.raises(TypeError, match="embedding_bag.*offsets"):
        mt.embedding_bag(w[0], idx[0], None)
    with pytest.raises(ValueError, match="embedding_bag.*1-D"):
        mt.embedding_bag(w[0], idx[0].reshape(2, 4), offs[0])


def test_bilinear_and_distances():
    both("bilinear", [pair(4, 3), pair(4, 2), pair(5, 3, 2), pair(5)])
    both("cosine_similarity", [pair(4, 3), pair(4, 3), 0])
    both("pairwise_distance", [pair(4, 3), pair(4, 3), 3.0, 1e-6, True])
    both("pdist", [pair(5, 3), 1.0])


def test_losses_take_integer_reductions():
    x, y = pair(4, 3), pair(4, 3, positive=True)
    t = P((mt.tensor([1.0, -1.0, 1.0, -1.0]), torch.tensor([1.0, -1.0, 1.0, -1.0])))
    for r in (0, 1, 2):
        both("binary_cross_entropy_with_logits", [x, y, pair(3), pair(3, positive=True), r])
        both("kl_div", [x, y, r])
        both("kl_div", [x, x, r], {"log_target": True})
        both("cosine_embedding_loss", [pair(4, 3), pair(4, 3), t, 0.2, r])
        both("hinge_embedding_loss", [x, P((mt.sign(x[0]), torch.sign(x[1]))), 0.5, r])
        both("margin_ranking_loss", [pair(4), pair(4), t, 0.1, r])
        both("triplet_margin_loss", [x, pair(4, 3), pair(4, 3), 1.0, 2.0, 1e-6, True, r])
        both("poisson_nll_loss", [x, y, True, True, 1e-8, r])
    with pytest.raises(ValueError, match="kl_div.*reduction"):
        mt.kl_div(x[0], y[0], 3)
    with pytest.raises(TypeError, match="kl_div.*reduction"):
        mt.kl_div(x[0], y[0], "mean")


def test_ctc_loss():
    lp = RNG.normal(size=(6, 2, 4))
    lp = lp - np.log(np.exp(lp).sum(-1, keepdims=True))
    tg = np.array([[1, 2, 1], [3, 1, 0]])
    for r in (0, 1, 2):
        both("ctc_loss", [P((mt.tensor(lp), torch.tensor(lp))),
                          P((mt.tensor(tg), torch.tensor(tg))), [6, 5], [3, 2], 0, r],
             rtol=1e-8, atol=1e-8)


def test_dropouts_at_the_extremes_and_statistics():
    x = pair(200, 30)
    for name in ("dropout", "alpha_dropout", "feature_dropout", "feature_alpha_dropout"):
        both(name, [x, 0.5, False])  # identity outside training
        both(name, [x, 0.0, True])
    assert_close(mt.dropout(x[0], 1.0, True), torch.dropout(x[1], 1.0, True))
    mt.manual_seed(0)
    out = mt.feature_dropout(mt.ones(400, 50, 3), 0.25, True)
    kept = (out[:, :, 0] != 0)
    assert bool(((out != 0) == kept.unsqueeze(-1)).all())  # a channel is dropped whole
    assert abs(kept.double().mean().item() - 0.75) < 0.02
    assert_close(out[kept.unsqueeze(-1).expand(-1, -1, 3)], np.full(int(kept.sum()) * 3, 4 / 3))
    for name in ("dropout", "alpha_dropout", "feature_dropout", "feature_alpha_dropout"):
        for train in (True, False):  # ATen's RuntimeError, not nn.functional's ValueError
            with pytest.raises(RuntimeError, match="between 0 and 1, but got 1.5"):
                getattr(mt, name)(mt.ones(3, 2), 1.5, train)
        with pytest.raises(RuntimeError, match="result type Float can't be cast to the "
                                               "desired output type Long"):
            getattr(mt, name)(mt.ones(3, 2, dtype=mt.int64), 0.5, True)
    for name in ("feature_dropout", "feature_alpha_dropout"):
        with pytest.raises(RuntimeError, match="at least 2 dimensions"):
            getattr(mt, name)(mt.ones(3), 0.5, True)
        assert_close(getattr(mt, name)(mt.ones(3), 0.5, False), np.ones(3))  # as torch


def test_import_mbtorch_does_not_import_nn():
    code = "import sys, mbtorch; print('mbtorch.nn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
