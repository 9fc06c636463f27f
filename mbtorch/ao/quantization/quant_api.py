"""``quantize_(model, config)``: torchao's one-call entry (``torchao.quantization.quantize_``)
for the weight-only and dynamic int8 recipes, in place, on every ``nn.Linear`` (or those
``filter_fn(module, fqn)`` accepts):

- ``Int8WeightOnlyConfig()``: int8 weights, one symmetric scale per output row (``amax /
  127.5``), dequantized in the forward; activations stay float.
- ``Int8DynamicActivationInt8WeightConfig()``: the same weights, and each input row
  quantized symmetrically on the fly; the product of the integers is rescaled by both scales.

torchao keeps the ``nn.Linear`` and turns its ``weight`` into a quantized tensor subclass;
mbtorch swaps in a subclass of ``nn.Linear`` (``isinstance`` still holds) whose ``weight``
buffer holds the int8 values and ``weight_scale`` the scales (the state-dict keys). For static
int8 of whole graphs, the recommended path is ``prepare_pt2e`` / ``convert_pt2e``
(``quantize_pt2e``); the eager ``torch.ao.quantization`` flows remain for existing code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import mbtorch as mt

from ...nn.modules.linear import Linear
from ...nn.modules.module import Module

__all__ = ["quantize_", "Int8WeightOnlyConfig", "Int8DynamicActivationInt8WeightConfig",
           "Int8WeightOnlyLinear", "Int8DynamicActivationInt8WeightLinear"]

_EPS = float(mt.finfo(mt.float32).eps)


@dataclass(frozen=True)
class Int8WeightOnlyConfig:
    """int8 per-row weights, float activations. ``group_size``: not supported (per row)."""

    group_size: int | None = None
    set_inductor_config: bool = True


@dataclass(frozen=True)
class Int8DynamicActivationInt8WeightConfig:
    """int8 per-row weights and per-row activations quantized on the fly (symmetric)."""

    layout: Any = None
    set_inductor_config: bool = True


def _per_row(t: mt.Tensor) -> tuple[mt.Tensor, mt.Tensor]:
    """``t``'s rows as int8 values and their scales: torchao's symmetric ``choose_qparams``
    (``amax / 127.5``, at least float32's eps) and ``round(t * (1/scale))`` clamped."""
    scale = (t.abs().amax(-1, keepdim=True) / 127.5).clamp_min(_EPS)
    q = (t * (1.0 / scale)).round().clamp(-128, 127)
    return q, scale


class Int8WeightOnlyLinear(Linear):
    """A Linear whose ``weight`` is int8 (``weight_scale`` per output row)."""

    def __init__(self, linear: Linear) -> None:
        Module.__init__(self)
        self.in_features, self.out_features = linear.in_features, linear.out_features
        with mt.no_grad():
            q, scale = _per_row(linear.weight.detach().float())
        self.register_buffer("weight", q.to(mt.int8))
        self.register_buffer("weight_scale", scale)
        self.bias = linear.bias

    def dequantized_weight(self) -> mt.Tensor:
        return self.weight.float() * self.weight_scale

    def forward(self, input: mt.Tensor) -> mt.Tensor:
        return mt.nn.functional.linear(input, self.dequantized_weight().to(input.dtype),
                                       self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}, weight=int8 per-row")


class Int8DynamicActivationInt8WeightLinear(Int8WeightOnlyLinear):
    """int8 weights, and each input row quantized to int8 in the forward."""

    def forward(self, input: mt.Tensor) -> mt.Tensor:
        x = input.float()
        xq, xs = _per_row(x)
        out = mt.matmul(xq, self.weight.float().t()) * xs * self.weight_scale.reshape(1, -1)
        if self.bias is not None:
            out = out + self.bias
        return out.to(input.dtype)

    def extra_repr(self) -> str:
        return super().extra_repr() + ", activations=int8 per-row (dynamic)"


_SWAPS = {Int8WeightOnlyConfig: Int8WeightOnlyLinear,
          Int8DynamicActivationInt8WeightConfig: Int8DynamicActivationInt8WeightLinear}


def _is_linear(module: Module, fqn: str) -> bool:
    return isinstance(module, Linear) and not isinstance(module, Int8WeightOnlyLinear)


def quantize_(model: Module, config: Any, filter_fn: Callable | None = None,
              device: Any = None) -> None:
    """Quantize ``model``'s Linear layers in place with ``config``."""
    if not isinstance(model, Module):
        raise TypeError(f"quantize_(): argument 'model' must be an nn.Module, got "
                        f"{type(model).__name__}")
    swap = _SWAPS.get(type(config))
    if swap is None:
        raise TypeError(f"quantize_(): unsupported config {type(config).__name__}; mbtorch has "
                        f"{', '.join(c.__name__ for c in _SWAPS)}")
    if getattr(config, "group_size", None) is not None:
        raise NotImplementedError("quantize_(): Int8WeightOnlyConfig(group_size=...) is not "
                                  "supported; weights are quantized per output row")
    accept = filter_fn or _is_linear
    if device is not None:
        model.to(device)
    found = [(name, m) for name, m in model.named_modules() if name and accept(m, name)]
    if accept(model, ""):
        raise TypeError("quantize_(): the model itself is a Linear; wrap it in a module "
                        "(quantize_ replaces submodules)")
    for name, m in found:
        if not isinstance(m, Linear):
            raise TypeError(f"quantize_(): filter_fn accepted {name!r} "
                            f"({type(m).__name__}); only nn.Linear layers can be quantized")
        parent, _, leaf = name.rpartition(".")
        owner = model.get_submodule(parent) if parent else model
        setattr(owner, leaf, swap(m))
