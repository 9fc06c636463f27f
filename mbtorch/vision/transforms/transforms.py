"""The transform classes of ``torchvision.transforms`` (v1): each is a callable (the
parametrised ones an ``nn.Module``, as torchvision's) that applies a function of
:mod:`.functional` to a PIL image or an mbtorch tensor. The random ones draw from mbtorch's
default generator (``mbtorch.rand``/``randint``/``randperm``, where torchvision draws from
torch's), so ``mbtorch.manual_seed`` and the per-worker seeding of ``DataLoader`` workers make
them reproducible; their ``get_params`` give the draws without applying them."""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import mbtorch
from mbtorch import Tensor
from mbtorch.nn import Module

from . import functional as F
from .functional import InterpolationMode, _interpolation

__all__ = [
    "CenterCrop", "ColorJitter", "Compose", "ConvertImageDtype", "Grayscale", "Lambda",
    "Normalize", "PILToTensor", "Pad", "RandomApply", "RandomCrop", "RandomGrayscale",
    "RandomHorizontalFlip", "RandomResizedCrop", "RandomVerticalFlip", "Resize", "ToPILImage",
    "ToTensor",
]


def _setup_size(size: Any, name: str) -> tuple[int, int]:
    """An int or a 1/2-sequence -> ``(h, w)``."""
    if isinstance(size, numbers.Number) and not isinstance(size, bool):
        return int(size), int(size)
    if isinstance(size, Sequence) and len(size) == 1:
        return size[0], size[0]
    if not isinstance(size, Sequence) or len(size) != 2:
        raise ValueError(f"{name}: Please provide only two dimensions (h, w) for size. "
                         f"Got {size!r}")
    return size[0], size[1]


def _chance(p: float) -> bool:
    """One draw of ``mbtorch.rand(1) < p`` (torchvision's coin)."""
    return bool(mbtorch.rand(1).item() < p)


def _uniform(low: float, high: float) -> float:
    return float(mbtorch.empty(1).uniform_(low, high).item())


def _randint(low: int, high: int) -> int:
    return int(mbtorch.randint(low, high, size=(1,)).item())


class Compose:
    """Apply ``transforms`` one after another.

    >>> Compose([ToTensor(), Normalize((0.5,), (0.5,))])
    """

    def __init__(self, transforms: Sequence[Callable]) -> None:
        self.transforms = transforms

    def __call__(self, img: Any) -> Any:
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self) -> str:
        body = "".join(f"\n    {t}" for t in self.transforms)
        return f"{self.__class__.__name__}({body}\n)"


class ToTensor:
    """PIL image or ``H x W (x C)`` NumPy array -> ``C x H x W`` tensor, uint8 data scaled to
    ``[0, 1]`` floats (see :func:`.functional.to_tensor`)."""

    def __call__(self, pic: Any) -> Tensor:
        return F.to_tensor(pic)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}()"


class PILToTensor:
    """PIL image -> ``C x H x W`` tensor of the same data type (uint8, no scaling)."""

    def __call__(self, pic: Any) -> Tensor:
        return F.pil_to_tensor(pic)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}()"


class ConvertImageDtype(Module):
    """Convert a tensor image to ``dtype``, rescaling the values (uint8 255 <-> 1.0)."""

    def __init__(self, dtype: mbtorch.dtype) -> None:
        super().__init__()
        self.dtype = dtype

    def forward(self, image: Tensor) -> Tensor:
        return F.convert_image_dtype(image, self.dtype)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(dtype={self.dtype})"


class ToPILImage:
    """Tensor ``C x H x W`` or array ``H x W x C`` -> PIL image (``mode`` optional)."""

    def __init__(self, mode: str | None = None) -> None:
        self.mode = mode

    def __call__(self, pic: Any) -> Any:
        return F.to_pil_image(pic, self.mode)

    def __repr__(self) -> str:
        mode = "" if self.mode is None else f"mode={self.mode}"
        return f"{self.__class__.__name__}({mode})"


class Normalize(Module):
    """``(img - mean) / std`` per channel of a float ``... x C x H x W`` tensor."""

    def __init__(self, mean: Sequence[float], std: Sequence[float],
                 inplace: bool = False) -> None:
        super().__init__()
        self.mean, self.std, self.inplace = mean, std, inplace

    def forward(self, tensor: Tensor) -> Tensor:
        return F.normalize(tensor, self.mean, self.std, self.inplace)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(mean={self.mean}, std={self.std})"


