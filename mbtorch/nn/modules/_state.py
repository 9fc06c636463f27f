"""``Module.load_state_dict``: copy tensors in, with PyTorch's checks and messages."""

from __future__ import annotations

from typing import Any

from ...core.tensor import Tensor

__all__ = ["load_state_dict"]


def load_state_dict(module: Any, state_dict: dict, strict: bool, assign: bool,
                    result_type: Any) -> Any:
    if not isinstance(state_dict, dict):
        raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
    own = module.state_dict(keep_vars=True)
    missing = [k for k in own if k not in state_dict]
    unexpected = [k for k in state_dict if k not in own]
    errors = []
    for key, target in own.items():
        if key not in state_dict:
            continue
        src = state_dict[key]
        if not isinstance(src, Tensor):
            errors.append(f'While copying the parameter named "{key}", expected Tensor, got '
                          f"{type(src).__name__}.")
            continue
        if src.shape != target.shape:
            errors.append(f"size mismatch for {key}: copying a param with shape "
                          f"{src.shape} from checkpoint, the shape in current model is "
                          f"{target.shape}.")
            continue
        if assign:
            _assign(module, key, src)
        else:
            from ...autograd import no_grad

            with no_grad():
                target.copy_(src)
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
    return result_type(missing, unexpected)


def _assign(module: Any, key: str, src: Tensor) -> None:
    from ..parameter import Parameter

    path, _, name = key.rpartition(".")
    owner = module.get_submodule(path)
    if name in owner._parameters:
        owner._parameters[name] = Parameter(src, owner._parameters[name].requires_grad)
    else:
        owner._buffers[name] = src
