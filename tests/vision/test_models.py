"""mbtorch.vision.models against PyTorch: a reference with torchvision's parameter names and
random weights is saved with torch.save (or safetensors' save_file), loaded with mbtorch.load
into the mbtorch model (strict), and both give the same eval-mode logits."""

from __future__ import annotations

import numpy as np
import pytest

import mbtorch as mt
from mbtorch.vision import models

torch = pytest.importorskip("torch")

from . import _torch_ref as ref  # noqa: E402 - needs torch

CFG_A, CFG_D = ref.CFG_A, ref.CFG_D

# name -> (mbtorch builder kwargs, torch reference factory, torchvision's parameter count;
# vit_tiny is not in torchvision: its count is the reference's)
CASES = {
    "resnet18": ({}, lambda: ref.resnet([2, 2, 2, 2], False), 11_689_512),
    "resnet34": ({}, lambda: ref.resnet([3, 4, 6, 3], False), 21_797_672),
    "resnet50": ({}, lambda: ref.resnet([3, 4, 6, 3], True), 25_557_032),
    # VGG's init draws ~130M random numbers; the tests overwrite the weights anyway
    "vgg11": ({"init_weights": False}, lambda: ref.vgg(CFG_A, False), 132_863_336),
    "vgg11_bn": ({"init_weights": False}, lambda: ref.vgg(CFG_A, True), 132_868_840),
    "vgg16": ({"init_weights": False}, lambda: ref.vgg(CFG_D, False), 138_357_544),
    "vgg16_bn": ({"init_weights": False}, lambda: ref.vgg(CFG_D, True), 138_365_992),
    "mobilenet_v2": ({}, lambda: ref.mobilenet_v2(), 3_504_872),
    "lenet5": ({}, ref.lenet5, 61_706),
    "vit_b_16": ({}, lambda: ref.vit(), 86_567_656),
    "vit_tiny": ({"num_classes": 10},
                 lambda: ref.vit(32, 8, 2, 2, 64, 128, num_classes=10), 81_226),
}
INPUTS = {"lenet5": (2, 1, 32, 32), "vgg11_bn": (1, 3, 32, 32), "vit_tiny": (2, 3, 32, 32)}
LOGIT_CASES = ["resnet18", "resnet50", "vgg11_bn", "mobilenet_v2", "lenet5", "vit_tiny"]

_BUILT: dict[str, tuple] = {}


def _pair(name, keep):
    """The mbtorch model and its torch reference (random weights, random norm statistics).
    The big ones take seconds to build, so the pair is kept for the logits test (``keep``),
    which then drops it (a VGG pair holds 1 GB)."""
    if name not in _BUILT:
        kwargs, factory, _ = CASES[name]
        torch.manual_seed(0)
        _BUILT[name] = (getattr(models, name)(**kwargs), ref.randomize_norms(factory()).eval())
    return _BUILT[name] if keep else _BUILT.pop(name)


def _shapes(state_dict):
    return sorted((k, tuple(v.shape)) for k, v in state_dict.items())


def _transfer(theirs, ours, tmp_path, fmt="pth"):
    """Save the reference's state dict with torch.save (``fmt="pth"``) or safetensors'
    ``save_file`` (``"safetensors"``, as Hugging Face publishes weights), mbtorch.load it into
    ``ours`` (strict)."""
    path = tmp_path / f"weights.{fmt}"
    if fmt == "safetensors":
        from safetensors.torch import save_file

        save_file({k: v.contiguous() for k, v in theirs.state_dict().items()}, str(path))
    else:
        torch.save(theirs.state_dict(), path)
    ours.load_state_dict(mt.load(path), strict=True)
    return ours.eval()


def _logits(theirs, ours, shape, device="cpu"):
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    with torch.no_grad():
        expected = theirs(torch.from_numpy(x)).numpy()
    with mt.no_grad():
        actual = ours.to(device)(mt.tensor(x, device=device)).numpy(force=True)
    assert actual.dtype == np.float32 and actual.shape == expected.shape
    scale = float(np.abs(expected).max())
    np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=1e-5 * scale)


@pytest.mark.parametrize("name", list(CASES))
def test_keys_shapes_and_parameter_count(name):
    ours, theirs = _pair(name, keep=name in LOGIT_CASES)
    assert _shapes(ours.state_dict()) == _shapes(theirs.state_dict())
    assert sum(p.numel() for p in ours.parameters()) == CASES[name][2]
    assert sum(p.numel() for p in theirs.parameters()) == CASES[name][2]


