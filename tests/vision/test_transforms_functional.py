"""mbtorch.vision.transforms.functional against oracles: the tensor path against the same
computations written with torch ops (torch.nn.functional.interpolate with antialias, pad,
flip, torchvision's blend formulas) and colorsys for hue; the PIL path against Pillow's own
functions; conversions against NumPy and the documented torchvision facts."""

from __future__ import annotations

import colorsys

import numpy as np
import pytest

import mbtorch as mt
from mbtorch.vision.transforms import InterpolationMode as IM
from mbtorch.vision.transforms import functional as F

torch = pytest.importorskip("torch")
Image = pytest.importorskip("PIL.Image")
ImageEnhance = pytest.importorskip("PIL.ImageEnhance")

RNG = np.random.default_rng(21)


def _u8(*shape):
    return RNG.integers(0, 256, shape, dtype=np.uint8)


def _close(actual, expected, atol=1e-6):
    a = actual.numpy(force=True) if isinstance(actual, mt.Tensor) else np.asarray(actual)
    e = expected.numpy() if isinstance(expected, torch.Tensor) else np.asarray(expected)
    assert a.shape == e.shape, f"{a.shape} != {e.shape}"
    np.testing.assert_allclose(a.astype(np.float64), e.astype(np.float64), rtol=0, atol=atol)


# -- conversions ------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "LA", "P", "CMYK"])
def test_to_tensor_8bit_pil_modes_scale_to_unit_floats_chw(mode):
    arr = _u8(5, 7, 3)
    pic = Image.fromarray(arr).convert(mode)
    out = F.to_tensor(pic)
    expected = np.asarray(pic).reshape(5, 7, -1).transpose(2, 0, 1) / 255
    assert out.dtype is mt.float32 and tuple(out.shape) == (len(pic.getbands()), 5, 7)
    _close(out, expected)


def test_to_tensor_wide_pil_modes_keep_values_and_arrays():
    i32 = RNG.integers(-2**20, 2**20, (4, 6)).astype(np.int32)
    assert F.to_tensor(Image.fromarray(i32)).dtype is mt.int32
    _close(F.to_tensor(Image.fromarray(i32)), i32[None])
    u16 = RNG.integers(0, 30000, (4, 6)).astype(np.uint16)
    out = F.to_tensor(Image.fromarray(u16))          # mode I;16 -> int16, as torchvision
    assert out.dtype is mt.int16
    _close(out, u16[None].astype(np.int16))
    f32 = RNG.random((4, 6)).astype(np.float32) * 9
    assert F.to_tensor(Image.fromarray(f32)).dtype is mt.float32
    _close(F.to_tensor(Image.fromarray(f32)), f32[None])
    bits = Image.fromarray(_u8(4, 6) > 128)          # mode 1 -> 0.0 / 1.0
    _close(F.to_tensor(bits), (np.asarray(bits)[None]).astype(np.float32))
    hwc = _u8(3, 4, 2)
    _close(F.to_tensor(hwc), torch.from_numpy(hwc).permute(2, 0, 1).float().div(255))
    f64 = RNG.random((3, 4))
    out = F.to_tensor(f64)
    assert out.dtype is mt.float64 and tuple(out.shape) == (1, 3, 4)


def test_pil_to_tensor_keeps_dtype_and_values():
    arr = _u8(5, 7, 3)
    out = F.pil_to_tensor(Image.fromarray(arr))
    assert out.dtype is mt.uint8 and tuple(out.shape) == (3, 5, 7)
    _close(out, arr.transpose(2, 0, 1))
    gray = F.pil_to_tensor(Image.fromarray(arr[..., 0]))
    assert gray.dtype is mt.uint8 and tuple(gray.shape) == (1, 5, 7)
    with pytest.raises(TypeError, match=r"pil_to_tensor\(\): pic should be PIL Image"):
        F.pil_to_tensor(arr)


