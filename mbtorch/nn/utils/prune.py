"""Pruning (``torch.nn.utils.prune``): a pruned tensor ``<name>`` becomes ``<name>_orig *
<name>_mask``, recomputed by a forward pre-hook; repeated pruning of one tensor combines the
masks in a ``PruningContainer`` (each new method acting only on what is still unpruned).
State-dict keys are PyTorch's: ``<name>_orig`` (parameter) and ``<name>_mask`` (buffer)."""

from __future__ import annotations

import numbers
from abc import ABC, abstractmethod
from typing import Any, Iterable

import mbtorch as _mt

from ...core.tensor import Tensor

__all__ = [
    "BasePruningMethod", "PruningContainer", "Identity", "RandomUnstructured", "L1Unstructured",
    "RandomStructured", "LnStructured", "CustomFromMask", "identity", "random_unstructured",
    "l1_unstructured", "random_structured", "ln_structured", "global_unstructured",
    "custom_from_mask", "remove", "is_pruned"
]


def _check_amount_init(amount: Any) -> None:
    if not isinstance(amount, numbers.Real):
        raise TypeError(f"Invalid type for amount: {amount}. Must be int or float.")
    if (isinstance(amount, numbers.Integral) and amount < 0) or \
            (not isinstance(amount, numbers.Integral) and not 0.0 <= float(amount) <= 1.0):
        raise ValueError(f"amount={amount} should either be a float in the range [0, 1] or a "
                         "non-negative integer")


def _n_to_prune(amount: Any, size: int) -> int:
    if isinstance(amount, numbers.Integral):
        if amount > size:
            raise ValueError(f"amount={amount} should be smaller than the number of parameters "
                             f"to prune={size}")
        return int(amount)
    return round(amount * size)


def _check_structured(t: Tensor) -> None:
    if t.dim() <= 1:
        raise ValueError(f"Structured pruning can only be applied to multidimensional tensors. "
                         f"Found tensor of shape {tuple(t.shape)} with {t.dim()} dims")


class BasePruningMethod(ABC):
    """Subclass with ``compute_mask(t, default_mask)`` and a ``PRUNING_TYPE``
    ('unstructured', 'structured' or 'global')."""

    _tensor_name: str
    PRUNING_TYPE = "unstructured"

    def __call__(self, module: Any, inputs: Any) -> None:
        object.__setattr__(module, self._tensor_name, self.apply_mask(module))

    @abstractmethod
    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        """The new mask (ones keep, zeros prune), combined with ``default_mask``."""

    def apply_mask(self, module: Any) -> Tensor:
        orig = getattr(module, self._tensor_name + "_orig")
        mask = getattr(module, self._tensor_name + "_mask")
        return mask.to(dtype=orig.dtype) * orig

    @classmethod
    def apply(cls, module: Any, name: str, *args: Any, importance_scores: Tensor | None = None,
              **kwargs: Any) -> "BasePruningMethod":
        old = None
        for key, hook in list(module._forward_pre_hooks.items()):
            if isinstance(hook, BasePruningMethod) and hook._tensor_name == name:
                old = hook
                del module._forward_pre_hooks[key]
        method = cls(*args, **kwargs)
        method._tensor_name = name
        if old is not None:
            container = old if isinstance(old, PruningContainer) else PruningContainer(old)
            container.add_pruning_method(method)
            method = container
        orig = getattr(module, name)
        scores = orig if importance_scores is None else importance_scores
        if tuple(scores.shape) != tuple(orig.shape):
            raise ValueError(f"importance_scores should have the same shape as parameter "
                             f"{name} of {module}")
        if old is None:
            module.register_parameter(name + "_orig", orig)
            del module._parameters[name]
            default_mask = _mt.ones_like(orig)
        else:
            default_mask = getattr(module, name + "_mask").detach().clone()
        with _mt.no_grad():
            mask = method.compute_mask(scores.detach(), default_mask=default_mask)
        module.register_buffer(name + "_mask", mask)
        object.__setattr__(module, name, method.apply_mask(module))
        module.register_forward_pre_hook(method)
        return method

    def prune(self, t: Tensor, default_mask: Tensor | None = None,
              importance_scores: Tensor | None = None) -> Tensor:
        scores = t if importance_scores is None else importance_scores
        mask = self.compute_mask(scores, _mt.ones_like(t) if default_mask is None
                                 else default_mask)
        return t * mask

    def remove(self, module: Any) -> None:
        """Make the pruning permanent: ``<name>`` becomes a plain parameter again."""
        weight = self.apply_mask(module)
        module.__dict__.pop(self._tensor_name, None)
        orig = module._parameters.pop(self._tensor_name + "_orig")
        with _mt.no_grad():
            orig.data = weight.detach()
        del module._buffers[self._tensor_name + "_mask"]
        module.register_parameter(self._tensor_name, orig)


