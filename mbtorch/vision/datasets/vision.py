"""``VisionDataset``: torchvision's base class of its datasets (``root``, the three transform
arguments, and the ``repr`` that lists them), and ``StandardTransform``, the pair of
``transform`` and ``target_transform`` seen as one ``transforms(image, target)`` callable."""

from __future__ import annotations

import os
from typing import Any, Callable

from mbtorch.data.dataset import Dataset

__all__ = ["StandardTransform", "VisionDataset"]


def pil_image() -> Any:
    """``PIL.Image``, imported on first use: the datasets' samples are Pillow images, as in
    torchvision, but importing ``mbtorch.vision`` does not need Pillow."""
    try:
        from PIL import Image
    except ImportError as e:
        raise ImportError("mbtorch.vision.datasets returns its images as Pillow images, and "
                          "Pillow is not installed: pip install 'mbtorch[vision]' (or pip "
                          "install pillow)") from e
    return Image


class VisionDataset(Dataset):
    """The base of the datasets here, as torchvision's: subclasses implement ``__getitem__``
    and ``__len__`` and may add lines to the ``repr`` through ``extra_repr``.

    ``transforms`` takes ``(image, target)`` and returns both; it excludes ``transform`` /
    ``target_transform`` (``ValueError`` when both kinds are given), which are combined into
    a ``StandardTransform`` kept as ``self.transforms``.
    """

    _repr_indent = 4

    def __init__(self, root: str | os.PathLike | None = None, transforms: Callable | None = None,
                 transform: Callable | None = None,
                 target_transform: Callable | None = None) -> None:
        if isinstance(root, str):
            root = os.path.expanduser(root)
        self.root = root
        has_transforms = transforms is not None
        has_separate_transform = transform is not None or target_transform is not None
        if has_transforms and has_separate_transform:
            raise ValueError("Only transforms or transform/target_transform can be passed as "
                             "argument")
        self.transform = transform
        self.target_transform = target_transform
        if has_separate_transform:
            transforms = StandardTransform(transform, target_transform)
        self.transforms = transforms

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError

    def __repr__(self) -> str:
        # torchvision's layout exactly, including the transforms' lines after the first one
        # starting at column 0
        head = "Dataset " + self.__class__.__name__
        body = [f"Number of datapoints: {self.__len__()}"]
        if self.root is not None:
            body.append(f"Root location: {self.root}")
        body += self.extra_repr().splitlines()
        if getattr(self, "transforms", None) is not None:
            body += [repr(self.transforms)]
        lines = [head] + [" " * self._repr_indent + line for line in body]
        return "\n".join(lines)

    def _format_transform_repr(self, transform: Callable, head: str) -> list[str]:
        lines = repr(transform).splitlines()
        return [f"{head}{lines[0]}"] + [" " * len(head) + line for line in lines[1:]]

    def extra_repr(self) -> str:
        return ""


class StandardTransform:
    """``transform`` applied to the input and ``target_transform`` to the target (each when
    not ``None``)."""

    def __init__(self, transform: Callable | None = None,
                 target_transform: Callable | None = None) -> None:
        self.transform = transform
        self.target_transform = target_transform

    def __call__(self, input: Any, target: Any) -> tuple[Any, Any]:  # noqa: A002 - its name
        if self.transform is not None:
            input = self.transform(input)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return input, target

    def _format_transform_repr(self, transform: Callable, head: str) -> list[str]:
        lines = repr(transform).splitlines()
        return [f"{head}{lines[0]}"] + [" " * len(head) + line for line in lines[1:]]

    def __repr__(self) -> str:
        body = [self.__class__.__name__]
        if self.transform is not None:
            body += self._format_transform_repr(self.transform, "Transform: ")
        if self.target_transform is not None:
            body += self._format_transform_repr(self.target_transform, "Target transform: ")
        return "\n".join(body)
