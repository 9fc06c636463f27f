"""CIFAR10 / CIFAR100 on small binary-version files the tests write (subclasses with fewer
records per file): pixels and labels, validation of damaged files, and downloads of a
tarball from a local HTTP server (md5 checked, extracted safely)."""

from __future__ import annotations

import os
import tarfile

import numpy as np
import pytest

import mbtorch
from mbtorch.vision.datasets import CIFAR10, CIFAR100
from mbtorch.vision.datasets.utils import calculate_md5

from ._helpers import serve, write_cifar, write_tar

NAMES10 = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
           "truck"]


class Tiny10(CIFAR10):
    train_list = [(f"data_batch_{i}.bin", 3 + i) for i in range(1, 6)]
    test_list = [("test_batch.bin", 4)]


class Tiny100(CIFAR100):
    train_list = [("train.bin", 7)]
    test_list = [("test.bin", 5)]


def make10(root, seed=0):
    files = dict(Tiny10.train_list + Tiny10.test_list)
    return write_cifar(os.path.join(root, "cifar-10-batches-bin"), files, [10],
                       {"batches.meta.txt": NAMES10}, seed)


def make100(root, seed=0):
    meta = {"fine_label_names.txt": [f"fine{i}" for i in range(100)],
            "coarse_label_names.txt": [f"coarse{i}" for i in range(20)]}
    return write_cifar(os.path.join(root, "cifar-100-binary"), dict(Tiny100.train_list
                                                                    + Tiny100.test_list),
                       [20, 100], meta, seed)


def test_cifar10_samples_labels_and_classes(tmp_path):
    written = make10(tmp_path)
    ds = Tiny10(tmp_path, train=True, transform=np.asarray)
    assert len(ds) == 4 + 5 + 6 + 7 + 8
    labels = np.concatenate([written[n][0][:, 0] for n, _ in Tiny10.train_list])
    planes = np.concatenate([written[n][1] for n, _ in Tiny10.train_list])
    assert ds.targets == labels.tolist() and all(type(t) is int for t in ds.targets)
    assert isinstance(ds.data, np.ndarray) and ds.data.dtype == np.uint8
    assert ds.data.shape == (30, 32, 32, 3)
    np.testing.assert_array_equal(ds.data, planes.transpose(0, 2, 3, 1))
    # record 4 is the first of data_batch_2: pixel (y=5, x=7) is (R, G, B) of its planes
    img, target = ds[4]
    assert img.shape == (32, 32, 3) and target == written["data_batch_2.bin"][0][0, 0]
    assert img[5, 7].tolist() == written["data_batch_2.bin"][1][0, :, 5, 7].tolist()
    assert ds.classes == NAMES10 and ds.class_to_idx["truck"] == 9
    raw = Tiny10(tmp_path, train=False)
    assert raw[3][0].mode == "RGB" and raw[3][0].size == (32, 32)
    np.testing.assert_array_equal(np.asarray(raw[3][0]),
                                  written["test_batch.bin"][1][3].transpose(1, 2, 0))
    assert repr(raw).splitlines()[-1] == "    Split: Test"


def test_cifar10_to_tensors(tmp_path):
    written = make10(tmp_path)
    x, y = Tiny10(tmp_path, train=False).to_tensors()
    assert x.shape == (4, 3, 32, 32) and x.dtype is mbtorch.float32
    np.testing.assert_allclose(x.numpy(), written["test_batch.bin"][1] / np.float32(255),
                               rtol=1e-6)
    assert y.dtype is mbtorch.int64 and y.tolist() == written["test_batch.bin"][0][:, 0].tolist()


def test_cifar100_fine_targets_and_coarse_ones(tmp_path):
    written = make100(tmp_path)
    ds = Tiny100(tmp_path, train=False, target_transform=lambda t: t + 1000)
    labels, planes = written["test.bin"]
    assert ds.targets == labels[:, 1].tolist() and ds.coarse_targets == labels[:, 0].tolist()
    assert len(ds.classes) == 100 and ds.classes[42] == "fine42"
    assert ds.coarse_classes[19] == "coarse19" and ds.class_to_idx["fine7"] == 7
    img, target = ds[2]
    assert target == int(labels[2, 1]) + 1000
    np.testing.assert_array_equal(np.asarray(img), planes[2].transpose(1, 2, 0))
    assert len(Tiny100(tmp_path, train=True)) == 7


