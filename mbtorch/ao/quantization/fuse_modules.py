"""``fuse_modules`` / ``fuse_modules_qat`` (``torch.ao.quantization.fuse_modules``): replace a
run of named submodules (Conv+BN(+ReLU), Conv+ReLU, Linear+BN, Linear+ReLU, BN+ReLU) by one
fused module in the first position and ``nn.Identity`` in the others.

>>> fused = fuse_modules(model.eval(), [["conv1", "bn1", "relu1"], ["fc", "relu2"]])
"""

from __future__ import annotations

import copy
from typing import Any, Callable

from mbtorch import nn
from mbtorch.nn.utils.parametrize import type_before_parametrizations

from .fuser_method_mappings import (  # noqa: F401 - PyTorch re-exports the first two here
    fuse_conv_bn,
    fuse_conv_bn_relu,
    get_fuser_method,
)

__all__ = ["fuse_known_modules", "fuse_modules", "fuse_modules_qat"]


def _get_module(model: nn.Module, submodule_key: str) -> nn.Module:
    cur = model
    for token in submodule_key.split("."):
        if not hasattr(cur, token):
            raise AttributeError(f"fuse_modules(): model has no submodule '{submodule_key}' "
                                 f"('{token}' not found)")
        cur = getattr(cur, token)
    return cur


def _set_module(model: nn.Module, submodule_key: str, module: nn.Module) -> None:
    *path, last = submodule_key.split(".")
    cur = model
    for token in path:
        cur = getattr(cur, token)
    setattr(cur, last, module)


def fuse_known_modules(mod_list: list, is_qat: bool,
                       additional_fuser_method_mapping: dict | None = None) -> list:
    """The fused module for ``mod_list`` followed by ``nn.Identity`` placeholders; the first
    module's forward pre-hooks and the last one's forward hooks move to the fused module."""
    types = tuple(type_before_parametrizations(m) for m in mod_list)
    fuser_method = get_fuser_method(types, additional_fuser_method_mapping)
    fused = fuser_method(is_qat, *mod_list)
    for pre_hook in mod_list[0]._forward_pre_hooks.values():
        fused.register_forward_pre_hook(pre_hook)
    mod_list[0]._forward_pre_hooks.clear()
    for hook in mod_list[-1]._forward_hooks.values():
        fused.register_forward_hook(hook)
    mod_list[-1]._forward_hooks.clear()
    new_mod: list[nn.Module] = [fused]
    for _ in mod_list[1:]:
        identity = nn.Identity()
        identity.training = mod_list[0].training
        new_mod.append(identity)
    return new_mod


def _fuse_modules_helper(model: nn.Module, modules_to_fuse: list, is_qat: bool,
                         fuser_func: Callable, fuse_custom_config_dict: dict | None) -> None:
    extra = (fuse_custom_config_dict or {}).get("additional_fuser_method_mapping", {})
    mod_list = [_get_module(model, item) for item in modules_to_fuse]
    new_mod_list = fuser_func(mod_list, is_qat, extra)
    for item, new_mod in zip(modules_to_fuse, new_mod_list):
        _set_module(model, item, new_mod)


def _fuse_modules(model: nn.Module, modules_to_fuse: Any, is_qat: bool, inplace: bool,
                  fuser_func: Callable, fuse_custom_config_dict: dict | None) -> nn.Module:
    if not isinstance(model, nn.Module):
        raise TypeError("fuse_modules(): argument 'model' must be an mbtorch.nn.Module, got "
                        f"{type(model).__name__}")
    if not isinstance(modules_to_fuse, (list, tuple)) or not modules_to_fuse:
        raise TypeError("fuse_modules(): argument 'modules_to_fuse' must be a non-empty list "
                        "of module names or of lists of module names")
    if not inplace:
        model = copy.deepcopy(model)
    if all(isinstance(m, str) for m in modules_to_fuse):
        _fuse_modules_helper(model, modules_to_fuse, is_qat, fuser_func,
                             fuse_custom_config_dict)
    else:
        for module_list in modules_to_fuse:
            _fuse_modules_helper(model, module_list, is_qat, fuser_func,
                                 fuse_custom_config_dict)
    return model


def fuse_modules(model: nn.Module, modules_to_fuse: Any, inplace: bool = False,
                 fuser_func: Callable = fuse_known_modules,
                 fuse_custom_config_dict: dict | None = None) -> nn.Module:
    """Fuse each listed run of submodules (eval mode: BN folded into the conv/linear). A copy
    of ``model`` unless ``inplace``. ``fuse_custom_config_dict`` may hold
    ``{"additional_fuser_method_mapping": {(Type1, Type2): fuser}}``."""
    return _fuse_modules(model, modules_to_fuse, False, inplace, fuser_func,
                         fuse_custom_config_dict)


def fuse_modules_qat(model: nn.Module, modules_to_fuse: Any, inplace: bool = False,
                     fuser_func: Callable = fuse_known_modules,
                     fuse_custom_config_dict: dict | None = None) -> nn.Module:
    """``fuse_modules`` for quantization-aware training: Conv+BN stays a trainable
    ``nni.ConvBn*`` container (``prepare_qat`` then swaps in ``nniqat.ConvBn*``)."""
    return _fuse_modules(model, modules_to_fuse, True, inplace, fuser_func,
                         fuse_custom_config_dict)