def test_to_pil_image_modes_and_scaling():
    chw = _u8(3, 4, 5)
    pic = F.to_pil_image(mt.tensor(chw))
    assert pic.mode == "RGB" and np.array_equal(np.asarray(pic), chw.transpose(1, 2, 0))
    x = RNG.random((1, 4, 5)).astype(np.float32)
    expected = torch.from_numpy(x).mul(255).byte()[0].numpy()   # torchvision's float -> L
    gray = F.to_pil_image(mt.tensor(x))
    assert gray.mode == "L" and np.array_equal(np.asarray(gray), expected)
    assert F.to_pil_image(mt.tensor(x), mode="F").mode == "F"
    assert F.to_pil_image(_u8(4, 5, 4)).mode == "RGBA"
    assert F.to_pil_image(_u8(4, 5, 2)).mode == "LA"
    assert F.to_pil_image(np.zeros((4, 5), np.int32)).mode == "I"
    i16 = RNG.integers(0, 30000, (4, 5)).astype(np.int16)
    back = F.to_tensor(F.to_pil_image(mt.tensor(i16)))
    _close(back, i16[None])
    with pytest.raises(ValueError, match=r"Incorrect mode \(RGB\) supplied for input type"):
        F.to_pil_image(_u8(4, 5), mode="RGB")
    with pytest.raises(ValueError, match="pic should not have > 4 channels. Got 5"):
        F.to_pil_image(mt.zeros(5, 2, 2))
    with pytest.raises(ValueError, match="Only modes"):
        F.to_pil_image(_u8(4, 5, 3), mode="RGBA")
    with pytest.raises(TypeError, match="Input type int64 is not supported"):
        F.to_pil_image(np.zeros((2, 2, 3), np.int64))
    with pytest.raises(TypeError, match=r"to_pil_image\(\): pic should be Tensor or ndarray"):
        F.to_pil_image([[0]])


def test_convert_image_dtype_matches_torchvision_arithmetic():
    u8 = _u8(2, 3, 4)
    t = torch.from_numpy(u8)
    _close(F.convert_image_dtype(mt.tensor(u8)), t.float() / 255)
    f = RNG.random((2, 3, 4)).astype(np.float32)
    out = F.convert_image_dtype(mt.tensor(f), mt.uint8)
    assert out.dtype is mt.uint8
    _close(out, torch.from_numpy(f).mul(255 + 1.0 - 1e-3).to(torch.uint8))
    assert F.convert_image_dtype(mt.tensor([[[1.0]]]), mt.uint8).item() == 255
    _close(F.convert_image_dtype(mt.tensor(u8), mt.int16), t.to(torch.int16) * 128)
    i16 = RNG.integers(0, 32767, (2, 3), dtype=np.int16)
    _close(F.convert_image_dtype(mt.tensor(i16), mt.uint8),
           torch.div(torch.from_numpy(i16), 128, rounding_mode="floor").to(torch.uint8))
    with pytest.raises(RuntimeError, match="cast from mbtorch.float32 to mbtorch.int32 cannot"):
        F.convert_image_dtype(mt.zeros(1, 2, 2), mt.int32)
    with pytest.raises(TypeError, match="Input img should be Tensor Image"):
        F.convert_image_dtype(u8)


def test_normalize_matches_torch_and_checks_arguments():
    x = RNG.random((2, 3, 4, 5)).astype(np.float32)
    mean, std = (0.1, 0.2, 0.3), (0.5, 0.25, 2.0)
    expected = (torch.from_numpy(x) - torch.tensor(mean).view(-1, 1, 1)) / torch.tensor(
        std).view(-1, 1, 1)
    _close(F.normalize(mt.tensor(x), mean, std), expected)
    with pytest.raises(RuntimeError, match=r"normalize\(\): mean has 2 values but the image"):
        F.normalize(mt.tensor(x), (0.1, 0.2), std)
    with pytest.raises(ValueError, match="std evaluated to zero after conversion"):
        F.normalize(mt.tensor(x), mean, (1.0, 0.0, 1.0))
    with pytest.raises(ValueError, match="std evaluated to zero"):   # 1e-50 is 0 in float32
        F.normalize(mt.tensor(x), mean, (1.0, 1e-50, 1.0))


# -- resize -----------------------------------------------------------------------------------

