"""The zoo's Fashion-MNIST CNN: the weights shipped in the package (hash, loading through the hub
cache, a damaged copy refused), its logits against a PyTorch ``nn.Sequential`` with the same
names loaded from the same file (cpu, mini), its accuracy on real test images, its
preprocessing preset, ``mbtorch.train.build_model`` being the same architecture, and the
registry functions (``get_model_weights``...) the fine-tuning example relies on."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import numpy as np
import pytest

import mbtorch as mt
from mbtorch import hub, train
from mbtorch.vision import models
from mbtorch.vision.models import fashioncnn as fc

torch = pytest.importorskip("torch")

WEIGHTS = models.FashionCNN_Weights.FASHION_MNIST
DATA = "/usr/share/datasets/fashion-mnist"
_NUMPY = {"F32": np.float32, "I64": np.int64}


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty hub cache; returns its checkpoints folder."""
    monkeypatch.setattr(hub, "_hub_dir", str(tmp_path / "hub"))
    return tmp_path / "hub" / "checkpoints"


def _shipped_path() -> Path:
    return Path(url2pathname(urlparse(WEIGHTS.url).path))


def _read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """The safetensors format read with json and NumPy alone (an oracle independent of
    mbtorch): an 8-byte little-endian header size, a JSON header, the raw tensor bytes."""
    raw = path.read_bytes()
    (size,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + size])
    header.pop("__metadata__", None)
    body = raw[8 + size:]
    return {name: np.frombuffer(body[a:b], dtype=_NUMPY[h["dtype"]]).reshape(h["shape"])
            for name, h in header.items() for a, b in [h["data_offsets"]]}


def _torch_reference() -> torch.nn.Sequential:
    """The architecture written out in PyTorch, with the state dict of the shipped file."""
    tnn = torch.nn
    model = tnn.Sequential(
        tnn.Conv2d(1, 16, 3, padding=1, bias=False), tnn.MaxPool2d(2), tnn.BatchNorm2d(16),
        tnn.ReLU(), tnn.Conv2d(16, 32, 3, padding=1, bias=False), tnn.MaxPool2d(2),
        tnn.BatchNorm2d(32), tnn.ReLU(), tnn.Flatten(), tnn.Linear(1568, 128), tnn.ReLU(),
        tnn.Linear(128, 10))
    state = {k: torch.from_numpy(v.copy()) for k, v in _read_safetensors(_shipped_path()).items()}
    model.load_state_dict(state, strict=True)
    return model.eval()


def test_shipped_file_matches_its_recorded_hash():
    path = _shipped_path()
    assert path.parent == Path(fc.__file__).parent / "weights"
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert digest == WEIGHTS.meta["sha256"]
    assert path.name == f"fashion_cnn-{digest[:8]}.safetensors"
    assert 700_000 < path.stat().st_size < 900_000
    arrays = _read_safetensors(path)
    assert {a.dtype for k, a in arrays.items() if "num_batches" not in k} == {np.dtype(np.float32)}


def test_metadata():
    meta = WEIGHTS.meta
    assert models.FashionCNN_Weights.DEFAULT is WEIGHTS
    assert models.get_weight("FashionCNN_Weights.FASHION_MNIST") is WEIGHTS
    count = sum(p.numel() for p in models.fashion_cnn().parameters())
    assert meta["num_params"] == 206_970 == count
    assert meta["num_classes"] == 10
    from mbtorch.data.datasets import FashionMNIST

    assert meta["categories"] == FashionMNIST.classes
    assert meta["recipe"].startswith("python -m mbtorch.train --epochs 3")
    assert meta["_metrics"]["Fashion-MNIST"]["acc@1"] == 91.60  # python -m bench.zoo_fashion_cnn
    assert (fc.FASHION_MNIST_MEAN, fc.FASHION_MNIST_STD) == (train._MEAN, train._STD)


def test_loads_through_the_hub_cache(cache):
    model = models.fashion_cnn(weights="FASHION_MNIST", progress=False)
    assert sorted(os.listdir(cache)) == [_shipped_path().name]  # copied, hash-checked
    expected = _read_safetensors(_shipped_path())
    state = model.state_dict()
    assert sorted(state) == sorted(expected)
    for name, value in expected.items():
        np.testing.assert_array_equal(state[name].numpy(), value)
    # the training program builds the same modules, in mbtorch and in PyTorch
    assert sorted(train.build_model(mt.nn).state_dict()) == sorted(expected)
    assert sorted(train.build_model(torch.nn).state_dict()) == sorted(expected)


@pytest.mark.parametrize("device", ["cpu", "mini"])
def test_logits_equal_pytorch_with_the_same_file(device, cache, request):
    if device == "mini":
        device = request.getfixturevalue("mini_device")
    theirs = _torch_reference()
    ours = models.fashion_cnn(weights=WEIGHTS, progress=False).eval().to(device)
    x = (np.random.default_rng(0).random((8, 1, 28, 28)).astype(np.float32) - 0.286) / 0.353
    with torch.no_grad():
        expected = theirs(torch.from_numpy(x)).numpy()
    with mt.no_grad():
        actual = ours(mt.tensor(x, device=device)).numpy(force=True)
    assert actual.dtype == np.float32 and actual.shape == (8, 10)
    np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())


@pytest.mark.skipif(not os.path.isdir(DATA), reason=f"no Fashion-MNIST in {DATA} (Debian's "
                    "dataset-fashion-mnist package installs it)")
