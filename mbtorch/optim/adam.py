"""Adam and AdamW (with amsgrad), step for step as PyTorch's single-tensor implementation."""

from __future__ import annotations

import math
from typing import Any, Iterable

from ..core.dtypes import float32
from ..core.ops.creation import tensor, zeros_like
from ..core.tensor import Tensor
from ._state import check_flags, check_fused_params, check_lr, scalar
from .optimizer import Optimizer

__all__ = ["Adam", "AdamW"]


def check_betas(betas: tuple, eps: float, weight_decay: float) -> None:
    """The checks Adam, Adamax, NAdam and RAdam share, worded as PyTorch's."""
    if not 0.0 <= eps:
        raise ValueError(f"Invalid epsilon value: {eps}")
    if not 0.0 <= betas[0] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
    if not 0.0 <= betas[1] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
    if not 0.0 <= weight_decay:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")


class Adam(Optimizer):
    """Adam; ``weight_decay`` is L2 added to the gradient unless ``decoupled_weight_decay``
    (AdamW's rule)."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None,
                 decoupled_weight_decay: bool = False):
        check_lr(lr)
        check_betas(betas, eps, weight_decay)
        if not all(isinstance(b, float) for b in betas):
            raise ValueError("betas must be either both floats or both Tensors")
        check_flags(type(self).__name__, foreach=foreach, capturable=capturable,
                    differentiable=differentiable, fused=fused, can_capture=True)
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, maximize=maximize, foreach=foreach,
                                      capturable=capturable, differentiable=differentiable,
                                      fused=fused, decoupled_weight_decay=decoupled_weight_decay))
        check_fused_params(type(self).__name__, self.param_groups)

    def _update_group(self, group: dict[str, Any]) -> None:
        if group["capturable"]:
            return self._update_captured(group)
        beta1, beta2 = group["betas"]
        lr, eps = scalar(group["lr"]), group["eps"]
        for p, grad, state in self._with_grads(group):
            if not state:
                state["step"] = 0.0
            state["step"] += 1
            step = state["step"]
            exp_avg, second = _moments(group, p, grad, state, lr)
            step_size = lr / (1 - beta1 ** step)
            bias_correction2_sqrt = math.sqrt(1 - beta2 ** step)
            denom = (second.sqrt() / bias_correction2_sqrt).add_(eps)
            p.addcdiv_(exp_avg, denom, value=-step_size)

    def _update_captured(self, group: dict[str, Any]) -> None:
        """``capturable=True``: PyTorch's capturable formulas. The step count is a float32
        tensor and ``lr`` may be a tensor: nothing is read on the host, so the whole update
        is kernels that ``mbtorch.compile`` replays (a changed ``lr`` tensor is read there)."""
        beta1, beta2 = group["betas"]
        lr, eps = group["lr"], group["eps"]
        for p, grad, state in self._with_grads(group):
            if not isinstance(state.get("step"), Tensor):  # new, or a non-capturable state
                state["step"] = tensor(float(state.get("step", 0.0)), dtype=float32,
                                       device=p.device)
            step = state["step"]
            step.add_(1)
            exp_avg, second = _moments(group, p, grad, state, lr)
            step_size_neg = (lr / (1 - beta1 ** step)).neg()
            bias_correction2_sqrt = (1 - beta2 ** step).sqrt()
            denom = (second.sqrt() / (bias_correction2_sqrt * step_size_neg)).add_(
                eps / step_size_neg)
            p.addcdiv_(exp_avg, denom)


def _moments(group: dict[str, Any], p: Any, grad: Any, state: dict, lr: Any) -> tuple:
    """What both forms of the step share: the moment buffers (made on the first step), weight
    decay, the moment updates; returns the first moment and the second (its running maximum
    with ``amsgrad``)."""
    beta1, beta2 = group["betas"]
    wd, amsgrad = group["weight_decay"], group["amsgrad"]
    if "exp_avg" not in state:
        state["exp_avg"] = zeros_like(p)
        state["exp_avg_sq"] = zeros_like(p)
        if amsgrad:
            state["max_exp_avg_sq"] = zeros_like(p)
    if wd != 0:
        if group["decoupled_weight_decay"]:
            p.mul_(1 - lr * wd)
        else:
            grad = grad.add(p, alpha=wd)
    exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
    exp_avg.lerp_(grad, 1 - beta1)
    exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    if amsgrad:
        max_sq = state["max_exp_avg_sq"]
        max_sq.copy_(max_sq.maximum(exp_avg_sq))
        return exp_avg, max_sq
    return exp_avg, exp_avg_sq


class AdamW(Adam):
    """Adam with decoupled weight decay (default 0.01, as PyTorch)."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach,
                         maximize=maximize, capturable=capturable,
                         differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)
