"""What a pt2e quantizer says about an exported graph: for each op node it annotates, how
its inputs and its output are to be quantized (``QuantizationSpec``), or that a value shares
the quantization of another (``SharedQuantizationSpec``: pooling and reshapes keep their
input's scale).

These are torchao's names (``torchao.quantization.pt2e.quantizer``, earlier
``torch.ao.quantization.quantizer``). Where PyTorch's quantizers write annotations into FX
nodes' ``meta``, an mbtorch quantizer returns them: ``annotate(program)`` gives a dict from
the ``mbtorch.graph`` op node to its ``QuantizationAnnotation``, keyed by the graph's
``Value``s.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Callable

import mbtorch as mt

__all__ = ["QuantizationSpec", "SharedQuantizationSpec", "QuantizationAnnotation",
           "QuantizationConfig", "Quantizer", "QuantizationSpecBase"]

_INT_TYPES = {mt.int8: (-128, 127), mt.uint8: (0, 255), mt.int32: (-(2 ** 31), 2 ** 31 - 1)}


class QuantizationSpecBase:
    """A way of quantizing a value."""


@dataclass(eq=False)
class QuantizationSpec(QuantizationSpecBase):
    """Quantize a value to ``dtype`` (int8, uint8, int32) with the scale and zero point an
    observer made by ``observer_or_fake_quant_ctr`` finds during calibration."""

    dtype: Any
    observer_or_fake_quant_ctr: Callable
    quant_min: int | None = None
    quant_max: int | None = None
    qscheme: Any = None
    ch_axis: int | None = None
    is_dynamic: bool = False

    def __post_init__(self) -> None:
        if self.dtype not in _INT_TYPES:
            raise TypeError(f"QuantizationSpec: dtype must be mbtorch.int8, uint8 or int32, "
                            f"got {self.dtype!r}")
        lo, hi = _INT_TYPES[self.dtype]
        self.quant_min = lo if self.quant_min is None else self.quant_min
        self.quant_max = hi if self.quant_max is None else self.quant_max
        if not lo <= self.quant_min <= self.quant_max <= hi:
            raise ValueError(f"QuantizationSpec: quant_min {self.quant_min} and quant_max "
                             f"{self.quant_max} must lie in [{lo}, {hi}] of {self.dtype!r}, "
                             "quant_min first")
        per_channel = self.qscheme in (mt.per_channel_affine, mt.per_channel_symmetric)
        if per_channel and self.ch_axis is None:
            raise ValueError("QuantizationSpec: a per-channel qscheme needs ch_axis")
        if self.is_dynamic:
            raise NotImplementedError("QuantizationSpec: is_dynamic=True (dynamic activations "
                                      "in a graph) is not supported; use "
                                      "mbtorch.ao.quantization.quantize_dynamic")

    @property
    def per_channel(self) -> bool:
        return self.qscheme in (mt.per_channel_affine, mt.per_channel_symmetric)


@dataclass(eq=False)
class SharedQuantizationSpec(QuantizationSpecBase):
    """Quantize with the very scale and zero point of ``edge_or_node`` (a graph ``Value``)."""

    edge_or_node: Any


@dataclass(eq=False)
class QuantizationAnnotation:
    """An op node's quantization: a spec per input value, one for its output."""

    input_qspec_map: dict = field(default_factory=dict)
    output_qspec: QuantizationSpecBase | None = None
    output_value: Any = None  # the value the output spec applies to (None: the node's own)
    _annotated: bool = False


@dataclass(frozen=True)
class QuantizationConfig:
    input_activation: QuantizationSpec | None
    output_activation: QuantizationSpec | None
    weight: QuantizationSpec | None
    bias: QuantizationSpec | None = None
    is_qat: bool = False


class Quantizer(ABC):
    """Decides what to quantize in an exported program (``prepare_pt2e`` calls it)."""

    @abstractmethod
    def annotate(self, program: Any) -> dict:
        """The annotations: ``{op node: QuantizationAnnotation}`` for ``program`` (an
        ``ExportedProgram``)."""

    def validate(self, program: Any) -> None:  # noqa: B027 - optional, as in torchao
        """Raise if ``program`` cannot be quantized as annotated (nothing by default)."""

    def transform_for_annotation(self, program: Any) -> Any:
        return program
