"""``torch.ao.quantization.quantize``: the eager-mode flows.

- ``quantize_dynamic(model, {nn.Linear}, dtype=mbtorch.qint8)``: int8 weights, activations
  quantized on the fly.
- static: ``prepare`` (qconfig propagated, an observer as ``activation_post_process`` on each
  quantizable leaf, called by a forward hook) -> calibrate (run data) -> ``convert`` (each
  module swapped for its quantized counterpart via ``from_float``).
- QAT: ``prepare_qat`` (modules swapped for fake-quantized ones, then ``prepare``) -> train ->
  ``convert``.

Where PyTorch converts silently or fails deep inside, mbtorch fails early naming the module:
``convert`` refuses an observer that has seen no data (the model would be silently wrong),
``prepare``/``convert``/``quantize_dynamic`` refuse a qconfig whose observer dtype the module
cannot use, and ``quantize_dynamic`` refuses a type or name it was asked for that has no
quantized counterpart.
"""

from __future__ import annotations

import copy
import itertools
import warnings
from typing import Any, Callable

import mbtorch as _mt

from ... import nn
from ..nn.intrinsic.modules.fused import _FusedModule
from ..nn.quantized import FloatFunctional, QFunctional
from . import qconfig as _qc
from ._quantize_checks import (
    _check_dynamic_qconfigs,
    _check_dynamic_spec,
    _check_weight_qconfig,
    _default_dynamic_spec,
    _describe,
    _is_activation_post_process,
    _make_observer,
    _uncalibrated,
)
from .quantization_mappings import (
    _get_special_act_post_process,
    _has_special_act_post_process,
    get_default_dynamic_quant_module_mappings,
    get_default_qat_module_mappings,
    get_default_qconfig_propagation_list,
    get_default_static_quant_module_mappings,
    no_observer_set,
)
from .stubs import DeQuantStub, QuantWrapper

__all__ = [
    "get_default_custom_config_dict", "propagate_qconfig_", "add_quant_dequant", "prepare",
    "quantize", "quantize_dynamic", "prepare_qat", "quantize_qat", "convert", "swap_module",
]


def get_default_custom_config_dict() -> dict:
    """PyTorch's default maps LSTM/MultiheadAttention to their quantizable forms; mbtorch has
    none, so both tables are empty."""
    return {"float_to_observed_custom_module_class": {},
            "observed_to_quantized_custom_module_class": {}}


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


# -- qconfig propagation --------------------------------------------------------------------
def _propagate_qconfig_helper(module: nn.Module, qconfig_dict: dict, qconfig_parent: Any = None,
                              prefix: str = "", prepare_custom_config_dict: dict | None = None,
                              ) -> None:
    module_qconfig = qconfig_dict.get(type(module), qconfig_parent)
    module_qconfig = qconfig_dict.get(prefix, module_qconfig)
    module_qconfig = getattr(module, "qconfig", module_qconfig)
    _qc._assert_valid_qconfig(module_qconfig, module)
    module.qconfig = module_qconfig
    custom = prepare_custom_config_dict or {}
    for name, child in module.named_children():
        if name in custom.get("non_traceable_module_name", []) \
                or type(child) in custom.get("non_traceable_module_class", []):
            continue
        _propagate_qconfig_helper(child, qconfig_dict, module_qconfig, _join(prefix, name),
                                  prepare_custom_config_dict)


def propagate_qconfig_(module: nn.Module, qconfig_dict: dict | None = None,
                       prepare_custom_config_dict: dict | None = None) -> None:
    """Set ``qconfig`` on every submodule: its own, else the entry for its name, else the
    entry for its type, else its parent's. ``qconfig_dict`` maps names or types to QConfigs.
    """
    _propagate_qconfig_helper(module, qconfig_dict or {},
                              prepare_custom_config_dict=prepare_custom_config_dict or {})


# -- observers --------------------------------------------------------------------------------
def _observer_forward_hook(self: nn.Module, input: Any, output: Any) -> Any:
    """Forward hook that calls the observer on the output."""
    return self.activation_post_process(output)


