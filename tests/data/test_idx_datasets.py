"""IDX parsing (good and malformed files) and the MNIST / FashionMNIST datasets, on small
IDX files the tests write."""

from __future__ import annotations

import gzip
import os

import numpy as np
import pytest

import mbtorch
from mbtorch.data import transforms
from mbtorch.data.datasets import MNIST, FashionMNIST
from mbtorch.data.idx import read_idx, write_idx
from mbtorch.vision.datasets.utils import calculate_md5

RNG = np.random.default_rng(0)
NAMES = {True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
         False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


def make_split(folder, train, n, gz, size=(28, 28)):
    os.makedirs(folder, exist_ok=True)
    images = RNG.integers(0, 256, (n, *size), dtype=np.uint8)
    labels = RNG.integers(0, 10, n, dtype=np.uint8)
    suffix = ".gz" if gz else ""
    write_idx(os.path.join(folder, NAMES[train][0] + suffix), images)
    write_idx(os.path.join(folder, NAMES[train][1] + suffix), labels)
    return images, labels


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32,
                                   np.float64])
@pytest.mark.parametrize("gz", [False, True])
def test_idx_round_trip(tmp_path, dtype, gz):
    arr = (RNG.standard_normal((3, 4, 2)) * 50).astype(dtype)
    path = tmp_path / ("a.idx" + (".gz" if gz else ""))
    write_idx(path, arr)
    out = read_idx(path)
    assert out.dtype == arr.dtype and out.flags.writeable
    np.testing.assert_array_equal(out, arr)


def test_idx_header_layout_is_the_standard_one(tmp_path):
    write_idx(tmp_path / "l", np.array([1, 2, 3], np.uint8))
    assert (tmp_path / "l").read_bytes() == bytes([0, 0, 8, 1, 0, 0, 0, 3, 1, 2, 3])


@pytest.mark.parametrize("content, message", [
    (b"", "not an IDX file \\(only 0 bytes"),
    (b"\x00\x01\x08\x01" + b"\0" * 8, "bad magic number 0x00010801"),
    (b"\x00\x00\x07\x01" + b"\0" * 8, "bad magic number 0x00000701"),
    (b"\x00\x00\x08\x00", "declares 0 dimensions"),
    (b"\x00\x00\x08\x03\x00\x00\x00\x02", "truncated IDX header: 3 dimensions need 16 bytes"),
    (b"\x00\x00\x08\x02\x00\x00\x00\x02\x00\x00\x00\x03" + b"\1" * 5,
     "truncated IDX file: the header says 2x3 values of uint8 \\(6 bytes of data\\), the "
     "file holds 5"),
    (b"\x00\x00\x08\x01\x00\x00\x00\x01" + b"\1" * 2, "IDX file has trailing bytes"),
])
def test_malformed_idx_files_are_rejected(tmp_path, content, message):
    path = tmp_path / "bad"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message) as e:
        read_idx(path)
    assert str(path) in str(e.value)


