"""The models the ONNX tests export: the training program's CNN, the examples' models (built
here with the same architecture as in examples/), written once for mbtorch and PyTorch; and
the model zoo's architectures (``mbtorch.vision.models``, PyTorch references with torchvision's
names from ``bench/zoo_torch_ref.py``) at small inputs, the mbtorch model holding the
reference's weights. (The zoo's ``fashion_cnn`` is the training program's CNN, above.)"""

from __future__ import annotations

import functools
import math

__all__ = ["EXPORTED", "MODELS", "ZOO_INPUTS", "ZOO_TORCH_ONLY", "build", "example_input"]

# zoo model -> the (C, H, W) the tests feed it: the smallest the architecture takes well
ZOO_INPUTS = {"lenet5": (1, 32, 32), "resnet18": (3, 32, 32), "mobilenet_v2": (3, 32, 32),
              "vgg11_bn": (3, 32, 32), "vit_tiny": (3, 32, 32)}
# only PyTorch's export of these is tested: building mbtorch's VGG costs ~25 s on two cores
# (nn.Linear's default init draws its 123M weights through the Philox generator), and its
# export writes a 530 MB file (mbtorch's export of it matched onnxruntime to 7e-7 by hand)
ZOO_TORCH_ONLY = {"vgg11_bn"}


def _fashion_cnn(lib):
    from mbtorch.train import build_model

    return build_model(lib.nn)


def _example_cnn(lib):
    nn = lib.nn
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.25), nn.Linear(16 * 4 * 4, 3))


def _mlp(lib):
    nn = lib.nn
    return nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                         nn.Linear(64, 4))


def _lstm(lib):
    nn = lib.nn

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(1, 24, num_layers=2, batch_first=True)
            self.out = nn.Linear(24, 1)

        def forward(self, x):
            h, _ = self.lstm(x)
            return self.out(h).squeeze(-1)

    return Model()


def _tiny_gpt(lib):
    nn = lib.nn

    class TinyGPT(nn.Module):
        def __init__(self, vocab=8, d_model=32, heads=4, layers=2, context=16):
            super().__init__()
            self.tok = nn.Embedding(vocab, d_model)
            self.pos = nn.Parameter(lib.randn(context, d_model) * 0.02)
            layer = nn.TransformerEncoderLayer(d_model, heads, 64, dropout=0.0,
                                               batch_first=True, norm_first=True)
            self.blocks = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
            self.head = nn.Linear(d_model, vocab)

        def forward(self, idx):
            t = idx.shape[1]
            x = self.tok(idx) * math.sqrt(self.tok.embedding_dim) + self.pos[:t]
            mask = lib.triu(lib.ones(t, t, dtype=lib.bool), diagonal=1).to(idx.device)
            return self.head(self.blocks(x, mask=mask))

    return TinyGPT()


def _zoo(name):
    @functools.lru_cache(maxsize=None)  # built once per session: the tests only read them
    def build(lib):
        from bench.zoo_torch_ref import ZOO, reference, same_weights

        theirs = reference(name)
        if lib.__name__ == "torch":
            return theirs
        from mbtorch.vision import models

        return same_weights(theirs, getattr(models, name)(**ZOO[name].kwargs))

    return build


MODELS = {"fashion_cnn": _fashion_cnn, "example_cnn": _example_cnn, "mlp": _mlp,
          "lstm": _lstm, "tiny_gpt": _tiny_gpt, **{name: _zoo(name) for name in ZOO_INPUTS}}
# what the tests export with mbtorch.onnx.export
EXPORTED = sorted(set(MODELS) - ZOO_TORCH_ONLY)


def build(name: str, lib):
    """The model in eval mode, with batch norms given non-trivial running statistics (a zoo
    model: the seeded reference's random norm layers, the same in both libraries)."""
    if name in ZOO_INPUTS:
        return MODELS[name](lib).eval()
    lib.manual_seed(0)
    model = MODELS[name](lib)
    with lib.no_grad():
        for m in model.modules():
            if isinstance(m, (lib.nn.BatchNorm1d, lib.nn.BatchNorm2d)):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 1.5)
    return model.eval()


def example_input(name: str, lib, batch: int):
    g = lib.Generator().manual_seed(batch)
    if name in ZOO_INPUTS:
        return lib.randn(batch, *ZOO_INPUTS[name], generator=g)
    if name in ("fashion_cnn",):
        return lib.randn(batch, 1, 28, 28, generator=g)
    if name == "example_cnn":
        return lib.randn(batch, 1, 16, 16, generator=g)
    if name == "mlp":
        return lib.randn(batch, 20, generator=g)
    if name == "lstm":
        return lib.randn(batch, 12, 1, generator=g)
    return lib.randint(0, 8, (batch, 16), generator=g)