def _observer_forward_pre_hook(self: nn.Module, input: Any) -> Any:
    """Forward pre-hook that calls the observer on the (first) input."""
    return self.activation_post_process(input[0])


def _insert_observer(m: nn.Module, path: str, special: Callable | None = None) -> None:
    if getattr(m, "qconfig", None) is None or isinstance(m, DeQuantStub):
        return
    m.add_module("activation_post_process", _make_observer(m.qconfig, path, m, special))
    pre = _qc._activation_is_memoryless(m.qconfig)
    if pre:
        m.register_forward_pre_hook(_observer_forward_pre_hook, prepend=True)
    else:
        m.register_forward_hook(_observer_forward_hook, prepend=True)


def _add_observer_(module: nn.Module, qconfig_propagation_list: set | None = None,
                   non_leaf_module_list: set | None = None, device: Any = None,
                   custom_module_class_mapping: dict | None = None, prefix: str = "") -> None:
    """Attach observers to the leaves (and listed non-leaves) that have a qconfig."""
    if qconfig_propagation_list is None:
        qconfig_propagation_list = get_default_qconfig_propagation_list()
    custom = custom_module_class_mapping or {}
    for name, child in module.named_children():
        path = _join(prefix, name)
        has_qconfig = getattr(child, "qconfig", None) is not None
        if type(child) is nn.Dropout:
            continue
        if isinstance(child, (FloatFunctional, QFunctional)):
            if has_qconfig:
                child.activation_post_process = _make_observer(child.qconfig, path, child, None)
        elif isinstance(child, _FusedModule) \
                or (non_leaf_module_list and type(child) in non_leaf_module_list):
            _insert_observer(child, path)
        elif _has_special_act_post_process(child):
            _insert_observer(child, path, _get_special_act_post_process(child))
        elif has_qconfig and type(child) in custom:
            observed = custom[type(child)].from_float(child)
            setattr(module, name, observed)
            if not issubclass(custom[type(child)], tuple(no_observer_set())):
                _insert_observer(observed, path)
        else:
            _add_observer_(child, qconfig_propagation_list, non_leaf_module_list, device,
                           custom, path)
    leaf = not module._modules and not isinstance(module, nn.Sequential)
    if type(module) in qconfig_propagation_list and (leaf or hasattr(module,
                                                                      "weight_fake_quant")):
        _insert_observer(module, prefix)


def add_quant_dequant(module: nn.Module) -> nn.Module:
    """Wrap each leaf with a qconfig in a ``QuantWrapper`` (the module itself, if a leaf)."""
    if not module._modules and getattr(module, "qconfig", None):
        return QuantWrapper(module)
    for name, child in module.named_children():
        module._modules[name] = add_quant_dequant(child)
    return module


def prepare(model: nn.Module, inplace: bool = False, allow_list: set | None = None,
            observer_non_leaf_module_list: set | None = None,
            prepare_custom_config_dict: dict | None = None) -> nn.Module:
    """A copy (or, with ``inplace``, the model itself) with observers attached to every
    quantizable submodule that has a ``qconfig`` (set it on the model or its parts first)."""
    custom = (prepare_custom_config_dict or get_default_custom_config_dict()).get(
        "float_to_observed_custom_module_class", {})
    if not inplace:
        model = copy.deepcopy(model)
    propagation = get_default_qconfig_propagation_list() if allow_list is None else allow_list
    propagate_qconfig_(model, qconfig_dict=None)
    if not any(getattr(m, "qconfig", None) for m in model.modules()):
        warnings.warn("None of the submodule got qconfig applied. Make sure you passed correct "
                      "configuration through `qconfig_dict` or by assigning the `.qconfig` "
                      "attribute directly on submodules", stacklevel=2)
    _add_observer_(model, propagation, observer_non_leaf_module_list,
                   custom_module_class_mapping=custom)
    return model


