"""PyTorch references of mbtorch.vision.models' architectures, written with torch.nn and
torchvision's parameter names (torchvision's wheels do not load with the installed torch build).
Compact on purpose: only what fixes the state-dict keys, shapes and the forward computation.

Shared by the zoo benchmark (``bench/zoo.py``), the model tests (``tests/vision``, through
``tests/vision/_torch_ref.py``) and the ONNX tests (``tests/onnx/models.py``). ``ZOO`` names
each zoo model: the mbtorch builder's keyword arguments, the reference's factory and an input
shape the architecture takes; ``reference(name)`` builds one and ``same_weights`` copies a
reference's state dict into the mbtorch model.
"""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import nn

__all__ = ["CFG_A", "CFG_D", "ZOO", "ZooEntry", "fashion_cnn", "lenet5", "mobilenet_v2",
           "randomize_norms", "reference", "resnet", "same_weights", "vgg", "vit"]

CFG_A = [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"]
CFG_D = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]


def _bn_conv(cin, cout, k, s=1, p=0, g=1):
    return [nn.Conv2d(cin, cout, k, s, p, groups=g, bias=False), nn.BatchNorm2d(cout)]


class _Block(nn.Module):
    def __init__(self, cin, planes, stride, bottleneck):
        super().__init__()
        exp = 4 if bottleneck else 1
        self.relu = nn.ReLU()
        if bottleneck:
            self.conv1, self.bn1 = _bn_conv(cin, planes, 1)
            self.conv2, self.bn2 = _bn_conv(planes, planes, 3, stride, 1)
            self.conv3, self.bn3 = _bn_conv(planes, planes * exp, 1)
        else:
            self.conv1, self.bn1 = _bn_conv(cin, planes, 3, stride, 1)
            self.conv2, self.bn2 = _bn_conv(planes, planes, 3, 1, 1)
        self.downsample = (nn.Sequential(*_bn_conv(cin, planes * exp, 1, stride))
                           if stride != 1 or cin != planes * exp else None)

    def forward(self, x):
        idt = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if hasattr(self, "conv3"):
            out = self.bn3(self.conv3(self.relu(out)))
        return self.relu(out + idt)


class _ResNet(nn.Module):
    def __init__(self, layers, bottleneck, num_classes):
        super().__init__()
        self.conv1, self.bn1 = _bn_conv(3, 64, 7, 2, 3)
        self.stem = nn.Sequential(nn.ReLU(), nn.MaxPool2d(3, 2, 1))
        cin, exp = 64, (4 if bottleneck else 1)
        for i, (n, planes) in enumerate(zip(layers, (64, 128, 256, 512))):
            blocks = []
            for j in range(n):
                blocks.append(_Block(cin, planes, 2 if j == 0 and i > 0 else 1, bottleneck))
                cin = planes * exp
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
        self.fc = nn.Linear(512 * exp, num_classes)

    def forward(self, x):
        x = self.stem(self.bn1(self.conv1(x)))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(x.mean((2, 3)))


def resnet(layers, bottleneck, num_classes=1000):
    return _ResNet(layers, bottleneck, num_classes)


class _VGG(nn.Module):
    def __init__(self, cfg, bn, num_classes):
        super().__init__()
        layers, cin = [], 3
        for v in cfg:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))
                continue
            layers += [nn.Conv2d(cin, v, 3, padding=1)] + ([nn.BatchNorm2d(v)] if bn else [])
            layers.append(nn.ReLU())
            cin = v
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(7)
        self.classifier = nn.Sequential(
            nn.Linear(25088, 4096), nn.ReLU(), nn.Dropout(), nn.Linear(4096, 4096), nn.ReLU(),
            nn.Dropout(), nn.Linear(4096, num_classes))

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


def vgg(cfg, bn, num_classes=1000):
    return _VGG(cfg, bn, num_classes)