def _torch_resize(x, size, mode, antialias):
    kw = {"align_corners": False} if mode in ("bilinear", "bicubic") else {}
    return torch.nn.functional.interpolate(x, size=size, mode=mode, antialias=antialias, **kw)


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
@pytest.mark.parametrize("antialias", [True, False])
@pytest.mark.parametrize("size", [(13, 21), (60, 45), (9, 70)])
def test_tensor_resize_matches_torch_interpolate(mode, antialias, size):
    x = RNG.random((2, 3, 37, 53)).astype(np.float32)
    out = F.resize(mt.tensor(x), list(size), IM(mode), antialias=antialias)
    _close(out, _torch_resize(torch.from_numpy(x), size, mode, antialias),
           atol=2e-6 if antialias else 1e-4)


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
def test_uint8_tensor_resize_rounds_float_result(mode):
    x = _u8(3, 40, 30)
    out = F.resize(mt.tensor(x), [17, 23], IM(mode))
    ref = _torch_resize(torch.from_numpy(x)[None].float(), (17, 23), mode, True)[0]
    ref = ref.clamp(0, 255).round().to(torch.uint8)   # torchvision's _cast_squeeze_out
    assert out.dtype is mt.uint8
    diff = np.abs(out.numpy().astype(int) - ref.numpy().astype(int))
    assert diff.max() <= 1 and (diff > 0).mean() < 0.01  # only float ties may round apart


@pytest.mark.parametrize("mode", ["nearest", "nearest-exact"])
def test_tensor_resize_nearest_matches_torch(mode):
    x = _u8(2, 11, 17)
    out = F.resize(mt.tensor(x), [7, 29], IM(mode))
    assert out.dtype is mt.uint8
    _close(out, _torch_resize(torch.from_numpy(x)[None].float(), (7, 29), mode, False)[0])


def test_tensor_resize_float64_and_2d():
    x = RNG.random((30, 20))
    out = F.resize(mt.tensor(x), 10)
    assert out.dtype is mt.float64 and tuple(out.shape) == (15, 10)
    _close(out, _torch_resize(torch.from_numpy(x)[None, None], (15, 10), "bilinear", True)[0, 0],
           atol=1e-12)


@pytest.mark.parametrize("mode, pil", [(IM.BILINEAR, 2), (IM.BICUBIC, 3), (IM.NEAREST, 0),
                                       (IM.LANCZOS, 1), (IM.BOX, 4)])
def test_pil_resize_is_pillow_resize(mode, pil):
    pic = Image.fromarray(_u8(40, 30, 3))
    out = F.resize(pic, [17, 23], mode)
    assert np.array_equal(np.asarray(out), np.asarray(pic.resize((23, 17), pil)))


@pytest.mark.parametrize("hw, size, max_size, expected", [
    ((100, 150), 50, None, (50, 75)), ((150, 100), 50, None, (75, 50)),
    ((99, 100), 32, None, (32, 32)), ((100, 333), 30, None, (30, 99)),
    ((100, 400), 50, 120, (30, 120)), ((100, 400), 50, 300, (50, 200)),
    ((60, 60), [20], None, (20, 20)), ((60, 40), (10, 70), None, (10, 70)),
])
def test_resize_output_size_rules(hw, size, max_size, expected):
    t = F.resize(mt.zeros(1, *hw), size, max_size=max_size)
    p = F.resize(Image.new("L", hw[::-1]), size, max_size=max_size)
    assert tuple(t.shape[-2:]) == expected and p.size == expected[::-1]


def test_resize_same_size_returns_input_and_errors():
    x = mt.zeros(3, 8, 6)
    assert F.resize(x, 6) is x
    with pytest.raises(ValueError, match=r"max_size = 8 must be strictly greater"):
        F.resize(x, 8, max_size=8)
    with pytest.raises(ValueError, match="max_size should only be passed if size specifies"):
        F.resize(x, (4, 4), max_size=10)
    with pytest.raises(ValueError, match="Size must be an int or a 1 or 2 element"):
        F.resize(x, (1, 2, 3))
    with pytest.raises(TypeError, match=r"resize\(\): Size should be int or sequence"):
        F.resize(x, 2.5)
    with pytest.raises(ValueError, match="size should hold positive ints"):
        F.resize(x, (0, 4))
    with pytest.raises(TypeError, match="Argument interpolation should be a InterpolationMode"):
        F.resize(x, 4, "bilinear")
    with pytest.raises(NotImplementedError, match="'lanczos' is only supported for PIL"):
        F.resize(x, 4, IM.LANCZOS)
    with pytest.raises(TypeError, match=r"resize\(\): img should be PIL Image or Tensor"):
        F.resize(np.zeros((8, 6)), 4)
    with pytest.warns(UserWarning, match="Anti-alias option is always applied for PIL"):
        F.resize(Image.new("L", (6, 8)), 4, antialias=False)


# -- geometry ---------------------------------------------------------------------------------