def _remove_activation_post_process(module: nn.Module) -> None:
    if _is_activation_post_process(getattr(module, "activation_post_process", None)):
        delattr(module, "activation_post_process")
    for table, hook in ((module._forward_pre_hooks, _observer_forward_pre_hook),
                        (module._forward_hooks, _observer_forward_hook)):
        for key in [k for k, fn in table.items() if fn is hook]:
            table.pop(key)


def _remove_qconfig(module: nn.Module) -> None:
    """Drop the qconfigs and observers left after convert (so new ones can be propagated)."""
    for child in module.children():
        _remove_qconfig(child)
    if hasattr(module, "qconfig"):
        del module.qconfig
    _remove_activation_post_process(module)


# -- the flows --------------------------------------------------------------------------------
def quantize(model: nn.Module, run_fn: Callable, run_args: Any, mapping: dict | None = None,
             inplace: bool = False) -> nn.Module:
    """Post-training static quantization: ``prepare``, ``run_fn(model, *run_args)`` to
    calibrate, ``convert``."""
    mapping = get_default_static_quant_module_mappings() if mapping is None else mapping
    if not inplace:
        model = copy.deepcopy(model)
    model.eval()
    prepare(model, inplace=True)
    run_fn(model, *run_args)
    convert(model, mapping, inplace=True)
    return model


def quantize_dynamic(model: nn.Module, qconfig_spec: Any = None, dtype: Any = None,
                     mapping: dict | None = None, inplace: bool = False) -> nn.Module:
    """Replace the modules named (by type or submodule name) in ``qconfig_spec`` — by default
    every ``nn.Linear`` and ``nn.LSTM`` — with dynamically quantized ones: int8 weights,
    activations quantized per call. ``qconfig_spec`` is a set of types/names (quantized with
    ``dtype``) or a dict mapping types/names to QConfigs.

    >>> qmodel = quantize_dynamic(model, {nn.Linear}, dtype=mbtorch.qint8)
    """
    dtype = _mt.qint8 if dtype is None else dtype
    explicit = qconfig_spec is not None
    if qconfig_spec is None:
        qconfig = _default_dynamic_spec(dtype)
        qconfig_spec = {nn.Linear: qconfig, nn.LSTM: qconfig}
    elif isinstance(qconfig_spec, (set, frozenset, list, tuple)):
        qconfig_spec = dict(zip(qconfig_spec, itertools.repeat(_default_dynamic_spec(dtype))))
    elif not isinstance(qconfig_spec, dict):
        raise TypeError("quantize_dynamic: qconfig_spec must be a set of module types/names or "
                        f"a dict of them to QConfigs, got {type(qconfig_spec).__name__}")
    mapping = get_default_dynamic_quant_module_mappings() if mapping is None else mapping
    if not inplace:
        model = copy.deepcopy(model)
    model.eval()
    if explicit:
        _check_dynamic_spec(model, qconfig_spec, mapping)
    propagate_qconfig_(model, qconfig_spec)
    _check_dynamic_qconfigs(model, mapping)
    convert(model, mapping, inplace=True)
    return model


def prepare_qat(model: nn.Module, mapping: dict | None = None,
                inplace: bool = False) -> nn.Module:
    """Swap modules for their QAT forms (fake-quantized weights) and attach fake-quantizing
    observers to the outputs; the model must be in training mode."""
    if not model.training:
        raise RuntimeError("prepare_qat only works on models in training mode "
                           "(call model.train() first)")
    mapping = get_default_qat_module_mappings() if mapping is None else mapping
    if not inplace:
        model = copy.deepcopy(model)
    propagate_qconfig_(model, qconfig_dict=None)
    convert(model, mapping=mapping, inplace=True, remove_qconfig=False)
    prepare(model, observer_non_leaf_module_list=set(mapping.values()), inplace=True)
    return model


def quantize_qat(model: nn.Module, run_fn: Callable, run_args: Any,
                 inplace: bool = False) -> nn.Module:
    """``prepare_qat``, ``run_fn(model, *run_args)`` (training), ``convert``."""
    if not inplace:
        model = copy.deepcopy(model)
    model.train()
    prepare_qat(model, inplace=True)
    run_fn(model, *run_args)
    convert(model, inplace=True)
    return model


