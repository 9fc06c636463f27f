"""Module hooks beyond the plain forward ones: forward hooks with keyword arguments and
``always_call``, and full backward (pre-)hooks. A module with backward hooks routes its tensor
inputs and outputs through two identity autograd Functions; their backward passes see
``grad_output`` and ``grad_input`` and hand them to the hooks, as PyTorch's ``BackwardHook``
does."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from ...autograd.function import Function
from ...autograd.grad_mode import is_grad_enabled
from ...core.tensor import Tensor

__all__ = ["call_with_hooks", "init_hook_tables"]


def init_hook_tables(d: dict) -> None:
    """Add the hook tables a module's ``__dict__`` lacks (all, for a new module)."""
    for name in ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks",
                 "_backward_pre_hooks"):
        d.setdefault(name, OrderedDict())
    for name in ("_forward_hooks_with_kwargs", "_forward_hooks_always_called",
                 "_forward_pre_hooks_with_kwargs"):
        d.setdefault(name, set())


class _State:
    __slots__ = ("module", "grad_output", "n_inputs", "inputs_hooked")

    def __init__(self, module: Any, n_inputs: int) -> None:
        self.module, self.n_inputs = module, n_inputs
        self.grad_output: tuple | None = None
        self.inputs_hooked = False


def _run_backward_hooks(state: _State, grad_input: tuple) -> tuple:
    for hook in list(state.module.__dict__["_backward_hooks"].values()):
        res = hook(state.module, grad_input, state.grad_output)
        if res is not None:
            res = tuple(res) if isinstance(res, (tuple, list)) else (res,)
            if len(res) != len(grad_input):
                raise RuntimeError(f"Backward hook returned an invalid number of grad_input, "
                                   f"got {len(res)}, but expected {len(grad_input)}")
            grad_input = res
    return grad_input


class _InputHook(Function):
    @staticmethod
    def forward(ctx: Any, state: _State, positions: tuple, *tensors: Tensor) -> tuple:
        ctx.state, ctx.positions = state, positions
        return tensors

    @staticmethod
    def backward(ctx: Any, *grads: Any) -> tuple:
        state = ctx.state
        full: list = [None] * state.n_inputs
        for pos, g in zip(ctx.positions, grads):
            full[pos] = g
        full_t = _run_backward_hooks(state, tuple(full))
        return (None, None) + tuple(full_t[pos] for pos in ctx.positions)


class _OutputHook(Function):
    @staticmethod
    def forward(ctx: Any, state: _State, *tensors: Tensor) -> tuple:
        ctx.state = state
        return tensors

    @staticmethod
    def backward(ctx: Any, *grads: Any) -> tuple:
        state = ctx.state
        grad_output = tuple(grads)
        for hook in list(state.module.__dict__["_backward_pre_hooks"].values()):
            res = hook(state.module, grad_output)
            if res is not None:
                grad_output = tuple(res) if isinstance(res, (tuple, list)) else (res,)
        state.grad_output = grad_output
        if not state.inputs_hooked and state.module.__dict__["_backward_hooks"]:
            _run_backward_hooks(state, (None,) * state.n_inputs)
        return (None,) + grad_output


def _wrap_inputs(module: Any, args: tuple) -> tuple[tuple, _State]:
    tensor_pos = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
    state = _State(module, len(tensor_pos))
    need = [k for k, i in enumerate(tensor_pos) if args[i].requires_grad]
    if not need or not is_grad_enabled():
        return args, state
    state.inputs_hooked = True
    wrapped = _InputHook.apply(state, tuple(need), *(args[tensor_pos[k]] for k in need))
    out = list(args)
    for k, w in zip(need, wrapped):
        out[tensor_pos[k]] = w
    return tuple(out), state


def _wrap_outputs(out: Any, state: _State) -> Any:
    single = isinstance(out, Tensor)
    items = [out] if single else (list(out) if isinstance(out, (tuple, list)) else None)
    if items is None or not is_grad_enabled():
        return out
    idx = [i for i, o in enumerate(items) if isinstance(o, Tensor) and o.requires_grad]
    if not idx:
        return out
    wrapped = _OutputHook.apply(state, *(items[i] for i in idx))
    for i, w in zip(idx, wrapped):
        items[i] = w
    if single:
        return items[0]
    return type(out)(items) if isinstance(out, list) else tuple(items)


def _pre_hooks(module: Any, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
    d = module.__dict__
    with_kwargs = d["_forward_pre_hooks_with_kwargs"]
    for key, hook in list(d["_forward_pre_hooks"].items()):
        if key in with_kwargs:
            res = hook(module, args, kwargs)
            if res is not None:
                if not (isinstance(res, tuple) and len(res) == 2):
                    raise RuntimeError(f"forward pre-hook must return None or a tuple of "
                                       f"(new_args, new_kwargs), but got {res}.")
                args, kwargs = res
        else:
            res = hook(module, args)
            if res is not None:
                args = res if isinstance(res, tuple) else (res,)
    return args, kwargs


def _post_hooks(module: Any, args: tuple, kwargs: dict, out: Any, only_always: bool) -> Any:
    d = module.__dict__
    with_kwargs, always = d["_forward_hooks_with_kwargs"], d["_forward_hooks_always_called"]
    for key, hook in list(d["_forward_hooks"].items()):
        if only_always and key not in always:
            continue
        res = hook(module, args, kwargs, out) if key in with_kwargs else hook(module, args, out)
        if res is not None:
            out = res
    return out


def call_with_hooks(module: Any, args: tuple, kwargs: dict) -> Any:
    """``module(*args, **kwargs)`` with its forward and backward hooks."""
    d = module.__dict__
    args, kwargs = _pre_hooks(module, args, kwargs)
    backward = bool(d["_backward_hooks"] or d["_backward_pre_hooks"])
    state = None
    if backward:
        args, state = _wrap_inputs(module, args)
    try:
        out = module.forward(*args, **kwargs)
    except Exception:
        if d["_forward_hooks_always_called"]:
            _post_hooks(module, args, kwargs, None, True)
        raise
    out = _post_hooks(module, args, kwargs, out, False)
    if backward:
        out = _wrap_outputs(out, state)
    return out