def _cbr(cin, cout, k=3, s=1, g=1):
    return nn.Sequential(*_bn_conv(cin, cout, k, s, (k - 1) // 2, g), nn.ReLU6())


class _InvRes(nn.Module):
    def __init__(self, cin, cout, stride, t):
        super().__init__()
        hid = cin * t
        layers = ([_cbr(cin, hid, 1)] if t != 1 else []) + [_cbr(hid, hid, 3, stride, hid)]
        self.conv = nn.Sequential(*layers, *_bn_conv(hid, cout, 1))
        self.res = stride == 1 and cin == cout

    def forward(self, x):
        return x + self.conv(x) if self.res else self.conv(x)


class _MobileNetV2(nn.Module):
    def __init__(self, channels, num_classes):
        """``channels``: stem width, then (t, c, n, s) rows already scaled, then last width."""
        super().__init__()
        stem, rows, last = channels
        feats, cin = [_cbr(3, stem, 3, 2)], stem
        for t, c, n, s in rows:
            for i in range(n):
                feats.append(_InvRes(cin, c, s if i == 0 else 1, t))
                cin = c
        self.features = nn.Sequential(*feats, _cbr(cin, last, 1))
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(last, num_classes))

    def forward(self, x):
        return self.classifier(self.features(x).mean((2, 3)))


def mobilenet_v2(width_mult=1.0, num_classes=1000):
    # widths for 1.0 and 0.5, written out (torchvision's rounding, not recomputed here)
    widths = {1.0: (32, [16, 24, 32, 64, 96, 160, 320], 1280),
              0.5: (16, [8, 16, 16, 32, 48, 80, 160], 1280)}[width_mult]
    rows = [(t, c, n, s) for (t, n, s), c in zip(
        [(1, 1, 1), (6, 2, 2), (6, 3, 2), (6, 4, 2), (6, 3, 1), (6, 3, 2), (6, 1, 1)], widths[1])]
    return _MobileNetV2((widths[0], rows, widths[2]), num_classes)


class _LeNet5(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 6, 5), nn.Conv2d(6, 16, 5)
        self.fc1, self.fc2, self.fc3 = nn.Linear(400, 120), nn.Linear(120, 84), nn.Linear(84, 10)

    def forward(self, x):
        x = torch.max_pool2d(torch.relu(self.conv1(x)), 2)
        x = torch.max_pool2d(torch.relu(self.conv2(x)), 2).flatten(1)
        return self.fc3(torch.relu(self.fc2(torch.relu(self.fc1(x)))))


def lenet5():
    return _LeNet5()


class _EncoderBlock(nn.Module):
    def __init__(self, heads, dim, mlp_dim):
        super().__init__()
        self.ln_1, self.ln_2 = nn.LayerNorm(dim, eps=1e-6), nn.LayerNorm(dim, eps=1e-6)
        self.self_attention = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp_dim), nn.GELU(), nn.Dropout(),
                                 nn.Linear(mlp_dim, dim), nn.Dropout())

    def forward(self, x):
        y = self.ln_1(x)
        x = x + self.self_attention(y, y, y, need_weights=False)[0]
        return x + self.mlp(self.ln_2(x))


