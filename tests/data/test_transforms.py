"""Transforms: values against NumPy (and torch's arithmetic), randomness through manual_seed."""

from __future__ import annotations

import numpy as np
import pytest

import mbtorch
from mbtorch.data import transforms as T

RNG = np.random.default_rng(1)


def test_to_tensor_hw_and_hwc_uint8():
    gray = RNG.integers(0, 256, (5, 4), dtype=np.uint8)
    t = T.ToTensor()(gray)
    assert t.shape == (1, 5, 4) and t.dtype is mbtorch.float32
    np.testing.assert_allclose(t.numpy()[0], gray / 255, rtol=1e-6)
    rgb = RNG.integers(0, 256, (5, 4, 3), dtype=np.uint8)
    np.testing.assert_allclose(T.ToTensor()(rgb).numpy(), rgb.transpose(2, 0, 1) / 255,
                               rtol=1e-6)


def test_to_tensor_matches_torch_arithmetic(torch_or_skip):
    torch = torch_or_skip
    rgb = RNG.integers(0, 256, (3, 2, 3), dtype=np.uint8)
    expected = torch.from_numpy(rgb).permute(2, 0, 1).contiguous().float().div(255)
    np.testing.assert_array_equal(T.ToTensor()(rgb).numpy(), expected.numpy())


def test_to_tensor_keeps_other_dtypes_and_reads_pil():
    f = np.ones((2, 2), np.float64) * 3
    out = T.ToTensor()(f)
    assert out.dtype is mbtorch.float64 and out.numpy().max() == 3
    pil = pytest.importorskip("PIL.Image")
    img = pil.fromarray(np.full((2, 3), 255, np.uint8))
    assert T.ToTensor()(img).numpy().tolist() == [[[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]]


def test_to_tensor_errors():
    with pytest.raises(TypeError, match="pic should be PIL Image or ndarray"):
        T.ToTensor()([1, 2])
    with pytest.raises(ValueError, match="pic should be 2/3 dimensional. Got 1 dimensions."):
        T.ToTensor()(np.zeros(3, np.uint8))


def test_normalize():
    x = mbtorch.tensor(RNG.random((2, 3, 3)).astype(np.float32))
    out = T.Normalize((0.5, 0.25), (0.5, 2.0))(x)
    mean = np.array([0.5, 0.25])[:, None, None]
    std = np.array([0.5, 2.0])[:, None, None]
    np.testing.assert_allclose(out.numpy(), (x.numpy() - mean) / std, rtol=1e-6)
    same = T.Normalize((0.5, 0.25), (0.5, 2.0), inplace=True)(x)
    assert same is x
    np.testing.assert_allclose(x.numpy(), out.numpy())


def test_normalize_errors():
    with pytest.raises(TypeError, match="Input tensor should be a float tensor"):
        T.Normalize((0,), (1,))(mbtorch.zeros(1, 2, 2, dtype=mbtorch.uint8))
    with pytest.raises(ValueError, match="Expected tensor to be a tensor image of size"):
        T.Normalize((0,), (1,))(mbtorch.zeros(2, 2))
    with pytest.raises(ValueError, match="std evaluated to zero"):
        T.Normalize((0,), (0,))(mbtorch.zeros(1, 2, 2))
    with pytest.raises(TypeError, match="img should be Tensor Image"):
        T.Normalize((0,), (1,))(np.zeros((1, 2, 2)))


def test_horizontal_flip():
    img = np.arange(6, dtype=np.uint8).reshape(2, 3)
    np.testing.assert_array_equal(T.RandomHorizontalFlip(1.0)(img), img[:, ::-1])
    assert T.RandomHorizontalFlip(0.0)(img) is img
    t = mbtorch.tensor(img).unsqueeze(0)
    np.testing.assert_array_equal(T.RandomHorizontalFlip(1.0)(t).numpy(), img[None, :, ::-1])


def _flips(seed):
    mbtorch.manual_seed(seed)
    img = np.arange(2, dtype=np.uint8).reshape(1, 2)
    return [int(T.RandomHorizontalFlip()(img)[0, 0]) for _ in range(40)]


def test_random_transforms_follow_manual_seed():
    a = _flips(0)
    assert a == _flips(0) and 5 < sum(a) < 35


def _is_window(big, small):
    h, w = small.shape[-2:]
    return any(np.array_equal(big[..., i:i + h, j:j + w], small)
               for i in range(big.shape[-2] - h + 1) for j in range(big.shape[-1] - w + 1))


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "symmetric"])
def test_random_crop_with_padding_tensor_and_array(mode):
    img = RNG.integers(0, 256, (4, 5), dtype=np.uint8)
    np_mode = {"constant": "constant"}.get(mode, mode)
    padded = np.pad(img, 2, mode=np_mode) if mode != "constant" else np.pad(
        img, 2, constant_values=7)
    crop = T.RandomCrop((4, 3), padding=2, fill=7, padding_mode=mode)
    mbtorch.manual_seed(0)
    for _ in range(5):
        out_a = crop(img)
        assert out_a.shape == (4, 3) and _is_window(padded, out_a)
        out_t = crop(mbtorch.tensor(img).unsqueeze(0))
        assert out_t.shape == (1, 4, 3) and _is_window(padded[None], out_t.numpy())


def test_random_crop_pads_if_needed_and_checks_size():
    img = np.ones((2, 2), np.uint8)
    out = T.RandomCrop(4, pad_if_needed=True)(img)
    assert out.shape == (4, 4) and out.sum() == 4
    with pytest.raises(ValueError, match=r"Required crop size \(3, 3\) is larger than input "
                                         r"image size \(2, 2\)"):
        T.RandomCrop(3)(img)
    with pytest.raises(ValueError, match="Padding mode should be either"):
        T.RandomCrop(2, padding=1, padding_mode="wrap")(img)


def test_compose_and_lambda():
    pipeline = T.Compose([T.ToTensor(), T.Lambda(lambda t: t.mul(2))])
    out = pipeline(np.full((1, 1), 255, np.uint8))
    assert out.tolist() == [[[2.0]]]
    assert "ToTensor()" in repr(pipeline) and "Lambda()" in repr(pipeline)
    with pytest.raises(TypeError, match="Argument lambd should be callable"):
        T.Lambda(3)
