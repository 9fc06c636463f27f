"""``register_parametrization``: make a module's tensor the output of a function of a stored
``original`` (``module.parametrizations.<name>.original``, PyTorch's state-dict keys). As in
PyTorch, the module's class is swapped for a per-instance subclass carrying a property for the
tensor, so ``module.weight`` recomputes it and assigning to it goes through
``right_inverse``."""

from __future__ import annotations

import contextlib
from typing import Any, Iterator, Sequence

from ... import autograd as _ag
from ...core.tensor import Tensor
from ..modules.container import ModuleDict, ModuleList
from ..modules.module import Module
from ..parameter import Parameter

__all__ = [
    "register_parametrization", "remove_parametrizations", "is_parametrized", "cached",
    "type_before_parametrizations", "transfer_parametrizations_and_params",
    "ParametrizationList"
]

_cache: dict | None = None


@contextlib.contextmanager
def cached() -> Iterator[None]:
    """Within the block, each parametrized tensor is computed once (for weight sharing in
    RNN loops and the like)."""
    global _cache
    outer = _cache
    if outer is None:
        _cache = {}
    try:
        yield
    finally:
        if outer is None:
            _cache = None


def _register(owner: Module, name: str, value: Tensor) -> None:
    if isinstance(value, Parameter):
        owner.register_parameter(name, value)
    else:
        owner.register_buffer(name, value)


class ParametrizationList(ModuleList):
    """The parametrizations of one tensor, applied in order to ``original`` (or to
    ``original0``, ``original1``... when the first ``right_inverse`` returns several)."""

    def __init__(self, modules: Sequence[Module], original: Tensor, unsafe: bool = False) -> None:
        if len(modules) == 0:
            raise ValueError("ParametrizationList requires one or more modules.")
        super().__init__(modules)
        self.unsafe = unsafe
        shape, dtype = tuple(original.shape), original.dtype
        with _ag.no_grad():
            new: Any = original
            for module in reversed(list(self)):
                if hasattr(module, "right_inverse"):
                    new = module.right_inverse(new)
        self.is_tensor = isinstance(new, Tensor)
        self.ntensors = 1 if self.is_tensor else len(new)
        if self.is_tensor:
            if not unsafe and (new.dtype != dtype or tuple(new.shape) != shape):
                raise ValueError("When `right_inverse` outputs one tensor, it may not change "
                                 f"the dtype or shape.\noriginal: {dtype} {list(shape)}\n"
                                 f"right_inverse(original): {new.dtype} {list(new.shape)}")
            with _ag.no_grad():  # the same object stays registered, as optimisers hold it
                original.data = new.detach()
            _register(self, "original", original)
        else:
            for i, part in enumerate(new):
                if not isinstance(part, Tensor):
                    raise ValueError("'right_inverse' must return a Tensor or a Sequence of "
                                     f"tensors (list, tuple...). Got element {i} of the sequence "
                                     f"with type {type(part).__name__}.")
                if isinstance(original, Parameter):
                    part = Parameter(part.detach(), original.requires_grad)
                _register(self, f"original{i}", part)
        if not unsafe:
            z = self()
            if not isinstance(z, Tensor):
                raise ValueError(f"A parametrization must return a tensor. Got "
                                 f"{type(z).__name__}.")
            if z.dtype != dtype or tuple(z.shape) != shape:
                raise ValueError("Registering a parametrization may not change the dtype or "
                                 "the shape of the tensor, unless `unsafe` flag is enabled.\n"
                                 f"unparametrized: {dtype} {list(shape)}\n"
                                 f"parametrized: {z.dtype} {list(z.shape)}")

    def right_inverse(self, value: Tensor) -> None:
        """Store the originals that make this list compute ``value``."""
        with _ag.no_grad():
            for module in reversed(list(self)):
                if hasattr(module, "right_inverse"):
                    value = module.right_inverse(value)
                else:
                    raise RuntimeError(f"parametrization {type(module).__name__} does not "
                                       "implement right_inverse.")
            if self.is_tensor:
                if not isinstance(value, Tensor):
                    raise ValueError(f"`right_inverse` should return a tensor. Got "
                                     f"{type(value).__name__}")
                self.original.copy_(value)
            else:
                if len(value) != self.ntensors:
                    raise ValueError(f"'right_inverse' must return a sequence of tensors of "
                                     f"length {self.ntensors}. Got a sequence of length "
                                     f"{len(value)}.")
                for i, part in enumerate(value):
                    getattr(self, f"original{i}").copy_(part)

    def forward(self) -> Tensor:
        mods = list(self)
        if self.is_tensor:
            x = mods[0](self.original)
        else:
            x = mods[0](*(getattr(self, f"original{i}") for i in range(self.ntensors)))
        for module in mods[1:]:
            x = module(x)
        return x


def _get(module: Module, name: str) -> Tensor:
    plist = module.parametrizations[name]
    if _cache is None:
        return plist()
    key = (id(module), name)
    if key not in _cache:
        _cache[key] = plist()
    return _cache[key]


