"""``DatasetFolder`` and ``ImageFolder``: one sub-folder per class, as torchvision's::

    root/dog/xxx.png
    root/dog/nested/xxy.png
    root/cat/123.png

Classes are the sub-folders' names, sorted, numbered from 0; samples are every file below a
class folder (followed into nested folders and symlinks) that has one of ``extensions`` or
passes ``is_valid_file`` (exactly one of the two), in sorted order. A class folder without a
valid file is a ``FileNotFoundError`` unless ``allow_empty=True``; ``root`` without any class
folder is one too. The helpers (``find_classes``, ``make_dataset``,
``has_file_allowed_extension``, ``IMG_EXTENSIONS``, ``pil_loader``, ``default_loader``) have
torchvision's names and behaviour; ``default_loader`` is ``pil_loader`` (there is no
accimage backend).
"""

from __future__ import annotations

import os
from typing import Any, Callable, cast

from .vision import VisionDataset, pil_image

__all__ = ["IMG_EXTENSIONS", "DatasetFolder", "ImageFolder", "default_loader", "find_classes",
           "has_file_allowed_extension", "is_image_file", "make_dataset", "pil_loader"]

IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


def has_file_allowed_extension(filename: str, extensions: str | tuple[str, ...]) -> bool:
    """Whether ``filename`` ends (case-insensitively) with one of ``extensions`` (lowercase)."""
    return filename.lower().endswith(extensions if isinstance(extensions, str)
                                     else tuple(extensions))


def is_image_file(filename: str) -> bool:
    """Whether ``filename`` has one of ``IMG_EXTENSIONS``."""
    return has_file_allowed_extension(filename, IMG_EXTENSIONS)


def find_classes(directory: str | os.PathLike) -> tuple[list[str], dict[str, int]]:
    """The sorted names of the sub-folders of ``directory`` and their indices."""
    classes = sorted(entry.name for entry in os.scandir(directory) if entry.is_dir())
    if not classes:
        raise FileNotFoundError(f"Couldn't find any class folder in {directory}.")
    class_to_idx = {cls_name: i for i, cls_name in enumerate(classes)}
    return classes, class_to_idx


def make_dataset(directory: str | os.PathLike, class_to_idx: dict[str, int] | None = None,
                 extensions: str | tuple[str, ...] | None = None,
                 is_valid_file: Callable[[str], bool] | None = None,
                 allow_empty: bool = False) -> list[tuple[str, int]]:
    """The ``(path, class_index)`` samples under ``directory`` (see the module's docstring);
    ``class_to_idx`` defaults to ``find_classes(directory)``."""
    directory = os.path.expanduser(os.fspath(directory))
    if class_to_idx is None:
        _, class_to_idx = find_classes(directory)
    elif not class_to_idx:
        raise ValueError("'class_to_index' must have at least one entry to collect any samples.")
    if (extensions is None) == (is_valid_file is None):
        raise ValueError("Both extensions and is_valid_file cannot be None or not None at the "
                         "same time")
    if extensions is not None:
        exts = extensions

        def is_valid_file(x: str) -> bool:
            return has_file_allowed_extension(x, exts)

    is_valid_file = cast(Callable[[str], bool], is_valid_file)
    instances = []
    available_classes = set()
    for target_class in sorted(class_to_idx.keys()):
        class_index = class_to_idx[target_class]
        target_dir = os.path.join(directory, target_class)
        if not os.path.isdir(target_dir):
            continue
        for root, _, fnames in sorted(os.walk(target_dir, followlinks=True)):
            for fname in sorted(fnames):
                path = os.path.join(root, fname)
                if is_valid_file(path):
                    instances.append((path, class_index))
                    available_classes.add(target_class)
    empty_classes = set(class_to_idx.keys()) - available_classes
    if empty_classes and not allow_empty:
        msg = f"Found no valid file for the classes {', '.join(sorted(empty_classes))}. "
        if extensions is not None:
            msg += ("Supported extensions are: "
                    f"{extensions if isinstance(extensions, str) else ', '.join(extensions)}")
        raise FileNotFoundError(msg)
    return instances


