"""NAdam (Nesterov momentum with a momentum schedule) and RAdam (rectified Adam), step for
step as PyTorch's single-tensor implementations, both with ``decoupled_weight_decay``."""

from __future__ import annotations

from typing import Any, Iterable

from ..core.ops.creation import zeros_like
from ._state import check_flags, check_lr, check_range, scalar, scalar_state
from .adam import check_betas
from .optimizer import Optimizer

__all__ = ["NAdam", "RAdam"]


def _weight_decay(p: Any, grad: Any, lr: float, wd: float, decoupled: bool) -> Any:
    if wd != 0:
        if decoupled:
            p.mul_(1 - lr * wd)
        else:
            grad = grad.add(p, alpha=wd)
    return grad


def _moments(p: Any, state: dict) -> tuple[Any, Any]:
    if "exp_avg" not in state:
        state["exp_avg"] = zeros_like(p)
        state["exp_avg_sq"] = zeros_like(p)
    return state["exp_avg"], state["exp_avg_sq"]


class NAdam(Optimizer):
    """NAdam. ``mu_product`` (the product of the momentum schedule) is a 0-d float32 tensor,
    as PyTorch keeps it."""

    def __init__(self, params: Iterable[Any], lr: float = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False):
        check_lr(lr)
        check_betas(betas, eps, weight_decay)
        check_range(**{"momentum_decay value": momentum_decay})
        check_flags("NAdam", foreach=foreach, capturable=capturable,
                    differentiable=differentiable)
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      momentum_decay=momentum_decay,
                                      decoupled_weight_decay=decoupled_weight_decay,
                                      maximize=maximize, foreach=foreach,
                                      capturable=capturable, differentiable=differentiable))

    def _update_group(self, group: dict[str, Any]) -> None:
        beta1, beta2 = group["betas"]
        lr, eps, psi = scalar(group["lr"]), group["eps"], group["momentum_decay"]
        for p, grad, state in self._with_grads(group):
            if not state:
                state["step"] = 0.0
                state["mu_product"] = scalar_state(1.0)
            exp_avg, exp_avg_sq = _moments(p, state)
            state["step"] += 1
            step = state["step"]
            bias_correction2 = 1 - beta2 ** step
            grad = _weight_decay(p, grad, lr, group["weight_decay"],
                                 group["decoupled_weight_decay"])
            mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * psi)))
            mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * psi)))
            mu_product = state["mu_product"].mul_(mu).item()
            exp_avg.lerp_(grad, 1 - beta1)
            exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            denom = exp_avg_sq.div(bias_correction2).sqrt().add_(eps)
            p.addcdiv_(grad, denom, value=-lr * (1.0 - mu) / (1.0 - mu_product))
            p.addcdiv_(exp_avg, denom, value=(-lr * mu_next) / (1.0 - mu_product * mu_next))


class RAdam(Optimizer):
    """RAdam: the adaptive step only once the variance of its estimate is tractable
    (``rho_t > 5``); plain bias-corrected momentum before."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, decoupled_weight_decay: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False):
        check_lr(lr)
        check_betas(betas, eps, weight_decay)
        check_flags("RAdam", foreach=foreach, capturable=capturable,
                    differentiable=differentiable)
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      maximize=maximize, foreach=foreach,
                                      capturable=capturable,
                                      decoupled_weight_decay=decoupled_weight_decay,
                                      differentiable=differentiable))

    def _update_group(self, group: dict[str, Any]) -> None:
        beta1, beta2 = group["betas"]
        lr, eps = scalar(group["lr"]), group["eps"]
        rho_inf = 2 / (1 - beta2) - 1
        for p, grad, state in self._with_grads(group):
            if not state:
                state["step"] = 0.0
            exp_avg, exp_avg_sq = _moments(p, state)
            state["step"] += 1
            step = state["step"]
            grad = _weight_decay(p, grad, lr, group["weight_decay"],
                                 group["decoupled_weight_decay"])
            exp_avg.lerp_(grad, 1 - beta1)
            exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            bias_correction1 = 1 - beta1 ** step
            bias_correction2 = 1 - beta2 ** step
            bias_corrected_exp_avg = exp_avg / bias_correction1
            rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
            if rho_t > 5.0:
                rect = ((rho_t - 4) * (rho_t - 2) * rho_inf
                        / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
                adaptive_lr = (bias_correction2 ** 0.5) / exp_avg_sq.sqrt().add_(eps)
                p.add_(bias_corrected_exp_avg * lr * adaptive_lr * rect, alpha=-1.0)
            else:
                p.add_(bias_corrected_exp_avg * lr, alpha=-1.0)
