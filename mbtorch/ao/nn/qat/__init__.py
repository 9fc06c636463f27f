"""``torch.ao.nn.qat``: float modules whose weights pass through fake quantization."""

__all__: list[str] = ["Conv1d", "Conv2d", "Conv3d", "Linear"]

from .modules import Conv1d, Conv2d, Conv3d, Linear  # noqa: E402
