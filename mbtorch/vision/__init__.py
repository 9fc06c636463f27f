"""Vision models with torchvision's layout (``mbtorch.vision.models`` mirrors
``torchvision.models``): the same architectures and state-dict key names, so torchvision
checkpoints load unchanged."""

from . import datasets, models, transforms

__all__ = ["datasets", "models", "transforms"]
