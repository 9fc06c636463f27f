"""Weight enums: torchvision's names, URLs and metadata, loading through mbtorch.hub's cache
(offline: the checkpoint is put where a download would have left it), and the preprocessing
preset against PyTorch's antialiased bilinear resize."""

from __future__ import annotations

import numpy as np
import pytest

import mbtorch as mt
from mbtorch import hub
from mbtorch.serialization import CheckpointError
from mbtorch.vision import models

torch = pytest.importorskip("torch")

from . import _torch_ref as ref  # noqa: E402 - needs torch
from .test_models import CASES, _logits  # noqa: E402

ENUMS = {"resnet18": models.ResNet18_Weights, "resnet34": models.ResNet34_Weights,
         "resnet50": models.ResNet50_Weights, "vgg11": models.VGG11_Weights,
         "vgg11_bn": models.VGG11_BN_Weights, "vgg16": models.VGG16_Weights,
         "vgg16_bn": models.VGG16_BN_Weights, "mobilenet_v2": models.MobileNet_V2_Weights,
         "vit_b_16": models.ViT_B_16_Weights}


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty hub cache; returns its checkpoints folder."""
    monkeypatch.setattr(hub, "_hub_dir", str(tmp_path / "hub"))
    folder = tmp_path / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    return folder


@pytest.mark.parametrize("name", list(ENUMS))
def test_enum_metadata(name):
    enum = ENUMS[name]
    for member in enum:
        assert member.url.startswith("https://download.pytorch.org/models/" + name)
        assert member.meta["num_params"] == CASES[name][2]
        assert member.meta["num_classes"] == 1000
        acc = member.meta["_metrics"]["ImageNet-1K"]
        assert 60 < acc["acc@1"] < acc["acc@5"] < 100
        assert member.transforms().crop_size == 224
    assert enum.DEFAULT in list(enum)
    assert enum.verify("DEFAULT") is enum.DEFAULT
    assert enum.verify(f"{enum.__name__}.IMAGENET1K_V1") is enum.IMAGENET1K_V1
    assert models.get_weight(f"{enum.__name__}.IMAGENET1K_V1") is enum.IMAGENET1K_V1


def test_builder_loads_cached_torch_checkpoint(cache):
    torch.manual_seed(3)
    theirs = ref.randomize_norms(ref.resnet([2, 2, 2, 2], False)).eval()
    torch.save(theirs.state_dict(), cache / "resnet18-f37072fd.pth")
    ours = models.resnet18(weights="IMAGENET1K_V1", progress=False)
    _logits(theirs, ours.eval(), (1, 3, 64, 64))
    ours = models.resnet18(weights=models.ResNet18_Weights.DEFAULT, progress=False)
    _logits(theirs, ours.eval(), (1, 3, 64, 64))


def test_damaged_cached_checkpoint_is_refused(cache):
    torch.manual_seed(3)
    torch.save(ref.lenet5().state_dict(), cache / "resnet18-f37072fd.pth")
    with pytest.raises(RuntimeError, match="Missing key"):
        models.resnet18(weights="DEFAULT", progress=False)
    (cache / "resnet18-f37072fd.pth").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(CheckpointError, match="resnet18-f37072fd.pth"):
        models.resnet18(weights="DEFAULT", progress=False)


def test_bad_weights_arguments():
    with pytest.raises(ValueError, match="ResNet18_Weights: no weights named 'IMAGENET1K_V2'"):
        models.resnet18(weights="IMAGENET1K_V2")
    with pytest.raises(TypeError, match="ResNet18_Weights: weights must be None"):
        models.resnet18(weights=1)
    with pytest.raises(TypeError, match="ResNet18_Weights: weights must be None"):
        models.resnet18(weights=models.ResNet50_Weights.DEFAULT)
    with pytest.raises(ValueError, match=r"resnet18\(\): num_classes=10 does not match"):
        models.resnet18(weights="DEFAULT", num_classes=10)
    with pytest.raises(ValueError, match="get_weight"):
        models.get_weight("Nope_Weights.DEFAULT")
    with pytest.raises(ValueError, match="ResNet18_Weights: no weights named"):
        models.get_weight("ResNet18_Weights.V9")


@pytest.mark.parametrize("builder", ["lenet5", "vit_tiny"])
def test_no_published_weights(builder):
    with pytest.raises(NotImplementedError, match=f"{builder}\\(\\): weights="):
        getattr(models, builder)(weights="DEFAULT")


def _torch_preset(x, resize, crop, mean, std):
    h, w = x.shape[-2:]
    size = (resize, int(resize * w / h)) if h <= w else (int(resize * h / w), resize)
    y = torch.nn.functional.interpolate(x, size=size, mode="bilinear", antialias=True,
                                        align_corners=False)
    top, left = round((size[0] - crop) / 2), round((size[1] - crop) / 2)
    y = y[..., top:top + crop, left:left + crop]
    return (y - torch.tensor(mean)[:, None, None]) / torch.tensor(std)[:, None, None]


@pytest.mark.parametrize("shape", [(2, 3, 300, 400), (3, 500, 260), (3, 100, 120)])
def test_transforms_match_torch_antialiased_resize(shape):
    preset = models.ResNet50_Weights.IMAGENET1K_V2.transforms()
    x = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    actual = preset(mt.tensor(x))
    batch = torch.from_numpy(x.reshape(-1, *shape[-3:]).astype(np.float32) / 255)
    expected = _torch_preset(batch, 232, 224, preset.mean, preset.std).reshape(
        *shape[:-2], 224, 224)
    assert actual.dtype is mt.float32 and tuple(actual.shape) == tuple(expected.shape)
    np.testing.assert_allclose(actual.numpy(), expected.numpy(), atol=5e-4)


def test_transforms_on_pil_image_and_errors():
    image_module = pytest.importorskip("PIL.Image")
    x = np.random.default_rng(1).integers(0, 256, (240, 320, 3), dtype=np.uint8)
    preset = models.ResNet18_Weights.DEFAULT.transforms()
    from_pil = preset(image_module.fromarray(x))
    from_tensor = preset(mt.tensor(x.transpose(2, 0, 1).copy()))
    assert tuple(from_pil.shape) == (3, 224, 224)
    np.testing.assert_allclose(from_pil.numpy(), from_tensor.numpy(), atol=1e-6)
    with pytest.raises(ValueError, match=r"ImageClassification: expected a \(C, H, W\)"):
        preset(mt.zeros(8, 8))
    with pytest.raises(TypeError, match="ImageClassification: expected a PIL image"):
        preset([[0.0]])
