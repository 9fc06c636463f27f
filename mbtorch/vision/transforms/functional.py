"""``mbtorch.vision.transforms.functional``, as ``torchvision.transforms.functional``: each
function takes a PIL image (transformed by Pillow, exactly as torchvision does) or an mbtorch
tensor ``[..., C, H, W]`` (transformed with mbtorch ops on its device; uint8/integer values
in ``[0, max]``, floats in ``[0, 1]``). The geometric functions (``crop``, ``center_crop``,
``pad``, ``hflip``, ``vflip``, ``get_dimensions``) also take ``H x W (x C)`` NumPy arrays, as
``mbtorch.data.transforms`` always did.

>>> img = F.resize(F.pil_to_tensor(pil_image), 256)      # short side 256, antialiased
>>> img = F.normalize(F.convert_image_dtype(F.center_crop(img, 224)), mean, std)
"""

from __future__ import annotations

import numbers
import sys
import warnings
from collections.abc import Sequence
from enum import Enum
from typing import Any

import numpy as np

import mbtorch
from mbtorch import Tensor

from . import _functional_numpy as F_np
from . import _functional_tensor as F_t
from ._resize import resize as _resize_tensor

__all__ = [
    "InterpolationMode", "adjust_brightness", "adjust_contrast", "adjust_hue",
    "adjust_saturation", "center_crop", "convert_image_dtype", "crop", "get_dimensions",
    "get_image_num_channels", "get_image_size", "hflip", "normalize", "pad", "pil_to_tensor",
    "resize", "resized_crop", "rgb_to_grayscale", "to_grayscale", "to_pil_image", "to_tensor",
    "vflip",
]


class InterpolationMode(Enum):
    """Resampling filters. Tensors take NEAREST, NEAREST_EXACT, BILINEAR and BICUBIC; PIL
    images take them all (NEAREST_EXACT is Pillow's NEAREST, which samples pixel centres)."""

    NEAREST = "nearest"
    NEAREST_EXACT = "nearest-exact"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"


_FROM_PIL_INT = {0: InterpolationMode.NEAREST, 2: InterpolationMode.BILINEAR,
                 3: InterpolationMode.BICUBIC, 4: InterpolationMode.BOX,
                 5: InterpolationMode.HAMMING, 1: InterpolationMode.LANCZOS}
pil_modes_mapping = {InterpolationMode.NEAREST: 0, InterpolationMode.BILINEAR: 2,
                     InterpolationMode.BICUBIC: 3, InterpolationMode.NEAREST_EXACT: 0,
                     InterpolationMode.BOX: 4, InterpolationMode.HAMMING: 5,
                     InterpolationMode.LANCZOS: 1}


def _interpolation(value: Any, fn: str) -> InterpolationMode:
    """An InterpolationMode, or a Pillow resampling constant (``PIL.Image.BILINEAR`` = 2)."""
    if isinstance(value, InterpolationMode):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and int(value) in _FROM_PIL_INT:
        return _FROM_PIL_INT[int(value)]
    raise TypeError(f"{fn}(): Argument interpolation should be a InterpolationMode or a "
                    f"corresponding Pillow integer constant, got {value!r}")


def _is_pil_image(img: Any) -> bool:
    # a PIL image exists only once PIL.Image is imported: no need to import Pillow here
    module = sys.modules.get("PIL.Image")
    return module is not None and isinstance(img, module.Image)


def _kind(img: Any, fn: str, numpy: bool = False) -> str:
    if isinstance(img, Tensor):
        return "tensor"
    if _is_pil_image(img):
        return "pil"
    if numpy and isinstance(img, np.ndarray):
        return "numpy"
    expected = "PIL Image, Tensor or ndarray" if numpy else "PIL Image or Tensor"
    raise TypeError(f"{fn}(): img should be {expected}. Got {type(img)}")


def _pil() -> Any:
    from . import _functional_pil  # only reached with a PIL image, so Pillow is there

    return _functional_pil


def get_dimensions(img: Any) -> list[int]:
    """``[channels, height, width]`` of a PIL image, tensor or array."""
    kind = _kind(img, "get_dimensions", numpy=True)
    if kind == "tensor":
        return F_t.get_dimensions(img)
    return _pil().get_dimensions(img) if kind == "pil" else F_np.get_dimensions(img)