class _ViT(nn.Module):
    def __init__(self, image, patch, layers, heads, dim, mlp_dim, num_classes):
        super().__init__()
        self.conv_proj = nn.Conv2d(3, dim, patch, patch)
        self.class_token = nn.Parameter(torch.randn(1, 1, dim))
        self.encoder = nn.Module()
        self.encoder.pos_embedding = nn.Parameter(torch.randn(1, (image // patch) ** 2 + 1, dim))
        self.encoder.layers = nn.Sequential()
        for i in range(layers):
            self.encoder.layers.add_module(f"encoder_layer_{i}",
                                           _EncoderBlock(heads, dim, mlp_dim))
        self.encoder.ln = nn.LayerNorm(dim, eps=1e-6)
        self.heads = nn.Sequential()
        self.heads.add_module("head", nn.Linear(dim, num_classes))

    def forward(self, x):
        x = self.conv_proj(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.class_token.expand(x.shape[0], -1, -1), x], 1)
        x = self.encoder.layers(x + self.encoder.pos_embedding)
        return self.heads(self.encoder.ln(x)[:, 0])


def vit(image=224, patch=16, layers=12, heads=12, dim=768, mlp_dim=3072, num_classes=1000):
    return _ViT(image, patch, layers, heads, dim, mlp_dim, num_classes)


def randomize_norms(model: nn.Module) -> nn.Module:
    """Give every norm layer random affine parameters and running statistics, so a forgotten
    or misnamed buffer shows up in the logits."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
                m.num_batches_tracked.fill_(7)
            elif isinstance(m, nn.LayerNorm):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    return model


def fashion_cnn(num_classes: int = 10) -> nn.Module:
    """The zoo's Fashion-MNIST CNN in torch.nn: its architecture is written once, as a function
    of an ``nn`` namespace, beside ``mbtorch.vision.models.fashion_cnn`` (``build_fashion_cnn``).
    """
    import importlib

    from mbtorch.vision import models

    module = importlib.import_module(models.fashion_cnn.__module__)
    return module.build_fashion_cnn(nn, num_classes)


def _has_fashion_cnn() -> bool:
    from mbtorch.vision import models

    return hasattr(models, "fashion_cnn")


class ZooEntry:
    """One zoo model: ``kwargs`` for ``mbtorch.vision.models.<name>``, the reference's
    ``factory`` (the same architecture for those kwargs) and the ``image`` (C, H, W) it is
    measured on."""

    def __init__(self, kwargs: dict, factory: Callable[[], nn.Module],
                 image: tuple[int, int, int]) -> None:
        self.kwargs, self.factory, self.image = kwargs, factory, image


ZOO: dict[str, ZooEntry] = {
    "lenet5": ZooEntry({}, lenet5, (1, 32, 32)),
    "resnet18": ZooEntry({}, lambda: resnet([2, 2, 2, 2], False), (3, 224, 224)),
    "resnet50": ZooEntry({}, lambda: resnet([3, 4, 6, 3], True), (3, 224, 224)),
    # VGG's init draws ~130M random numbers; the reference's weights replace them anyway
    "vgg11": ZooEntry({"init_weights": False}, lambda: vgg(CFG_A, False), (3, 224, 224)),
    "vgg11_bn": ZooEntry({"init_weights": False}, lambda: vgg(CFG_A, True), (3, 224, 224)),
    "mobilenet_v2": ZooEntry({}, mobilenet_v2, (3, 224, 224)),
    "vit_tiny": ZooEntry({}, lambda: vit(32, 8, 2, 2, 64, 128), (3, 32, 32)),
    "vit_b_16": ZooEntry({}, vit, (3, 224, 224)),
}
if _has_fashion_cnn():  # written beside this module: it joins the zoo once it is there
    ZOO["fashion_cnn"] = ZooEntry({}, fashion_cnn, (1, 28, 28))


def reference(name: str, seed: int = 0) -> nn.Module:
    """The eval-mode PyTorch reference of zoo model ``name``: seeded random weights and
    random norm statistics (``randomize_norms``)."""
    if name not in ZOO:
        raise ValueError(f"reference(): unknown zoo model {name!r}; one of {sorted(ZOO)}")
    torch.manual_seed(seed)
    return randomize_norms(ZOO[name].factory()).eval()


def same_weights(theirs: nn.Module, ours: Any) -> Any:
    """``ours`` (an mbtorch module) given the reference's parameters and buffers (strict
    ``load_state_dict``), in eval mode."""
    import mbtorch

    state = {k: mbtorch.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()}
    ours.load_state_dict(state, strict=True)
    return ours.eval()