def test_accuracy_on_the_first_1000_test_images(cache):
    from bench.zoo_fashion_cnn import evaluate

    assert evaluate(DATA, limit=1000) >= 0.88


def test_corrupted_copy_is_refused(cache, tmp_path, monkeypatch):
    damaged = tmp_path / "copy" / _shipped_path().name
    damaged.parent.mkdir()
    shutil.copy(_shipped_path(), damaged)
    raw = bytearray(damaged.read_bytes())
    raw[-100] ^= 0x01  # one bit of one weight
    damaged.write_bytes(bytes(raw))
    monkeypatch.setattr(WEIGHTS, "_value_", fc.Weights(damaged.as_uri(), WEIGHTS.transforms,
                                                      WEIGHTS.meta))
    with pytest.raises(RuntimeError, match="invalid hash value"):
        models.fashion_cnn(weights="DEFAULT", progress=False)
    assert not cache.exists() or os.listdir(cache) == []  # nothing was cached
    monkeypatch.undo()
    models.fashion_cnn(weights="DEFAULT", progress=False)  # the shipped file still loads


def test_bad_arguments():
    with pytest.raises(ValueError, match="FashionCNN_Weights: no weights named 'IMAGENET1K_V1'"):
        models.fashion_cnn(weights="IMAGENET1K_V1")
    with pytest.raises(TypeError, match="FashionCNN_Weights: weights must be None"):
        models.fashion_cnn(weights=models.ResNet18_Weights.DEFAULT)
    with pytest.raises(ValueError, match=r"fashion_cnn\(\): num_classes=3 does not match"):
        models.fashion_cnn(weights="DEFAULT", num_classes=3)
    with pytest.raises(ValueError, match=r"build_fashion_cnn\(\): num_classes must be"):
        models.fashion_cnn(num_classes=0)
    head = models.fashion_cnn(num_classes=3)[11]
    assert (head.in_features, head.out_features) == (128, 3)


def _expected(pixels_uint8: np.ndarray) -> np.ndarray:
    """ToTensor and Normalize written with torch."""
    x = torch.from_numpy(pixels_uint8).float().div(255)
    return ((x - train._MEAN) / train._STD).numpy()


def test_transforms_preset():
    preprocess = WEIGHTS.transforms()
    rng = np.random.default_rng(1)
    batch = rng.integers(0, 256, (5, 28, 28), dtype=np.uint8)
    one = batch[0]
    from PIL import Image

    cases = [(Image.fromarray(one), one[None]), (Image.fromarray(one).convert("RGB"), one[None]),
             (one, one[None]), (one[None], one[None]), (mt.tensor(one), one[None]),
             (batch, batch[:, None]), (mt.tensor(batch[:, None]), batch[:, None]),
             (mt.tensor(one.astype(np.float32) / 255), one[None])]
    for img, pixels in cases:
        out = preprocess(img)
        assert out.dtype is mt.float32 and tuple(out.shape) == pixels.shape
        np.testing.assert_allclose(out.numpy(), _expected(pixels), rtol=1e-6, atol=1e-6)
    # the same values the training program feeds the model
    images = mt.tensor(batch).unsqueeze(1).float().div(255)
    np.testing.assert_allclose(preprocess(batch).numpy(),
                               ((images - train._MEAN) / train._STD).numpy(), atol=1e-6)
    assert "mean=0.286" in repr(preprocess)


def test_transforms_preset_refuses_bad_input():
    preprocess = WEIGHTS.transforms()
    with pytest.raises(ValueError, match=r"expected a 28x28 grayscale image .* got shape "
                                         r"\(32, 32\); resize it"):
        preprocess(np.zeros((32, 32), np.uint8))
    with pytest.raises(ValueError, match=r"got shape \(2, 3, 28, 28\)"):
        preprocess(np.zeros((2, 3, 28, 28), np.uint8))
    with pytest.raises(TypeError, match="expected uint8 or floating pixels, got int32"):
        preprocess(np.zeros((28, 28), np.int32))
    with pytest.raises(TypeError, match="expected a PIL image, a NumPy array or an mbtorch "
                                        "tensor, got list"):
        preprocess([[0] * 28] * 28)
    with pytest.raises(ValueError, match="std must be positive"):
        fc.FashionMNISTClassification(std=0.0)


def test_registry():
    builders = {n for n in models.__all__ if n[0].islower() and n not in
                {"get_model", "get_model_builder", "get_model_weights", "get_weight",
                 "list_models"}}
    assert set(models.list_models()) == builders  # every builder has a row
    assert models.get_model_builder("resnet18") is models.resnet18
    assert models.get_model_weights("fashion_cnn") is models.FashionCNN_Weights
    assert models.get_model_weights(models.vgg11_bn) is models.VGG11_BN_Weights
    assert models.get_model("fashion_cnn", num_classes=4)[11].out_features == 4
    with pytest.raises(ValueError, match=r"get_model_weights\(\): lenet5 has no published"):
        models.get_model_weights("lenet5")
    with pytest.raises(ValueError, match=r"get_model_builder\(\): unknown model 'resnet9'"):
        models.get_model_builder("resnet9")
    with pytest.raises(ValueError, match="is not a model builder"):
        models.get_model_weights(print)
    with pytest.raises(TypeError, match="name must be a str or a builder, got int"):
        models.get_model(3)