def get_image_size(img: Any) -> list[int]:
    """``[width, height]`` (PIL's order)."""
    _, h, w = get_dimensions(img)
    return [w, h]


def get_image_num_channels(img: Any) -> int:
    return get_dimensions(img)[0]


def to_tensor(pic: Any) -> Tensor:
    """PIL image or ``H x W (x C)`` array -> ``C x H x W`` tensor; uint8 data (and PIL modes
    L, LA, P, RGB, RGBA, CMYK, YCbCr, 1) become the default float dtype in ``[0, 1]``, other
    data (modes I, I;16, F; other array dtypes) keep their values and dtype."""
    if not (_is_pil_image(pic) or isinstance(pic, np.ndarray)):
        raise TypeError(f"to_tensor(): pic should be PIL Image or ndarray. Got {type(pic)}")
    if isinstance(pic, np.ndarray):
        if pic.ndim not in (2, 3):
            raise ValueError(f"to_tensor(): pic should be 2/3 dimensional. Got {pic.ndim} "
                             "dimensions.")
        array = pic[:, :, None] if pic.ndim == 2 else pic
    else:
        i16 = "I;16" if sys.byteorder == "little" else "I;16B"
        nptype = {"I": np.int32, i16: np.int16, "F": np.float32}.get(pic.mode, np.uint8)
        array = np.array(pic, nptype, copy=True)
        if pic.mode == "1":
            array = 255 * array
        array = array.reshape(pic.size[1], pic.size[0], len(pic.getbands()))
    img = mbtorch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))
    if img.dtype is mbtorch.uint8:
        return img.to(mbtorch.get_default_dtype()).div(255)
    return img


def pil_to_tensor(pic: Any) -> Tensor:
    """PIL image -> ``C x H x W`` tensor of the same data type (uint8 for L/RGB/RGBA...)."""
    if not _is_pil_image(pic):
        raise TypeError(f"pil_to_tensor(): pic should be PIL Image. Got {type(pic)}")
    array = np.array(pic, copy=True).reshape(pic.size[1], pic.size[0], len(pic.getbands()))
    return mbtorch.from_numpy(array).permute(2, 0, 1)


def convert_image_dtype(image: Tensor, dtype: mbtorch.dtype = mbtorch.float32) -> Tensor:
    """Convert to ``dtype`` and rescale: uint8 255 <-> float 1.0, int16 32767 <-> 1.0 ..."""
    if not isinstance(image, Tensor):
        raise TypeError(f"convert_image_dtype(): Input img should be Tensor Image. Got "
                        f"{type(image)}")
    if not isinstance(dtype, mbtorch.dtype):
        raise TypeError(f"convert_image_dtype(): dtype should be an mbtorch dtype. Got {dtype!r}")
    return F_t.convert_image_dtype(image, dtype)


def to_pil_image(pic: Any, mode: str | None = None) -> Any:
    """``C x H x W`` tensor or ``H x W x C`` array -> PIL image; float data is scaled by 255
    to uint8 unless ``mode='F'``. Without ``mode``: 1 channel by dtype (uint8 L, int16/uint16
    I;16, int32 I, float32 F), 2 LA, 3 RGB, 4 RGBA."""
    if isinstance(pic, Tensor):
        if pic.ndim == 3:
            pic = pic.permute(1, 2, 0)
        pic = pic.numpy(force=True)
    elif not isinstance(pic, np.ndarray):
        raise TypeError(f"to_pil_image(): pic should be Tensor or ndarray. Got {type(pic)}.")
    if pic.ndim == 2:
        pic = pic[:, :, None]
    if pic.ndim != 3:
        raise ValueError(f"to_pil_image(): pic should be 2/3 dimensional. Got {pic.ndim} "
                         "dimensions.")
    if pic.shape[-1] > 4:
        raise ValueError(f"to_pil_image(): pic should not have > 4 channels. Got "
                         f"{pic.shape[-1]} channels.")
    npimg = pic
    if np.issubdtype(npimg.dtype, np.floating) and mode != "F":
        npimg = (npimg * 255).astype(np.uint8)
    mode = _pil_mode(npimg, mode)
    if npimg.shape[2] == 1:
        npimg = npimg[:, :, 0]
    try:
        from PIL import Image
    except ImportError as exc:
        raise ImportError("to_pil_image() needs Pillow: pip install pillow") from exc
    if mode == "I;16":  # Pillow makes I;16 of uint16 data: int16 keeps its bits (to_tensor's)
        return Image.fromarray(npimg.astype(np.uint16))
    return Image.fromarray(npimg, mode=mode)