def test_damaged_files_are_value_errors(tmp_path):
    make10(tmp_path)
    folder = tmp_path / "cifar-10-batches-bin"
    path = folder / "data_batch_3.bin"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(ValueError) as e:
        Tiny10(tmp_path)
    assert str(e.value) == (f"{path}: truncated CIFAR binary file: expected {6 * 3073} bytes "
                            f"(6 records of 3073), found {6 * 3073 - 100}")
    Tiny10(tmp_path, train=False)  # the other split's files are intact
    test = folder / "test_batch.bin"
    data = bytearray(test.read_bytes())
    data[2 * 3073] = 10  # the label of record 2
    test.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"test_batch.bin: record 2 has the label 10, outside "
                                         r"0..9: not a Tiny10 binary file"):
        Tiny10(tmp_path, train=False)
    make10(tmp_path)
    (folder / "batches.meta.txt").write_text("cat\ndog\n")
    with pytest.raises(ValueError, match="batches.meta.txt: expected 10 class names, one a "
                                         "line, found 2"):
        Tiny10(tmp_path, train=False)


def test_missing_files_say_where_and_how(tmp_path):
    make100(tmp_path)
    os.remove(tmp_path / "cifar-100-binary" / "coarse_label_names.txt")
    with pytest.raises(RuntimeError) as e:
        Tiny100(tmp_path)
    msg = str(e.value)
    assert msg.startswith("Dataset not found or corrupted. You can use download=True to "
                          "download it")
    assert str(tmp_path / "cifar-100-binary") in msg and "missing: coarse_label_names.txt" in msg
    assert CIFAR100.url in msg and CIFAR100.tgz_md5 in msg


def _tarball(tmp_path, make):
    """The binary version's tarball of the files ``make`` writes: (folder, its md5)."""
    src, mirror = tmp_path / "src", tmp_path / "mirror"
    make(src)
    mirror.mkdir()
    base = "cifar-10-batches-bin" if make is make10 else "cifar-100-binary"
    name = "cifar-10-binary.tar.gz" if make is make10 else "cifar-100-binary.tar.gz"
    with tarfile.open(mirror / name, "w:gz") as tar:
        tar.add(src / base, arcname=base)
    return mirror, calculate_md5(mirror / name)


@pytest.mark.parametrize("cls, make", [(Tiny10, make10), (Tiny100, make100)])
def test_download_extract_and_repair(tmp_path, monkeypatch, cls, make):
    mirror, md5 = _tarball(tmp_path, make)
    monkeypatch.setattr(cls, "tgz_md5", md5)
    with serve(mirror) as (url, requests):
        monkeypatch.setattr(cls, "url", url + cls.filename)
        root = tmp_path / "root"
        ds = cls(root, train=False, download=True)
        expected = cls(tmp_path / "src", train=False)
        np.testing.assert_array_equal(ds.data, expected.data)
        assert ds.targets == expected.targets and requests == ["/" + cls.filename]
        assert (root / cls.filename).is_file()
        # a truncated file: a ValueError; with download=True, re-extracted from the tarball
        data_file = root / cls.base_folder / cls.test_list[0][0]
        data_file.write_bytes(data_file.read_bytes()[:50])
        with pytest.raises(ValueError, match="truncated CIFAR binary file"):
            cls(root, train=False)
        assert cls(root, train=False, download=True).targets == expected.targets
        assert len(requests) == 1


def test_download_with_a_wrong_md5_leaves_nothing(tmp_path, monkeypatch):
    mirror, md5 = _tarball(tmp_path, make10)
    monkeypatch.setattr(Tiny10, "tgz_md5", "f" * 32)
    with serve(mirror) as (url, _):
        monkeypatch.setattr(Tiny10, "url", url + Tiny10.filename)
        with pytest.raises(RuntimeError) as e:
            Tiny10(tmp_path / "root", download=True)
    msg = str(e.value)
    assert "cifar-10-binary.tar.gz" in msg and "f" * 32 in msg and md5 in msg
    assert os.listdir(tmp_path / "root") == []


def test_download_refuses_an_archive_escaping_its_folder(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    write_tar(mirror / Tiny10.filename, {"cifar-10-batches-bin/../../escaped.bin": b"bad"})
    monkeypatch.setattr(Tiny10, "tgz_md5", calculate_md5(mirror / Tiny10.filename))
    with serve(mirror) as (url, _):
        monkeypatch.setattr(Tiny10, "url", url + Tiny10.filename)
        with pytest.raises(ValueError, match=r"member 'cifar-10-batches-bin/../../escaped.bin' "
                                             r"would be written outside"):
            Tiny10(tmp_path / "root", download=True)
    assert not (tmp_path / "escaped.bin").exists()
    assert os.listdir(tmp_path / "root") == [Tiny10.filename]

