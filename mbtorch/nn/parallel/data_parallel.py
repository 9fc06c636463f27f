"""``DataParallel``: PyTorch's single-process wrapper. Here it runs the wrapped module on the
module's own device (as PyTorch's does when no CUDA device is visible); splitting each batch
over several devices is not done, so asking for more than one device is an error (use
``DistributedDataParallel``, one process per device, as PyTorch itself recommends).
State-dict keys carry the ``module.`` prefix, as PyTorch's."""

from __future__ import annotations

from typing import Any, Sequence

from ..modules.module import Module

__all__ = ["DataParallel"]


class DataParallel(Module):
    def __init__(self, module: Module, device_ids: Sequence[Any] | None = None,
                 output_device: Any = None, dim: int = 0) -> None:
        super().__init__()
        if device_ids is not None and len(list(device_ids)) > 1:
            raise NotImplementedError("DataParallel: splitting a batch over several devices is "
                                      "not supported; use DistributedDataParallel with one "
                                      "process per device")
        self.module = module
        self.device_ids = list(device_ids) if device_ids is not None else []
        self.output_device, self.dim = output_device, dim

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        return self.module(*inputs, **kwargs)
