"""Muon (momentum, then a Newton-Schulz orthogonalisation of the update in bfloat16) and
SparseAdam, with PyTorch's arguments, checks and state names."""

from __future__ import annotations

import math
from typing import Any, Iterable

from ..core.ops.creation import zeros_like
from ..core.tensor import Tensor
from ._state import check_lr, scalar
from .optimizer import Optimizer

__all__ = ["Muon", "SparseAdam"]


def _bf16(t: Any) -> Any:
    """bfloat16 values held in float32: a bfloat16 matmul (``addmm``) accumulates in float32
    and rounds once, as PyTorch's does, where one computed in bfloat16 would round every
    partial sum."""
    return t.bfloat16().float()


def _zeropower_via_newtonschulz(grad: Any, ns_coefficients: tuple, ns_steps: int,
                                eps: float) -> Any:
    """A quintic Newton-Schulz iteration towards the orthogonal factor of ``grad`` (PyTorch's,
    after Keller Jordan's Muon), run in bfloat16 as PyTorch runs it."""
    if ns_steps >= 100:
        raise ValueError("Number of steps must be less than 100 for computational efficiency")
    if len(grad.shape) != 2:
        raise ValueError("Input tensor gradient must be a 2D matrix")
    if len(ns_coefficients) != 3:
        raise ValueError("Coefficients must be a tuple of exactly 3 values")
    a, b, c = ns_coefficients
    ortho = grad.bfloat16()
    tall = grad.size(0) > grad.size(1)
    if tall:
        ortho = ortho.T
    ortho = _bf16(ortho.div(ortho.norm().clamp(min=eps)))
    for _ in range(ns_steps):
        gram = _bf16(ortho @ ortho.T)
        gram_update = _bf16(gram.addmm(gram, gram, beta=b, alpha=c))
        ortho = _bf16(ortho.addmm(gram_update, ortho, beta=a))
    ortho = ortho.bfloat16()
    return ortho.T if tall else ortho


def _adjust_lr(lr: float, adjust_lr_fn: str | None, shape: Any) -> float:
    rows, cols = shape[:2]
    if adjust_lr_fn is None or adjust_lr_fn == "original":
        return lr * math.sqrt(max(1, rows / cols))
    return lr * 0.2 * math.sqrt(max(rows, cols))  # "match_rms_adamw"


class Muon(Optimizer):
    """Muon, for 2-D parameters (hidden-layer weights); biases and embeddings belong with
    another optimizer, as in PyTorch."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, weight_decay: float = 0.1,
                 momentum: float = 0.95, nesterov: bool = True,
                 ns_coefficients: tuple[float, float, float] = (3.4445, -4.775, 2.0315),
                 eps: float = 1e-7, ns_steps: int = 5, adjust_lr_fn: str | None = None):
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 <= momentum:
            raise ValueError(f"momentum should be >= 0 but is: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight decay should be >= 0 but is: {weight_decay}")
        if adjust_lr_fn is not None and adjust_lr_fn not in ("original", "match_rms_adamw"):
            raise ValueError(f"Adjust learning rate function {adjust_lr_fn} is not supported")
        super().__init__(params, dict(lr=lr, weight_decay=weight_decay, momentum=momentum,
                                      nesterov=nesterov, ns_coefficients=ns_coefficients,
                                      eps=eps, ns_steps=ns_steps, adjust_lr_fn=adjust_lr_fn))
        for group in self.param_groups:
            for p in group["params"]:
                if p.ndim != 2:
                    raise ValueError("Muon only supports 2D parameters whereas we found a "
                                     f"parameter with size: {p.size()}")

    def _update_group(self, group: dict[str, Any]) -> None:
        lr, momentum = scalar(group["lr"]), group["momentum"]
        for p, grad, state in self._with_grads(group):
            if p.is_complex():
                raise RuntimeError("Muon does not support complex parameters")
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = zeros_like(grad)
            buf = state["momentum_buffer"]
            buf.lerp_(grad, 1 - momentum)
            update = grad.lerp(buf, momentum) if group["nesterov"] else buf
            update = _zeropower_via_newtonschulz(update, group["ns_coefficients"],
                                                 group["ns_steps"], group["eps"])
            p.mul_(1 - lr * group["weight_decay"])
            # promoted first: PyTorch scales the bfloat16 update in the parameter's dtype
            p.add_(update.to(p.dtype), alpha=-_adjust_lr(lr, group["adjust_lr_fn"], p.shape))


class SparseAdam(Optimizer):
    """Adam for sparse gradients (embedding tables). A parameter's ``.grad`` cannot be sparse
    in mbtorch (sparse COO tensors are values, not gradients), so a step with a gradient
    raises as PyTorch does for a dense one; construction and state dicts work as PyTorch's."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 maximize: bool = False):
        check_lr(lr)
        if not 0.0 < lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, maximize=maximize))
        complex_params = [[i, j] for i, g in enumerate(self.param_groups)
                          for j, p in enumerate(g["params"]) if p.is_complex()]
        if complex_params:
            raise ValueError(f"Complex params at indices {complex_params}: SparseAdam does not "
                             "support complex parameters")

    def _update_group(self, group: dict[str, Any]) -> None:
        for p in group["params"]:
            if p.grad is not None:  # a parameter's .grad is always dense in mbtorch
                raise RuntimeError("SparseAdam does not support dense gradients, please "
                                   "consider Adam instead")
