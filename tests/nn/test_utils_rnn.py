"""``nn.utils.rnn`` (packing and padding variable-length sequences) and the recurrent layers on
``PackedSequence`` input, against PyTorch: layouts, values, gradients, errors."""

from __future__ import annotations

import pytest

import mbtorch as mt
from tests.nn._compare import check_module, close, randn, to_mt

torch = pytest.importorskip("torch")
tr = pytest.importorskip("torch.nn.utils.rnn")
mr = mt.nn.utils.rnn


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("lengths,enforce", [([5, 3, 2], True), ([3, 5, 1, 4], False)])
def test_pack_and_pad_roundtrip(batch_first, lengths, enforce):
    b, t = len(lengths), 6
    x = randn(torch, *((b, t, 2) if batch_first else (t, b, 2)))
    tp = tr.pack_padded_sequence(x, lengths, batch_first=batch_first, enforce_sorted=enforce)
    mp = mr.pack_padded_sequence(to_mt(x), mt.tensor(lengths), batch_first=batch_first,
                                 enforce_sorted=enforce)
    assert isinstance(mp, mr.PackedSequence)
    close(mp.data, tp.data, 0, 0, "data")
    close(mp.batch_sizes, tp.batch_sizes, 0, 0, "batch_sizes")
    for field in ("sorted_indices", "unsorted_indices"):
        if getattr(tp, field) is None:
            assert getattr(mp, field) is None
        else:
            close(getattr(mp, field), getattr(tp, field), 0, 0, field)
    for kw in ({}, {"padding_value": -1.5, "total_length": 7}):
        tpad, tlen = tr.pad_packed_sequence(tp, batch_first=batch_first, **kw)
        mpad, mlen = mr.pad_packed_sequence(mp, batch_first=batch_first, **kw)
        close(mpad, tpad, 0, 0, "padded")
        close(mlen, tlen, 0, 0, "lengths")


def test_pack_pad_gradient():
    x = randn(torch, 5, 3, 2, dtype=torch.float64)

    class T(torch.nn.Module):
        def forward(self, v):
            p = tr.pack_padded_sequence(v * 2, [3, 5, 2], enforce_sorted=False)
            return tr.pad_packed_sequence(p, padding_value=4.0)[0]

    class M(mt.nn.Module):
        def forward(self, v):
            p = mr.pack_padded_sequence(v * 2, [3, 5, 2], enforce_sorted=False)
            return mr.pad_packed_sequence(p, padding_value=4.0)[0]

    check_module(T(), M(), x, copy=False)


def test_pad_sequence_and_friends():
    seqs = [randn(torch, n, 3, seed=n) for n in (2, 4, 1)]
    mseqs = [to_mt(s) for s in seqs]
    for kw in ({}, {"batch_first": True, "padding_value": 9.0}, {"padding_side": "left"}):
        close(mr.pad_sequence(mseqs, **kw), tr.pad_sequence(seqs, **kw), 0, 0, str(kw))
    tp = tr.pack_sequence(seqs, enforce_sorted=False)
    mp = mr.pack_sequence(mseqs, enforce_sorted=False)
    close(mp.data, tp.data, 0, 0, "pack_sequence")
    for got, want in zip(mr.unpack_sequence(mp), tr.unpack_sequence(tp)):
        close(got, want, 0, 0, "unpack_sequence")
    padded = tr.pad_sequence(seqs, batch_first=True)
    for got, want in zip(mr.unpad_sequence(to_mt(padded), mt.tensor([2, 4, 1]), True),
                         tr.unpad_sequence(padded, torch.tensor([2, 4, 1]), True)):
        close(got, want, 0, 0, "unpad_sequence")


@pytest.mark.parametrize("cls", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("with_state", [False, True])
def test_recurrent_layers_on_packed_input(cls, bidirectional, with_state):
    lengths = [4, 6, 1, 3]
    kw = dict(num_layers=2, bidirectional=bidirectional, batch_first=True)
    t, m = getattr(torch.nn, cls)(3, 5, **kw), getattr(mt.nn, cls)(3, 5, **kw)
    n_states = 4 if bidirectional else 2
    h0 = randn(torch, n_states, 4, 5, seed=7)

    def make(nn, pack, pad):
        class Wrap(nn.Module):
            def __init__(self, rnn):
                super().__init__()
                self.rnn = rnn

            def forward(self, x, h=None):
                packed = pack(x, lengths, batch_first=True, enforce_sorted=False)
                hx = None if h is None else ((h, h * 0.5) if cls == "LSTM" else h)
                out, state = self.rnn(packed, hx)
                padded, _ = pad(out, batch_first=True)
                return padded, state
        return Wrap

    tw = make(torch.nn, tr.pack_padded_sequence, tr.pad_packed_sequence)(t)
    mw = make(mt.nn, mr.pack_padded_sequence, mr.pad_packed_sequence)(m)
    x = randn(torch, 4, 6, 3)
    check_module(tw, mw, *((x, h0) if with_state else (x,)), rtol=1e-4, atol=1e-5)


def test_packed_output_keeps_layout():
    seqs = [mt.randn(n, 2) for n in (3, 1, 2)]
    packed = mr.pack_sequence(seqs, enforce_sorted=False)
    out, _ = mt.nn.GRU(2, 4)(packed)
    assert isinstance(out, mr.PackedSequence)
    assert out.batch_sizes.tolist() == packed.batch_sizes.tolist()
    assert out.sorted_indices.tolist() == packed.sorted_indices.tolist()
    assert out.data.shape == (6, 4)


def test_errors():
    x = mt.randn(4, 2, 3)
    with pytest.raises(RuntimeError, match="must be sorted in decreasing order"):
        mr.pack_padded_sequence(x, [2, 4])
    with pytest.raises(RuntimeError, match="has to be greater than 0"):
        mr.pack_padded_sequence(x, [4, 0])
    with pytest.raises(RuntimeError, match="Expected `len\\(lengths\\)` to be equal"):
        mr.pack_padded_sequence(x, [4, 3, 2])
    packed = mr.pack_padded_sequence(x, [4, 2])
    with pytest.raises(ValueError, match="Expected total_length to be at least"):
        mr.pad_packed_sequence(packed, total_length=3)
    with pytest.raises(ValueError, match="Expected padding_side to be one of left or right"):
        mr.pad_sequence([mt.ones(2)], padding_side="middle")
