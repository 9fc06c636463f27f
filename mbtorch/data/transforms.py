"""Image transforms in the spirit of ``torchvision.transforms``.

Images are ``H x W`` or ``H x W x C`` NumPy arrays (what the datasets here return, and what a
PIL image converts to) before ``ToTensor``, and ``... x C x H x W`` tensors after it. The
random transforms draw from mbtorch's default generator, so ``mbtorch.manual_seed`` (and the
per-worker seeding of ``DataLoader`` workers) makes them reproducible.
"""

from __future__ import annotations

import numbers
from typing import Any, Callable, Sequence

import numpy as np

import mbtorch
from mbtorch.core.tensor import Tensor

__all__ = ["Compose", "Lambda", "Normalize", "RandomCrop", "RandomHorizontalFlip", "ToTensor"]


class Compose:
    """Apply ``transforms`` one after another.

    >>> Compose([ToTensor(), Normalize((0.5,), (0.5,))])
    """

    def __init__(self, transforms: Sequence[Callable]) -> None:
        self.transforms = list(transforms)

    def __call__(self, img: Any) -> Any:
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self) -> str:
        body = "".join(f"\n    {t}" for t in self.transforms)
        return f"{self.__class__.__name__}({body}\n)"


class ToTensor:
    """An ``H x W (x C)`` image (NumPy array or PIL image) to a ``C x H x W`` tensor; ``uint8``
    values are scaled to floats in ``[0, 1]``, other dtypes are kept as they are."""

    def __call__(self, pic: Any) -> Tensor:
        if hasattr(pic, "getbands"):  # a PIL image, without importing PIL
            pic = np.array(pic)
        if not isinstance(pic, np.ndarray):
            raise TypeError(f"pic should be PIL Image or ndarray. Got {type(pic)}")
        if pic.ndim not in (2, 3):
            raise ValueError(f"pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
        if pic.ndim == 2:
            pic = pic[:, :, None]
        img = mbtorch.from_numpy(np.ascontiguousarray(pic.transpose(2, 0, 1)))
        if img.dtype is mbtorch.uint8:
            return img.to(mbtorch.get_default_dtype()).div(255)
        return img

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}()"


class Normalize:
    """``(img - mean) / std`` per channel of a ``... x C x H x W`` float tensor."""

    def __init__(self, mean: Sequence[float], std: Sequence[float], inplace: bool = False):
        self.mean, self.std, self.inplace = mean, std, inplace

    def __call__(self, tensor: Tensor) -> Tensor:
        if not isinstance(tensor, Tensor):
            raise TypeError(f"img should be Tensor Image. Got {type(tensor)}")
        if not tensor.is_floating_point():
            raise TypeError(f"Input tensor should be a float tensor. Got {tensor.dtype}.")
        if tensor.ndim < 3:
            raise ValueError(f"Expected tensor to be a tensor image of size (..., C, H, W). Got "
                             f"tensor.size() = {tensor.size()}")
        std_np = np.asarray(self.std, dtype=np.float64)
        if np.any(std_np == 0):
            raise ValueError(f"std evaluated to zero after conversion to {tensor.dtype}, "
                             "leading to division by zero.")
        mean = mbtorch.as_tensor(self.mean, dtype=tensor.dtype, device=tensor.device)
        std = mbtorch.as_tensor(self.std, dtype=tensor.dtype, device=tensor.device)
        if mean.ndim == 1:
            mean = mean.view(-1, 1, 1)
        if std.ndim == 1:
            std = std.view(-1, 1, 1)
        if self.inplace:
            return tensor.sub_(mean).div_(std)
        return tensor.sub(mean).div(std)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(mean={self.mean}, std={self.std})"


def _chance(p: float) -> bool:
    return mbtorch.rand(1).item() < p


class RandomHorizontalFlip:
    """Mirror the image left-right with probability ``p``."""

    def __init__(self, p: float = 0.5) -> None:
        self.p = p

    def __call__(self, img: Any) -> Any:
        if not _chance(self.p):
            return img
        if isinstance(img, Tensor):
            return img.flip(-1)
        return np.ascontiguousarray(np.asarray(img)[:, ::-1])  # H x W (x C): width is axis 1

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(p={self.p})"


def _pair(size: Any, name: str) -> tuple[int, int]:
    if isinstance(size, numbers.Number):
        return int(size), int(size)
    if isinstance(size, Sequence) and len(size) == 1:
        return int(size[0]), int(size[0])
    if isinstance(size, Sequence) and len(size) == 2:
        return int(size[0]), int(size[1])
    raise ValueError(f"Please provide only two dimensions (h, w) for {name}.")


