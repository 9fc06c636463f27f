"""``affine_grid``/``grid_sample``, ``pdist``, ``gumbel_softmax``, the in-place activation
aliases, and the coverage of ``torch.nn.functional`` by ``mbtorch.nn.functional``."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import mbtorch as mt
from tests.nn._compare import close, randn, to_mt

torch = pytest.importorskip("torch")
TF, MF = torch.nn.functional, mt.nn.functional


@pytest.mark.parametrize("align", [False, True])
@pytest.mark.parametrize("size", [(2, 3, 4, 5), (2, 1, 3, 4, 2)])
def test_affine_grid(align, size):
    n = len(size) - 2
    theta = randn(torch, 2, n, n + 1, dtype=torch.float64).requires_grad_()
    mtheta = to_mt(theta)
    got = MF.affine_grid(mtheta, size, align_corners=align)
    want = TF.affine_grid(theta, size, align_corners=align)
    close(got, want, 1e-12, 1e-12)
    w = randn(torch, *want.shape, dtype=torch.float64, seed=1)
    (want * w).sum().backward()
    (got * to_mt(w)).sum().backward()
    close(mtheta.grad, theta.grad, 1e-10, 1e-10, "grad of theta")


@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("align", [False, True])
def test_grid_sample(mode, padding_mode, align):
    x = randn(torch, 2, 3, 5, 6, dtype=torch.float64).requires_grad_()
    gen = np.random.default_rng(4)
    grid = torch.from_numpy(gen.random((2, 4, 7, 2)) * 2.6 - 1.3).requires_grad_()
    mx, mgrid = to_mt(x), to_mt(grid)
    want = TF.grid_sample(x, grid, mode=mode, padding_mode=padding_mode, align_corners=align)
    got = MF.grid_sample(mx, mgrid, mode=mode, padding_mode=padding_mode, align_corners=align)
    close(got, want, 1e-12, 1e-12)
    w = randn(torch, *want.shape, dtype=torch.float64, seed=2)
    (want * w).sum().backward()
    (got * to_mt(w)).sum().backward()
    close(mx.grad, x.grad, 1e-10, 1e-10, "grad of input")
    if mode == "bilinear":
        close(mgrid.grad, grid.grad, 1e-9, 1e-9, "grad of grid")
    else:  # nearest: PyTorch's grid gradient is all zeros
        assert mgrid.grad is None or not mgrid.grad.numpy().any()
        assert not grid.grad.numpy().any()


def test_spatial_transformer_roundtrip():
    """The identity affine grid samples the image back (the STN tutorial's building block)."""
    img = mt.randn(1, 2, 6, 5)
    theta = mt.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])
    out = MF.grid_sample(img, MF.affine_grid(theta, (1, 2, 6, 5), align_corners=False),
                         align_corners=False)
    close(out, torch.from_numpy(img.numpy()), 1e-6, 1e-6)


def test_sampling_errors():
    with pytest.raises(ValueError, match="Expected a batch of 2D affine matrices"):
        MF.affine_grid(mt.randn(1, 3, 3), (1, 1, 2, 2))
    with pytest.raises(ValueError, match="expected padding_mode to be"):
        MF.grid_sample(mt.randn(1, 1, 2, 2), mt.zeros(1, 1, 1, 2), padding_mode="wrap")
    with pytest.raises(NotImplementedError, match="only 4-D input"):
        MF.grid_sample(mt.randn(1, 1, 2, 2), mt.zeros(1, 1, 1, 2), mode="bicubic")


def test_pdist():
    a = randn(torch, 6, 4, dtype=torch.float64).requires_grad_()
    ma = to_mt(a)
    for p in (2.0, 1.0, 3.5):
        want, got = TF.pdist(a, p), MF.pdist(ma, p)
        close(got, want, 1e-12, 1e-12, f"p={p}")
        want.sum().backward()
        got.sum().backward()
        close(ma.grad, a.grad, 1e-10, 1e-10, f"grad p={p}")
    with pytest.raises(RuntimeError, match="pdist only supports 2D tensors"):
        MF.pdist(mt.randn(3))


def test_conv_tbc_and_assert_int_or_pair():
    x, w, b = (randn(torch, 7, 2, 3, dtype=torch.float64).requires_grad_(),
               randn(torch, 3, 3, 4, dtype=torch.float64, seed=1),
               randn(torch, 4, dtype=torch.float64, seed=2))
    mx = to_mt(x)
    for pad in (0, 1):
        want = TF.conv_tbc(x, w, b, pad)
        got = MF.conv_tbc(mx, to_mt(w), to_mt(b), pad)
        close(got, want, 1e-12, 1e-12, f"pad={pad}")
    want.sum().backward()
    got.sum().backward()
    close(mx.grad, x.grad, 1e-10, 1e-10, "grad")
    MF.assert_int_or_pair((1, 2), "kernel_size", "{} must be int or pair")
    with pytest.raises(AssertionError, match="kernel_size must be int or pair"):
        MF.assert_int_or_pair((1, 2, 3), "kernel_size", "{} must be int or pair")


def test_gumbel_softmax():
    mt.manual_seed(0)
    logits = mt.tensor([[1.0, 0.0, -1.0]]).expand(20000, 3)
    soft = MF.gumbel_softmax(logits, tau=0.5)
    np.testing.assert_allclose(soft.sum(-1).numpy(), np.ones(20000), rtol=1e-5)
    hard = MF.gumbel_softmax(logits, hard=True)
    counts = hard.sum(0).numpy() / 20000
    probs = np.exp([1.0, 0.0, -1.0]) / np.exp([1.0, 0.0, -1.0]).sum()
    np.testing.assert_allclose(counts, probs, atol=0.02)  # Gumbel-max samples the softmax
    assert set(np.unique(hard.numpy())) == {0.0, 1.0}
    leaf = mt.randn(4, 3, requires_grad=True)
    y = MF.gumbel_softmax(leaf, hard=True)
    (y * mt.arange(3.0)).sum().backward()  # straight-through: the soft sample's gradient
    assert leaf.grad is not None and leaf.grad.abs().sum().item() > 0


def test_inplace_activation_aliases():
    for name, args in (("elu_", ()), ("leaky_relu_", (0.2,)), ("hardtanh_", (-0.5, 0.5)),
                       ("threshold_", (0.1, 5.0)), ("celu_", (0.8,)), ("selu_", ()),
                       ("rrelu_", (0.1, 0.3, False))):
        x = randn(torch, 4, 5)
        mx = to_mt(x, False)
        out = getattr(MF, name)(mx, *args)
        assert out is mx
        close(mx, getattr(TF, name)(x.clone(), *args), 1e-6, 1e-6, name)


# not provided: the grouped and scaled (low-precision) matmul kernels
_NOT_PROVIDED = {"grouped_mm", "scaled_mm", "scaled_grouped_mm"}


def test_torch_functional_coverage():
    """Every public function of ``torch.nn.functional`` is in ``mbtorch.nn.functional`` but
    the few listed above (and torch's own dispatch helpers)."""
    helpers = ("has_torch_function", "handle_torch_function", "boolean_dispatch")
    public = [n for n, v in vars(TF).items()
              if not n.startswith("_") and callable(v) and not inspect.isclass(v)
              and not inspect.ismodule(v) and getattr(v, "__module__", "") != "typing"
              and not n.startswith(helpers)]
    assert len(public) > 120
    missing = sorted(n for n in public if not hasattr(MF, n) and n not in _NOT_PROVIDED)
    assert missing == []
