"""CIFAR-10 and CIFAR-100 (https://www.cs.toronto.edu/~kriz/cifar.html), read from the
**binary** distribution (torchvision's class names, attributes and samples).

torchvision reads the Python version (pickled batches, unpickled on load); mbtorch reads the
binary version instead and never unpickles anything. Its files are fixed-size records:

- CIFAR-10 (``cifar-10-binary.tar.gz`` → ``root/cifar-10-batches-bin/``):
  ``data_batch_1.bin`` … ``data_batch_5.bin`` and ``test_batch.bin``, 10,000 records each of
  1 label byte + 3,072 pixel bytes; class names in ``batches.meta.txt``, one a line.
- CIFAR-100 (``cifar-100-binary.tar.gz`` → ``root/cifar-100-binary/``): ``train.bin``
  (50,000 records) and ``test.bin`` (10,000) of 1 coarse label byte, 1 fine label byte,
  3,072 pixel bytes; names in ``fine_label_names.txt`` and ``coarse_label_names.txt``.

The pixels of a record are the red, then green, then blue 32 x 32 planes, row-major. Each
file's size is checked against its record count before it is read, and every label against
the number of classes: a truncated or damaged file is a ``ValueError`` naming it and the size
expected. ``download=True`` fetches the tarball into ``root/`` (md5-checked; a tarball already
there with the right md5 is reused), and extracts it safely (:func:`.utils.extract_archive`)
when the files present are missing or have the wrong size.

A sample is ``(image, target)``: a Pillow ``RGB`` image and an ``int``. As in torchvision,
``.data`` is a ``uint8`` NumPy array ``N x 32 x 32 x 3`` and ``.targets`` a list of ints;
CIFAR-100's targets are the fine labels, its coarse ones are in ``.coarse_targets`` (names in
``.coarse_classes``). ``to_tensors()`` gives a whole split as ``N x 3 x 32 x 32`` floats in
``[0, 1]`` and ``int64`` targets.
"""

from __future__ import annotations

import os
from typing import Any, Callable

import numpy as np

import mbtorch

from .utils import download_and_extract_archive
from .vision import VisionDataset, pil_image

__all__ = ["CIFAR10", "CIFAR100"]

_PIXELS = 3 * 32 * 32