def _inject_class(module: Module) -> None:
    cls = module.__class__

    def __setattr__(self: Module, name: str, value: Any) -> None:
        params = self.__dict__["_modules"].get("parametrizations")
        if params is not None and name in params._modules:
            params[name].right_inverse(value)
        else:
            cls.__setattr__(self, name, value)

    def __deepcopy__(self: Module, memo: dict) -> Module:
        raise RuntimeError("deepcopy of a parametrized module is not supported; remove the "
                           "parametrizations first or copy the state dict")

    module.__class__ = type("Parametrized" + cls.__name__, (cls,),
                            {"__setattr__": __setattr__, "__deepcopy__": __deepcopy__,
                             "_orig_class": cls, "__module__": cls.__module__})


def _inject_property(module: Module, name: str) -> None:
    setattr(module.__class__, name, property(lambda self: _get(self, name)))


def is_parametrized(module: Module, tensor_name: str | None = None) -> bool:
    params = module._modules.get("parametrizations")
    if not isinstance(params, ModuleDict):
        return False
    return len(params) > 0 if tensor_name is None else tensor_name in params


def type_before_parametrizations(module: Module) -> type:
    return module.__class__._orig_class if is_parametrized(module) else type(module)


def register_parametrization(module: Module, tensor_name: str, parametrization: Module, *,
                             unsafe: bool = False) -> Module:
    """``module.<tensor_name>`` becomes ``parametrization(original)``; a second registration on
    the same tensor is applied after the first."""
    parametrization.train(module.training)
    if is_parametrized(module, tensor_name):
        plist = module.parametrizations[tensor_name]
        if not unsafe:
            y = getattr(module, tensor_name)
            z = parametrization(y)
            if not isinstance(z, Tensor) or z.shape != y.shape or z.dtype != y.dtype:
                raise ValueError("Registering a parametrization may not change the dtype or "
                                 "the shape of the tensor, unless `unsafe` flag is enabled.")
        plist.append(parametrization)
        plist.unsafe |= unsafe
        return module
    if tensor_name in module._parameters or tensor_name in module._buffers:
        original = getattr(module, tensor_name)
        if original is None:
            raise ValueError(f"register_parametrization(): '{tensor_name}' is None")
        plist = ParametrizationList([parametrization], original, unsafe=unsafe)
        delattr(module, tensor_name)
        if not is_parametrized(module):
            _inject_class(module)
            module.add_module("parametrizations", ModuleDict())
        module.parametrizations[tensor_name] = plist
        _inject_property(module, tensor_name)
        return module
    raise ValueError(f"Module '{type(module).__name__}' does not have a parameter, a buffer, or "
                     f"a parametrized element with name '{tensor_name}'")


def remove_parametrizations(module: Module, tensor_name: str,
                            leave_parametrized: bool = True) -> Module:
    """Turn ``tensor_name`` back into a plain parameter: its current value
    (``leave_parametrized``) or the stored original."""
    if not is_parametrized(module, tensor_name):
        raise ValueError(f"Module {type(module).__name__} does not have a parametrization on "
                         f"{tensor_name}")
    plist = module.parametrizations[tensor_name]
    if plist.is_tensor:
        original = plist.original
        if leave_parametrized:
            with _ag.no_grad():
                value = getattr(module, tensor_name)
                original.data = value.detach()
    else:
        if not leave_parametrized:
            raise ValueError("Cannot leave unparametrized (`leave_parametrized=False`) a tensor "
                             "that is parametrized in terms of a sequence of tensors.")
        with _ag.no_grad():
            value = getattr(module, tensor_name)
        requires = plist.original0.requires_grad
        original = Parameter(value.detach(), requires) if isinstance(plist.original0, Parameter) \
            else value.detach()
    delattr(module.__class__, tensor_name)
    del module.parametrizations[tensor_name]
    _register(module, tensor_name, original)
    if not is_parametrized(module):
        del module.parametrizations
        module.__class__ = module.__class__._orig_class
    return module


def transfer_parametrizations_and_params(from_module: Module, to_module: Module,
                                         tensor_name: str | None = None) -> Module:
    """Register ``from_module``'s parametrizations (and their originals) on ``to_module``."""
    if not is_parametrized(from_module):
        raise ValueError("transfer_parametrizations_and_params(): from_module is not "
                         "parametrized")
    names = [tensor_name] if tensor_name is not None else list(from_module.parametrizations)
    for name in names:
        plist = from_module.parametrizations[name]
        if not hasattr(to_module, name) or is_parametrized(to_module, name):
            raise ValueError(f"transfer_parametrizations_and_params(): to_module has no plain "
                             f"tensor '{name}'")
        for p in plist:
            register_parametrization(to_module, name, p, unsafe=plist.unsafe)
        target = to_module.parametrizations[name]
        with _ag.no_grad():
            if plist.is_tensor:
                target.original.copy_(plist.original)
            else:
                for i in range(plist.ntensors):
                    getattr(target, f"original{i}").copy_(getattr(plist, f"original{i}"))
    return to_module