class Resize(Module):
    """Resize to ``size`` (int: the shorter side, keeping the aspect ratio, the longer side at
    most ``max_size``; ``(h, w)``: exactly), see :func:`.functional.resize`."""

    def __init__(self, size: Any, interpolation: Any = InterpolationMode.BILINEAR,
                 max_size: int | None = None, antialias: bool | None = True) -> None:
        super().__init__()
        if isinstance(size, (bool, str)) or not isinstance(size, (int, Sequence)):
            raise TypeError(f"Resize: Size should be int or sequence. Got {type(size)}")
        if isinstance(size, Sequence) and len(size) not in (1, 2):
            raise ValueError("Resize: If size is a sequence, it should have 1 or 2 values")
        self.size, self.max_size, self.antialias = size, max_size, antialias
        self.interpolation = _interpolation(interpolation, "Resize")

    def forward(self, img: Any) -> Any:
        return F.resize(img, self.size, self.interpolation, self.max_size, self.antialias)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(size={self.size}, interpolation="
                f"{self.interpolation.value}, max_size={self.max_size}, "
                f"antialias={self.antialias})")


class CenterCrop(Module):
    """Crop the central ``size`` window (zero-padding an image smaller than it)."""

    def __init__(self, size: Any) -> None:
        super().__init__()
        self.size = _setup_size(size, "CenterCrop")

    def forward(self, img: Any) -> Any:
        return F.center_crop(img, self.size)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(size={self.size})"


class Pad(Module):
    """Pad the borders (see :func:`.functional.pad` for ``padding``/``fill``/modes)."""

    def __init__(self, padding: Any, fill: Any = 0, padding_mode: str = "constant") -> None:
        super().__init__()
        if not isinstance(padding, (numbers.Number, tuple, list)):
            raise TypeError("Pad: Got inappropriate padding arg")
        if not isinstance(fill, (numbers.Number, tuple, list)):
            raise TypeError("Pad: Got inappropriate fill arg")
        if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
            raise ValueError("Pad: Padding mode should be either constant, edge, reflect or "
                             "symmetric")
        if isinstance(padding, Sequence) and len(padding) not in (1, 2, 4):
            raise ValueError(f"Pad: Padding must be an int or a 1, 2, or 4 element tuple, not a "
                             f"{len(padding)} element tuple")
        self.padding, self.fill, self.padding_mode = padding, fill, padding_mode

    def forward(self, img: Any) -> Any:
        return F.pad(img, self.padding, self.fill, self.padding_mode)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(padding={self.padding}, fill={self.fill}, "
                f"padding_mode={self.padding_mode})")


class Lambda:
    """Wrap a function as a transform (``Lambda(lambda x: x * 2)``)."""

    def __init__(self, lambd: Callable) -> None:
        if not callable(lambd):
            raise TypeError(f"Lambda: Argument lambd should be callable, got "
                            f"{type(lambd).__name__!r}")
        self.lambd = lambd

    def __call__(self, img: Any) -> Any:
        return self.lambd(img)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}()"


class RandomApply(Module):
    """Apply all of ``transforms``, in order, with probability ``p`` (one draw per call)."""

    def __init__(self, transforms: Sequence[Callable], p: float = 0.5) -> None:
        super().__init__()
        self.transforms, self.p = transforms, p

    def forward(self, img: Any) -> Any:
        if self.p < mbtorch.rand(1).item():
            return img
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self) -> str:
        body = "".join(f"\n    {t}" for t in self.transforms)
        return f"{self.__class__.__name__}(\n    p={self.p}{body}\n)"


