"""``mbtorch.nn.functional`` helpers against PyTorch: pad, interpolate, one_hot, normalize,
scaled_dot_product_attention, unfold, embedding, dropout."""

from __future__ import annotations

import numpy as np
import pytest

import mbtorch as mt
import mbtorch.nn.functional as F
from tests.nn._compare import close, randn, to_mt


def compare_fn(torch, t_fn, m_fn, *inputs, rtol=2e-5, atol=2e-5):
    """Call ``t_fn`` on torch inputs and ``m_fn`` on mbtorch copies; compare the output and
    the gradients of every floating input under a random cotangent."""
    t_in = [x.detach().clone().requires_grad_(x.is_floating_point()) for x in inputs]
    m_in = [to_mt(x) for x in t_in]
    t_out, m_out = t_fn(*t_in), m_fn(*m_in)
    close(m_out, t_out, rtol, atol, "output")
    if not t_out.is_floating_point():
        return
    w = np.random.default_rng(5).standard_normal(tuple(t_out.shape)).astype(np.float32)
    (t_out * torch.from_numpy(w).to(t_out.dtype)).sum().backward()
    (m_out * mt.tensor(w).to(m_out.dtype)).sum().backward()
    for i, (m, t) in enumerate(zip(m_in, t_in)):
        if t.requires_grad:
            close(m.grad, t.grad, rtol, atol, f"grad of input {i}")


PADS = [((1, 2), "constant"), ((1, 2, 0, 3), "constant"), ((2, 1), "reflect"),
        ((1, 2, 2, 1), "reflect"), ((3, 0), "replicate"), ((1, 2, 3, 1), "replicate"),
        ((2, 1, 1, 2), "circular"), ((1, 1, 1, 1, 1, 1), "constant"), ((-1, 2), "constant")]


@pytest.mark.parametrize("pad,mode", PADS, ids=str)
def test_pad(pad, mode):
    torch = pytest.importorskip("torch")
    # torch pads k dims with a non-constant mode only for (k + 1)- or (k + 2)-D input
    shape = (2, 3, 4, 5) if mode == "constant" else (2, 3, 4, 5)[:len(pad) // 2 + 2]
    x = randn(torch, *shape)
    compare_fn(torch, lambda t: torch.nn.functional.pad(t, pad, mode),
               lambda m: F.pad(m, pad, mode), x)


def test_pad_value_and_errors():
    torch = pytest.importorskip("torch")
    x = randn(torch, 2, 3)
    close(F.pad(to_mt(x), (1, 1), value=2.5), torch.nn.functional.pad(x, (1, 1), value=2.5),
          0, 0)
    with pytest.raises(RuntimeError, match="divisible by 2"):
        F.pad(mt.zeros(2, 3), (1,))
    with pytest.raises(RuntimeError, match="Padding size should be less"):
        F.pad(mt.zeros(1, 2, 3), (3, 0), mode="reflect")


INTERP = [dict(size=7), dict(scale_factor=2.0), dict(scale_factor=0.5),
          dict(size=9, mode="linear"), dict(size=9, mode="linear", align_corners=True),
          dict(scale_factor=1.7, mode="linear")]


@pytest.mark.parametrize("kw", INTERP, ids=str)
def test_interpolate_1d(kw):
    torch = pytest.importorskip("torch")
    x = randn(torch, 2, 3, 6)
    compare_fn(torch, lambda t: torch.nn.functional.interpolate(t, **kw),
               lambda m: F.interpolate(m, **kw), x)


INTERP2 = [dict(size=(5, 8)), dict(scale_factor=(2, 3)), dict(size=(3, 2), mode="bilinear"),
           dict(size=(9, 11), mode="bilinear", align_corners=True),
           dict(scale_factor=1.5, mode="bilinear", align_corners=False),
           dict(scale_factor=2.5, mode="nearest", recompute_scale_factor=True)]


@pytest.mark.parametrize("kw", INTERP2, ids=str)
def test_interpolate_2d(kw):
    torch = pytest.importorskip("torch")
    x = randn(torch, 1, 2, 4, 5)
    compare_fn(torch, lambda t: torch.nn.functional.interpolate(t, **kw),
               lambda m: F.interpolate(m, **kw), x)


def test_interpolate_errors():
    with pytest.raises(ValueError, match="only one of size or scale_factor"):
        F.interpolate(mt.zeros(1, 1, 4), size=3, scale_factor=2)
    with pytest.raises(ValueError, match="align_corners"):
        F.interpolate(mt.zeros(1, 1, 4), size=3, align_corners=True)


def test_one_hot():
    torch = pytest.importorskip("torch")
    idx = torch.tensor([[0, 3], [2, 1]])
    for n in (-1, 5):
        expected = torch.nn.functional.one_hot(idx, n)
        got = F.one_hot(to_mt(idx), n)
        assert got.dtype is mt.int64
        close(got, expected, 0, 0)
    with pytest.raises(RuntimeError, match="smaller than num_classes"):
        F.one_hot(mt.tensor([0, 3]), 3)
    with pytest.raises(RuntimeError, match="LongTensor"):
        F.one_hot(mt.tensor([0.0, 1.0]))


@pytest.mark.parametrize("p,dim", [(2.0, 1), (1.0, 0), (3.0, -1), (float("inf"), 1)])
def test_normalize(p, dim):
    torch = pytest.importorskip("torch")
    x = randn(torch, 3, 4, 5)
    compare_fn(torch, lambda t: torch.nn.functional.normalize(t, p, dim),
               lambda m: F.normalize(m, p, dim), x)
    zero = torch.zeros(2, 3)  # eps keeps the zero vector finite
    close(F.normalize(to_mt(zero)), torch.nn.functional.normalize(zero), 0, 0)


SDPA = [dict(), dict(is_causal=True), dict(mask="bool"), dict(mask="float"),
        dict(mask="bool", scale=0.3), dict(is_causal=True, lk=7)]


@pytest.mark.parametrize("case", SDPA, ids=str)
def test_scaled_dot_product_attention(case):
    torch = pytest.importorskip("torch")
    lq, lk = 5, case.get("lk", 5)
    q, k, v = randn(torch, 2, 3, lq, 4), randn(torch, 2, 3, lk, 4, seed=1), randn(
        torch, 2, 3, lk, 6, seed=2)
    kw = {key: case[key] for key in ("is_causal", "scale") if key in case}
    mask = None
    if case.get("mask") == "bool":
        mask = torch.rand(lq, lk, generator=torch.Generator().manual_seed(0)) > 0.3
        mask[:, 0] = True
    elif case.get("mask") == "float":
        mask = randn(torch, 2, 1, lq, lk, seed=3)
    m_mask = None if mask is None else to_mt(mask)
    compare_fn(torch,
               lambda a, b, c: torch.nn.functional.scaled_dot_product_attention(
                   a, b, c, attn_mask=mask, **kw),
               lambda a, b, c: F.scaled_dot_product_attention(a, b, c, attn_mask=m_mask, **kw),
               q, k, v)


def test_scaled_dot_product_attention_mask_and_causal_conflict():
    q = mt.zeros(1, 2, 3)
    with pytest.raises(RuntimeError, match="is_causal"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=mt.ones(2, 2, dtype=mt.bool),
                                       is_causal=True)


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=(2, 3), stride=2),
                                dict(kernel_size=3, padding=1, dilation=2),
                                dict(kernel_size=(3, 2), padding=(1, 0), stride=(1, 2))],
                         ids=str)
