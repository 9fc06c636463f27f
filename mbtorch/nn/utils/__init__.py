"""``nn.utils``: gradient clipping and parameter/vector conversion."""

from __future__ import annotations

import math
from typing import Iterable

import mbtorch as _mt

from ...core.tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector", "vector_to_parameters"]


def _params(parameters: Tensor | Iterable[Tensor]) -> list[Tensor]:
    return [parameters] if isinstance(parameters, Tensor) else list(parameters)


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float,
                    norm_type: float = 2.0, error_if_nonfinite: bool = False,
                    foreach: bool | None = None) -> Tensor:
    """Scale gradients in place so their joint norm is at most ``max_norm``; returns the
    total norm before clipping."""
    grads = [p.grad for p in _params(parameters) if p.grad is not None]
    if not grads:
        return _mt.tensor(0.0)
    norm_type = float(norm_type)
    with _mt.no_grad():
        if norm_type == math.inf:
            norms = [g.abs().max() for g in grads]
            total = norms[0] if len(norms) == 1 else _mt.stack(norms).max()
        else:
            norms = [_mt.linalg.vector_norm(g, norm_type) for g in grads]
            total = _mt.linalg.vector_norm(_mt.stack(norms), norm_type)
        if error_if_nonfinite and not bool(_mt.isfinite(total)):
            raise RuntimeError(f"The total norm of order {norm_type} for gradients from "
                               "`parameters` is non-finite, so it cannot be clipped. To disable "
                               "this error and scale the gradients by the non-finite norm "
                               "anyway, set `error_if_nonfinite=False`")
        coef = _mt.clamp(max_norm / (total + 1e-6), max=1.0)
        for g in grads:
            g.mul_(coef.to(g.device))
    return total


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float,
                     foreach: bool | None = None) -> None:
    with _mt.no_grad():
        for p in _params(parameters):
            if p.grad is not None:
                p.grad.clamp_(-clip_value, clip_value)


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
