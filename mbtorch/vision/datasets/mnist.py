"""MNIST, Fashion-MNIST and Kuzushiji-MNIST, read from their IDX files (torchvision's
classes, attributes and folder layout).

The four files (``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``, each gzipped or not) are looked for,
in order, in ``root/<ClassName>/raw/`` (torchvision's layout), in ``root/`` itself, and for
Fashion-MNIST in ``/usr/share/datasets/fashion-mnist/``, where Debian's
``dataset-fashion-mnist`` package installs them (``apt-get install dataset-fashion-mnist``).
They are parsed by :func:`mbtorch.data.idx.read_idx`, which refuses a malformed or truncated
file with a ``ValueError`` naming it.

``download=True`` fetches the gzipped files from the class's ``mirrors`` into
``root/<ClassName>/raw/`` and checks each against torchvision's md5 (``resources``); files
already there are checked the same way and fetched again when wrong. Unlike torchvision, the
``.gz`` files are read as they are (not extracted next to themselves). Data found in
``root/`` or a system folder is used as it is, without downloading.

A sample is ``(image, target)`` as in torchvision: a Pillow image of mode ``"L"`` and an
``int``, after ``transform`` / ``target_transform``. For training on a whole split at once,
``.data`` (``uint8``, ``N x 28 x 28``) and ``.targets`` (``int64``, ``N``) are tensors
sharing memory with the parsed files, and ``to_tensors()`` gives the images as floats in
``[0, 1]`` shaped ``N x 1 x 28 x 28`` without building one Pillow image per sample.
"""

from __future__ import annotations

import operator
import os
from typing import Any, Callable

import numpy as np

import mbtorch
from mbtorch.data.idx import read_idx

from .utils import check_integrity, download_url
from .vision import VisionDataset, pil_image

__all__ = ["FashionMNIST", "KMNIST", "MNIST"]

