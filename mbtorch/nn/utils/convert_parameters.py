"""``parameters_to_vector`` and ``vector_to_parameters``."""

from __future__ import annotations

from typing import Iterable

import mbtorch as _mt

from ...core.tensor import Tensor
from .clip_grad import _params

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    params = _params(parameters)
    device = params[0].device if params else None
    for p in params:
        if p.device != device:
            raise TypeError("Found two parameters on different devices, this is currently not "
                            "supported.")
    return _mt.cat([p.reshape(-1) for p in params])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    offset = 0
    with _mt.no_grad():
        for p in _params(parameters):
            n = p.numel()
            p.copy_(vec[offset:offset + n].view_as(p))
            offset += n