# -- convert ----------------------------------------------------------------------------------
def convert(module: nn.Module, mapping: dict | None = None, inplace: bool = False,
            remove_qconfig: bool = True, is_reference: bool = False,
            convert_custom_config_dict: dict | None = None,
            use_precomputed_fake_quant: bool = False) -> nn.Module:
    """Swap each submodule whose type is in ``mapping`` (default: the static mapping) for the
    mapped class's ``from_float(module)``; then drop qconfigs and observers."""
    if is_reference:
        raise NotImplementedError("convert: is_reference=True needs reference quantized "
                                  "modules, which mbtorch does not have")
    if not inplace:
        module = copy.deepcopy(module)
    _convert(module, mapping, True, is_reference, convert_custom_config_dict,
             use_precomputed_fake_quant)
    if remove_qconfig:
        _remove_qconfig(module)
    return module


def _convert(module: nn.Module, mapping: dict | None = None, inplace: bool = False,
             is_reference: bool = False, convert_custom_config_dict: dict | None = None,
             use_precomputed_fake_quant: bool = False, prefix: str = "") -> nn.Module:
    mapping = get_default_static_quant_module_mappings() if mapping is None else mapping
    custom = (convert_custom_config_dict or get_default_custom_config_dict()).get(
        "observed_to_quantized_custom_module_class", {})
    if not inplace:
        module = copy.deepcopy(module)
    reassign = {}
    for name, mod in module.named_children():
        path = _join(prefix, name)
        # fused modules and observed custom modules are swapped as one unit
        if not isinstance(mod, _FusedModule) and type(mod) not in custom:
            _convert(mod, mapping, True, is_reference, convert_custom_config_dict,
                     use_precomputed_fake_quant, path)
        reassign[name] = _swap(mod, mapping, custom, use_precomputed_fake_quant, path)
    for key, value in reassign.items():
        module._modules[key] = value
    return module


def swap_module(mod: nn.Module, mapping: dict, custom_module_class_mapping: dict,
                use_precomputed_fake_quant: bool = False) -> nn.Module:
    """The quantized counterpart of ``mod`` if it has a qconfig and a mapping entry (keeping
    its user hooks), else ``mod`` itself."""
    return _swap(mod, mapping, custom_module_class_mapping, use_precomputed_fake_quant, "")


def _swap(mod: nn.Module, mapping: dict, custom: dict, use_precomputed: bool,
          path: str) -> nn.Module:
    if getattr(mod, "qconfig", None) is None:
        return mod
    if type(mod) in custom:
        new_mod = custom[type(mod)].from_observed(mod)
    elif type(mod) in mapping:
        new_mod = _from_float(mapping[type(mod)], mod, use_precomputed, path)
    else:
        return mod
    for hook in mod._forward_pre_hooks.values():
        if hook is not _observer_forward_pre_hook:
            new_mod.register_forward_pre_hook(hook)
    for hook in mod._forward_hooks.values():
        if hook is not _observer_forward_hook:
            new_mod.register_forward_hook(hook)
    return new_mod


def _from_float(qcls: type, mod: nn.Module, use_precomputed: bool, path: str) -> nn.Module:
    """``qcls.from_float(mod)`` after the checks whose failure would otherwise give a silently
    wrong model or an error that does not say which module."""
    observer = getattr(mod, "activation_post_process", None)
    if _is_activation_post_process(observer) and _uncalibrated(observer):
        raise RuntimeError(f"convert: the observer of {_describe(path, mod)} has seen no data; "
                           "run calibration (forward passes on representative inputs) after "
                           "prepare() and before convert()")
    if hasattr(mod, "weight") and not hasattr(mod, "weight_fake_quant"):
        _check_weight_qconfig(mod.qconfig, path, mod, "convert")
    try:
        if use_precomputed:
            return qcls.from_float(mod, use_precomputed_fake_quant=True)
        return qcls.from_float(mod)
    except (TypeError, ValueError, RuntimeError) as e:
        raise type(e)(f"convert: {_describe(path, mod)} -> {qcls.__name__}: {e}") from e


