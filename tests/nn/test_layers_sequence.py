"""Sequence layers against PyTorch (same weights, outputs and gradients): MultiheadAttention,
TransformerEncoderLayer / TransformerEncoder, RNN, LSTM, GRU."""

from __future__ import annotations

import pytest

import mbtorch as mt
from tests.nn._compare import check_module, close, copy_state, randn, to_mt


def _mha_pair(torch, batch_first=False, bias=True):
    t = torch.nn.MultiheadAttention(8, 2, batch_first=batch_first, bias=bias)
    m = mt.nn.MultiheadAttention(8, 2, batch_first=batch_first, bias=bias)
    if bias:  # torch zero-initialises the biases: make them matter
        with torch.no_grad():
            t.in_proj_bias.normal_()
            t.out_proj.bias.normal_()
    return t, m


def _masks(torch, kind, n_q=5, n_k=6, batch=3):
    bool_mask = torch.rand(n_q, n_k, generator=torch.Generator().manual_seed(1)) < 0.3
    bool_mask[:, 0] = False  # every query sees at least one key
    if kind == "bool":
        return {"attn_mask": bool_mask}
    if kind == "float":
        return {"attn_mask": randn(torch, n_q, n_k, seed=3)}
    if kind == "3d":
        return {"attn_mask": bool_mask.unsqueeze(0).repeat(batch * 2, 1, 1)}
    pad = torch.zeros(batch, n_k, dtype=torch.bool)
    pad[0, -2:] = True
    pad[2, 3] = True
    if kind == "padding":
        return {"key_padding_mask": pad}
    return {"key_padding_mask": pad, "attn_mask": bool_mask}