@pytest.mark.parametrize("hw, crop, top_left", [
    ((5, 7), (2, 3), (2, 2)),     # round(1.5) = 2, round(2.0) = 2
    ((7, 9), (2, 4), (2, 2)),     # round(2.5) = 2 (half to even), round(2.5) = 2
    ((8, 8), (3, 3), (2, 2)), ((6, 10), 4, (1, 3)),
])
def test_center_crop_offsets(hw, crop, top_left):
    x = _u8(*hw)
    ch, cw = (crop, crop) if isinstance(crop, int) else crop
    i, j = top_left
    expected = x[i:i + ch, j:j + cw]
    assert np.array_equal(F.center_crop(mt.tensor(x)[None], crop).numpy()[0], expected)
    assert np.array_equal(np.asarray(F.center_crop(Image.fromarray(x), crop)), expected)
    assert np.array_equal(F.center_crop(x, crop), expected)


def test_center_crop_larger_than_image_pads_with_zeros():
    x = _u8(3, 3, 3)
    out = F.center_crop(mt.tensor(x.transpose(2, 0, 1)), (6, 5))
    # left (5-3)//2 = 1, right 1; top (6-3)//2 = 1, bottom 2
    expected = np.pad(x, ((1, 2), (1, 1), (0, 0))).transpose(2, 0, 1)
    assert np.array_equal(out.numpy(), expected)
    pil = F.center_crop(Image.fromarray(x), (6, 5))
    assert np.array_equal(np.asarray(pil), expected.transpose(1, 2, 0))


def test_crop_outside_the_image_is_zero_on_every_path():
    x = _u8(4, 5, 3)
    expected = np.pad(x, ((2, 3), (1, 2), (0, 0)))[0:7, 0:6]
    t = F.crop(mt.tensor(x.transpose(2, 0, 1)), -2, -1, 7, 6).numpy().transpose(1, 2, 0)
    assert np.array_equal(t, expected)
    assert np.array_equal(np.asarray(F.crop(Image.fromarray(x), -2, -1, 7, 6)), expected)
    assert np.array_equal(F.crop(x, -2, -1, 7, 6), expected)


@pytest.mark.parametrize("padding", [2, [1, 3], [1, 2, 3, 0]])
@pytest.mark.parametrize("mode, torch_mode", [("constant", "constant"), ("edge", "replicate"),
                                              ("reflect", "reflect")])
def test_tensor_pad_matches_torch_pad(padding, mode, torch_mode):
    x = RNG.random((2, 3, 5, 6)).astype(np.float32)
    p = [padding] * 4 if isinstance(padding, int) else padding
    if len(p) == 2:
        p = [p[0], p[1], p[0], p[1]]
    lrtb = (p[0], p[2], p[1], p[3])
    kw = {"value": 0.5} if mode == "constant" else {}
    expected = torch.nn.functional.pad(torch.from_numpy(x), lrtb, mode=torch_mode, **kw)
    fill = 0.5 if mode == "constant" else 0
    _close(F.pad(mt.tensor(x), padding, fill=fill, padding_mode=mode), expected)


def test_symmetric_and_negative_padding():
    x = _u8(3, 4, 5)
    out = F.pad(mt.tensor(x), [2, 1, 3, 2], padding_mode="symmetric")
    _close(out, np.pad(x, ((0, 0), (1, 2), (2, 3)), mode="symmetric"))
    cropped = F.pad(mt.tensor(x), [-1, 2, 0, -2], fill=9)
    _close(cropped, torch.nn.functional.pad(torch.from_numpy(x), (-1, 0, 2, -2), value=9))
    pil = F.pad(Image.fromarray(x[0]), [2, 1, 3, 2], padding_mode="symmetric")
    assert np.array_equal(np.asarray(pil), np.pad(x[0], ((1, 2), (2, 3)), mode="symmetric"))


def test_pil_pad_is_imageops_expand_with_per_channel_fill():
    ImageOps = pytest.importorskip("PIL.ImageOps")
    pic = Image.fromarray(_u8(4, 5, 3))
    out = F.pad(pic, (1, 2), fill=(10, 20, 30))
    assert np.array_equal(np.asarray(out),
                          np.asarray(ImageOps.expand(pic, border=(1, 2), fill=(10, 20, 30))))
    array = F.pad(np.asarray(pic), (1, 2), fill=(10, 20, 30))     # the NumPy path agrees
    assert np.array_equal(array, np.asarray(out))
    with pytest.raises(ValueError, match="number of elements in 'fill' does not match"):
        F.pad(pic, 1, fill=(1, 2))