class RandomCrop(Module):
    """Crop a random ``size`` window, after optional ``padding``; ``pad_if_needed`` pads an
    image smaller than ``size`` (by the missing amount on both sides, as torchvision)."""

    @staticmethod
    def get_params(img: Any, output_size: tuple[int, int]) -> tuple[int, int, int, int]:
        """``(top, left, h, w)`` of a uniformly drawn window (no draw if it is the image)."""
        _, h, w = F.get_dimensions(img)
        th, tw = output_size
        if h < th or w < tw:
            raise ValueError(f"RandomCrop: Required crop size {(th, tw)} is larger than input "
                             f"image size {(h, w)}")
        if w == tw and h == th:
            return 0, 0, h, w
        return _randint(0, h - th + 1), _randint(0, w - tw + 1), th, tw

    def __init__(self, size: Any, padding: Any = None, pad_if_needed: bool = False,
                 fill: Any = 0, padding_mode: str = "constant") -> None:
        super().__init__()
        self.size = tuple(_setup_size(size, "RandomCrop"))
        self.padding, self.pad_if_needed = padding, pad_if_needed
        self.fill, self.padding_mode = fill, padding_mode

    def forward(self, img: Any) -> Any:
        if self.padding is not None:
            img = F.pad(img, self.padding, self.fill, self.padding_mode)
        _, height, width = F.get_dimensions(img)
        if self.pad_if_needed and width < self.size[1]:
            img = F.pad(img, [self.size[1] - width, 0], self.fill, self.padding_mode)
        if self.pad_if_needed and height < self.size[0]:
            img = F.pad(img, [0, self.size[0] - height], self.fill, self.padding_mode)
        i, j, h, w = self.get_params(img, self.size)
        return F.crop(img, i, j, h, w)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(size={self.size}, padding={self.padding})"


class RandomHorizontalFlip(Module):
    """Mirror left-right with probability ``p``."""

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        self.p = p

    def forward(self, img: Any) -> Any:
        return F.hflip(img) if _chance(self.p) else img

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(p={self.p})"


class RandomVerticalFlip(RandomHorizontalFlip):
    """Mirror top-bottom with probability ``p``."""

    def forward(self, img: Any) -> Any:
        return F.vflip(img) if _chance(self.p) else img


class RandomResizedCrop(Module):
    """Crop a random window of ``scale`` times the area and aspect ratio in ``ratio`` (drawn
    log-uniformly), then resize it to ``size`` (Inception-style training augmentation)."""

    def __init__(self, size: Any, scale: Sequence[float] = (0.08, 1.0),
                 ratio: Sequence[float] = (3.0 / 4.0, 4.0 / 3.0),
                 interpolation: Any = InterpolationMode.BILINEAR,
                 antialias: bool | None = True) -> None:
        super().__init__()
        self.size = _setup_size(size, "RandomResizedCrop")
        if not isinstance(scale, Sequence) or len(scale) != 2:
            raise TypeError("RandomResizedCrop: Scale should be a sequence of two numbers")
        if not isinstance(ratio, Sequence) or len(ratio) != 2:
            raise TypeError("RandomResizedCrop: Ratio should be a sequence of two numbers")
        if scale[0] > scale[1] or ratio[0] > ratio[1]:
            warnings.warn("RandomResizedCrop: Scale and ratio should be of kind (min, max)",
                          stacklevel=2)
        self.interpolation = _interpolation(interpolation, "RandomResizedCrop")
        self.antialias, self.scale, self.ratio = antialias, scale, ratio

    @staticmethod
    def get_params(img: Any, scale: Sequence[float],
                   ratio: Sequence[float]) -> tuple[int, int, int, int]:
        """``(top, left, h, w)``: up to 10 tries of (area, log-ratio) draws; if none fits,
        the central crop with the ratio clamped into ``ratio``."""
        _, height, width = F.get_dimensions(img)
        area = height * width
        log_ratio = mbtorch.log(mbtorch.tensor(ratio, dtype=mbtorch.float32))
        for _ in range(10):
            target_area = area * _uniform(scale[0], scale[1])
            aspect_ratio = math.exp(_uniform(log_ratio[0].item(), log_ratio[1].item()))
            w = int(round(math.sqrt(target_area * aspect_ratio)))
            h = int(round(math.sqrt(target_area / aspect_ratio)))
            if 0 < w <= width and 0 < h <= height:
                return _randint(0, height - h + 1), _randint(0, width - w + 1), h, w
        in_ratio = float(width) / float(height)
        if in_ratio < min(ratio):
            w, h = width, int(round(width / min(ratio)))
        elif in_ratio > max(ratio):
            h, w = height, int(round(height * max(ratio)))
        else:
            w, h = width, height
        return (height - h) // 2, (width - w) // 2, h, w

    def forward(self, img: Any) -> Any:
        i, j, h, w = self.get_params(img, self.scale, self.ratio)
        return F.resized_crop(img, i, j, h, w, list(self.size), self.interpolation,
                              antialias=self.antialias)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(size={self.size}, "
                f"scale={tuple(round(s, 4) for s in self.scale)}, "
                f"ratio={tuple(round(r, 4) for r in self.ratio)}, "
                f"interpolation={self.interpolation.value}, antialias={self.antialias})")