_PERMITTED_MODES = {2: ["LA"], 3: ["RGB", "YCbCr", "HSV"], 4: ["RGBA", "CMYK", "RGBX"]}
_DEFAULT_MODES = {2: "LA", 3: "RGB", 4: "RGBA"}
_GRAY_MODES = {np.dtype(np.uint8): "L", np.dtype(np.int16): "I;16", np.dtype(np.uint16): "I;16",
               np.dtype(np.int32): "I", np.dtype(np.float32): "F"}


def _pil_mode(npimg: np.ndarray, mode: str | None) -> str:
    channels = npimg.shape[2]
    if channels == 1:
        expected = _GRAY_MODES.get(npimg.dtype)
        if mode is not None and mode != expected:
            raise ValueError(f"to_pil_image(): Incorrect mode ({mode}) supplied for input type "
                             f"{npimg.dtype}. Should be {expected}")
        mode = expected
    else:
        permitted = _PERMITTED_MODES[channels]
        if mode is not None and mode not in permitted:
            raise ValueError(f"to_pil_image(): Only modes {permitted} are supported for "
                             f"{channels}D inputs")
        if mode is None and npimg.dtype == np.uint8:
            mode = _DEFAULT_MODES[channels]
    if mode is None:
        raise TypeError(f"to_pil_image(): Input type {npimg.dtype} is not supported")
    return mode