@pytest.mark.parametrize("masks", ["none", "bool", "float", "3d", "padding", "both"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_multihead_attention(masks, batch_first):
    torch = pytest.importorskip("torch")
    t, m = _mha_pair(torch, batch_first)
    shape_q, shape_k = ((3, 5, 8), (3, 6, 8)) if batch_first else ((5, 3, 8), (6, 3, 8))
    q, k, v = randn(torch, *shape_q), randn(torch, *shape_k, seed=1), randn(torch, *shape_k,
                                                                            seed=2)
    kw = {} if masks == "none" else _masks(torch, masks)
    mkw = {name: to_mt(val) for name, val in kw.items()}
    check_module(t, m, q, k, v, kwargs=kw, mkwargs=mkw)


def test_multihead_attention_self_per_head_weights_causal_unbatched():
    torch = pytest.importorskip("torch")
    t, m = _mha_pair(torch, bias=False)
    x = randn(torch, 5, 2, 8)
    kw = {"need_weights": True, "average_attn_weights": False}
    check_module(t, m, x, x, x, kwargs=kw)
    causal = torch.nn.Transformer.generate_square_subsequent_mask(5)
    kw = {"attn_mask": causal, "is_causal": True}
    check_module(t, m, x, x, x, kwargs=kw, mkwargs={"attn_mask": to_mt(causal),
                                                    "is_causal": True}, copy=False)
    xu = randn(torch, 4, 8, seed=5)
    check_module(t, m, xu, xu, xu, copy=False)
    out, w = m(to_mt(xu), to_mt(xu), to_mt(xu), need_weights=False)
    assert w is None and out.shape == (4, 8)


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_transformer_encoder_layer(norm_first, batch_first, activation):
    torch = pytest.importorskip("torch")
    kw = dict(dim_feedforward=16, dropout=0.0, norm_first=norm_first, batch_first=batch_first,
              activation=activation)
    t = torch.nn.TransformerEncoderLayer(8, 2, **kw)
    m = mt.nn.TransformerEncoderLayer(8, 2, **kw)
    x = randn(torch, 4, 5, 8)
    mask = torch.nn.Transformer.generate_square_subsequent_mask(5 if batch_first else 4)
    check_module(t, m, x, kwargs={"src_mask": mask}, mkwargs={"src_mask": to_mt(mask)},
                 rtol=1e-4, atol=1e-5)
    check_module(t, m, x, copy=False, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer_encoder(norm_first):
    torch = pytest.importorskip("torch")
    kw = dict(dim_feedforward=16, dropout=0.0, norm_first=norm_first, batch_first=True)
    # enable_nested_tensor=False: torch's fast path would take padded positions out
    t = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(8, 2, **kw), 2,
                                    norm=torch.nn.LayerNorm(8), enable_nested_tensor=False)
    m = mt.nn.TransformerEncoder(mt.nn.TransformerEncoderLayer(8, 2, **kw), 2,
                                 norm=mt.nn.LayerNorm(8))
    assert list(m.state_dict()) == list(t.state_dict())
    x = randn(torch, 3, 5, 8)
    pad = torch.zeros(3, 5, dtype=torch.bool)
    pad[1, -2:] = True
    check_module(t, m, x, kwargs={"src_key_padding_mask": pad},
                 mkwargs={"src_key_padding_mask": to_mt(pad)}, rtol=1e-4, atol=1e-5)
    mask = torch.nn.Transformer.generate_square_subsequent_mask(5)
    check_module(t, m, x, kwargs={"mask": mask, "is_causal": True},
                 mkwargs={"mask": to_mt(mask), "is_causal": True}, copy=False, rtol=1e-4,
                 atol=1e-5)


RNN_CASES = [
    dict(),
    dict(num_layers=2),
    dict(batch_first=True),
    dict(bidirectional=True),
    dict(num_layers=2, bidirectional=True, batch_first=True),
    dict(bias=False),
]


def _state(torch, name, kw, batch, hidden=5, seed=7):
    n = kw.get("num_layers", 1) * (2 if kw.get("bidirectional") else 1)
    shape = (n, batch, hidden) if batch else (n, hidden)
    h = randn(torch, *shape, seed=seed)
    return (h, randn(torch, *shape, seed=seed + 1)) if name == "LSTM" else h


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("kw", RNN_CASES, ids=str)
def test_recurrent(name, kw):
    torch = pytest.importorskip("torch")
    t = getattr(torch.nn, name)(3, 5, **kw)
    m = getattr(mt.nn, name)(3, 5, **kw)
    assert list(m.state_dict()) == list(t.state_dict())
    x = randn(torch, 2, 4, 3) if kw.get("batch_first") else randn(torch, 4, 2, 3)
    check_module(t, m, x, rtol=1e-5, atol=1e-5)
    _check_with_state(torch, t, m, x, *_grad_states(torch, name, kw, 2))


def _grad_states(torch, name, kw, batch):
    """The same initial state(s) as torch and mbtorch leaves that require grad."""
    h0 = _state(torch, name, kw, batch)
    h0 = h0 if isinstance(h0, tuple) else (h0,)
    t_h0 = tuple(h.requires_grad_() for h in h0)
    m_h0 = tuple(to_mt(h) for h in t_h0)
    return (t_h0, m_h0) if name == "LSTM" else (t_h0[0], m_h0[0])


def _check_with_state(torch, t, m, x, h0, mh0):
    """Given initial states: outputs and the gradient with respect to them."""
    for p in list(t.parameters()) + list(m.parameters()):
        p.grad = None
    t_out, t_h = t(x, h0)
    m_out, m_h = m(to_mt(x), mh0)
    t_parts = [t_out] + (list(t_h) if isinstance(t_h, tuple) else [t_h])
    m_parts = [m_out] + (list(m_h) if isinstance(m_h, tuple) else [m_h])
    for i, (a, b) in enumerate(zip(m_parts, t_parts)):
        close(a, b, 1e-5, 1e-5, f"output {i}")
    t_loss = sum((p * (i + 1)).sum() for i, p in enumerate(t_parts))
    m_loss = sum((p * (i + 1)).sum() for i, p in enumerate(m_parts))
    t_loss.backward()
    m_loss.backward()
    t_states = h0 if isinstance(h0, tuple) else (h0,)
    m_states = mh0 if isinstance(mh0, tuple) else (mh0,)
    for i, (a, b) in enumerate(zip(m_states, t_states)):
        close(a.grad, b.grad, 1e-5, 1e-5, f"grad of initial state {i}")
    for (name, tp), mp in zip(t.named_parameters(), m.parameters()):
        close(mp.grad, tp.grad, 1e-5, 1e-5, f"grad of {name}")


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_recurrent_unbatched_and_relu(name):
    torch = pytest.importorskip("torch")
    kw = {"nonlinearity": "relu"} if name == "RNN" else {}
    t = getattr(torch.nn, name)(3, 5, num_layers=2, **kw)
    m = getattr(mt.nn, name)(3, 5, num_layers=2, **kw)
    check_module(t, m, randn(torch, 6, 3), rtol=1e-5, atol=1e-5)
    _check_with_state(torch, t, m, randn(torch, 6, 3),
                      *_grad_states(torch, name, {"num_layers": 2}, None))


def test_recurrent_errors():
    lstm = mt.nn.LSTM(3, 5)
    with pytest.raises(RuntimeError, match="input_size"):
        lstm(mt.randn(4, 2, 4))
    with pytest.raises(RuntimeError, match="hidden size"):
        lstm(mt.randn(4, 2, 3), (mt.zeros(1, 3, 5), mt.zeros(1, 3, 5)))
    with pytest.raises(ValueError, match="nonlinearity"):
        mt.nn.RNN(3, 5, nonlinearity="sigmoid")


def test_transformer_eval_disables_dropout():
    torch = pytest.importorskip("torch")
    kw = dict(dim_feedforward=16, dropout=0.3, batch_first=True)
    t = torch.nn.TransformerEncoderLayer(8, 2, **kw).eval()
    m = mt.nn.TransformerEncoderLayer(8, 2, **kw).eval()
    copy_state(t, m)
    x = randn(torch, 2, 5, 8)
    with torch.no_grad():  # torch's fused inference path: a reference written independently
        expected = t(x)
    with mt.no_grad():
        close(m(to_mt(x)), expected, 1e-4, 1e-5)
        close(m(to_mt(x)), m(to_mt(x)), 0, 0)  # deterministic: no dropout


def test_lstm_float64():
    torch = pytest.importorskip("torch")
    t = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True).double()
    m = mt.nn.LSTM(3, 4, num_layers=2, bidirectional=True).double()
    check_module(t, m, randn(torch, 5, 2, 3, dtype=torch.float64))
