"""``torch.ao.quantization.quantization_mappings``: which module ``convert`` swaps in for which
(static, dynamic, QAT), which module types receive a qconfig in ``prepare``, and the special
output observers of fixed-range activations.

The tables hold the pairs mbtorch implements; PyTorch's entries for modules mbtorch has no
quantized form of (3-d and transposed convolutions, Embedding/EmbeddingBag, GroupNorm,
InstanceNorm, PReLU, GRU and the RNN cells, reference and sparse modules) are absent, so such a
module is left in float by the default flows and refused by ``quantize_dynamic`` when asked
for by name or type.
"""

from __future__ import annotations

import copy
from typing import Any, Callable

from ... import nn
from ...nn import functional as F
from ...nn.modules.linear import NonDynamicallyQuantizableLinear
from ..nn import intrinsic as nni
from ..nn import qat as nnqat
from ..nn import quantized as nnq
from ..nn.intrinsic import qat as nniqat
from ..nn.intrinsic import quantized as nniq
from ..nn.quantized import dynamic as nnqd
from ..nn.quantized import functional as qF
from .fake_quantize import (
    default_fixed_qparams_range_0to1_fake_quant,
    default_fixed_qparams_range_neg1to1_fake_quant,
)
from .stubs import DeQuantStub, QuantStub

__all__ = [
    "DEFAULT_STATIC_QUANT_MODULE_MAPPINGS", "DEFAULT_QAT_MODULE_MAPPINGS",
    "DEFAULT_DYNAMIC_QUANT_MODULE_MAPPINGS", "DEFAULT_FLOAT_TO_QUANTIZED_OPERATOR_MAPPINGS",
    "DEFAULT_MODULE_TO_ACT_POST_PROCESS", "no_observer_set",
    "get_default_static_quant_module_mappings", "get_static_quant_module_class",
    "get_dynamic_quant_module_class", "get_default_qat_module_mappings",
    "get_default_dynamic_quant_module_mappings", "get_default_qconfig_propagation_list",
    "get_default_compare_output_module_list", "get_default_float_to_quantized_operator_mappings",
    "get_quantized_operator",
]

# float (or QAT / fused) module -> quantized module, for static quantization
DEFAULT_STATIC_QUANT_MODULE_MAPPINGS: dict[Callable, Any] = {
    QuantStub: nnq.Quantize,
    DeQuantStub: nnq.DeQuantize,
    nn.BatchNorm2d: nnq.BatchNorm2d,
    nn.Dropout: nnq.Dropout,
    nn.Conv1d: nnq.Conv1d,
    nn.Conv2d: nnq.Conv2d,
    nn.ELU: nnq.ELU,
    nn.Hardswish: nnq.Hardswish,
    nn.LayerNorm: nnq.LayerNorm,
    nn.LeakyReLU: nnq.LeakyReLU,
    NonDynamicallyQuantizableLinear: nnq.Linear,
    nn.Linear: nnq.Linear,
    nn.ReLU6: nnq.ReLU6,
    # wrapper modules
    nnq.FloatFunctional: nnq.QFunctional,
    # intrinsic (fused) modules
    nni.BNReLU2d: nniq.BNReLU2d,
    nni.ConvReLU1d: nniq.ConvReLU1d,
    nni.ConvReLU2d: nniq.ConvReLU2d,
    nni.LinearReLU: nniq.LinearReLU,
    nniqat.ConvBn1d: nnq.Conv1d,
    nniqat.ConvBn2d: nnq.Conv2d,
    nniqat.ConvBnReLU1d: nniq.ConvReLU1d,
    nniqat.ConvBnReLU2d: nniq.ConvReLU2d,
    nniqat.ConvReLU2d: nniq.ConvReLU2d,
    nniqat.LinearReLU: nniq.LinearReLU,
    # QAT modules
    nnqat.Linear: nnq.Linear,
    nnqat.Conv2d: nnq.Conv2d,
}

# float module -> QAT module (fake-quantized weights), for prepare_qat
DEFAULT_QAT_MODULE_MAPPINGS: dict[Callable, Any] = {
    nn.Conv2d: nnqat.Conv2d,
    nn.Linear: nnqat.Linear,
    NonDynamicallyQuantizableLinear: nnqat.Linear,
    nni.ConvBn1d: nniqat.ConvBn1d,
    nni.ConvBn2d: nniqat.ConvBn2d,
    nni.ConvBnReLU1d: nniqat.ConvBnReLU1d,
    nni.ConvBnReLU2d: nniqat.ConvBnReLU2d,
    nni.ConvReLU2d: nniqat.ConvReLU2d,
    nni.LinearReLU: nniqat.LinearReLU,
}

# float module -> dynamically quantized module, for quantize_dynamic
DEFAULT_DYNAMIC_QUANT_MODULE_MAPPINGS: dict[Callable, Any] = {
    nn.Linear: nnqd.Linear,
    NonDynamicallyQuantizableLinear: nnqd.Linear,
    nn.LSTM: nnqd.LSTM,
}

