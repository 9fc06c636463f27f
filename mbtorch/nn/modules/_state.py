"""``Module.state_dict`` / ``load_state_dict`` (a mixin of ``Module``), with PyTorch's checks
and messages, its state-dict hooks (``register_state_dict_pre_hook``/``_post_hook``,
``register_load_state_dict_pre_hook``/``_post_hook``) and ``get_extra_state`` /
``set_extra_state`` (stored under ``<prefix>_extra_state``)."""

from __future__ import annotations

from collections import OrderedDict, namedtuple
from typing import Any, Callable

from ...core.tensor import Tensor

__all__ = []

_EXTRA = "_extra_state"


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"  # PyTorch's text
        return super().__repr__()


def _hook_table(module: Any, name: str) -> OrderedDict:
    return module.__dict__.setdefault(name, OrderedDict())


class _StateDict:
    _parameters: Any
    _buffers: Any
    _modules: Any
    _non_persistent: Any

    def get_extra_state(self) -> Any:
        raise RuntimeError("Reached a code path in Module.get_extra_state() that should never "
                           "be called. Please file an issue at https://github.com/pytorch/"
                           "pytorch/issues/new?template=bug-report.yml to report this bug.")

    def set_extra_state(self, state: Any) -> None:
        raise RuntimeError("Reached a code path in Module.set_extra_state() that should never "
                           "be called. Please file an issue at https://github.com/pytorch/"
                           "pytorch/issues/new?template=bug-report.yml to report this bug.")

    def _has_extra_state(self) -> bool:
        return type(self).get_extra_state is not _StateDict.get_extra_state

    def state_dict(self, destination: dict | None = None, prefix: str = "",
                   keep_vars: bool = False) -> "OrderedDict[str, Tensor]":
        out = OrderedDict() if destination is None else destination
        for hook in list(_hook_table(self, "_state_dict_pre_hooks").values()):
            hook(self, prefix, keep_vars)
        for name, p in self._parameters.items():
            if p is not None:
                out[prefix + name] = p if keep_vars else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent:
                out[prefix + name] = b if keep_vars else b.detach()
        if self._has_extra_state():
            out[prefix + _EXTRA] = self.get_extra_state()
        for name, m in self._modules.items():
            if m is not None:
                m.state_dict(out, prefix + name + ".", keep_vars)
        for hook in list(_hook_table(self, "_state_dict_hooks").values()):
            res = hook(self, out, prefix, {})
            if res is not None:
                out = res
        return out

    def load_state_dict(self, state_dict: dict, strict: bool = True,
                        assign: bool = False) -> _IncompatibleKeys:
        """Copy tensors in; report missing/unexpected keys and refuse shape mismatches."""
        return _load(self, state_dict, strict, assign)

    def register_state_dict_pre_hook(self, hook: Callable) -> Any:
        """``hook(module, prefix, keep_vars)`` before the module's entries are written."""
        return _register(self, "_state_dict_pre_hooks", hook)

    def register_state_dict_post_hook(self, hook: Callable) -> Any:
        """``hook(module, state_dict, prefix, local_metadata)`` after (may edit in place)."""
        return _register(self, "_state_dict_hooks", hook)

    def register_load_state_dict_pre_hook(self, hook: Callable) -> Any:
        """``hook(module, state_dict, prefix, local_metadata, strict, missing_keys,
        unexpected_keys, error_msgs)`` before loading; may rename keys in ``state_dict``."""
        return _register(self, "_load_state_dict_pre_hooks", hook)

    def register_load_state_dict_post_hook(self, hook: Callable) -> Any:
        """``hook(module, incompatible_keys)`` after loading; may edit the key lists."""
        return _register(self, "_load_state_dict_post_hooks", hook)


def _register(module: Any, table: str, hook: Callable) -> Any:
    from .module import _add_hook

    return _add_hook(_hook_table(module, table), hook, False)


def _load(module: Any, state_dict: dict, strict: bool, assign: bool) -> _IncompatibleKeys:
    if not isinstance(state_dict, dict):
        raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
    state_dict = OrderedDict(state_dict)  # hooks may edit it; the caller's stays as it was
    missing: list[str] = []
    unexpected: list[str] = []
    errors: list[str] = []
    mods = list(module.named_modules())
    for prefix, mod in mods:
        for hook in list(_hook_table(mod, "_load_state_dict_pre_hooks").values()):
            hook(mod, state_dict, prefix + "." if prefix else "", {}, strict, missing,
                 unexpected, errors)
    own = module.state_dict(keep_vars=True)
    missing += [k for k in own if k not in state_dict]
    unexpected += [k for k in state_dict if k not in own]
    for key, target in own.items():
        if key in state_dict:
            _copy_one(module, key, target, state_dict[key], assign, errors)
    result = _IncompatibleKeys(missing, unexpected)
    for _, mod in mods:
        for hook in list(_hook_table(mod, "_load_state_dict_post_hooks").values()):
            hook(mod, result)
    if strict:
        if unexpected:
            errors.insert(0, "Unexpected key(s) in state_dict: "
                          + ", ".join(f'"{k}"' for k in unexpected) + ". ")
        if missing:
            errors.insert(0, "Missing key(s) in state_dict: "
                          + ", ".join(f'"{k}"' for k in missing) + ". ")
    if errors:
        raise RuntimeError(f"Error(s) in loading state_dict for {type(module).__name__}:\n\t"
                           + "\n\t".join(errors))
    return result


def _copy_one(module: Any, key: str, target: Any, src: Any, assign: bool,
              errors: list) -> None:
    path, _, name = key.rpartition(".")
    if name == _EXTRA:
        owner = module.get_submodule(path)
        if owner._has_extra_state():
            owner.set_extra_state(src)
            return
    if not isinstance(src, Tensor):
        errors.append(f'While copying the parameter named "{key}", expected Tensor, got '
                      f"{type(src).__name__}.")
        return
    if src.shape != target.shape:
        errors.append(f"size mismatch for {key}: copying a param with shape {src.shape} from "
                      f"checkpoint, the shape in current model is {target.shape}.")
        return
    if assign:
        _assign(module, key, src)
    else:
        from ...autograd import no_grad

        with no_grad():
            target.copy_(src)


def _assign(module: Any, key: str, src: Tensor) -> None:
    from ..parameter import Parameter

    path, _, name = key.rpartition(".")
    owner = module.get_submodule(path)
    if name in owner._parameters:
        owner._parameters[name] = Parameter(src, owner._parameters[name].requires_grad)
    else:
        owner._buffers[name] = src
