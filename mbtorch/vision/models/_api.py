"""Weight enums as torchvision has them: ``ResNet18_Weights.IMAGENET1K_V1`` carries the URL of
torchvision's published checkpoint, its preprocessing (``transforms``) and what was reported
for it (``meta``); ``get_state_dict`` fetches it through :mod:`mbtorch.hub` (PyTorch's cache,
so files PyTorch already downloaded are reused)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from functools import partial
from typing import Any

__all__ = ["Weights", "WeightsEnum", "get_weight"]


@dataclass(frozen=True)
class Weights:
    """One published checkpoint: where it is, how to prepare inputs, what it scored."""

    url: str
    transforms: Callable[..., Any]
    meta: dict[str, Any]


class WeightsEnum(Enum):
    """Base of the per-model enums; members hold a :class:`Weights`, ``DEFAULT`` aliases the
    recommended one."""

    @classmethod
    def verify(cls, obj: Any) -> Any:
        """``None``, a member, or its name (``"IMAGENET1K_V1"`` or ``"ResNet18_Weights.
        IMAGENET1K_V1"``) -> the member (or ``None``); anything else is a ``TypeError`` /
        ``ValueError`` naming the enum."""
        if obj is None or isinstance(obj, cls):
            return obj
        if not isinstance(obj, str):
            raise TypeError(f"{cls.__name__}: weights must be None, a {cls.__name__} member or "
                            f"its name, got {type(obj).__name__}")
        name = obj.removeprefix(f"{cls.__name__}.")
        if name not in cls.__members__:
            raise ValueError(f"{cls.__name__}: no weights named {obj!r}; choose from "
                             f"{sorted(cls.__members__)}")
        return cls.__members__[name]

    def get_state_dict(self, progress: bool = True, check_hash: bool = True) -> Any:
        """Download (or take from the cache) and load this checkpoint's state dict."""
        from mbtorch.hub import load_state_dict_from_url  # hub is optional for building

        return load_state_dict_from_url(self.url, progress=progress, check_hash=check_hash)

    @property
    def url(self) -> str:
        return self.value.url

    @property
    def transforms(self) -> Callable[..., Any]:
        return self.value.transforms

    @property
    def meta(self) -> dict[str, Any]:
        return self.value.meta

    def __repr__(self) -> str:
        return f"{type(self).__name__}.{self.name}"


def get_weight(name: str) -> WeightsEnum:
    """``get_weight("ResNet50_Weights.IMAGENET1K_V2")`` -> that member, as torchvision."""
    import mbtorch.vision.models as namespace

    enum_name, _, member = name.partition(".")
    enum = getattr(namespace, enum_name, None)
    if not (isinstance(enum, type) and issubclass(enum, WeightsEnum)) or not member:
        raise ValueError(f"get_weight(): {name!r} is not '<Model>_Weights.<NAME>' for a model "
                         "of mbtorch.vision.models")
    return enum.verify(member)


def _load_weights(builder: str, enum: type[WeightsEnum], weights: Any,
                  kwargs: dict[str, Any]) -> WeightsEnum | None:
    """Check ``weights`` for ``builder`` and fix ``num_classes`` to the checkpoint's; the
    caller builds the model, then ``model.load_state_dict(weights.get_state_dict(...))``."""
    member = enum.verify(weights)
    if member is None:
        return None
    expected = member.meta["num_classes"]
    if kwargs.setdefault("num_classes", expected) != expected:
        raise ValueError(f"{builder}(): num_classes={kwargs['num_classes']} does not match the "
                         f"{expected} classes of {member!r}; build with weights=None and "
                         "replace the head to fine-tune")
    return member


def _imagenet(url: str, num_params: int, acc1: float, acc5: float, recipe: str, *,
              resize_size: int = 256, crop_size: int = 224,
              min_size: tuple[int, int] = (1, 1)) -> Weights:
    """A torchvision ImageNet-1K checkpoint and what torchvision reports for it."""
    from ._presets import ImageClassification

    return Weights(
        url=url,
        transforms=partial(ImageClassification, crop_size=crop_size, resize_size=resize_size),
        meta={"num_params": num_params, "num_classes": 1000, "min_size": min_size,
              "recipe": recipe,
              "_metrics": {"ImageNet-1K": {"acc@1": acc1, "acc@5": acc5}}})


def _build(builder: str, ctor: Callable[..., Any], enum: type[WeightsEnum], weights: Any,
           progress: bool, kwargs: dict[str, Any]) -> Any:
    """``ctor(**kwargs)``, with ``weights`` (checked against ``enum``) loaded strictly."""
    member = _load_weights(builder, enum, weights, kwargs)
    model = ctor(**kwargs)
    if member is not None:
        model.load_state_dict(member.get_state_dict(progress=progress, check_hash=True))
    return model