class ColorJitter(Module):
    """Random brightness, contrast, saturation and hue changes, applied in a random order.
    Each of ``brightness``/``contrast``/``saturation`` is ``v`` (factor drawn from
    ``[max(0, 1 - v), 1 + v]``) or ``(min, max)``; ``hue`` is ``v`` in ``[0, 0.5]`` (shift drawn
    from ``[-v, v]``) or ``(min, max)`` within ``[-0.5, 0.5]``."""

    def __init__(self, brightness: Any = 0, contrast: Any = 0, saturation: Any = 0,
                 hue: Any = 0) -> None:
        super().__init__()
        self.brightness = self._check_input(brightness, "brightness")
        self.contrast = self._check_input(contrast, "contrast")
        self.saturation = self._check_input(saturation, "saturation")
        self.hue = self._check_input(hue, "hue", center=0, bound=(-0.5, 0.5),
                                     clip_first_on_zero=False)

    @staticmethod
    def _check_input(value: Any, name: str, center: float = 1,
                     bound: tuple[float, float] = (0, float("inf")),
                     clip_first_on_zero: bool = True) -> tuple[float, float] | None:
        if isinstance(value, numbers.Number) and not isinstance(value, bool):
            if value < 0:
                raise ValueError(f"ColorJitter: If {name} is a single number, it must be non "
                                 f"negative. Got {value}")
            lo, hi = center - float(value), center + float(value)
            if clip_first_on_zero:
                lo = max(lo, 0.0)
        elif isinstance(value, (tuple, list)) and len(value) == 2:
            lo, hi = float(value[0]), float(value[1])
        else:
            raise TypeError(f"ColorJitter: {name} should be a single number or a list/tuple "
                            f"with length 2. Got {value!r}")
        if not bound[0] <= lo <= hi <= bound[1]:
            raise ValueError(f"ColorJitter: {name} values should be between {bound}, but got "
                             f"{[lo, hi]}.")
        # a range that is just the identity factor means "leave this property alone"
        return None if lo == hi == center else (lo, hi)

    @staticmethod
    def get_params(brightness: Any, contrast: Any, saturation: Any,
                   hue: Any) -> tuple[Tensor, float | None, float | None, float | None,
                                      float | None]:
        """``(fn_idx, b, c, s, h)``: a random order of the four adjustments (``randperm(4)``)
        and each factor drawn uniformly from its range (None where the range is None)."""
        fn_idx = mbtorch.randperm(4)
        b = None if brightness is None else _uniform(brightness[0], brightness[1])
        c = None if contrast is None else _uniform(contrast[0], contrast[1])
        s = None if saturation is None else _uniform(saturation[0], saturation[1])
        h = None if hue is None else _uniform(hue[0], hue[1])
        return fn_idx, b, c, s, h

    def forward(self, img: Any) -> Any:
        fn_idx, b, c, s, h = self.get_params(self.brightness, self.contrast,
                                             self.saturation, self.hue)
        steps = ((F.adjust_brightness, b), (F.adjust_contrast, c),
                 (F.adjust_saturation, s), (F.adjust_hue, h))
        for fn_id in fn_idx.tolist():
            fn, factor = steps[fn_id]
            if factor is not None:
                img = fn(img, factor)
        return img

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(brightness={self.brightness}, contrast="
                f"{self.contrast}, saturation={self.saturation}, hue={self.hue})")


class Grayscale(Module):
    """Convert to grayscale with ``num_output_channels`` (1 or 3) channels."""

    def __init__(self, num_output_channels: int = 1) -> None:
        super().__init__()
        self.num_output_channels = num_output_channels

    def forward(self, img: Any) -> Any:
        return F.rgb_to_grayscale(img, num_output_channels=self.num_output_channels)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(num_output_channels={self.num_output_channels})"


class RandomGrayscale(Module):
    """Convert to grayscale with probability ``p``, keeping the number of channels."""

    def __init__(self, p: float = 0.1) -> None:
        super().__init__()
        self.p = p

    def forward(self, img: Any) -> Any:
        num_output_channels = F.get_dimensions(img)[0]
        if _chance(self.p):
            return F.rgb_to_grayscale(img, num_output_channels=num_output_channels)
        return img

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(p={self.p})"