# module types that receive a qconfig although they have no quantized counterpart
_INCLUDE_QCONFIG_PROPAGATE_LIST: set[Callable] = {nn.Sequential}

# float functional -> the function on quantized tensors
DEFAULT_FLOAT_TO_QUANTIZED_OPERATOR_MAPPINGS: dict[Callable | str, Callable] = {
    F.elu: qF.elu,
    F.hardswish: qF.hardswish,
    F.leaky_relu: qF.leaky_relu,
}

# activations with a fixed output range observe it with fixed qparams in QAT
DEFAULT_MODULE_TO_ACT_POST_PROCESS: dict[Callable, Callable] = {
    nn.Hardsigmoid: default_fixed_qparams_range_0to1_fake_quant,
    nn.Sigmoid: default_fixed_qparams_range_0to1_fake_quant,
    nn.Softmax: default_fixed_qparams_range_0to1_fake_quant,
    nn.Tanh: default_fixed_qparams_range_neg1to1_fake_quant,
}


def no_observer_set() -> set[Any]:
    """Module types that get no observer by default (PyTorch's quantizable LSTM and
    MultiheadAttention, which mbtorch does not have)."""
    return set()


def get_default_static_quant_module_mappings() -> dict[Callable, Any]:
    """The module mapping for post-training static quantization (a copy)."""
    return copy.deepcopy(DEFAULT_STATIC_QUANT_MODULE_MAPPINGS)


def _lookup(table: dict, extra: dict | None, float_module_class: Callable) -> Any:
    found = {**table, **(extra or {})}.get(float_module_class)
    if found is None:
        raise ValueError(f"Floating point module class {float_module_class} does not have a "
                         "corresponding quantized module class")
    return found


def get_static_quant_module_class(float_module_class: Callable,
                                  additional_static_quant_mapping: dict | None = None,
                                  is_reference: bool = False) -> Any:
    """The statically quantized class for a float module class."""
    if is_reference:
        raise NotImplementedError("get_static_quant_module_class: mbtorch has no reference "
                                  "quantized modules (is_reference=True)")
    return _lookup(DEFAULT_STATIC_QUANT_MODULE_MAPPINGS, additional_static_quant_mapping,
                   float_module_class)


def get_dynamic_quant_module_class(float_module_class: Callable,
                                   additional_dynamic_quant_mapping: dict | None = None) -> Any:
    """The dynamically quantized class for a float module class."""
    return _lookup(DEFAULT_DYNAMIC_QUANT_MODULE_MAPPINGS, additional_dynamic_quant_mapping,
                   float_module_class)


def get_default_qat_module_mappings() -> dict[Callable, Any]:
    """The module mapping for quantization-aware training (a copy)."""
    return copy.deepcopy(DEFAULT_QAT_MODULE_MAPPINGS)


def get_default_dynamic_quant_module_mappings() -> dict[Callable, Any]:
    """The module mapping for dynamic quantization (the table itself, as PyTorch returns)."""
    return DEFAULT_DYNAMIC_QUANT_MODULE_MAPPINGS


def get_default_qconfig_propagation_list() -> set[Callable]:
    """The module types that ``prepare`` attaches a qconfig (and an observer) to."""
    return (set(DEFAULT_STATIC_QUANT_MODULE_MAPPINGS) | set(DEFAULT_QAT_MODULE_MAPPINGS)
            | set(DEFAULT_DYNAMIC_QUANT_MODULE_MAPPINGS) | _INCLUDE_QCONFIG_PROPAGATE_LIST)


def get_default_compare_output_module_list() -> set[Callable]:
    """Module types whose outputs a numeric-suite comparison records."""
    tables = (DEFAULT_STATIC_QUANT_MODULE_MAPPINGS, DEFAULT_QAT_MODULE_MAPPINGS,
              DEFAULT_DYNAMIC_QUANT_MODULE_MAPPINGS)
    out = set(_INCLUDE_QCONFIG_PROPAGATE_LIST)
    for table in tables:
        out |= set(table) | set(table.values())
    return out


def get_default_float_to_quantized_operator_mappings() -> dict[Callable | str, Callable]:
    return copy.deepcopy(DEFAULT_FLOAT_TO_QUANTIZED_OPERATOR_MAPPINGS)


def get_quantized_operator(float_op: Callable | str) -> Callable:
    """The quantized function for a float functional (``F.elu`` -> quantized ``elu``)."""
    quantized_op = DEFAULT_FLOAT_TO_QUANTIZED_OPERATOR_MAPPINGS.get(float_op)
    if quantized_op is None:
        raise ValueError(f"Operator {float_op} does not have corresponding quantized op")
    return quantized_op


def _get_special_act_post_process(module: nn.Module) -> Callable | None:
    """The fixed-qparams output fake-quant for Sigmoid/Softmax/Tanh/Hardsigmoid, else None."""
    return DEFAULT_MODULE_TO_ACT_POST_PROCESS.get(type(module))


def _has_special_act_post_process(module: nn.Module) -> bool:
    return module.training and type(module) in DEFAULT_MODULE_TO_ACT_POST_PROCESS