@pytest.mark.parametrize("name", LOGIT_CASES)
def test_torch_checkpoint_gives_same_logits(name, tmp_path):
    ours, theirs = _pair(name, keep=False)
    _logits(theirs, _transfer(theirs, ours, tmp_path), INPUTS.get(name, (1, 3, 64, 64)))


@pytest.mark.parametrize("name", ["lenet5", "vit_tiny"])
def test_safetensors_checkpoint_gives_same_logits(name, tmp_path):
    kwargs, factory, _ = CASES[name]
    torch.manual_seed(3)
    theirs = ref.randomize_norms(factory()).eval()
    ours = _transfer(theirs, getattr(models, name)(**kwargs), tmp_path, fmt="safetensors")
    _logits(theirs, ours, INPUTS.get(name, (1, 3, 64, 64)))


@pytest.mark.parametrize("name,fmt", [("resnet18", "pth"), ("vit_tiny", "pth"),
                                      ("mobilenet_v2", "safetensors")])
def test_logits_on_mini(name, fmt, mini_device, tmp_path):
    kwargs, factory, _ = CASES[name]
    torch.manual_seed(1)
    theirs = ref.randomize_norms(factory()).eval()
    ours = _transfer(theirs, getattr(models, name)(**kwargs), tmp_path, fmt)
    _logits(theirs, ours, INPUTS.get(name, (1, 3, 64, 64)), device=mini_device)


def test_options_change_shapes_as_torchvision():
    torch.manual_seed(0)
    for ours, theirs in [
        (models.resnet18(num_classes=10), ref.resnet([2, 2, 2, 2], False, num_classes=10)),
        (models.mobilenet_v2(width_mult=0.5, num_classes=7),
         ref.mobilenet_v2(width_mult=0.5, num_classes=7)),
    ]:
        assert _shapes(ours.state_dict()) == _shapes(theirs.state_dict())


def test_mobilenet_v2_half_width_logits(tmp_path):
    torch.manual_seed(2)
    theirs = ref.randomize_norms(ref.mobilenet_v2(width_mult=0.5, num_classes=7)).eval()
    ours = _transfer(theirs, models.mobilenet_v2(width_mult=0.5, num_classes=7), tmp_path)
    _logits(theirs, ours, (2, 3, 32, 32))


def test_zero_init_residual_and_norm_layer():
    model = models.resnet50(zero_init_residual=True)
    bn3 = [b.bn3.weight for layer in (model.layer1, model.layer4) for b in layer]
    assert all(float(w.abs().sum()) == 0.0 for w in bn3)
    assert float(model.layer1[0].bn1.weight.sum()) == 64.0
    model = models.resnet18(zero_init_residual=True, norm_layer=lambda c: mt.nn.GroupNorm(2, c))
    assert isinstance(model.bn1, mt.nn.GroupNorm)
    assert float(model.layer2[1].bn2.weight.abs().sum()) == 0.0
    assert tuple(model(mt.zeros(1, 3, 32, 32)).shape) == (1, 1000)


def test_train_mode_runs_backward():
    model = models.resnet18(num_classes=3)
    out = model(mt.randn(2, 3, 32, 32))
    mt.nn.functional.cross_entropy(out, mt.tensor([0, 2])).backward()
    assert model.conv1.weight.grad is not None
    assert model.fc.bias.grad.shape == (3,)


def test_bad_arguments():
    with pytest.raises(ValueError, match="ResNet: layers"):
        models.ResNet(models.resnet.BasicBlock, [2, 2, 2])
    with pytest.raises(ValueError, match="MobileNetV2: width_mult"):
        models.mobilenet_v2(width_mult=0)
    with pytest.raises(ValueError, match="LeNet5.forward: expected input"):
        models.lenet5()(mt.zeros(1, 1, 28, 28))
    with pytest.raises(ValueError, match=r"VisionTransformer.forward: expected .* 32, 32\)"):
        models.vit_tiny()(mt.zeros(1, 3, 64, 64))
    with pytest.raises(ValueError, match="VisionTransformer: image_size 30"):
        models.vit_tiny(image_size=30)
    with pytest.raises(ValueError, match="BasicBlock: only groups=1"):
        models.resnet.BasicBlock(64, 64, groups=2)