_FILES = {True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
          False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


class MNIST(VisionDataset):
    """The MNIST handwritten digits: 60,000 training and 10,000 test images, 28 x 28 gray.

    >>> ds = MNIST("data", train=True, transform=transforms.ToTensor())
    >>> image, label = ds[0]          # image: float32 tensor 1 x 28 x 28
    """

    mirrors = ["https://ossci-datasets.s3.amazonaws.com/mnist/",
               "http://yann.lecun.com/exdb/mnist/"]
    # the md5s torchvision publishes (torchvision/datasets/mnist.py, MNIST.resources)
    resources = [("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
                 ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
                 ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
                 ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c")]
    system_dirs: tuple[str, ...] = ()
    apt_package: str | None = None
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five",
               "6 - six", "7 - seven", "8 - eight", "9 - nine"]

    def __init__(self, root: str | os.PathLike, train: bool = True,
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 download: bool = False) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.train = train
        if download:
            found = self._find()
            if found is None or os.path.dirname(found[0]) == self.raw_folder:
                self.download()
        found = self._find()
        if found is None:
            raise RuntimeError(self._not_found_message())
        self.images_file, self.labels_file = found
        images, labels = self._load(*found)
        self.data = mbtorch.from_numpy(images)
        self.targets = mbtorch.from_numpy(labels)

    # -- .data and .targets: tensors, read through NumPy views for speed -----------------------
    @property
    def data(self) -> Any:
        return self._data

    @data.setter
    def data(self, value: Any) -> None:  # e.g. ``ds.data = ds.data[:1000]``, as in torchvision
        self._data, self._images = _tensor_and_array(value, "data")

    @property
    def targets(self) -> Any:
        return self._targets

    @targets.setter
    def targets(self, value: Any) -> None:
        self._targets, self._labels = _tensor_and_array(value, "targets")

    # -- locating and loading ----------------------------------------------------------------
    @property
    def raw_folder(self) -> str:
        return os.path.join(self.root, self.__class__.__name__, "raw")

    @property
    def search_dirs(self) -> list[str]:
        return [self.raw_folder, os.fspath(self.root), *self.system_dirs]

    @property
    def class_to_idx(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.classes)}

    def _find(self) -> tuple[str, str] | None:
        names = _FILES[self.train]
        for d in self.search_dirs:
            paths = [_existing(os.path.join(d, n)) for n in names]
            if paths[0] and paths[1]:
                return paths[0], paths[1]
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
        return ("Dataset not found. You can use download=True to download it.\n"
                f"{name} dataset not found: looked for {images}[.gz] and {labels}[.gz] in\n"
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
        """Fetch the gzipped files of both splits into ``raw_folder``, each from the first
        mirror that serves it with the right md5. A file already there with the right md5 is
        kept; with a wrong one it is fetched again (an uncompressed copy without its ``.gz``,
        torchvision's extracted layout, is kept as it is: the IDX parser checks it)."""
        os.makedirs(self.raw_folder, exist_ok=True)
        for filename, md5 in self.resources:
            path = os.path.join(self.raw_folder, filename)
            if check_integrity(path, md5) or (not os.path.exists(path) and os.path.isfile(
                    path.removesuffix(".gz"))):
                continue
            errors = []
            for mirror in self.mirrors:
                try:
                    download_url(mirror + filename, self.raw_folder, filename, md5)
                    break
                except (OSError, RuntimeError) as e:  # unreachable, or a wrong checksum
                    errors.append(f"{mirror}: {e}")
            else:
                raise RuntimeError(self._download_failed(filename, errors))

    def _download_failed(self, filename: str, errors: list[str]) -> str:
        apt = (f", or install Debian's package: sudo apt-get install {self.apt_package}"
               if self.apt_package else "")
        return (f"could not download {filename} for {self.__class__.__name__} from any mirror:"
                "\n" + "\n".join(f"  - {e}" for e in errors) + "\nIf this machine is offline, "
                f"fetch the files elsewhere and put them in {self.raw_folder}{apt}")

    # -- samples -----------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._labels)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        index = operator.index(index)
        img: Any = pil_image().fromarray(self._images[index])  # mode "L" from 2-d uint8
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

    def extra_repr(self) -> str:
        return f"Split: {'Train' if self.train is True else 'Test'}"


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST: MNIST's format and sizes, ten kinds of clothing."""

    mirrors = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]
    # torchvision/datasets/mnist.py, FashionMNIST.resources
    resources = [("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
                 ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
                 ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
                 ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310")]
    system_dirs = ("/usr/share/datasets/fashion-mnist",)
    apt_package = "dataset-fashion-mnist"
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot"]


class KMNIST(MNIST):
    """Kuzushiji-MNIST (cursive Japanese hiragana): MNIST's format and sizes, ten characters."""

    mirrors = ["http://codh.rois.ac.jp/kmnist/dataset/kmnist/"]
    # torchvision/datasets/mnist.py, KMNIST.resources
    resources = [("train-images-idx3-ubyte.gz", "bdb82020997e1d708af4cf47b453dcf7"),
                 ("train-labels-idx1-ubyte.gz", "e144d726b3acfaa3e44228e80efcd344"),
                 ("t10k-images-idx3-ubyte.gz", "5c965bf0a639b31b8f53240b1b52f4d7"),
                 ("t10k-labels-idx1-ubyte.gz", "7320c461ea6c1c855c0b718fb2a4b134")]
    classes = ["o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"]


def _existing(path: str) -> str | None:
    for p in (path, path + ".gz"):
        if os.path.isfile(p):
            return p
    return None


def _tensor_and_array(value: Any, name: str) -> tuple[Any, np.ndarray]:
    """``value`` as a tensor, and a host NumPy array of it (a view for a cpu tensor)."""
    if isinstance(value, np.ndarray):
        value = mbtorch.from_numpy(value)
    if not isinstance(value, mbtorch.Tensor):
        raise TypeError(f"MNIST.{name} must be a tensor (or a NumPy array), got "
                        f"{type(value).__name__}")
    return value, value.numpy(force=True)
