"""The PyTorch references of the zoo's architectures: they live in ``bench/zoo_torch_ref.py``,
shared with the zoo benchmark and the ONNX tests; this module keeps the tests' import."""

from __future__ import annotations

from bench.zoo_torch_ref import (
    CFG_A,
    CFG_D,
    lenet5,
    mobilenet_v2,
    randomize_norms,
    resnet,
    vgg,
    vit,
)

__all__ = ["CFG_A", "CFG_D", "lenet5", "mobilenet_v2", "randomize_norms", "resnet", "vgg", "vit"]