def test_unfold(kw):
    torch = pytest.importorskip("torch")
    x = randn(torch, 2, 3, 6, 7)
    compare_fn(torch, lambda t: torch.nn.functional.unfold(t, **kw),
               lambda m: F.unfold(m, **kw), x)


@pytest.mark.parametrize("shape, kw", [
    ((2, 12, 12), dict(output_size=(4, 5), kernel_size=2)),
    ((1, 6, 9), dict(output_size=(5, 8), kernel_size=(3, 2), stride=(2, 3), padding=(1, 0))),
    ((8, 9), dict(output_size=(7, 7), kernel_size=2, dilation=2, stride=2)),
], ids=str)
def test_fold(shape, kw):
    torch = pytest.importorskip("torch")
    compare_fn(torch, lambda t: torch.nn.functional.fold(t, **kw),
               lambda m: F.fold(m, **kw), randn(torch, *shape))


def test_fold_errors_name_the_mismatch():
    with pytest.raises(RuntimeError, match="divisible by the product of kernel_size"):
        F.fold(mt.zeros(1, 5, 9), 4, 2)
    with pytest.raises(RuntimeError, match="calculated number of sliding blocks 3 \\* 3 = 9"):
        F.fold(mt.zeros(1, 4, 8), 4, 2)


def test_embedding_functional():
    torch = pytest.importorskip("torch")
    idx = torch.tensor([[1, 0, 3], [3, 3, 2]])
    w = randn(torch, 5, 4)
    for pad in (None, 3, -2):
        tw, mw = w.clone().requires_grad_(), to_mt(w, requires_grad=True)
        t_out = torch.nn.functional.embedding(idx, tw, padding_idx=pad)
        m_out = F.embedding(to_mt(idx), mw, padding_idx=pad)
        close(m_out, t_out, 0, 0)
        t_out.pow(2).sum().backward()
        m_out.pow(2).sum().backward()
        close(mw.grad, tw.grad, 1e-6, 1e-6, f"padding_idx={pad}")
    with pytest.raises(RuntimeError, match="indices"):
        F.embedding(mt.tensor([0.0]), mt.zeros(2, 2))


def test_dropout_functional():
    mt.manual_seed(1)
    x = mt.ones(100, 100)
    y = F.dropout(x, 0.3)
    frac_zero = float((y == 0).float().mean())
    assert abs(frac_zero - 0.3) < 0.025
    np.testing.assert_allclose(y.numpy()[y.numpy() != 0], 1 / 0.7, rtol=1e-6)
    assert np.array_equal(F.dropout(x, 0.3, training=False).numpy(), x.numpy())
    assert not F.dropout(x, 1.0).numpy().any()
    z = mt.ones(10, 10)
    out = F.dropout(z, 0.5, inplace=True)
    np.testing.assert_array_equal(z.numpy(), out.numpy())
    assert (z.numpy() == 0).any()
    mt.manual_seed(3)
    a = F.dropout(x, 0.5)
    mt.manual_seed(3)
    np.testing.assert_array_equal(F.dropout(x, 0.5).numpy(), a.numpy())
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.dropout(x, -0.1)
    ch = F.dropout2d(mt.ones(4, 50, 3, 3), 0.5)
    per_channel = ch.numpy().reshape(4, 50, 9)
    assert (per_channel.min(-1) == per_channel.max(-1)).all()  # whole channels dropped
