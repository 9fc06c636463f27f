"""``RNNCell``, ``LSTMCell``, ``GRUCell`` and ``flatten_parameters`` against PyTorch (weights
copied through the state dict; outputs, input/state and parameter gradients compared)."""

from __future__ import annotations

import pytest

import mbtorch as mt
from tests.nn._compare import check_module, close, randn, to_mt

torch = pytest.importorskip("torch")

CELLS = [("RNNCell", {}), ("RNNCell", {"nonlinearity": "relu"}), ("LSTMCell", {}),
         ("GRUCell", {})]


def _pair(name, *args, dtype=None, **kwargs):
    t, m = getattr(torch.nn, name)(*args, **kwargs), getattr(mt.nn, name)(*args, **kwargs)
    return (t.double(), m.double()) if dtype == "float64" else (t, m)


@pytest.mark.parametrize("name,kw", CELLS, ids=str)
@pytest.mark.parametrize("bias", [True, False])
def test_cell_with_state(name, kw, bias):
    t, m = _pair(name, 4, 3, bias=bias, **kw)
    assert list(m.state_dict()) == list(t.state_dict())
    x = randn(torch, 5, 4)
    if name == "LSTMCell":
        h, c = randn(torch, 5, 3, seed=1), randn(torch, 5, 3, seed=2)
        ht, ct = h.clone().requires_grad_(), c.clone().requires_grad_()
        hm, cm = to_mt(h, True), to_mt(c, True)
        check_module(t, m, x, kwargs={"hx": (ht, ct)}, mkwargs={"hx": (hm, cm)})
        close(hm.grad, ht.grad, 2e-5, 2e-5, "grad of h")
        close(cm.grad, ct.grad, 2e-5, 2e-5, "grad of c")
    else:
        check_module(t, m, x, randn(torch, 5, 3, seed=1))


@pytest.mark.parametrize("name,kw", CELLS, ids=str)
def test_cell_zero_state_unbatched_float64(name, kw):
    t, m = _pair(name, 4, 3, dtype="float64", **kw)
    check_module(t, m, randn(torch, 4, dtype=torch.float64))
    check_module(t, m, randn(torch, 2, 4, dtype=torch.float64, seed=3), copy=False)


def test_cell_loop_matches_lstm_layer():
    """Unrolling LSTMCell over a sequence equals the LSTM layer with the same weights."""
    cell, layer = mt.nn.LSTMCell(4, 3), mt.nn.LSTM(4, 3)
    with mt.no_grad():
        for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(layer, n + "_l0").copy_(getattr(cell, n))
    x = mt.randn(6, 2, 4)
    out, (h, c) = layer(x)
    hc = None
    for t in range(6):
        hc = cell(x[t], hc)
        close(hc[0], out[t], 1e-5, 1e-6, f"step {t}")
    close(hc[1], c[0], 1e-5, 1e-6, "final cell state")


def test_reprs_and_init_range():
    assert repr(mt.nn.RNNCell(4, 3, nonlinearity="relu")) == \
        repr(torch.nn.RNNCell(4, 3, nonlinearity="relu"))
    assert repr(mt.nn.GRUCell(4, 3, bias=False)) == repr(torch.nn.GRUCell(4, 3, bias=False))
    m = mt.nn.LSTMCell(4, 16)
    assert m.weight_ih.shape == (64, 4) and m.weight_hh.shape == (64, 16)
    assert float(m.weight_hh.abs().max()) <= 0.25  # U(-1/sqrt(16), 1/sqrt(16))


def test_flatten_parameters_is_a_noop():
    for cls in (mt.nn.LSTM, mt.nn.GRU, mt.nn.RNN):
        m = cls(3, 4, num_layers=2, bidirectional=True)
        before = {k: v.clone() for k, v in m.state_dict().items()}
        assert m.flatten_parameters() is None
        for k, v in m.state_dict().items():
            close(v, before[k], 0, 0, k)
        out, _ = m(mt.randn(5, 2, 3))
        assert out.shape == (5, 2, 8)
    lstm = mt.nn.LSTM(3, 4, num_layers=2)
    tl = torch.nn.LSTM(3, 4, num_layers=2)
    assert lstm._flat_weights_names == tl._flat_weights_names
    assert [[tuple(w.shape) for w in ws] for ws in lstm.all_weights] == \
        [[tuple(w.shape) for w in ws] for ws in tl.all_weights]


def test_errors():
    cell = mt.nn.GRUCell(4, 3)
    with pytest.raises(ValueError, match="GRUCell: Expected input to be 1D or 2D, got 3D"):
        cell(mt.randn(2, 2, 4))
    with pytest.raises(ValueError, match="Expected hidden to be 1D or 2D, got 3D"):
        cell(mt.randn(2, 4), mt.randn(1, 2, 3))
    with pytest.raises(RuntimeError, match="input has inconsistent input_size: got 5"):
        cell(mt.randn(2, 5))
    with pytest.raises(RuntimeError, match="Expected hidden size"):
        mt.nn.LSTMCell(4, 3)(mt.randn(2, 4), (mt.randn(2, 5), mt.randn(2, 3)))
    with pytest.raises(ValueError, match=r"LSTMCell: Expected hx\[1\] to be 1D or 2D"):
        mt.nn.LSTMCell(4, 3)(mt.randn(2, 4), (mt.randn(2, 3), mt.randn(1, 2, 3)))
    with pytest.raises(ValueError, match="Unknown nonlinearity: sigmoid"):
        mt.nn.RNNCell(4, 3, nonlinearity="sigmoid")


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("kw", [dict(proj_size=3),
                                dict(proj_size=2, num_layers=2, bidirectional=True,
                                     batch_first=True),
                                dict(proj_size=3, bias=False)], ids=str)
def test_lstm_with_projections(kw):
    t, m = torch.nn.LSTM(4, 5, **kw), mt.nn.LSTM(4, 5, **kw)
    assert list(m.state_dict()) == list(t.state_dict()) and repr(m) == repr(t)
    check_module(t, m, randn(torch, 6, 3, 4), rtol=1e-4, atol=1e-5)
    check_module(t, m, randn(torch, 6, 4, seed=1), rtol=1e-4, atol=1e-5, copy=False)
    dirs = 2 if kw.get("bidirectional") else 1
    layers = kw.get("num_layers", 1)
    h0 = randn(torch, layers * dirs, 3, kw["proj_size"], seed=2)
    c0 = randn(torch, layers * dirs, 3, 5, seed=3)
    x = randn(torch, *((3, 6, 4) if kw.get("batch_first") else (6, 3, 4)), seed=4)
    out_t, (h_t, c_t) = t(x, (h0, c0))
    out_m, (h_m, c_m) = m(to_mt(x), (to_mt(h0), to_mt(c0)))
    for got, want in ((out_m, out_t), (h_m, h_t), (c_m, c_t)):
        close(got, want, 1e-4, 1e-5)
    with pytest.raises(RuntimeError, match="Expected hidden size"):
        m(to_mt(x), (to_mt(c0), to_mt(c0)))


def test_proj_size_errors():
    with pytest.raises(ValueError, match="proj_size has to be smaller than hidden_size"):
        mt.nn.LSTM(4, 3, proj_size=3)
    with pytest.raises(ValueError, match="only supported for LSTM"):
        mt.nn.GRU(4, 3, proj_size=1)
    with pytest.raises(ValueError, match="positive integer or zero"):
        mt.nn.LSTM(4, 3, proj_size=-1)