def _padding(padding: Any) -> tuple[int, int, int, int]:
    """torchvision's padding forms -> (left, top, right, bottom)."""
    if isinstance(padding, numbers.Number):
        p = int(padding)
        return p, p, p, p
    padding = [int(p) for p in padding]
    if len(padding) == 1:
        return (padding[0],) * 4  # type: ignore[return-value]
    if len(padding) == 2:
        return padding[0], padding[1], padding[0], padding[1]
    if len(padding) == 4:
        return padding[0], padding[1], padding[2], padding[3]
    raise ValueError(f"Padding must be an int or a 1, 2, or 4 element tuple, not a "
                     f"{len(padding)} element tuple")


_NP_MODES = {"edge": "edge", "reflect": "reflect", "symmetric": "symmetric"}


def _hw(img: Any) -> tuple[int, int]:
    if isinstance(img, Tensor):
        return img.shape[-2], img.shape[-1]
    return img.shape[0], img.shape[1]


def pad(img: Any, padding: Any, fill: float = 0, padding_mode: str = "constant") -> Any:
    """Pad an image (array ``H x W (x C)`` or tensor ``... x H x W``) on its four sides."""
    left, top, right, bottom = _padding(padding)
    if padding_mode != "constant" and padding_mode not in _NP_MODES:
        raise ValueError("Padding mode should be either constant, edge, reflect or symmetric")
    if not isinstance(img, Tensor):
        arr = np.asarray(img)
        widths = [(top, bottom), (left, right)] + [(0, 0)] * (arr.ndim - 2)
        if padding_mode == "constant":
            return np.pad(arr, widths, mode="constant", constant_values=fill)
        return np.pad(arr, widths, mode=_NP_MODES[padding_mode])
    h, w = _hw(img)
    if padding_mode == "constant":
        out = mbtorch.full((*img.shape[:-2], h + top + bottom, w + left + right), fill,
                           dtype=img.dtype, device=img.device)
        out.narrow(-2, top, h).narrow(-1, left, w).copy_(img)
        return out
    # Other modes pick source rows/columns: the index maps are np.pad of an arange.
    rows = np.pad(np.arange(h), (top, bottom), mode=_NP_MODES[padding_mode])
    cols = np.pad(np.arange(w), (left, right), mode=_NP_MODES[padding_mode])
    img = img.index_select(-2, mbtorch.tensor(rows, device=img.device))
    return img.index_select(-1, mbtorch.tensor(cols, device=img.device))


def _crop(img: Any, top: int, left: int, height: int, width: int) -> Any:
    if isinstance(img, Tensor):
        return img.narrow(-2, top, height).narrow(-1, left, width)
    return img[top:top + height, left:left + width]


class RandomCrop:
    """Crop a random ``size`` window, after optional ``padding`` (torchvision's semantics:
    ``pad_if_needed`` pads an image smaller than ``size``; ``padding_mode`` is ``constant``
    with ``fill``, ``edge``, ``reflect`` or ``symmetric``)."""

    def __init__(self, size: Any, padding: Any = None, pad_if_needed: bool = False,
                 fill: float = 0, padding_mode: str = "constant") -> None:
        self.size = _pair(size, "size")
        self.padding = padding
        self.pad_if_needed = pad_if_needed
        self.fill = fill
        self.padding_mode = padding_mode

    def __call__(self, img: Any) -> Any:
        if self.padding is not None:
            img = pad(img, self.padding, self.fill, self.padding_mode)
        th, tw = self.size
        h, w = _hw(img)
        if self.pad_if_needed and w < tw:
            img = pad(img, [tw - w, 0], self.fill, self.padding_mode)
        if self.pad_if_needed and h < th:
            img = pad(img, [0, th - h], self.fill, self.padding_mode)
        h, w = _hw(img)
        if h < th or w < tw:
            raise ValueError(f"Required crop size {(th, tw)} is larger than input image size "
                             f"{(h, w)}")
        top = int(mbtorch.randint(0, h - th + 1, (1,)).item())
        left = int(mbtorch.randint(0, w - tw + 1, (1,)).item())
        return _crop(img, top, left, th, tw)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(size={self.size}, padding={self.padding})")


class Lambda:
    """Wrap a function as a transform (``Lambda(lambda x: x * 2)``)."""

    def __init__(self, lambd: Callable) -> None:
        if not callable(lambd):
            raise TypeError(f"Argument lambd should be callable, got "
                            f"{type(lambd).__name__!r}")
        self.lambd = lambd

    def __call__(self, img: Any) -> Any:
        return self.lambd(img)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}()"