class PruningContainer(BasePruningMethod):
    """The sequence of methods applied to one tensor; each sees only the unpruned part."""

    def __init__(self, *args: BasePruningMethod) -> None:
        self._pruning_methods: tuple = ()
        if len(args) == 1 and not isinstance(args[0], BasePruningMethod):
            args = tuple(args[0])
        for method in args:
            self.add_pruning_method(method)

    def add_pruning_method(self, method: BasePruningMethod) -> None:
        if not isinstance(method, BasePruningMethod) and method is not None:
            raise TypeError(f"{type(method)} is not a BasePruningMethod subclass")
        if method is not None:
            if self._pruning_methods and self._tensor_name != method._tensor_name:
                raise ValueError(f"Can only add pruning methods acting on the parameter named "
                                 f"'{self._tensor_name}' to PruningContainer {self}. Found "
                                 f"'{method._tensor_name}'")
            self._tensor_name = method._tensor_name
            self._pruning_methods += (method,)

    def __len__(self) -> int:
        return len(self._pruning_methods)

    def __iter__(self) -> Any:
        return iter(self._pruning_methods)

    def __getitem__(self, idx: int) -> BasePruningMethod:
        return self._pruning_methods[idx]

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        method = self._pruning_methods[-1]
        mask = default_mask.to(dtype=t.dtype)
        if method.PRUNING_TYPE == "unstructured":
            keep = (default_mask.reshape(-1) == 1).nonzero().reshape(-1)
            partial = method.compute_mask(t.reshape(-1).index_select(0, keep),
                                          default_mask.reshape(-1).index_select(0, keep))
            return mask.reshape(-1).index_copy(0, keep, partial.to(mask.dtype)).reshape(t.shape)
        if method.PRUNING_TYPE == "structured":
            dim = method.dim if method.dim >= 0 else t.dim() + method.dim
            others = tuple(d for d in range(t.dim()) if d != dim)
            keep = (default_mask.sum(others) != 0).nonzero().reshape(-1)
            partial = method.compute_mask(t.index_select(dim, keep),
                                          default_mask.index_select(dim, keep))
            return mask.index_copy(dim, keep, partial.to(mask.dtype))
        if method.PRUNING_TYPE == "global":
            return method.compute_mask(t, default_mask).to(mask.dtype)
        raise ValueError(f"Unrecognized PRUNING_TYPE {method.PRUNING_TYPE}")


class Identity(BasePruningMethod):
    PRUNING_TYPE = "unstructured"

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        return default_mask

    @classmethod
    def apply(cls, module: Any, name: str) -> BasePruningMethod:  # type: ignore[override]
        return super().apply(module, name)


class _UnstructuredByAmount(BasePruningMethod):
    # RandomUnstructured and L1Unstructured differ only in which ``k`` entries they pick
    PRUNING_TYPE = "unstructured"

    def __init__(self, amount: Any) -> None:
        _check_amount_init(amount)
        self.amount = amount

    def _pick(self, t: Tensor, k: int) -> Tensor:
        """The flat indices of the ``k`` entries of ``t`` to prune."""
        raise NotImplementedError

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        k = _n_to_prune(self.amount, t.numel())
        mask = default_mask.clone()
        if k:
            mask.reshape(-1)[self._pick(t, k)] = 0
        return mask


class RandomUnstructured(_UnstructuredByAmount):
    def _pick(self, t: Tensor, k: int) -> Tensor:
        return _mt.topk(_mt.rand_like(t).reshape(-1), k)[1]


class L1Unstructured(_UnstructuredByAmount):
    def _pick(self, t: Tensor, k: int) -> Tensor:
        return _mt.topk(t.abs().reshape(-1), k, largest=False)[1]


def _channel_mask(t: Tensor, dim: int, keep: Tensor, default_mask: Tensor) -> Tensor:
    mask = _mt.zeros_like(t).index_fill(dim, keep, 1.0)
    return mask * default_mask.to(dtype=mask.dtype)


