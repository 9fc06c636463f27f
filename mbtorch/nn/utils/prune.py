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


def _check_structured(t: Tensor, dim: int) -> int:
    """``dim`` made non-negative, after PyTorch's checks (a 1-d tensor, a ``dim`` outside)."""
    if t.dim() <= 1:
        raise ValueError(f"Structured pruning can only be applied to multidimensional tensors. "
                         f"Found tensor of shape {tuple(t.shape)} with {t.dim()} dims")
    if not -t.dim() <= dim < t.dim():
        raise IndexError(f"Invalid index {dim} for tensor of size {tuple(t.shape)}: structured "
                         f"pruning dim must be in [{-t.dim()}, {t.dim() - 1}]")
    return dim % t.dim()


def _find_hook(module: Any, name: str) -> tuple[Any, "BasePruningMethod | None"]:
    """The key and the pruning hook of ``module.<name>`` (``(None, None)`` when unpruned)."""
    for key, hook in module._forward_pre_hooks.items():
        if isinstance(hook, BasePruningMethod) and hook._tensor_name == name:
            return key, hook
    return None, None


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
        """Prune ``module.<name>`` with ``cls(*args, **kwargs)`` (combined with the pruning
        already there). The mask is computed before the module changes, so a failure (an
        amount too large, a bad ``dim``) leaves the module as it was; PyTorch instead drops
        an earlier method's hook when a second pruning of the same tensor fails."""
        old_key, old = _find_hook(module, name)
        method = cls(*args, **kwargs)
        method._tensor_name = name
        orig = getattr(module, name)
        if not isinstance(orig, Tensor):
            raise TypeError(f"{cls.__name__}.apply(): {type(module).__name__}.{name} is "
                            f"{type(orig).__name__}, not a tensor that can be pruned")
        scores = orig if importance_scores is None else importance_scores
        if tuple(scores.shape) != tuple(orig.shape):
            raise ValueError(f"importance_scores should have the same shape as parameter "
                             f"{name} of {module}, got {tuple(scores.shape)} vs "
                             f"{tuple(orig.shape)}")
        if old is None:
            default_mask = _mt.ones_like(orig)
        else:
            default_mask = getattr(module, name + "_mask").detach().clone()
            container = old if isinstance(old, PruningContainer) else PruningContainer(old)
            container.add_pruning_method(method)
            method = container
        try:
            with _mt.no_grad():
                mask = method.compute_mask(scores.detach(), default_mask=default_mask)
            if old is None:  # a buffer is refused here (TypeError), before anything changed
                module.register_parameter(name + "_orig", orig)
                del module._parameters[name]
        except BaseException:
            if isinstance(old, PruningContainer):
                old._pruning_methods = old._pruning_methods[:-1]
            raise
        if old_key is not None:
            del module._forward_pre_hooks[old_key]
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
            dim = _check_structured(t, method.dim)
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
        dim = _check_structured(t, self.dim)
        size = t.shape[dim]
        k = _n_to_prune(self.amount, size)
        if k == 0:
            return default_mask
        _, keep = _mt.topk(_mt.rand(size, device=t.device), size - k)
        return _channel_mask(t, dim, keep, default_mask)


class LnStructured(BasePruningMethod):
    PRUNING_TYPE = "structured"

    def __init__(self, amount: Any, n: Any, dim: int = -1) -> None:
        _check_amount_init(amount)
        self.amount, self.n, self.dim = amount, n, dim

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        dim = _check_structured(t, self.dim)
        size = t.shape[dim]
        k = _n_to_prune(self.amount, size)
        others = [d for d in range(t.dim()) if d != dim]
        # torch.norm's rules (and errors, even when k is 0), as PyTorch's pruning uses
        norms = _mt.norm(t, p=self.n, dim=others)
        if k == 0:
            return default_mask
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
    """Prune the given (module, name) tensors together, as if concatenated into one: with
    ``L1Unstructured`` and ``amount=0.8``, the 80 % of all their (still unpruned) entries with
    the smallest magnitudes, wherever they are. ``importance_scores`` maps a (module, name)
    pair to the scores used instead of its values."""
    if not isinstance(parameters, Iterable):
        raise TypeError("global_unstructured(): parameters is not an Iterable")
    if importance_scores is not None and not isinstance(importance_scores, dict):
        raise TypeError("global_unstructured(): importance_scores must be of type dict")
    # a list, so that a generator is not used up by the first pass (PyTorch's is)
    params = list(parameters)
    if not params:
        raise ValueError("global_unstructured(): parameters is empty; expected (module, name) "
                         "pairs")
    scores = importance_scores or {}
    tensors = [_global_tensor(m, n, scores) for m, n in params]
    flat_scores = _mt.cat([score.detach().reshape(-1) for _, score in tensors])
    flat_default = _mt.cat([getattr(m, n + "_mask", _mt.ones_like(t)).reshape(-1)
                            for (m, n), (t, _) in zip(params, tensors)])
    method = pruning_method(**kwargs)
    method._tensor_name = "temp"
    if method.PRUNING_TYPE != "unstructured":
        raise TypeError(f'Only "unstructured" PRUNING_TYPE supported for the `pruning_method`. '
                        f"Found method {pruning_method} of type {method.PRUNING_TYPE}")
    container = PruningContainer(method)
    with _mt.no_grad():
        final = container.compute_mask(flat_scores, flat_default)
    start = 0
    for (module, name), (t, _) in zip(params, tensors):
        custom_from_mask(module, name, final[start:start + t.numel()].reshape(t.shape))
        start += t.numel()


def _global_tensor(module: Any, name: str, scores: dict) -> tuple[Tensor, Tensor]:
    """``module.<name>`` and its importance scores, checked for :func:`global_unstructured`."""
    t = getattr(module, name)
    if not isinstance(t, Tensor):
        raise TypeError(f"global_unstructured(): {type(module).__name__}.{name} is "
                        f"{type(t).__name__}, not a tensor that can be pruned")
    score = scores.get((module, name), t)
    if tuple(score.shape) != tuple(t.shape):
        raise ValueError(f"global_unstructured(): importance_scores for "
                         f"{type(module).__name__}.{name} have shape {tuple(score.shape)}, the "
                         f"tensor {tuple(t.shape)}")
    return t, score


def remove(module: Any, name: str) -> Any:
    """Make the pruning of ``module.<name>`` permanent: the masked values become the plain
    parameter ``<name>``; ``<name>_orig``, ``<name>_mask`` and the hook go."""
    key, hook = _find_hook(module, name)
    if hook is not None:
        hook.remove(module)
        del module._forward_pre_hooks[key]
        return module
    raise ValueError(f"Parameter '{name}' of module {module} has to be pruned before pruning "
                     "can be removed")


def is_pruned(module: Any) -> bool:
    return any(isinstance(hook, BasePruningMethod) for m in module.modules()
               for hook in m._forward_pre_hooks.values())