def test_pad_errors():
    x = mt.zeros(1, 3, 3)
    with pytest.raises(ValueError, match="Padding must be an int or a 1, 2, or 4 element"):
        F.pad(x, [1, 2, 3])
    with pytest.raises(ValueError, match="Padding mode should be either constant, edge"):
        F.pad(x, 1, padding_mode="wrap")
    with pytest.raises(TypeError, match=r"pad\(\): Got inappropriate padding arg"):
        F.pad(x, "1")
    with pytest.raises(TypeError, match=r"pad\(\): Got inappropriate fill arg"):
        F.pad(x, 1, fill=(1, 2, 3))


def test_flips_match_torch_and_pillow():
    x = _u8(3, 4, 5)
    _close(F.hflip(mt.tensor(x)), torch.from_numpy(x).flip(-1))
    _close(F.vflip(mt.tensor(x)), torch.from_numpy(x).flip(-2))
    pic = Image.fromarray(x[0])
    assert np.array_equal(np.asarray(F.hflip(pic)), np.asarray(pic)[:, ::-1])
    assert np.array_equal(np.asarray(F.vflip(pic)), np.asarray(pic)[::-1])
    assert np.array_equal(F.hflip(x[0]), x[0][:, ::-1])


def test_dimensions_of_every_kind():
    assert F.get_dimensions(mt.zeros(2, 3, 4, 5)) == [3, 4, 5]
    assert F.get_dimensions(mt.zeros(4, 5)) == [1, 4, 5]
    assert F.get_dimensions(Image.new("RGB", (5, 4))) == [3, 4, 5]
    assert F.get_dimensions(np.zeros((4, 5, 2))) == [2, 4, 5]
    assert F.get_image_size(Image.new("L", (5, 4))) == [5, 4]
    assert F.get_image_num_channels(mt.zeros(3, 2, 2)) == 3
    with pytest.raises(TypeError, match="Tensor is not a torch image"):
        F.get_dimensions(mt.zeros(3))
    with pytest.raises(TypeError, match="img should be PIL Image, Tensor or ndarray"):
        F.get_dimensions([[0]])


# -- colour -----------------------------------------------------------------------------------

def _torch_blend(img1, img2, ratio):
    bound = 1.0 if img1.is_floating_point() else 255.0
    return (ratio * img1 + (1.0 - ratio) * img2).clamp(0, bound).to(img1.dtype)


def _torch_gray(img):
    r, g, b = img.unbind(dim=-3)
    return (0.2989 * r + 0.587 * g + 0.114 * b).to(img.dtype).unsqueeze(dim=-3)


@pytest.mark.parametrize("dtype", ["uint8", "float32"])
@pytest.mark.parametrize("factor", [0.0, 0.6, 1.7])
def test_tensor_color_adjustments_match_blend_formulas(dtype, factor):
    x = _u8(2, 3, 6, 7) if dtype == "uint8" else RNG.random((2, 3, 6, 7)).astype(np.float32)
    t = torch.from_numpy(x)
    mean_dtype = torch.float32
    _close(F.adjust_brightness(mt.tensor(x), factor), _torch_blend(t, torch.zeros_like(t), factor))
    mean = _torch_gray(t).to(mean_dtype).mean(dim=(-3, -2, -1), keepdim=True)
    _close(F.adjust_contrast(mt.tensor(x), factor), _torch_blend(t, mean, factor),
           atol=1 if dtype == "uint8" else 1e-6)
    _close(F.adjust_saturation(mt.tensor(x), factor), _torch_blend(t, _torch_gray(t), factor),
           atol=1 if dtype == "uint8" else 1e-6)
    _close(F.rgb_to_grayscale(mt.tensor(x)), _torch_gray(t), atol=1 if dtype == "uint8" else 1e-6)


def test_grayscale_channels_and_pil():
    x = _u8(3, 4, 5)
    three = F.rgb_to_grayscale(mt.tensor(x), num_output_channels=3)
    assert tuple(three.shape) == (3, 4, 5) and np.array_equal(three.numpy()[0], three.numpy()[2])
    pic = Image.fromarray(x.transpose(1, 2, 0))
    assert np.array_equal(np.asarray(F.rgb_to_grayscale(pic)), np.asarray(pic.convert("L")))
    assert F.rgb_to_grayscale(pic, 3).mode == "RGB"
    with pytest.raises(ValueError, match="num_output_channels should be either 1 or 3"):
        F.rgb_to_grayscale(mt.tensor(x), 2)
    with pytest.raises(TypeError, match="permitted channel values are \\[1, 3\\], but found 4"):
        F.rgb_to_grayscale(mt.zeros(4, 2, 2))


