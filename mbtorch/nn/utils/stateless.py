"""``functional_call``: run a module with some of its parameters and buffers replaced by
given tensors (for per-sample gradients, meta-learning, ensembling), the module itself being
left unchanged afterwards."""

from __future__ import annotations

from typing import Any

from ...core.tensor import Tensor

__all__ = ["functional_call"]


def _owner(module: Any, name: str) -> tuple[Any, str]:
    path, _, leaf = name.rpartition(".")
    return module.get_submodule(path), leaf


def functional_call(module: Any, parameter_and_buffer_dicts: Any, args: Any = None,
                    kwargs: dict | None = None, *, tie_weights: bool = True,
                    strict: bool = False) -> Any:
    """``module(*args, **kwargs)`` with ``module.<name>`` read from the dict(s) instead."""
    dicts = parameter_and_buffer_dicts
    merged: dict[str, Tensor] = {}
    for d in (dicts if isinstance(dicts, (list, tuple)) else [dicts]):
        for k, v in d.items():
            if k in merged:
                raise ValueError(f"functional_call(): {k} appeared in multiple dictionaries")
            merged[k] = v
    own = dict(module.named_parameters(remove_duplicate=False))
    own.update(module.named_buffers(remove_duplicate=False))
    unknown = [k for k in merged if k not in own]
    if strict:
        missing = [k for k in own if k not in merged]
        if unknown or missing:
            raise RuntimeError(f"Error(s) in reparametrizing for {type(module).__name__}: "
                               f"unexpected keys {unknown}, missing keys {missing}")
    elif unknown:
        raise AttributeError(f"functional_call(): {type(module).__name__} has no parameter or "
                             f"buffer named {unknown[0]}")
    if tie_weights:  # a tied tensor given under one name is used for all its names
        by_id: dict[int, list[str]] = {}
        for k, t in own.items():
            by_id.setdefault(id(t), []).append(k)
        for names in by_id.values():
            given = [k for k in names if k in merged]
            for k in names:
                if given and k not in merged:
                    merged[k] = merged[given[0]]
    saved = []
    try:
        for name, value in merged.items():
            owner, leaf = _owner(module, name)
            store = owner._parameters if leaf in owner._parameters else owner._buffers
            saved.append((store, leaf, store[leaf]))
            store[leaf] = value
        call_args = args if isinstance(args, tuple) else (() if args is None else (args,))
        return module(*call_args, **(kwargs or {}))
    finally:
        for store, leaf, original in reversed(saved):
            store[leaf] = original