def test_corrupt_gzip(tmp_path):
    path = tmp_path / "bad.gz"
    path.write_bytes(gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x04abcd")[:-6])
    with pytest.raises(ValueError, match="corrupt gzip file"):
        read_idx(path)


@pytest.mark.parametrize("layout, gz", [("raw", True), ("raw", False), ("flat", False)])
def test_mnist_layouts(tmp_path, layout, gz):
    folder = tmp_path / "MNIST" / "raw" if layout == "raw" else tmp_path
    images, labels = make_split(folder, False, 5, gz)
    ds = MNIST(tmp_path, train=False)
    assert len(ds) == 5
    img, target = ds[3]
    assert img.mode == "L" and img.size == (28, 28)  # a Pillow image, as torchvision's
    np.testing.assert_array_equal(np.asarray(img), images[3])
    assert target == int(labels[3]) and isinstance(target, int)
    assert ds.data.shape == (5, 28, 28) and ds.data.dtype is mbtorch.uint8
    assert ds.targets.dtype is mbtorch.int64 and ds.targets.tolist() == labels.tolist()
    assert "Split: Test" in repr(ds)


def test_transforms_and_whole_set_tensors(tmp_path):
    images, labels = make_split(tmp_path / "FashionMNIST" / "raw", True, 4, True)
    ds = FashionMNIST(tmp_path, train=True, transform=transforms.ToTensor(),
                      target_transform=lambda y: y + 100)
    img, target = ds[1]
    assert img.shape == (1, 28, 28) and img.dtype is mbtorch.float32
    np.testing.assert_allclose(img.numpy()[0], images[1] / 255, rtol=1e-6)
    assert target == int(labels[1]) + 100
    x, y = ds.to_tensors()
    assert x.shape == (4, 1, 28, 28) and x.dtype is mbtorch.float32
    np.testing.assert_allclose(x.numpy()[:, 0], images / 255, rtol=1e-6)
    assert y.tolist() == labels.tolist()
    assert ds.classes[9] == "Ankle boot" and ds.class_to_idx["Bag"] == 8


def test_dataset_through_dataloader_with_workers(tmp_path):
    make_split(tmp_path, True, 10, False)
    ds = MNIST(tmp_path, transform=transforms.Compose([transforms.ToTensor(),
                                                       transforms.Normalize((0.5,), (0.5,))]))
    from mbtorch.utils.data import DataLoader

    batches = list(DataLoader(ds, batch_size=4, num_workers=2, timeout=60))
    assert [b[0].shape for b in batches] == [(4, 1, 28, 28), (4, 1, 28, 28), (2, 1, 28, 28)]
    single = list(DataLoader(ds, batch_size=4))
    for (xa, ya), (xb, yb) in zip(batches, single):
        np.testing.assert_array_equal(xa.numpy(), xb.numpy())
        assert ya.tolist() == yb.tolist()


def test_missing_dataset_says_where_it_looked_and_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setattr(FashionMNIST, "system_dirs", (str(tmp_path / "system"),))
    with pytest.raises(RuntimeError) as e:
        FashionMNIST(tmp_path / "root", train=False)
    msg = str(e.value)
    assert "FashionMNIST dataset not found" in msg and "t10k-images-idx3-ubyte[.gz]" in msg
    for d in (tmp_path / "root" / "FashionMNIST" / "raw", tmp_path / "root",
              tmp_path / "system"):
        assert str(d) in msg
    assert "apt-get install dataset-fashion-mnist" in msg
    assert FashionMNIST.mirrors[0] in msg and "download=True" in msg
    with pytest.raises(RuntimeError, match="MNIST dataset not found") as e:
        MNIST(tmp_path)
    assert "apt-get" not in str(e.value)


def test_inconsistent_files_are_rejected(tmp_path):
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((3, 4), np.uint8))
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(3, np.uint8))
    with pytest.raises(ValueError, match="expected an image file of N x rows x cols, got 2 "
                                         "dimensions"):
        MNIST(tmp_path)
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((3, 4, 4), np.uint8))
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(2, np.uint8))
    with pytest.raises(ValueError, match="holds 3 images but .* holds 2 labels"):
        MNIST(tmp_path)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(b"\x08\x08\x08\x08")
    with pytest.raises(ValueError, match="bad magic number"):
        MNIST(tmp_path)


def test_download_from_a_mirror(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    make_split(mirror, True, 3, True)
    images, _ = make_split(mirror, False, 2, True)
    monkeypatch.setattr(MNIST, "mirrors", [mirror.as_uri() + "/"])
    monkeypatch.setattr(MNIST, "resources", [(p.name, calculate_md5(p))
                                             for p in sorted(mirror.iterdir())])
    ds = MNIST(tmp_path / "root", train=False, download=True)
    assert len(ds) == 2 and sorted(os.listdir(ds.raw_folder)) == sorted(
        n + ".gz" for n in (*NAMES[True], *NAMES[False]))
    np.testing.assert_array_equal(ds[1][0], images[1])


@pytest.mark.skipif(not os.path.isdir("/usr/share/datasets/fashion-mnist"),
                    reason="Debian's dataset-fashion-mnist is not installed")
def test_debian_fashion_mnist_is_found():
    ds = FashionMNIST("/nonexistent-root", train=False)
    assert len(ds) == 10000 and ds.data.shape == (10000, 28, 28)
    assert ds.images_file.startswith("/usr/share/datasets/fashion-mnist/")
    assert sorted(set(ds.targets.tolist())) == list(range(10))
