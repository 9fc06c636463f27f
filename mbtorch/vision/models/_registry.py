"""torchvision's model registry functions: ``list_models``, ``get_model_builder``,
``get_model`` and ``get_model_weights``, over a table of the builders written out below (a
model added to the package gets a row; a test checks that every builder has one)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import fashioncnn, lenet, mobilenetv2, resnet, vgg, vit
from ._api import WeightsEnum

__all__ = ["get_model", "get_model_builder", "get_model_weights", "list_models"]

# builder name -> (builder, its weight enum, or None for a model without published weights)
_MODELS: dict[str, tuple[Callable[..., Any], type[WeightsEnum] | None]] = {
    "fashion_cnn": (fashioncnn.fashion_cnn, fashioncnn.FashionCNN_Weights),
    "lenet5": (lenet.lenet5, None),
    "mobilenet_v2": (mobilenetv2.mobilenet_v2, mobilenetv2.MobileNet_V2_Weights),
    "resnet18": (resnet.resnet18, resnet.ResNet18_Weights),
    "resnet34": (resnet.resnet34, resnet.ResNet34_Weights),
    "resnet50": (resnet.resnet50, resnet.ResNet50_Weights),
    "vgg11": (vgg.vgg11, vgg.VGG11_Weights),
    "vgg11_bn": (vgg.vgg11_bn, vgg.VGG11_BN_Weights),
    "vgg16": (vgg.vgg16, vgg.VGG16_Weights),
    "vgg16_bn": (vgg.vgg16_bn, vgg.VGG16_BN_Weights),
    "vit_b_16": (vit.vit_b_16, vit.ViT_B_16_Weights),
    "vit_tiny": (vit.vit_tiny, None),
}


def list_models() -> list[str]:
    """The names of the model builders, sorted: ``["fashion_cnn", "lenet5", ...]``."""
    return sorted(_MODELS)


def _entry(fn: str, name: Any) -> tuple[Callable[..., Any], type[WeightsEnum] | None]:
    if callable(name):
        for entry in _MODELS.values():
            if entry[0] is name:
                return entry
        raise ValueError(f"{fn}(): {name!r} is not a model builder of mbtorch.vision.models")
    if not isinstance(name, str):
        raise TypeError(f"{fn}(): name must be a str or a builder, got {type(name).__name__}")
    key = name.lower()
    if key not in _MODELS:
        raise ValueError(f"{fn}(): unknown model {name!r}; choose from {list_models()}")
    return _MODELS[key]


def get_model_builder(name: str) -> Callable[..., Any]:
    """The builder function called ``name``: ``get_model_builder("resnet18") is resnet18``."""
    return _entry("get_model_builder", name)[0]


def get_model(name: str, **config: Any) -> Any:
    """``get_model_builder(name)(**config)``: ``get_model("resnet18", weights="DEFAULT")``."""
    return get_model_builder(name)(**config)


def get_model_weights(name: str | Callable[..., Any]) -> type[WeightsEnum]:
    """The weight enum of the builder ``name`` (or of the builder itself):
    ``get_model_weights("resnet18") is ResNet18_Weights``. A model without published weights
    (``lenet5``, ``vit_tiny``) is a ``ValueError``."""
    builder, enum = _entry("get_model_weights", name)
    if enum is None:
        raise ValueError(f"get_model_weights(): {builder.__name__} has no published weights; "
                         "build it with weights=None")
    return enum
