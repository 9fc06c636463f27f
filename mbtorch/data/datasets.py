"""MNIST and Fashion-MNIST, read from their IDX files (torchvision's classes and attributes).

The four files (``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``, each gzipped or not) are looked for,
in order, in ``root/<ClassName>/raw/`` (torchvision's layout), in ``root/`` itself, and for
Fashion-MNIST in ``/usr/share/datasets/fashion-mnist/``, where Debian's
``dataset-fashion-mnist`` package installs them (``apt-get install dataset-fashion-mnist``).
``download=True`` fetches them from the class's ``mirrors`` into ``root/<ClassName>/raw/``.

A sample is ``(image, label)``: the image an ``H x W`` ``uint8`` NumPy array (what
``transforms.ToTensor`` takes, as torchvision's PIL image), the label an ``int``.
For training on the whole set at once, ``.data`` (``uint8``, ``N x 28 x 28``) and ``.targets``
(``int64``, ``N``) are tensors sharing memory with the parsed files, and ``to_tensors()``
gives the images as ``float32`` in ``[0, 1]`` shaped ``N x 1 x 28 x 28``.
"""

from __future__ import annotations

import os
import shutil
import urllib.request
from typing import Any, Callable

import numpy as np

import mbtorch

from .dataset import Dataset
from .idx import read_idx

__all__ = ["MNIST", "FashionMNIST"]

_FILES = {True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
          False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


class MNIST(Dataset):
    """The MNIST handwritten digits: 60,000 training and 10,000 test images, 28 x 28 gray.

    >>> ds = MNIST("data", train=True, transform=transforms.ToTensor())
    >>> image, label = ds[0]          # image: float32 tensor 1 x 28 x 28
    """

    mirrors = ["https://ossci-datasets.s3.amazonaws.com/mnist/",
               "http://yann.lecun.com/exdb/mnist/"]
    system_dirs: tuple[str, ...] = ()
    apt_package: str | None = None
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five",
               "6 - six", "7 - seven", "8 - eight", "9 - nine"]

    def __init__(self, root: str | os.PathLike, train: bool = True,
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 download: bool = False) -> None:
        self.root = os.path.expanduser(os.fspath(root))
        self.train = train
        self.transform = transform
        self.target_transform = target_transform
        if download and self._find() is None:
            self.download()
        found = self._find()
        if found is None:
            raise RuntimeError(self._not_found_message())
        self.images_file, self.labels_file = found
        self._images, self._labels = self._load(*found)
        self.data = mbtorch.from_numpy(self._images)
        self.targets = mbtorch.from_numpy(self._labels)

    # -- locating and loading ----------------------------------------------------------------
    @property
    def raw_folder(self) -> str:
        return os.path.join(self.root, self.__class__.__name__, "raw")

    @property
    def search_dirs(self) -> list[str]:
        return [self.raw_folder, self.root, *self.system_dirs]

    @property
    def class_to_idx(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.classes)}

    def _find(self) -> tuple[str, str] | None:
        names = _FILES[self.train]
        for d in self.search_dirs:
            paths = [_existing(os.path.join(d, n)) for n in names]
            if all(paths):
                return paths[0], paths[1]  # type: ignore[return-value]
        return None

    def _not_found_message(self) -> str:
        name = self.__class__.__name__
        images, labels = _FILES[self.train]
        where = "\n".join(f"  {d}" for d in self.search_dirs)
        how = [f"pass download=True to fetch them from {self.mirrors[0]}",
               f"or download {images}.gz and {labels}.gz from {self.mirrors[0]} into "
               f"{self.raw_folder}"]
        if self.apt_package:
            how.insert(0, f"install Debian's package: sudo apt-get install {self.apt_package}")
        return (f"{name} dataset not found: looked for {images}[.gz] and {labels}[.gz] in\n"
                f"{where}\nTo get it:\n" + "\n".join(f"  - {h}" for h in how))

    def _load(self, images_path: str, labels_path: str) -> tuple[np.ndarray, np.ndarray]:
        images, labels = read_idx(images_path), read_idx(labels_path)
        if images.ndim != 3:
            raise ValueError(f"{images_path}: expected an image file of N x rows x cols, got "
                             f"{images.ndim} dimensions {list(images.shape)}")
        if labels.ndim != 1:
            raise ValueError(f"{labels_path}: expected a label file of N values, got "
                             f"{labels.ndim} dimensions {list(labels.shape)}")
        if images.shape[0] != labels.shape[0]:
            raise ValueError(f"{images_path} holds {images.shape[0]} images but {labels_path} "
                             f"holds {labels.shape[0]} labels")
        if images.dtype != np.uint8 or labels.dtype.kind not in "iu":
            raise ValueError(f"{images_path}, {labels_path}: expected uint8 images and integer "
                             f"labels, got {images.dtype} and {labels.dtype}")
        return images, labels.astype(np.int64)

    def download(self) -> None:
        """Fetch the four gzipped files from the first mirror that has them."""
        os.makedirs(self.raw_folder, exist_ok=True)
        for name in (*_FILES[True], *_FILES[False]):
            target = os.path.join(self.raw_folder, name + ".gz")
            if os.path.exists(target):
                continue
            errors = []
            for mirror in self.mirrors:
                try:
                    with urllib.request.urlopen(mirror + name + ".gz", timeout=60) as r, \
                            open(target + ".part", "wb") as f:
                        shutil.copyfileobj(r, f)
                    os.replace(target + ".part", target)
                    break
                except OSError as e:
                    errors.append(f"{mirror}: {e}")
            else:
                raise RuntimeError(f"could not download {name}.gz:\n  " + "\n  ".join(errors))

    # -- samples -----------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._labels)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        img = self._images[index].copy()  # a copy, so a transform may write to it
        target: Any = int(self._labels[index])
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def to_tensors(self, dtype: Any = None, device: Any = None) -> tuple[Any, Any]:
        """The whole split as ``(images, targets)``: images ``N x 1 x H x W`` scaled to
        ``[0, 1]`` (default float dtype), targets ``int64`` (no transforms applied)."""
        dtype = dtype or mbtorch.get_default_dtype()
        images = self.data.to(device=device, dtype=dtype).unsqueeze(1).div(255)
        return images, self.targets.to(device=device)

    def __repr__(self) -> str:
        lines = [f"Dataset {self.__class__.__name__}",
                 f"    Number of datapoints: {len(self)}",
                 f"    Root location: {self.root}",
                 f"    Split: {'Train' if self.train else 'Test'}"]
        if self.transform is not None:
            lines.append(f"    Transform: {self.transform!r}")
        if self.target_transform is not None:
            lines.append(f"    Target transform: {self.target_transform!r}")
        return "\n".join(lines)


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST: MNIST's format and sizes, ten kinds of clothing."""

    mirrors = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]
    system_dirs = ("/usr/share/datasets/fashion-mnist",)
    apt_package = "dataset-fashion-mnist"
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot"]


def _existing(path: str) -> str | None:
    for p in (path, path + ".gz"):
        if os.path.isfile(p):
            return p
    return None