class RandomStructured(BasePruningMethod):
    PRUNING_TYPE = "structured"

    def __init__(self, amount: Any, dim: int = -1) -> None:
        _check_amount_init(amount)
        self.amount, self.dim = amount, dim

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        _check_structured(t)
        size = t.shape[self.dim]
        k = _n_to_prune(self.amount, size)
        if k == 0:
            return default_mask
        _, keep = _mt.topk(_mt.rand(size, device=t.device), size - k)
        return _channel_mask(t, self.dim % t.dim(), keep, default_mask)


class LnStructured(BasePruningMethod):
    PRUNING_TYPE = "structured"

    def __init__(self, amount: Any, n: Any, dim: int = -1) -> None:
        _check_amount_init(amount)
        self.amount, self.n, self.dim = amount, n, dim

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        _check_structured(t)
        dim = self.dim % t.dim()
        size = t.shape[dim]
        k = _n_to_prune(self.amount, size)
        if k == 0:
            return default_mask
        others = tuple(d for d in range(t.dim()) if d != dim)
        norms = _mt.linalg.vector_norm(t, self.n, others)
        _, keep = _mt.topk(norms, size - k)
        return _channel_mask(t, dim, keep, default_mask)


class CustomFromMask(BasePruningMethod):
    PRUNING_TYPE = "global"

    def __init__(self, mask: Tensor) -> None:
        self.mask = mask

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        if tuple(default_mask.shape) != tuple(self.mask.shape):
            raise ValueError(f"custom_from_mask(): mask of shape {tuple(self.mask.shape)} for "
                             f"a tensor of shape {tuple(default_mask.shape)}")
        return default_mask * self.mask.to(dtype=default_mask.dtype)


def identity(module: Any, name: str) -> Any:
    Identity.apply(module, name)
    return module


def random_unstructured(module: Any, name: str, amount: Any) -> Any:
    RandomUnstructured.apply(module, name, amount)
    return module


def l1_unstructured(module: Any, name: str, amount: Any,
                    importance_scores: Tensor | None = None) -> Any:
    L1Unstructured.apply(module, name, amount=amount, importance_scores=importance_scores)
    return module


def random_structured(module: Any, name: str, amount: Any, dim: int) -> Any:
    RandomStructured.apply(module, name, amount, dim)
    return module


def ln_structured(module: Any, name: str, amount: Any, n: Any, dim: int,
                  importance_scores: Tensor | None = None) -> Any:
    LnStructured.apply(module, name, amount, n, dim, importance_scores=importance_scores)
    return module


def custom_from_mask(module: Any, name: str, mask: Tensor) -> Any:
    CustomFromMask.apply(module, name, mask)
    return module


def global_unstructured(parameters: Iterable[tuple[Any, str]], pruning_method: type,
                        importance_scores: dict | None = None, **kwargs: Any) -> None:
    """Prune the given (module, name) tensors together, as if concatenated into one."""
    params = list(parameters)
    if not params:
        raise TypeError("global_unstructured(): parameters must be a non-empty iterable of "
                        "(module, name) pairs")
    scores = importance_scores or {}
    flat_scores = _mt.cat([scores.get((m, n), getattr(m, n)).detach().reshape(-1)
                           for m, n in params])
    flat_default = _mt.cat([getattr(m, n + "_mask", _mt.ones_like(getattr(m, n))).reshape(-1)
                            for m, n in params])
    method = pruning_method(**kwargs)
    method._tensor_name = "temp"
    if method.PRUNING_TYPE != "unstructured":
        raise TypeError(f'Only "unstructured" PRUNING_TYPE supported for the `pruning_method`. '
                        f"Found method {pruning_method} of type {method.PRUNING_TYPE}")
    container = PruningContainer(method)
    with _mt.no_grad():
        final = container.compute_mask(flat_scores, flat_default)
    start = 0
    for module, name in params:
        n = getattr(module, name).numel()
        custom_from_mask(module, name, final[start:start + n].reshape(getattr(module,
                                                                                name).shape))
        start += n


def remove(module: Any, name: str) -> Any:
    for key, hook in list(module._forward_pre_hooks.items()):
        if isinstance(hook, BasePruningMethod) and hook._tensor_name == name:
            hook.remove(module)
            del module._forward_pre_hooks[key]
            return module
    raise ValueError(f"Parameter '{name}' of module {module} has to be pruned before pruning "
                     "can be removed")


def is_pruned(module: Any) -> bool:
    return any(isinstance(hook, BasePruningMethod) for m in module.modules()
               for hook in m._forward_pre_hooks.values())
