"""``Transformer``, ``TransformerDecoderLayer`` and ``TransformerDecoder`` against PyTorch:
torch's weights are loaded through the state dict (same keys), and outputs, input gradients and
parameter gradients must agree, with masks, ``batch_first``, ``norm_first`` and unbatched input."""

from __future__ import annotations

import numpy as np
import pytest

import mbtorch as mt
from tests.nn._compare import check_module, close, randn, to_mt

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # torch's nested-tensor notes

D, H, FF = 8, 2, 16


def _causal(n):
    return torch.triu(torch.full((n, n), float("-inf")), diagonal=1)


def _pad_mask(batch, length, seed=0):
    gen = np.random.default_rng(seed)
    m = gen.random((batch, length)) < 0.3
    m[:, 0] = False  # every row keeps one key, so no row is all -inf
    return torch.from_numpy(m)


def _both(tkw):
    """torch kwargs and the same kwargs with mbtorch tensors."""
    return tkw, {k: (to_mt(v) if isinstance(v, torch.Tensor) else v) for k, v in tkw.items()}


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_decoder_layer(batch_first, norm_first, activation):
    t = torch.nn.TransformerDecoderLayer(D, H, FF, dropout=0.0, activation=activation,
                                         batch_first=batch_first, norm_first=norm_first)
    m = mt.nn.TransformerDecoderLayer(D, H, FF, dropout=0.0, activation=activation,
                                      batch_first=batch_first, norm_first=norm_first)
    assert list(m.state_dict()) == list(t.state_dict())
    shape_t, shape_m = ((3, 5, D), (3, 4, D)) if batch_first else ((5, 3, D), (4, 3, D))
    tgt, mem = randn(torch, *shape_t), randn(torch, *shape_m, seed=1)
    kw, mkw = _both({"tgt_mask": _causal(5), "tgt_key_padding_mask": _pad_mask(3, 5),
                     "memory_key_padding_mask": _pad_mask(3, 4, seed=2)})
    check_module(t, m, tgt, mem, kwargs=kw, mkwargs=mkw, rtol=1e-4, atol=1e-5)