class CIFAR10(VisionDataset):
    """CIFAR-10: 50,000 training and 10,000 test colour images, 32 x 32, ten classes.

    >>> ds = CIFAR10("data", train=False, download=True)
    >>> image, label = ds[0]          # a PIL RGB image and an int
    """

    base_folder = "cifar-10-batches-bin"
    url = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
    filename = "cifar-10-binary.tar.gz"
    # the md5 published on the CIFAR page for the binary version (torchvision publishes the
    # Python version's, c58f30108f718f92721af3b95e74349a, in torchvision/datasets/cifar.py)
    tgz_md5 = "c32a1d4ab5d03f1284b67883e8d87530"
    # (file, records): the sizes of the published files
    train_list = [("data_batch_1.bin", 10000), ("data_batch_2.bin", 10000),
                  ("data_batch_3.bin", 10000), ("data_batch_4.bin", 10000),
                  ("data_batch_5.bin", 10000)]
    test_list = [("test_batch.bin", 10000)]
    meta: dict[str, Any] = {"filename": "batches.meta.txt", "classes": 10}
    label_bytes = 1  # before the pixels: the label (CIFAR-100: coarse, then fine)

    def __init__(self, root: str | os.PathLike, train: bool = True,
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 download: bool = False) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.train = train
        if download:
            self.download()
        if not self._check_exists():
            raise RuntimeError(self._not_found_message())
        files = self.train_list if train else self.test_list
        # torchvision's HWC layout, filled file by file (one file's bytes in memory at a time);
        # contiguous, so that a sample is one block for Image.fromarray
        self.data: np.ndarray = np.empty((sum(n for _, n in files), 32, 32, 3), np.uint8)
        labels, start = [], 0
        for name, records in files:
            lab, pix = self._read_records(os.path.join(self.folder, name), records)
            self.data[start:start + records] = pix.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
            labels.append(lab)
            start += records
        label_arr = np.concatenate(labels)
        self._set_targets(label_arr)
        self._load_meta()

    # -- files ---------------------------------------------------------------------------------
    @property
    def folder(self) -> str:
        return os.path.join(self.root, self.base_folder)

    @property
    def record_size(self) -> int:
        return self.label_bytes + _PIXELS

    def _check_exists(self) -> bool:
        """Every data file of both splits, and the names, present (sizes: when read)."""
        names = [n for n, _ in self.train_list + self.test_list] + self._meta_files()
        return all(os.path.isfile(os.path.join(self.folder, n)) for n in names)

    def _check_integrity(self) -> bool:
        """Every file present, and every data file of its expected size."""
        return self._check_exists() and all(
            os.path.getsize(os.path.join(self.folder, n)) == records * self.record_size
            for n, records in self.train_list + self.test_list)

    def _meta_files(self) -> list[str]:
        return [self.meta["filename"]]

    def _not_found_message(self) -> str:
        names = [n for n, _ in self.train_list + self.test_list] + self._meta_files()
        missing = [n for n in names if not os.path.isfile(os.path.join(self.folder, n))]
        return ("Dataset not found or corrupted. You can use download=True to download it.\n"
                f"{self.__class__.__name__}: looked in {self.folder} for the binary version's "
                f"files (missing: {', '.join(missing)}).\nTo get it: pass download=True, or "
                f"download {self.url} "
                f"(md5 {self.tgz_md5}) and extract it into {os.fspath(self.root)}")

    def _read_records(self, path: str, records: int) -> tuple[np.ndarray, np.ndarray]:
        """The labels (``records x label_bytes``) and pixels (``records x 3072``) of a file."""
        expected, got = records * self.record_size, os.path.getsize(path)
        if got != expected:
            kind = "truncated" if got < expected else "too long"
            raise ValueError(f"{path}: {kind} CIFAR binary file: expected {expected} bytes "
                             f"({records} records of {self.record_size}), found {got}")
        raw = np.fromfile(path, dtype=np.uint8)
        if raw.size != expected:  # the file changed between the two looks
            raise ValueError(f"{path}: expected {expected} bytes, read {raw.size}")
        rows = raw.reshape(records, self.record_size)
        labels = rows[:, :self.label_bytes]
        for column, (what, classes) in enumerate(self._label_kinds()):
            bad = np.flatnonzero(labels[:, column] >= classes)
            if bad.size:
                raise ValueError(f"{path}: record {int(bad[0])} has the {what} "
                                 f"{int(labels[bad[0], column])}, outside 0..{classes - 1}: "
                                 f"not a {self.__class__.__name__} binary file")
        return labels, rows[:, self.label_bytes:]

    def _label_kinds(self) -> list[tuple[str, int]]:
        """(name, number of classes) of each label byte of a record, in order."""
        return [("label", self.meta["classes"])]

    def _set_targets(self, labels: np.ndarray) -> None:
        self.targets: list[int] = labels[:, 0].astype(np.int64).tolist()

    def _read_names(self, name: str, count: int) -> list[str]:
        path = os.path.join(self.folder, name)
        if not os.path.isfile(path):
            raise RuntimeError(f"Dataset metadata file not found or corrupted. You can use "
                               f"download=True to download it ({path} is missing)")
        with open(path, encoding="ascii", errors="strict") as f:
            names = [line.strip() for line in f if line.strip()]
        if len(names) != count:
            raise ValueError(f"{path}: expected {count} class names, one a line, found "
                             f"{len(names)}")
        return names

    def _load_meta(self) -> None:
        self.classes = self._read_names(self.meta["filename"], self.meta["classes"])
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}

    def download(self) -> None:
        """Fetch and extract the binary tarball unless every file is already in place with
        its expected size (a tarball already in ``root`` with the right md5 is reused)."""
        if self._check_integrity():
            return
        download_and_extract_archive(self.url, self.root, filename=self.filename,
                                     md5=self.tgz_md5)

    # -- samples -------------------------------------------------------------------------------
    def __getitem__(self, index: int) -> tuple[Any, Any]:
        img, target = self.data[index], self.targets[index]
        img = pil_image().fromarray(img)
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __len__(self) -> int:
        return len(self.data)

    def to_tensors(self, dtype: Any = None, device: Any = None) -> tuple[Any, Any]:
        """The whole split as ``(images, targets)``: images ``N x 3 x 32 x 32`` scaled to
        ``[0, 1]`` (default float dtype), targets ``int64`` (no transforms applied)."""
        dtype = dtype or mbtorch.get_default_dtype()
        chw = np.ascontiguousarray(self.data.transpose(0, 3, 1, 2))
        images = mbtorch.from_numpy(chw).to(device=device, dtype=dtype).div(255)
        targets = mbtorch.tensor(self.targets, dtype=mbtorch.int64, device=device)
        return images, targets

    def extra_repr(self) -> str:
        return f"Split: {'Train' if self.train is True else 'Test'}"


class CIFAR100(CIFAR10):
    """CIFAR-100: CIFAR-10's sizes, 100 fine classes grouped in 20 coarse ones. ``targets``
    and ``classes`` are the fine labels (torchvision's); ``coarse_targets`` and
    ``coarse_classes`` the coarse ones."""

    base_folder = "cifar-100-binary"
    url = "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz"
    filename = "cifar-100-binary.tar.gz"
    # the CIFAR page's md5 of the binary version (torchvision's, for the Python version:
    # eb9058c3a382ffc7106e4002c42a8d85)
    tgz_md5 = "03b5dce01913d631647c71ecec9e9cb8"
    train_list = [("train.bin", 50000)]
    test_list = [("test.bin", 10000)]
    meta: dict[str, Any] = {"filename": "fine_label_names.txt", "classes": 100}
    coarse_meta: dict[str, Any] = {"filename": "coarse_label_names.txt", "classes": 20}
    label_bytes = 2

    def _meta_files(self) -> list[str]:
        return [self.meta["filename"], self.coarse_meta["filename"]]

    def _label_kinds(self) -> list[tuple[str, int]]:
        return [("coarse label", self.coarse_meta["classes"]),
                ("fine label", self.meta["classes"])]

    def _set_targets(self, labels: np.ndarray) -> None:
        self.coarse_targets: list[int] = labels[:, 0].astype(np.int64).tolist()
        self.targets = labels[:, 1].astype(np.int64).tolist()

    def _load_meta(self) -> None:
        super()._load_meta()
        self.coarse_classes = self._read_names(self.coarse_meta["filename"],
                                               self.coarse_meta["classes"])