def normalize(tensor: Tensor, mean: Sequence[float], std: Sequence[float],
              inplace: bool = False) -> Tensor:
    """``(tensor - mean) / std`` per channel of a float ``[..., C, H, W]`` tensor."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"normalize(): img should be Tensor Image. Got {type(tensor)}")
    return F_t.normalize(tensor, mean, std, inplace)


def _compute_resized_output_size(image_size: tuple[int, int], size: list[int],
                                 max_size: int | None = None) -> list[int]:
    """``[new_h, new_w]``: ``size`` ``[s]`` matches the short side (long side truncated, then
    capped at ``max_size``), ``[h, w]`` is taken as it is."""
    h, w = image_size
    if len(size) == 2:
        return [size[0], size[1]]
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = size[0], int(size[0] * long / short)
    if max_size is not None:
        if max_size <= size[0]:
            raise ValueError(f"resize(): max_size = {max_size} must be strictly greater than the "
                             f"requested size for the smaller edge size = {size}")
        if new_long > max_size:
            new_short, new_long = int(max_size * new_short / new_long), max_size
    new_w, new_h = (new_short, new_long) if w <= h else (new_long, new_short)
    return [new_h, new_w]


def _check_size(size: Any, max_size: int | None, fn: str) -> list[int]:
    def is_int(v: Any) -> bool:
        return isinstance(v, numbers.Integral) and not isinstance(v, bool)

    if not (is_int(size) or isinstance(size, (list, tuple))):
        raise TypeError(f"{fn}(): Size should be int or sequence. Got {type(size)}")
    size = [size] if is_int(size) else list(size)
    if len(size) not in (1, 2):
        raise ValueError(f"{fn}(): Size must be an int or a 1 or 2 element tuple/list, not a "
                         f"{len(size)} element tuple/list")
    if not all(is_int(s) and s > 0 for s in size):
        raise ValueError(f"{fn}(): size should hold positive ints. Got {size}")
    size = [int(s) for s in size]
    if max_size is not None and len(size) != 1:
        raise ValueError(f"{fn}(): max_size should only be passed if size specifies the length "
                         "of the smaller edge, i.e. size should be an int or a sequence of "
                         "length 1")
    return size


def resize(img: Any, size: Any, interpolation: Any = InterpolationMode.BILINEAR,
           max_size: int | None = None, antialias: bool | None = True) -> Any:
    """Resize to ``size``: an int (or ``[s]``) matches the shorter side keeping the aspect
    ratio (the longer side truncated to an int, then capped at ``max_size``); ``(h, w)`` is
    the output size. ``antialias`` (default True) only affects tensors with BILINEAR/BICUBIC;
    Pillow always antialiases."""
    interpolation = _interpolation(interpolation, "resize")
    size = _check_size(size, max_size, "resize")
    kind = _kind(img, "resize")
    _, h, w = get_dimensions(img)
    output_size = _compute_resized_output_size((h, w), size, max_size)
    if min(output_size) <= 0:
        raise ValueError(f"resize(): the image {h} x {w} resized to size={size} with "
                         f"max_size={max_size} would be empty: {output_size}")
    if [h, w] == output_size:
        return img
    if kind == "pil":
        if antialias is False:
            warnings.warn("Anti-alias option is always applied for PIL Image input. Argument "
                          "antialias is ignored.", stacklevel=2)
        return _pil().resize(img, output_size, pil_modes_mapping[interpolation])
    return _resize_tensor(img, output_size, interpolation.value, antialias)


def pad(img: Any, padding: Any, fill: Any = 0, padding_mode: str = "constant") -> Any:
    """Pad the four borders: ``padding`` is an int, ``[all]``, ``[left/right, top/bottom]`` or
    ``[left, top, right, bottom]`` (negative values crop); ``padding_mode`` constant (with
    ``fill``: a number, or one value per channel for PIL images), edge, reflect or
    symmetric."""
    kind = _kind(img, "pad", numpy=True)
    if kind == "tensor":
        return F_t.pad(img, padding, fill, padding_mode)
    if fill is not None and (isinstance(fill, bool)
                             or not isinstance(fill, (numbers.Number, tuple, list))):
        raise TypeError("pad(): Got inappropriate fill arg")
    if not isinstance(padding_mode, str):
        raise TypeError("pad(): Got inappropriate padding_mode arg")
    ltrb = F_t.parse_padding(padding, "pad")
    if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
        raise ValueError("pad(): Padding mode should be either constant, edge, reflect or "
                         "symmetric")
    return (_pil() if kind == "pil" else F_np).pad(img, ltrb, fill, padding_mode)


def crop(img: Any, top: int, left: int, height: int, width: int) -> Any:
    """The ``height x width`` window at ``(top, left)``; parts outside the image are 0."""
    kind = _kind(img, "crop", numpy=True)
    if kind == "tensor":
        return F_t.crop(img, top, left, height, width)
    return (_pil() if kind == "pil" else F_np).crop(img, top, left, height, width)


def _pair(size: Any, fn: str) -> tuple[int, int]:
    if isinstance(size, numbers.Number) and not isinstance(size, bool):
        return int(size), int(size)
    if isinstance(size, (tuple, list)) and len(size) in (1, 2):
        return (int(size[0]), int(size[-1]))
    raise ValueError(f"{fn}(): Please provide only two dimensions (h, w) for size. Got {size!r}")


def center_crop(img: Any, output_size: Any) -> Any:
    """The central ``output_size`` window: offsets ``round((H - h) / 2)`` and
    ``round((W - w) / 2)`` (half to even); an image smaller than the crop is first padded
    with zeros, the odd pixel going to the bottom/right."""
    crop_height, crop_width = _pair(output_size, "center_crop")
    _, image_height, image_width = get_dimensions(img)
    if crop_width > image_width or crop_height > image_height:
        padding_ltrb = [
            (crop_width - image_width) // 2 if crop_width > image_width else 0,
            (crop_height - image_height) // 2 if crop_height > image_height else 0,
            (crop_width - image_width + 1) // 2 if crop_width > image_width else 0,
            (crop_height - image_height + 1) // 2 if crop_height > image_height else 0,
        ]
        img = pad(img, padding_ltrb, fill=0)
        _, image_height, image_width = get_dimensions(img)
        if crop_width == image_width and crop_height == image_height:
            return img
    crop_top = int(round((image_height - crop_height) / 2.0))
    crop_left = int(round((image_width - crop_width) / 2.0))
    return crop(img, crop_top, crop_left, crop_height, crop_width)


def resized_crop(img: Any, top: int, left: int, height: int, width: int, size: Any,
                 interpolation: Any = InterpolationMode.BILINEAR,
                 antialias: bool | None = True) -> Any:
    """``crop`` then ``resize`` (what RandomResizedCrop applies)."""
    img = crop(img, top, left, height, width)
    return resize(img, size, interpolation, antialias=antialias)


def hflip(img: Any) -> Any:
    """Mirror left-right."""
    kind = _kind(img, "hflip", numpy=True)
    if kind == "tensor":
        return F_t.hflip(img)
    return _pil().hflip(img) if kind == "pil" else F_np.hflip(img)


def vflip(img: Any) -> Any:
    """Mirror top-bottom."""
    kind = _kind(img, "vflip", numpy=True)
    if kind == "tensor":
        return F_t.vflip(img)
    return _pil().vflip(img) if kind == "pil" else F_np.vflip(img)


def _check_factor(value: Any, name: str, fn: str) -> None:
    if not isinstance(value, numbers.Real):
        raise TypeError(f"{fn}(): {name} should be a number. Got {type(value)}")
    if value < 0:
        raise ValueError(f"{fn}(): {name} ({value}) is not non-negative.")


def adjust_brightness(img: Any, brightness_factor: float) -> Any:
    """``img * factor`` clamped (0: black, 1: unchanged)."""
    _check_factor(brightness_factor, "brightness_factor", "adjust_brightness")
    if _kind(img, "adjust_brightness") == "pil":
        return _pil().adjust_brightness(img, brightness_factor)
    return F_t.adjust_brightness(img, brightness_factor)


def adjust_contrast(img: Any, contrast_factor: float) -> Any:
    """Blend with the mean gray level (0: solid gray, 1: unchanged)."""
    _check_factor(contrast_factor, "contrast_factor", "adjust_contrast")
    if _kind(img, "adjust_contrast") == "pil":
        return _pil().adjust_contrast(img, contrast_factor)
    return F_t.adjust_contrast(img, contrast_factor)


def adjust_saturation(img: Any, saturation_factor: float) -> Any:
    """Blend with the grayscale image (0: gray, 1: unchanged, 2: twice as saturated)."""
    _check_factor(saturation_factor, "saturation_factor", "adjust_saturation")
    if _kind(img, "adjust_saturation") == "pil":
        return _pil().adjust_saturation(img, saturation_factor)
    return F_t.adjust_saturation(img, saturation_factor)


def adjust_hue(img: Any, hue_factor: float) -> Any:
    """Rotate the hue by ``hue_factor`` turns, in ``[-0.5, 0.5]`` (HSV space)."""
    if not isinstance(hue_factor, numbers.Real):
        raise TypeError(f"adjust_hue(): hue_factor should be a number. Got {type(hue_factor)}")
    if not -0.5 <= hue_factor <= 0.5:
        raise ValueError(f"adjust_hue(): hue_factor ({hue_factor}) is not in [-0.5, 0.5].")
    if _kind(img, "adjust_hue") == "pil":
        return _pil().adjust_hue(img, hue_factor)
    return F_t.adjust_hue(img, hue_factor)


def rgb_to_grayscale(img: Any, num_output_channels: int = 1) -> Any:
    """Luma ``0.2989 R + 0.587 G + 0.114 B`` (tensor, any dtype) or Pillow's ``convert('L')``;
    ``num_output_channels=3`` repeats it in three channels."""
    if _kind(img, "rgb_to_grayscale") == "pil":
        return _pil().to_grayscale(img, num_output_channels)
    return F_t.rgb_to_grayscale(img, num_output_channels)


def to_grayscale(img: Any, num_output_channels: int = 1) -> Any:
    """Any PIL mode to grayscale (PIL images only; tensors: ``rgb_to_grayscale``)."""
    if not _is_pil_image(img):
        raise TypeError(f"to_grayscale(): Input should be PIL Image. Got {type(img)}")
    return _pil().to_grayscale(img, num_output_channels)
