"""``mbtorch.autograd.backward`` / ``grad`` and the autograd methods of ``Tensor``."""

from __future__ import annotations

import sys
import weakref
from typing import Any, Callable, Sequence

from ..core.ops.creation import ones_like
from ..core.tensor import Tensor, install_methods
from .engine import run_backward
from .graph import RemovableHandle, add_pre_hook
from .record import current_grad_fn, edge_of

__all__ = [
    "backward", "grad", "tensor_backward", "retain_grad", "register_hook",
    "register_post_accumulate_grad_hook", "install_tensor_methods"
]


def _as_tuple(x: Any) -> tuple:
    if x is None:
        return ()
    return (x,) if isinstance(x, Tensor) else tuple(x)


def _roots(outputs: tuple, grads: tuple, what: str) -> tuple[list, list]:
    if grads and len(grads) != len(outputs):
        raise RuntimeError(f"{what}: got {len(grads)} tensors in grad_outputs but "
                           f"{len(outputs)} outputs")
    edges, seeds = [], []
    for i, out in enumerate(outputs):
        edge = edge_of(out)
        if edge is None:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not have "
                               "a grad_fn")
        g = grads[i] if grads else None
        if g is None:
            if out.numel() != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            if out._dtype.is_complex:
                raise RuntimeError("grad can be implicitly created only for real scalar outputs")
            g = ones_like(out)
        elif g._shape != out._shape:
            raise RuntimeError(f"Mismatch in shape: grad_output[{i}] has a shape of "
                               f"torch.Size({list(g._shape)}) and output[{i}] has a shape of "
                               f"torch.Size({list(out._shape)}).")
        edges.append(edge)
        seeds.append(g)
    return edges, seeds


def backward(tensors: Any, grad_tensors: Any = None, retain_graph: bool | None = None,
             create_graph: bool = False, inputs: Any = None) -> None:
    """Accumulate d(tensors)/d(leaf) into each leaf's ``.grad`` (only ``inputs``' if given)."""
    tensors = _as_tuple(tensors)
    edges, seeds = _roots(tensors, _as_tuple(grad_tensors), "backward")
    if retain_graph is None:
        retain_graph = create_graph
    inputs = _as_tuple(inputs) or None
    run_backward(edges, seeds, retain_graph, create_graph, inputs, accumulate=True)


def grad(outputs: Any, inputs: Any, grad_outputs: Any = None, retain_graph: bool | None = None,
         create_graph: bool = False, allow_unused: bool | None = None,
         is_grads_batched: bool = False, materialize_grads: bool = False) -> tuple:
    """Gradients of ``outputs`` with respect to ``inputs``, returned instead of accumulated.

    >>> x = mbtorch.tensor(3.0, requires_grad=True)
    >>> (g,) = mbtorch.autograd.grad(x ** 3, x, create_graph=True)   # 27
    >>> mbtorch.autograd.grad(g, x)                                    # (18,)
    """
    if is_grads_batched:
        raise NotImplementedError("grad(): is_grads_batched=True is not supported")
    outputs, inputs = _as_tuple(outputs), _as_tuple(inputs)
    if allow_unused is None:
        allow_unused = materialize_grads
    for t in inputs:
        if not t._requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    edges, seeds = _roots(outputs, _as_tuple(grad_outputs), "grad")
    if retain_graph is None:
        retain_graph = create_graph
    res = run_backward(edges, seeds, retain_graph, create_graph, inputs, accumulate=False)
    out = []
    for t, g in zip(inputs, res):
        if g is None:
            if not allow_unused:
                raise RuntimeError("One of the differentiated Tensors appears to not have been "
                                   "used in the graph. Set allow_unused=True if this is the "
                                   "desired behavior.")
            if materialize_grads:
                from ..core.ops.creation import zeros_like

                g = zeros_like(t)
        out.append(g)
    return tuple(out)


# -- Tensor methods -------------------------------------------------------------------------
def tensor_backward(self: Tensor, gradient: Tensor | None = None,
                    retain_graph: bool | None = None, create_graph: bool = False,
                    inputs: Sequence[Tensor] | None = None) -> None:
    """Accumulate the gradient of ``self`` into the leaves' ``.grad``."""
    backward(self, gradient, retain_graph, create_graph, inputs)


def retain_grad(self: Tensor) -> None:
    """Keep this non-leaf tensor's gradient in ``.grad`` after backward."""
    if not self._requires_grad:
        raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
    fn = current_grad_fn(self)
    if fn is None or self._retains_grad:
        return
    add_pre_hook(fn, (self._output_nr, weakref.ref(self)))
    self._retains_grad = True


def register_hook(self: Tensor, hook: Callable) -> RemovableHandle:
    """``hook(grad)`` runs when this tensor's gradient is computed; it may return a
    replacement gradient."""
    if not self._requires_grad:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
    fn = current_grad_fn(self)
    if fn is not None:
        return add_pre_hook(fn, (self._output_nr, hook))
    if self._hooks is None:
        self._hooks = []
    self._hooks.append(hook)
    return RemovableHandle(self._hooks, hook)


def register_post_accumulate_grad_hook(self: Tensor, hook: Callable) -> RemovableHandle:
    """``hook(tensor)`` runs after this leaf's ``.grad`` has been updated by backward (it
    returns nothing; it may read or change ``tensor.grad``)."""
    if not self._requires_grad:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
    if self._grad_fn is not None:
        raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
    if self._post_acc_hooks is None:
        self._post_acc_hooks = []
    self._post_acc_hooks.append(hook)
    return RemovableHandle(self._post_acc_hooks, hook)


TENSOR_METHODS = {
    "backward": tensor_backward,
    "retain_grad": retain_grad,
    "register_hook": register_hook,
    "register_post_accumulate_grad_hook": register_post_accumulate_grad_hook,
    "retains_grad": property(lambda self: self._retains_grad),
    "grad_fn": property(current_grad_fn),
}
"""The ``Tensor`` methods autograd provides (installed by ``mbtorch.autograd``)."""


def install_tensor_methods() -> None:
    install_methods(sys.modules[__name__])
    # class-level defaults of autograd's per-tensor state: set on an instance only when they
    # differ, so that creating a tensor on the hot path writes none of them
    Tensor._output_nr = 0
    Tensor._view_base = None
    Tensor._view_chain = ()
    Tensor._view_base_fn = None
    Tensor._post_acc_hooks = None
