"""MNIST, FashionMNIST and KMNIST on small IDX files the tests write: samples as torchvision
gives them, the folders searched, md5-checked downloads from a local HTTP server, and the
real Fashion-MNIST where Debian's package is installed."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

import mbtorch
from mbtorch.vision.datasets import KMNIST, MNIST, FashionMNIST
from mbtorch.vision.datasets.utils import calculate_md5

from ._helpers import IDX_NAMES, serve, write_idx_split

FASHION = "/usr/share/datasets/fashion-mnist"


class _Repr:
    def __call__(self, x):
        return np.asarray(x)

    def __repr__(self):
        return "AsArray(\n  line two\n)"


@pytest.mark.parametrize("cls", [MNIST, FashionMNIST, KMNIST])
def test_samples_are_mode_L_images_and_ints(tmp_path, cls, monkeypatch):
    monkeypatch.setattr(cls, "system_dirs", ())
    images, labels = write_idx_split(tmp_path / cls.__name__ / "raw", False, 6, seed=1)
    ds = cls(tmp_path, train=False)
    assert len(ds) == 6 and ds.images_file.endswith("t10k-images-idx3-ubyte.gz")
    for i in (0, 5, -1):
        img, target = ds[i]
        assert img.mode == "L" and img.size == (28, 28)
        np.testing.assert_array_equal(np.asarray(img), images[i])
        assert type(target) is int and target == labels[i]
    assert ds.data.dtype is mbtorch.uint8 and ds.data.shape == (6, 28, 28)
    assert ds.targets.dtype is mbtorch.int64 and ds.targets.tolist() == labels.tolist()
    assert ds.class_to_idx == {c: i for i, c in enumerate(ds.classes)} and len(ds.classes) == 10
    with pytest.raises(TypeError):
        ds[1.0]


def test_kmnist_is_torchvisions():
    assert KMNIST.classes == ["o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"]
    assert KMNIST.mirrors == ["http://codh.rois.ac.jp/kmnist/dataset/kmnist/"]
    assert [n for n, _ in KMNIST.resources] == [n + ".gz" for n in (*IDX_NAMES[True],
                                                                   *IDX_NAMES[False])]


def test_transforms_repr_and_subsetting_data(tmp_path):
    images, labels = write_idx_split(tmp_path, True, 5, seed=2, gz=False)
    ds = MNIST(tmp_path, transform=_Repr(), target_transform=lambda y: -y)
    img, target = ds[2]
    assert isinstance(img, np.ndarray) and img.dtype == np.uint8
    np.testing.assert_array_equal(img, images[2])
    assert target == -int(labels[2])
    # torchvision's layout: the transforms' later lines are not indented
    assert repr(ds).splitlines()[:7] == [
        "Dataset MNIST", "    Number of datapoints: 5", f"    Root location: {tmp_path}",
        "    Split: Train", "    StandardTransform", "Transform: AsArray(",
        "             line two"]
    assert repr(ds).splitlines()[-1].startswith("Target transform: <function")
    # the torchvision idiom for a subset: assign .data and .targets
    ds.data, ds.targets = ds.data[3:], ds.targets[3:]
    assert len(ds) == 2
    np.testing.assert_array_equal(ds[0][0], images[3])
    assert ds[1][1] == -int(labels[4])
    with pytest.raises(TypeError, match="MNIST.data must be a tensor"):
        ds.data = [[1]]


def test_to_tensors_without_pillow_objects(tmp_path):
    images, labels = write_idx_split(tmp_path, True, 4, seed=3)
    x, y = MNIST(tmp_path).to_tensors()
    assert x.shape == (4, 1, 28, 28) and x.dtype is mbtorch.float32
    np.testing.assert_allclose(x.numpy()[:, 0], images / np.float32(255), rtol=1e-6)
    assert y.dtype is mbtorch.int64 and y.tolist() == labels.tolist()


def test_old_spelling_is_the_same_class():
    from mbtorch.data import datasets as old

    assert old.MNIST is MNIST and old.FashionMNIST is FashionMNIST and old.KMNIST is KMNIST


def test_missing_dataset_names_the_folders_searched(tmp_path, monkeypatch):
    monkeypatch.setattr(FashionMNIST, "system_dirs", (str(tmp_path / "system"),))
    with pytest.raises(RuntimeError) as e:
        FashionMNIST(tmp_path / "root", train=True)
    msg = str(e.value)
    assert msg.startswith("Dataset not found. You can use download=True to download it")
    for d in (tmp_path / "root" / "FashionMNIST" / "raw", tmp_path / "root",
              tmp_path / "system"):
        assert f"  {d}\n" in msg
    assert "train-images-idx3-ubyte[.gz]" in msg and "apt-get install" in msg


def _mirror(tmp_path, cls, monkeypatch, seed=0):
    """A mirror folder with both splits, and ``cls.resources`` set to their md5s."""
    mirror = tmp_path / "mirror"
    write_idx_split(mirror, True, 3, seed)
    test = write_idx_split(mirror, False, 2, seed + 1)
    monkeypatch.setattr(cls, "resources", [(n + ".gz", calculate_md5(mirror / (n + ".gz")))
                                           for n in (*IDX_NAMES[True], *IDX_NAMES[False])])
    return mirror, test


def test_download_checks_md5_and_keeps_good_files(tmp_path, monkeypatch):
    mirror, (images, labels) = _mirror(tmp_path, KMNIST, monkeypatch)
    with serve(mirror) as (url, requests):
        monkeypatch.setattr(KMNIST, "mirrors", [url + "missing/", url])  # first one: 404
        ds = KMNIST(tmp_path / "root", train=False, download=True)
        raw = tmp_path / "root" / "KMNIST" / "raw"
        assert sorted(os.listdir(raw)) == sorted(n for n, _ in KMNIST.resources)
        assert len(requests) == 8  # each file: 404 on the first mirror, then the second
        np.testing.assert_array_equal(np.asarray(ds[1][0]), images[1])
        assert ds[1][1] == labels[1]
        # present and right: not fetched again; damaged: fetched again
        KMNIST(tmp_path / "root", train=False, download=True)
        assert len(requests) == 8
        (raw / "t10k-labels-idx1-ubyte.gz").write_bytes(b"damaged")
        ds = KMNIST(tmp_path / "root", train=False, download=True)
        assert requests[8:] == ["/missing/t10k-labels-idx1-ubyte.gz",
                                "/t10k-labels-idx1-ubyte.gz"]
        assert ds.targets.tolist() == labels.tolist()


def test_wrong_md5_leaves_nothing_behind(tmp_path, monkeypatch):
    mirror, _ = _mirror(tmp_path, MNIST, monkeypatch)
    wrong = "0" * 32
    MNIST.resources[0] = (MNIST.resources[0][0], wrong)  # monkeypatch restores the list
    actual = calculate_md5(mirror / "train-images-idx3-ubyte.gz")
    with serve(mirror) as (url, _):
        monkeypatch.setattr(MNIST, "mirrors", [url])
        with pytest.raises(RuntimeError) as e:
            MNIST(tmp_path / "root", download=True)
    msg = str(e.value)
    assert "train-images-idx3-ubyte.gz" in msg and wrong in msg and actual in msg
    assert os.listdir(tmp_path / "root" / "MNIST" / "raw") == []


def test_offline_download_says_where_to_put_the_files(tmp_path, monkeypatch):
    monkeypatch.setattr(FashionMNIST, "system_dirs", ())
    with serve(tmp_path / "empty") as (url, _):
        monkeypatch.setattr(FashionMNIST, "mirrors", [url])
        with pytest.raises(RuntimeError) as e:
            FashionMNIST(tmp_path / "root", download=True)
    msg = str(e.value)
    assert msg.startswith("could not download train-images-idx3-ubyte.gz for FashionMNIST")
    assert "HTTP 404" in msg and str(tmp_path / "root" / "FashionMNIST" / "raw") in msg
    assert "apt-get install dataset-fashion-mnist" in msg


def test_data_outside_the_raw_folder_is_used_without_downloading(tmp_path, monkeypatch):
    images, _ = write_idx_split(tmp_path, False, 3, seed=5)
    monkeypatch.setattr(MNIST, "mirrors", ["http://127.0.0.1:9/unreachable/"])
    ds = MNIST(tmp_path, train=False, download=True)
    np.testing.assert_array_equal(np.asarray(ds[0][0]), images[0])
    assert not (tmp_path / "MNIST").exists()


@pytest.mark.skipif(not os.path.isdir(FASHION),
                    reason=f"Debian's dataset-fashion-mnist is not installed ({FASHION})")
def test_real_fashion_mnist():
    train = FashionMNIST("/nonexistent-root", train=True)
    test = FashionMNIST("/nonexistent-root", train=False)
    assert (len(train), len(test)) == (60000, 10000)
    assert train.images_file.startswith(FASHION)
    assert train.targets[:5].tolist() == [9, 0, 0, 3, 0]
    img, target = train[0]
    assert img.mode == "L" and img.size == (28, 28) and target == 9
    assert np.bincount(test.targets.numpy()).tolist() == [1000] * 10
    assert train.classes[target] == "Ankle boot"


def test_without_pillow_a_sample_says_what_to_install(tmp_path, monkeypatch):
    write_idx_split(tmp_path, True, 2, seed=6)
    ds = MNIST(tmp_path)  # loading needs no Pillow: only making a sample's image does
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(ImportError, match=r"Pillow is not installed: pip install "
                                          r"'mbtorch\[vision\]'"):
        ds[0]
    assert ds.to_tensors()[0].shape == (2, 1, 28, 28)
