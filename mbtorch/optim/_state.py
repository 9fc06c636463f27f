"""Helpers every optimizer shares: argument checks worded as PyTorch's, the implementation
flags (``foreach``/``fused``/``capturable``/``differentiable``), scalar state, and the casting
of a loaded state (ours or PyTorch's) onto a parameter."""

from __future__ import annotations

from typing import Any

from ..core import dtypes as _dt
from ..core.ops.creation import tensor as _tensor
from ..core.tensor import Tensor

__all__ = ["check_lr", "check_range", "check_flags", "check_fused_params", "scalar",
           "scalar_state", "cast_state"]


def check_lr(lr: Any) -> None:
    """``lr`` may be a float or a 1-element tensor, never negative."""
    if isinstance(lr, Tensor) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")


def check_range(**values: float) -> None:
    """``check_range(**{"epsilon value": eps})``: each value must be >= 0, else PyTorch's
    ``Invalid <name>: <value>``."""
    for name, v in values.items():
        if not 0.0 <= v:
            raise ValueError(f"Invalid {name}: {v}")


def check_flags(name: str, *, foreach: Any = None, capturable: bool = False,
                differentiable: bool = False, fused: Any = None,
                can_capture: bool = False) -> None:
    """``foreach`` is accepted and changes nothing (every update is per parameter here);
    ``fused=True`` runs the same update (PyTorch's own combination rules apply);
    ``capturable`` (the step never reads a value on the host, so ``mbtorch.compile`` can
    replay it) is accepted by the optimizers that implement it (``can_capture``) and refused
    by the others; ``differentiable`` is refused, as the step runs under ``no_grad``."""
    if fused:
        if differentiable:
            raise RuntimeError("`fused` does not support `differentiable`")
        if foreach:
            raise RuntimeError("`fused` and `foreach` cannot be `True` together.")
    if capturable and not can_capture:
        raise ValueError(f"{name}: capturable=True is not supported by this mbtorch "
                         "optimizer (Adam and AdamW have it); leave it False")
    if differentiable:
        raise ValueError(f"{name}: differentiable=True is not supported by mbtorch (the "
                         "optimizer step runs under no_grad); leave it False")


def check_fused_params(name: str, param_groups: list[dict[str, Any]]) -> None:
    for g in param_groups:
        if g.get("fused") and not all(p.is_floating_point() for p in g["params"]):
            raise RuntimeError(f"{name}: `fused=True` requires all the params to be floating "
                               "point Tensors")


def scalar(x: Any) -> float:
    """A Python number from a float or a 1-element tensor (``lr`` may be either)."""
    return x.item() if isinstance(x, Tensor) else x


def scalar_state(value: float, device: Any = None) -> Tensor:
    """A 0-d float32 tensor, PyTorch's dtype for scalar optimizer state (NAdam's
    ``mu_product``, ASGD's ``eta`` and ``mu``): the float32 rounding is part of the result."""
    return _tensor(value, dtype=_dt.float32, device=device)


def _from_foreign(value: Any) -> Tensor:
    """A tensor of another library (PyTorch's, in a state dict saved by it) as ours."""
    return _tensor(value.detach().cpu().numpy().copy())


def _is_foreign_tensor(value: Any) -> bool:
    t = type(value)
    return (t.__name__ in ("Tensor", "Parameter") and t.__module__.split(".")[0] == "torch"
            and hasattr(value, "detach"))


def cast_state(value: Any, param: Tensor, key: Any, param_shapes: bool, top: bool = True) -> Any:
    """A copy of a loaded state value for ``param``: tensors on its device, floating ones in
    its dtype; ``step`` kept a Python number (no device sync per step); containers walked."""
    if _is_foreign_tensor(value):
        value = _from_foreign(value)
    if isinstance(value, dict):
        return {k: cast_state(v, param, k, param_shapes, False) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(cast_state(v, param, None, param_shapes, False) for v in value)
    if not isinstance(value, Tensor):
        return value
    if key == "step":
        return float(value.item())
    if top and param_shapes and value.dim() > 0 and value.shape != param.shape:
        raise ValueError(f"loaded state '{key}' has shape {list(value.shape)} but its parameter "
                         f"has shape {list(param.shape)}")
    floating = value.is_floating_point() and param.is_floating_point()
    return value.to(device=param.device, dtype=param.dtype if floating else value.dtype).clone()