class DatasetFolder(VisionDataset):
    """Samples ``loader(path)`` of the files under ``root``'s class folders, with their class
    index as target. Attributes: ``classes``, ``class_to_idx``, ``samples`` (``(path,
    class_index)`` pairs), ``targets``, ``loader``, ``extensions``.

    Override ``find_classes`` to choose the classes, ``make_dataset`` to list the samples
    differently (for example from an archive).

    >>> ds = DatasetFolder("data/sounds", loader=numpy.load, extensions=(".npy",))
    """

    def __init__(self, root: str | os.PathLike, loader: Callable[[str], Any],
                 extensions: tuple[str, ...] | None = None, transform: Callable | None = None,
                 target_transform: Callable | None = None,
                 is_valid_file: Callable[[str], bool] | None = None,
                 allow_empty: bool = False) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        classes, class_to_idx = self.find_classes(self.root)
        samples = self.make_dataset(self.root, class_to_idx=class_to_idx,
                                    extensions=extensions, is_valid_file=is_valid_file,
                                    allow_empty=allow_empty)
        self.loader = loader
        self.extensions = extensions
        self.classes = classes
        self.class_to_idx = class_to_idx
        self.samples = samples
        self.targets = [s[1] for s in samples]

    @staticmethod
    def make_dataset(directory: str | os.PathLike, class_to_idx: dict[str, int],
                     extensions: tuple[str, ...] | None = None,
                     is_valid_file: Callable[[str], bool] | None = None,
                     allow_empty: bool = False) -> list[tuple[str, int]]:
        """The samples, as the module-level ``make_dataset``; ``class_to_idx`` is required
        (so an overridden ``find_classes`` is the one that counts)."""
        if class_to_idx is None:
            raise ValueError("The class_to_idx parameter cannot be None.")
        return make_dataset(directory, class_to_idx, extensions=extensions,
                            is_valid_file=is_valid_file, allow_empty=allow_empty)

    def find_classes(self, directory: str | os.PathLike) -> tuple[list[str], dict[str, int]]:
        """The class folders of ``directory`` (``find_classes``)."""
        return find_classes(directory)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        path, target = self.samples[index]
        sample = self.loader(path)
        if self.transform is not None:
            sample = self.transform(sample)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return sample, target

    def __len__(self) -> int:
        return len(self.samples)


def pil_loader(path: str | os.PathLike) -> Any:
    """The image at ``path`` as a Pillow ``RGB`` image (read fully, file closed)."""
    with open(path, "rb") as f:  # opened here so the file is closed (Pillow issue 835)
        img = pil_image().open(f)
        return img.convert("RGB")


def default_loader(path: str | os.PathLike) -> Any:
    """torchvision's default image loader: ``pil_loader`` (mbtorch has no accimage backend)."""
    return pil_loader(path)


class ImageFolder(DatasetFolder):
    """A ``DatasetFolder`` of images: files with ``IMG_EXTENSIONS`` (unless ``is_valid_file``
    is given) loaded as ``RGB`` Pillow images by ``default_loader``. ``imgs`` is ``samples``.

    >>> ds = ImageFolder("data/pets", transform=transforms.ToTensor())
    """

    def __init__(self, root: str | os.PathLike, transform: Callable | None = None,
                 target_transform: Callable | None = None,
                 loader: Callable[[str], Any] = default_loader,
                 is_valid_file: Callable[[str], bool] | None = None,
                 allow_empty: bool = False) -> None:
        super().__init__(root, loader, IMG_EXTENSIONS if is_valid_file is None else None,
                         transform=transform, target_transform=target_transform,
                         is_valid_file=is_valid_file, allow_empty=allow_empty)
        self.imgs = self.samples