@pytest.mark.parametrize("enhance, fn", [("Brightness", F.adjust_brightness),
                                         ("Contrast", F.adjust_contrast),
                                         ("Color", F.adjust_saturation)])
def test_pil_color_adjustments_are_imageenhance(enhance, fn):
    pic = Image.fromarray(_u8(6, 7, 3))
    expected = getattr(ImageEnhance, enhance)(pic).enhance(1.3)
    assert np.array_equal(np.asarray(fn(pic, 1.3)), np.asarray(expected))


def _colorsys_hue(rgb, shift):
    out = np.empty_like(rgb)
    for idx in np.ndindex(rgb.shape[1:]):
        h, s, v = colorsys.rgb_to_hsv(*rgb[(slice(None),) + idx])
        out[(slice(None),) + idx] = colorsys.hsv_to_rgb((h + shift) % 1.0, s, v)
    return out


@pytest.mark.parametrize("shift", [-0.5, -0.13, 0.0, 0.3])
def test_tensor_hue_matches_colorsys(shift):
    x = RNG.random((3, 5, 6)).astype(np.float32)
    x[:, 0, 0] = 0.4  # a gray pixel: hue undefined, left alone
    _close(F.adjust_hue(mt.tensor(x), shift), _colorsys_hue(x.astype(np.float64), shift),
           atol=2e-6)
    u = _u8(3, 4, 4)
    expected = (_colorsys_hue(u / 255.0, shift) * (255 + 1.0 - 1e-3)).astype(np.uint8)
    _close(F.adjust_hue(mt.tensor(u), shift), expected, atol=1)


def test_hue_facts_and_errors():
    red = np.zeros((1, 1, 3), np.uint8)
    red[..., 0] = 255
    cyan = F.adjust_hue(mt.tensor(red.transpose(2, 0, 1)), 0.5).numpy()[:, 0, 0]
    assert cyan.tolist() == [0, 255, 255]
    # Pillow's hue is 8-bit: 0.5 turns is int(0.5 * 255) = 127 steps of 1/255, nearly cyan
    pil = np.asarray(F.adjust_hue(Image.fromarray(red), 0.5))[0, 0].astype(int)
    assert np.abs(pil - [0, 255, 255]).max() <= 4
    gray = Image.fromarray(_u8(3, 3))
    assert F.adjust_hue(gray, 0.2) is gray
    with pytest.raises(ValueError, match=r"hue_factor \(0.7\) is not in \[-0.5, 0.5\]"):
        F.adjust_hue(mt.zeros(3, 2, 2), 0.7)
    with pytest.raises(ValueError, match=r"brightness_factor \(-0.1\) is not non-negative"):
        F.adjust_brightness(mt.zeros(3, 2, 2), -0.1)
    with pytest.raises(ValueError, match=r"saturation_factor \(-1\) is not non-negative"):
        F.adjust_saturation(Image.new("RGB", (2, 2)), -1)
    with pytest.raises(TypeError, match=r"adjust_contrast\(\): img should be PIL Image or"):
        F.adjust_contrast(np.zeros((2, 2, 3)), 1.0)


def test_tensor_path_runs_on_another_device(mini_device):
    x = _u8(2, 3, 20, 24)
    ops = [lambda t: F.resize(t, [11, 13]), lambda t: F.center_crop(t, 9),
           lambda t: F.pad(t, [1, 2], padding_mode="reflect"), F.hflip,
           lambda t: F.adjust_hue(t, 0.2), lambda t: F.adjust_contrast(t, 1.4),
           lambda t: F.normalize(F.convert_image_dtype(t), (0.5,) * 3, (0.2,) * 3)]
    on_cpu, on_mini = mt.tensor(x), mt.tensor(x, device=mini_device)
    for op in ops:
        on_cpu, on_mini = op(on_cpu), op(on_mini)
        assert on_mini.device.type == mini_device
        _close(on_mini, on_cpu.numpy(), atol=1e-5)