def test_decoder_layer_unbatched_and_bool_memory_mask():
    t = torch.nn.TransformerDecoderLayer(D, H, FF, dropout=0.0)
    m = mt.nn.TransformerDecoderLayer(D, H, FF, dropout=0.0)
    mem_mask = torch.zeros(5, 4, dtype=torch.bool)
    mem_mask[1:, 3] = True
    kw, mkw = _both({"memory_mask": mem_mask})
    check_module(t, m, randn(torch, 5, D), randn(torch, 4, D, seed=1), kwargs=kw, mkwargs=mkw,
                 rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("with_norm", [False, True])
def test_decoder_stack(with_norm):
    tl = torch.nn.TransformerDecoderLayer(D, H, FF, dropout=0.0, batch_first=True)
    ml = mt.nn.TransformerDecoderLayer(D, H, FF, dropout=0.0, batch_first=True)
    t = torch.nn.TransformerDecoder(tl, 2, torch.nn.LayerNorm(D) if with_norm else None)
    m = mt.nn.TransformerDecoder(ml, 2, mt.nn.LayerNorm(D) if with_norm else None)
    assert list(m.state_dict()) == list(t.state_dict())
    kw, mkw = _both({"tgt_mask": _causal(5), "tgt_is_causal": True})
    check_module(t, m, randn(torch, 2, 5, D), randn(torch, 2, 6, D, seed=1), kwargs=kw,
                 mkwargs=mkw, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer(batch_first, norm_first):
    args = dict(d_model=D, nhead=H, num_encoder_layers=2, num_decoder_layers=2,
                dim_feedforward=FF, dropout=0.0, batch_first=batch_first, norm_first=norm_first)
    t, m = torch.nn.Transformer(**args), mt.nn.Transformer(**args)
    assert list(m.state_dict()) == list(t.state_dict())
    assert [tuple(v.shape) for v in m.state_dict().values()] == \
        [tuple(v.shape) for v in t.state_dict().values()]
    src_shape, tgt_shape = ((2, 6, D), (2, 5, D)) if batch_first else ((6, 2, D), (5, 2, D))
    kw, mkw = _both({"tgt_mask": torch.nn.Transformer.generate_square_subsequent_mask(5),
                     "src_key_padding_mask": _pad_mask(2, 6),
                     "memory_key_padding_mask": _pad_mask(2, 6)})
    check_module(t, m, randn(torch, *src_shape), randn(torch, *tgt_shape, seed=1), kwargs=kw,
                 mkwargs=mkw, rtol=1e-4, atol=1e-5)


def test_transformer_unbatched_and_custom_parts():
    t = torch.nn.Transformer(D, H, 1, 1, FF, dropout=0.0)
    m = mt.nn.Transformer(D, H, 1, 1, FF, dropout=0.0)
    check_module(t, m, randn(torch, 6, D), randn(torch, 5, D, seed=1), rtol=1e-4, atol=1e-5)
    enc = mt.nn.TransformerEncoder(mt.nn.TransformerEncoderLayer(D, H, FF), 1)
    custom = mt.nn.Transformer(D, H, custom_encoder=enc, num_decoder_layers=1,
                               dim_feedforward=FF)
    assert custom.encoder is enc and len(custom.decoder.layers) == 1


def test_transformer_init_is_xavier():
    mt.manual_seed(0)
    m = mt.nn.Transformer(D, H, 1, 1, FF)
    w = m.encoder.layers[0].linear1.weight  # (FF, D): xavier bound sqrt(6 / (D + FF))
    bound = (6.0 / (D + FF)) ** 0.5
    assert float(w.abs().max()) <= bound
    assert float(w.abs().max()) > 0.5 * bound  # not Linear's smaller kaiming bound
    assert float(m.encoder.layers[0].linear1.bias.abs().max()) > 0  # 1-D: Linear's init kept


def test_square_subsequent_mask():
    got = mt.nn.Transformer.generate_square_subsequent_mask(4)
    close(got, torch.nn.Transformer.generate_square_subsequent_mask(4), 0, 0)
    assert got.dtype == mt.float32
    got64 = mt.nn.Transformer.generate_square_subsequent_mask(3, dtype=mt.float64)
    assert got64.dtype == mt.float64


def test_transformer_training_step_matches():
    """One SGD step on the same weights and data gives the same loss and updated weights."""
    args = dict(d_model=D, nhead=H, num_encoder_layers=1, num_decoder_layers=1,
                dim_feedforward=FF, dropout=0.0, batch_first=True)
    t, m = torch.nn.Transformer(**args), mt.nn.Transformer(**args)
    m.load_state_dict({k: mt.tensor(v.numpy().copy()) for k, v in t.state_dict().items()})
    src, tgt = randn(torch, 2, 4, D), randn(torch, 2, 3, D, seed=1)
    ot, om = torch.optim.SGD(t.parameters(), lr=0.1), mt.optim.SGD(m.parameters(), lr=0.1)
    for _ in range(2):
        lt = t(src, tgt).square().mean()
        lm = m(to_mt(src), to_mt(tgt)).square().mean()
        close(lm, lt, 1e-5, 1e-6, "loss")
        ot.zero_grad()
        om.zero_grad()
        lt.backward()
        lm.backward()
        ot.step()
        om.step()
    for (name, pt), (_, pm) in zip(t.named_parameters(), m.named_parameters()):
        close(pm, pt, 1e-4, 1e-5, name)


def test_errors():
    m = mt.nn.Transformer(D, H, 1, 1, FF)
    with pytest.raises(RuntimeError, match="batch number of src and tgt must be equal"):
        m(mt.randn(4, 2, D), mt.randn(3, 3, D))
    with pytest.raises(RuntimeError, match="feature number of src and tgt must be equal"):
        m(mt.randn(4, 2, D + 1), mt.randn(3, 2, D + 1))
    with pytest.raises(RuntimeError, match="activation should be relu/gelu"):
        mt.nn.TransformerDecoderLayer(D, H, activation="tanh")
    with pytest.raises(AssertionError, match="divisible by num_heads"):
        mt.nn.TransformerDecoderLayer(D, 3)


@pytest.mark.parametrize("kw", [
    dict(kdim=5, vdim=3), dict(add_bias_kv=True), dict(add_zero_attn=True),
    dict(kdim=5, vdim=3, add_bias_kv=True, add_zero_attn=True, batch_first=True),
    dict(bias=False, add_zero_attn=True)], ids=str)
@pytest.mark.parametrize("average", [True, False])
def test_multihead_attention_variants(kw, average):
    t = torch.nn.MultiheadAttention(D, H, **kw)
    m = mt.nn.MultiheadAttention(D, H, **kw)
    assert list(m.state_dict()) == list(t.state_dict())
    bf = kw.get("batch_first", False)
    q = randn(torch, *((3, 4, D) if bf else (4, 3, D)))
    k = randn(torch, *((3, 6, kw.get("kdim", D)) if bf else (6, 3, kw.get("kdim", D))), seed=1)
    v = randn(torch, *((3, 6, kw.get("vdim", D)) if bf else (6, 3, kw.get("vdim", D))), seed=2)
    mask = torch.zeros(4, 6, dtype=torch.bool)
    mask[0, 2:] = True
    kw_t, kw_m = _both({"attn_mask": mask, "key_padding_mask": _pad_mask(3, 6),
                        "average_attn_weights": average})
    check_module(t, m, q, k, v, kwargs=kw_t, mkwargs=kw_m, rtol=1e-4, atol=1e-5)


def test_multihead_attention_unbatched_with_padding_mask():
    t, m = torch.nn.MultiheadAttention(D, H), mt.nn.MultiheadAttention(D, H)
    pad = torch.tensor([False, False, True, False, True])
    kw_t, kw_m = _both({"key_padding_mask": pad})
    check_module(t, m, randn(torch, 3, D), randn(torch, 5, D, seed=1),
                 randn(torch, 5, D, seed=2), kwargs=kw_t, mkwargs=kw_m, rtol=1e-4, atol=1e-5)
    with pytest.raises(AssertionError, match="embed_dim must be divisible by num_heads"):
        mt.nn.MultiheadAttention(D, 3)
