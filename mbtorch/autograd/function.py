"""``mbtorch.autograd.Function``: user-defined ops with a hand-written backward.

As in PyTorch, ``ctx`` *is* the graph node of the call (``y.grad_fn``), named after the
class (``ExpBackward`` for ``class Exp(Function)``)::

    class Exp(Function):
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, grad):
            (y,) = ctx.saved_tensors
            return grad * y
"""

from __future__ import annotations

import functools
from typing import Any, Callable

from ..core.ops.creation import zeros
from ..core.ops.views import alias
from ..core.state import STATE
from ..core.tensor import Tensor
from ._grad_ops import sum_to
from .graph import FREED_MESSAGE, Node, SavedOutput, unpack
from .record import edge_of

__all__ = ["FunctionCtx", "BackwardFunction", "Function", "once_differentiable"]


class FunctionCtx:
    """What ``forward`` may tell ``backward`` (PyTorch's ``ctx`` methods)."""

    def save_for_backward(self, *tensors: Tensor | None) -> None:
        for t in tensors:
            if t is not None and not isinstance(t, Tensor):
                raise TypeError("save_for_backward can only save variables, but argument "
                                f"{tensors.index(t)} is of type {type(t).__name__}")
        self.to_save = tensors

    def mark_non_differentiable(self, *tensors: Tensor) -> None:
        self.non_differentiable = {id(t) for t in tensors}

    def set_materialize_grads(self, value: bool) -> None:
        self.materialize_grads = bool(value)

    def mark_dirty(self, *tensors: Tensor) -> None:
        raise NotImplementedError("mark_dirty(): in-place custom Functions are not supported "
                                  "in mbtorch; return a new tensor instead")


def _node_class(cls: type) -> type:
    """``<Function>Backward``, the node class of ``cls``'s calls (its name is what
    ``type(out.grad_fn).__name__`` shows, as in PyTorch); made once per Function class."""
    node = cls.__dict__.get("_backward_cls")
    if node is None:
        node = type(f"{cls.__name__}Backward", (BackwardFunction,), {})
        cls._backward_cls = node
    return node


class BackwardFunction(Node, FunctionCtx):
    """The graph node (and ``ctx``) of one ``Function.apply`` call."""

    def __init__(self, cls: type) -> None:
        self.cls = cls
        self.next, self.saved = [], None
        self.pre_hooks = self.post_hooks = self.trace = None
        self.to_save: tuple = ()
        self.non_differentiable: set = set()
        self.materialize_grads = True
        self.needs_input_grad: tuple = ()
        self.n_out, self.out_meta, self.create_graph = 1, [], False

    def name(self) -> str:
        return f"{self.cls.__name__}Backward"

    @property
    def saved_tensors(self) -> tuple:
        if self.saved is None:
            raise RuntimeError(FREED_MESSAGE)
        out = []
        for s in self.saved:
            if s is None:
                out.append(None)
            elif isinstance(s[1], SavedOutput):
                out.append(s[1].unpack(self, s[0], self.create_graph))
            else:
                out.append(unpack(s))
        return tuple(out)

    def release(self) -> None:
        self.saved = None

    def apply(self, grads: list, create_graph: bool) -> list:
        self.create_graph = create_graph
        if self.materialize_grads:
            grads = [g if g is not None else zeros(m[0], dtype=m[1], device=m[2])
                     for g, m in zip(grads, self.out_meta)]
        res = self.cls.backward(self, *grads)
        res = list(res) if isinstance(res, tuple) else [res]
        n = len(self.next)
        if len(res) > n and all(r is None for r in res[n:]):
            res = res[:n]
        if len(res) != n:
            raise RuntimeError(f"function {self.name()} returned an incorrect number of "
                               f"gradients (expected {n}, got {len(res)})")
        return [self._check(i, r) for i, r in enumerate(res)]

    def _check(self, i: int, r: Any) -> Any:
        if self.next[i] is None or r is None:
            return None
        shape = self.in_shapes[i]
        if r._shape != shape:
            try:
                return sum_to(r, shape)
            except RuntimeError:
                raise RuntimeError(f"Function {self.name()} returned an invalid gradient at "
                                   f"index {i} - got {list(r._shape)} but expected shape "
                                   f"compatible with {list(shape)}") from None
        return r


class Function:
    """Subclass with static ``forward(ctx, *args)`` and ``backward(ctx, *grads)``; call
    ``MyFunction.apply(*args)``. ``setup_context(ctx, inputs, output)`` (PyTorch 2 style,
    with ``forward`` taking no ctx) is supported too."""

    @staticmethod
    def forward(ctx: Any, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("You must implement the forward function for custom "
                                  "autograd.Function.")

    @staticmethod
    def backward(ctx: Any, *grads: Any) -> Any:
        raise NotImplementedError("You must implement either the backward or vjp method for "
                                  "your custom autograd.Function to use it with backward mode "
                                  "AD.")

    setup_context: Any = None

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        ctx = _node_class(cls)(cls)
        grad_on = STATE.grad_enabled
        ctx.needs_input_grad = tuple(grad_on and isinstance(a, Tensor) and a._requires_grad
                                     for a in args)
        prev, STATE.grad_enabled = STATE.grad_enabled, False
        try:
            if cls.setup_context is not None:
                output = cls.forward(*args, **kwargs)
                cls.setup_context(ctx, args, output)
            else:
                output = cls.forward(ctx, *args, **kwargs)
        finally:
            STATE.grad_enabled = prev
        if not any(ctx.needs_input_grad):
            return output
        return _connect(ctx, args, output)


def _connect(ctx: BackwardFunction, args: tuple, output: Any) -> Any:
    is_tuple = isinstance(output, tuple)
    outs = list(output) if is_tuple else [output]
    ctx.next = [edge_of(a) if need else None for a, need in zip(args, ctx.needs_input_grad)]
    ctx.in_shapes = [a._shape if isinstance(a, Tensor) else None for a in args]
    ids_in = {id(a) for a in args if isinstance(a, Tensor)}
    ctx.n_out = len(outs)
    for nr, o in enumerate(outs):
        if not isinstance(o, Tensor):
            ctx.out_meta.append(((), None, None))
            continue
        if id(o) in ids_in:
            outs[nr] = o = alias(o)  # an input returned as-is: give the output its own history
        ctx.out_meta.append((o._shape, o._dtype, o._device))
        if o._dtype.is_floating_point and id(output if not is_tuple else output[nr]) not in \
                ctx.non_differentiable:
            o._grad_fn, o._requires_grad = ctx, True
            if nr:
                o._output_nr = nr
    by_id = {id(o): nr for nr, o in enumerate(outs) if isinstance(o, Tensor)}
    saved = []
    for t in ctx.to_save:
        if t is None:
            saved.append(None)
        elif id(t) in by_id and t._grad_fn is ctx:
            saved.append((by_id[id(t)], SavedOutput(t)))  # no cycle output -> ctx -> output
        else:
            saved.append((t, t._version))
    ctx.saved, ctx.to_save = saved, ()
    return tuple(outs) if is_tuple else outs[0]


def once_differentiable(fn: Callable) -> Callable:
    """Decorate ``backward`` when it is not itself differentiable (runs it without grad)."""

    @functools.wraps(fn)
    def wrapper(ctx: Any, *args: Any) -> Any:
        prev, STATE.grad_enabled = STATE.grad_enabled, False
        try:
            return fn(ctx, *args)
        finally:
            STATE.grad_enabled = prev

    return wrapper
