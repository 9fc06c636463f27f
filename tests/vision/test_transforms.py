"""The transform classes of mbtorch.vision.transforms: documented torchvision facts (sizes,
offsets, parameter ranges), seeded reproducibility and the bounds of the random draws, error
paths, and that the old spelling mbtorch.data.transforms is the same objects."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest

import mbtorch as mt
from mbtorch.vision import transforms as T
from mbtorch.vision.transforms import functional as F

Image = pytest.importorskip("PIL.Image")

RNG = np.random.default_rng(7)


def _img(c=3, h=20, w=30):
    return mt.tensor(RNG.integers(0, 256, (c, h, w), dtype=np.uint8))


def test_old_spelling_is_the_same_objects():
    from mbtorch.data import transforms as old

    for name in old.__all__:
        assert getattr(old, name) is getattr(T, name, None) or getattr(old, name) is getattr(
            F, name)


def test_resize_class_sizes_and_repr():
    assert tuple(T.Resize(10)(_img(h=20, w=30)).shape) == (3, 10, 15)
    assert tuple(T.Resize(10, max_size=12)(_img(h=20, w=30)).shape) == (3, 8, 12)
    assert tuple(T.Resize((7, 9))(_img()).shape) == (3, 7, 9)
    assert T.Resize(10)(Image.new("RGB", (30, 20))).size == (15, 10)
    assert T.Resize(4, interpolation=3).interpolation is T.InterpolationMode.BICUBIC
    assert repr(T.Resize(4)) == ("Resize(size=4, interpolation=bilinear, max_size=None, "
                                 "antialias=True)")
    with pytest.raises(TypeError, match="Resize: Size should be int or sequence"):
        T.Resize("4")
    with pytest.raises(ValueError, match="If size is a sequence, it should have 1 or 2 values"):
        T.Resize((1, 2, 3))
    with pytest.raises(TypeError, match="Resize.*Argument interpolation should be"):
        T.Resize(4, interpolation="nearest")


def test_center_crop_pad_lambda_compose():
    x = _img(h=9, w=11)
    out = T.CenterCrop(4)(x)
    assert np.array_equal(out.numpy(), x.numpy()[:, 2:6, 4:8])   # round(2.5)=2, round(3.5)=4
    assert repr(T.CenterCrop(4)) == "CenterCrop(size=(4, 4))"
    with pytest.raises(ValueError, match="CenterCrop: Please provide only two dimensions"):
        T.CenterCrop((1, 2, 3))
    padded = T.Pad((1, 2), fill=5)(x)
    assert tuple(padded.shape) == (3, 13, 13) and padded.numpy()[0, 0, 0] == 5
    assert repr(T.Pad(1)) == "Pad(padding=1, fill=0, padding_mode=constant)"
    with pytest.raises(ValueError, match="Pad: Padding mode should be either"):
        T.Pad(1, padding_mode="wrap")
    with pytest.raises(ValueError, match="Pad: Padding must be an int or a 1, 2, or 4"):
        T.Pad((1, 2, 3))
    with pytest.raises(TypeError, match="Pad: Got inappropriate padding arg"):
        T.Pad("1")
    pipeline = T.Compose([T.CenterCrop(4), T.Lambda(lambda t: t.flip(-1))])
    assert np.array_equal(pipeline(x).numpy(), out.numpy()[..., ::-1])
    assert "CenterCrop(size=(4, 4))" in repr(pipeline) and "Lambda()" in repr(pipeline)
    with pytest.raises(TypeError, match="Lambda: Argument lambd should be callable"):
        T.Lambda(3)


def test_conversion_classes():
    pic = Image.fromarray(RNG.integers(0, 256, (4, 5, 3), dtype=np.uint8))
    assert T.PILToTensor()(pic).dtype is mt.uint8
    t = T.ToTensor()(pic)
    assert t.dtype is mt.float32 and tuple(t.shape) == (3, 4, 5) and float(t.max()) <= 1.0
    assert T.ConvertImageDtype(mt.float64)(T.PILToTensor()(pic)).dtype is mt.float64
    back = T.ToPILImage()(T.PILToTensor()(pic))
    assert np.array_equal(np.asarray(back), np.asarray(pic))
    assert repr(T.ToPILImage(mode="RGB")) == "ToPILImage(mode=RGB)"


def test_normalize_class_errors_name_the_problem():
    x = mt.rand(3, 4, 4)
    with pytest.raises(RuntimeError, match="std has 2 values but the image has 3 channels"):
        T.Normalize((0.5, 0.5, 0.5), (0.2, 0.2))(x)
    with pytest.raises(ValueError, match="std evaluated to zero"):
        T.Normalize((0.5,), (0.0,))(x)
    assert repr(T.Normalize((0.5,), (0.2,))) == "Normalize(mean=(0.5,), std=(0.2,))"


def _run(seed, transform, img, n=20):
    mt.manual_seed(seed)
    return [transform(img) for _ in range(n)]


def _same(a, b):
    return all(np.array_equal(np.asarray(x.numpy() if isinstance(x, mt.Tensor) else x),
                              np.asarray(y.numpy() if isinstance(y, mt.Tensor) else y))
               for x, y in zip(a, b))


@pytest.mark.parametrize("flip, axis", [(T.RandomHorizontalFlip, -1), (T.RandomVerticalFlip, -2)])
def test_random_flips_are_seeded_and_fair(flip, axis):
    x = _img(1, 4, 4)
    a, b = _run(0, flip(), x, 60), _run(0, flip(), x, 60)
    assert _same(a, b)
    flipped = sum(np.array_equal(o.numpy(), np.flip(x.numpy(), axis)) for o in a)
    assert 15 < flipped < 45
    assert flip(0.0)(x) is x and np.array_equal(flip(1.0)(x).numpy(), np.flip(x.numpy(), axis))
    pic = Image.fromarray(x.numpy()[0])
    assert np.array_equal(np.asarray(flip(1.0)(pic)), np.flip(x.numpy()[0], axis))


def test_random_crop_params_bounds_and_seed():
    x = _img(h=10, w=12)
    mt.manual_seed(3)
    params = [T.RandomCrop.get_params(x, (4, 5)) for _ in range(200)]
    tops, lefts = {p[0] for p in params}, {p[1] for p in params}
    assert tops == set(range(7)) and lefts == set(range(8))
    assert T.RandomCrop.get_params(x, (10, 12)) == (0, 0, 10, 12)
    assert _same(_run(1, T.RandomCrop(6), x), _run(1, T.RandomCrop(6), x))
    out = T.RandomCrop(14, pad_if_needed=True, fill=255)(x)   # pads 2 (and 4) on both sides
    assert tuple(out.shape) == (3, 14, 14)
    with pytest.raises(ValueError, match=r"Required crop size \(11, 11\) is larger than input "
                                         r"image size \(10, 12\)"):
        T.RandomCrop(11)(x)


def test_random_resized_crop_params_bounds():
    x = _img(h=40, w=60)
    scale, ratio = (0.2, 0.6), (0.5, 2.0)
    mt.manual_seed(5)
    for _ in range(200):
        i, j, h, w = T.RandomResizedCrop.get_params(x, scale, ratio)
        assert 0 <= i <= 40 - h and 0 <= j <= 60 - w
        # w and h are rounded from sqrt(area * r), sqrt(area / r): allow one pixel each way
        assert scale[0] * 2400 <= (h + 1) * (w + 1) and (h - 1) * (w - 1) <= scale[1] * 2400
        assert ratio[0] <= (w + 1) / max(h - 1, 1) and (w - 1) / (h + 1) <= ratio[1]
    mt.manual_seed(5)
    first = [T.RandomResizedCrop.get_params(x, scale, ratio) for _ in range(5)]
    mt.manual_seed(5)
    assert first == [T.RandomResizedCrop.get_params(x, scale, ratio) for _ in range(5)]


def test_random_resized_crop_fallback_is_central_crop():
    tall = _img(h=100, w=10)   # in_ratio 0.1 < 3/4: w = 10, h = round(10 / 0.75) = 13
    assert T.RandomResizedCrop.get_params(tall, (0.9, 1.0), (0.75, 4 / 3)) == (43, 0, 13, 10)
    wide = _img(h=10, w=100)   # in_ratio 10 > 4/3: h = 10, w = round(10 * 4/3) = 13
    assert T.RandomResizedCrop.get_params(wide, (0.9, 1.0), (0.75, 4 / 3)) == (0, 43, 10, 13)
    square = _img(h=10, w=10)  # an area of 2-3 images never fits: the whole image
    assert T.RandomResizedCrop.get_params(square, (2.0, 3.0), (0.75, 4 / 3)) == (0, 0, 10, 10)


def test_random_resized_crop_class():
    rrc = T.RandomResizedCrop(8, interpolation=T.InterpolationMode.BICUBIC)
    assert tuple(rrc(_img()).shape) == (3, 8, 8)
    assert rrc(Image.new("RGB", (30, 20))).size == (8, 8)
    x = _img()
    assert _same(_run(2, rrc, x, 5), _run(2, rrc, x, 5))
    assert repr(T.RandomResizedCrop(8)) == ("RandomResizedCrop(size=(8, 8), scale=(0.08, 1.0), "
                                            "ratio=(0.75, 1.3333), interpolation=bilinear, "
                                            "antialias=True)")
    with pytest.warns(UserWarning, match="Scale and ratio should be of kind"):
        T.RandomResizedCrop(8, scale=(1.0, 0.5))
    with pytest.raises(TypeError, match="RandomResizedCrop: Scale should be a sequence"):
        T.RandomResizedCrop(8, scale=0.5)


def test_color_jitter_ranges_and_validation():
    cj = T.ColorJitter(brightness=0.5, contrast=2, saturation=(0.2, 0.4), hue=0.1)
    assert cj.brightness == (0.5, 1.5) and cj.contrast == (0.0, 3.0)
    assert cj.saturation == (0.2, 0.4) and cj.hue == (-0.1, 0.1)
    assert T.ColorJitter().brightness is None and T.ColorJitter(hue=(0, 0)).hue is None
    assert repr(T.ColorJitter(0.5)) == ("ColorJitter(brightness=(0.5, 1.5), contrast=None, "
                                        "saturation=None, hue=None)")
    with pytest.raises(ValueError, match="If brightness is a single number, it must be non neg"):
        T.ColorJitter(brightness=-0.1)
    with pytest.raises(ValueError, match=r"hue values should be between \(-0.5, 0.5\)"):
        T.ColorJitter(hue=0.6)
    with pytest.raises(ValueError, match="contrast values should be between"):
        T.ColorJitter(contrast=(1.5, 0.5))
    with pytest.raises(TypeError, match="saturation should be a single number or a list/tuple"):
        T.ColorJitter(saturation=(1, 2, 3))


def test_color_jitter_params_bounds_and_order():
    ranges = ((0.5, 1.5), (0.0, 3.0), (0.2, 0.4), (-0.1, 0.1))
    mt.manual_seed(11)
    orders = set()
    for _ in range(100):
        fn_idx, *factors = T.ColorJitter.get_params(*ranges)
        assert sorted(fn_idx.tolist()) == [0, 1, 2, 3]
        orders.add(tuple(fn_idx.tolist()))
        for f, (lo, hi) in zip(factors, ranges):
            assert lo <= f <= hi
    assert len(orders) > 10
    assert T.ColorJitter.get_params(None, None, None, None)[1:] == (None, None, None, None)


def test_color_jitter_applies_its_params_in_order():
    cj = T.ColorJitter(0.4, 0.4, 0.4, 0.1)
    x = mt.rand(3, 6, 7)
    mt.manual_seed(4)
    out = cj(x)
    mt.manual_seed(4)
    fn_idx, b, c, s, h = cj.get_params(cj.brightness, cj.contrast, cj.saturation, cj.hue)
    fns = {0: (F.adjust_brightness, b), 1: (F.adjust_contrast, c),
           2: (F.adjust_saturation, s), 3: (F.adjust_hue, h)}
    expected = x
    for i in fn_idx.tolist():
        fn, factor = fns[i]
        expected = fn(expected, factor)
    np.testing.assert_array_equal(out.numpy(), expected.numpy())
    pic = Image.fromarray(RNG.integers(0, 256, (6, 7, 3), dtype=np.uint8))
    assert cj(pic).size == (7, 6)


def test_random_apply_and_grayscale():
    x = _img(h=4, w=4)
    plus = T.Lambda(lambda t: t + 1)
    assert T.RandomApply([plus], p=0.0)(x) is x
    assert np.array_equal(T.RandomApply([plus, plus], p=1.0)(x).numpy(), x.numpy() + 2)
    mt.manual_seed(0)
    hits = sum(T.RandomApply([plus], p=0.3)(x) is not x for _ in range(200))
    assert 30 < hits < 90
    assert repr(T.RandomApply([plus], p=0.3)) == "RandomApply(\n    p=0.3\n    Lambda()\n)"
    gray = T.Grayscale(3)(x)
    assert tuple(gray.shape) == (3, 4, 4) and np.array_equal(gray.numpy()[0], gray.numpy()[1])
    assert tuple(T.Grayscale()(x).shape) == (1, 4, 4)
    assert tuple(T.RandomGrayscale(1.0)(x).shape) == (3, 4, 4)
    assert T.RandomGrayscale(0.0)(x) is x


def test_pipeline_pickles_for_dataloader_workers():
    pipeline = T.Compose([T.RandomResizedCrop(8), T.RandomHorizontalFlip(),
                          T.ColorJitter(0.2, 0.2), T.ToTensor(), T.Normalize((0.5,) * 3,
                                                                             (0.5,) * 3)])
    again = pickle.loads(pickle.dumps(pipeline))
    pic = Image.fromarray(RNG.integers(0, 256, (12, 16, 3), dtype=np.uint8))
    mt.manual_seed(9)
    a = pipeline(pic)
    mt.manual_seed(9)
    b = again(pic)
    assert tuple(a.shape) == (3, 8, 8) and np.array_equal(a.numpy(), b.numpy())
    assert math.isfinite(float(a.abs().max()))
