"""``mbtorch.utils.checkpoint``: activation checkpointing (PyTorch's ``torch.utils.checkpoint``).

``checkpoint(fn, *args, use_reentrant=...)`` keeps only ``fn``'s inputs from the forward pass
and runs ``fn`` again during backward to rebuild what its gradient needs, trading compute for
memory. With ``preserve_rng_state=True`` (the default) the recomputation replays the random
numbers of the forward (the same dropout masks), so gradients equal an unchecked run's.

Two variants, as in PyTorch:

- ``use_reentrant=True`` (PyTorch's default when the argument is left out, with its warning):
  an autograd ``Function`` that runs ``fn`` without grad, then in backward recomputes and calls
  ``autograd.backward`` on the recomputed graph. Parameters used inside get their ``.grad``
  from that inner call; at least one input must require grad, or nothing does (PyTorch's
  warning). Use ``.backward()``: with ``autograd.grad`` the parameters' gradients are
  accumulated into ``.grad`` instead of returned (PyTorch raises there; mbtorch's engine does
  not expose which call is running).
- ``use_reentrant=False``: runs ``fn`` with grad, records which leaf tensors (parameters) its
  graph reaches, keeps its outputs and frees the graph at once; backward recomputes and takes
  ``autograd.grad`` with respect to the inputs and those leaves. Works with ``autograd.grad``,
  with inputs that need no grad, with keyword arguments and nested tuple/list/dict outputs.
  A non-leaf tensor that needs grad should reach ``fn`` as an argument, not a closure.
  The forward briefly holds one segment's activations (PyTorch's hooks avoid even that).
"""

from __future__ import annotations

import contextlib
import warnings
from typing import Any, Callable, ContextManager

from .. import autograd
from ..autograd.function import Function
from ..autograd.grad_mode import enable_grad, is_grad_enabled, no_grad
from ..core.ops.random import get_rng_state, set_rng_state
from ..core.tensor import Tensor

__all__ = ["CheckpointError", "CheckpointFunction", "check_backward_validity", "checkpoint",
           "checkpoint_sequential", "detach_variable", "noop_context_fn"]


class CheckpointError(RuntimeError):
    """The recomputation in backward did not reproduce the forward pass."""


def noop_context_fn() -> tuple[ContextManager, ContextManager]:
    """The default ``context_fn``: no context around the forward or the recomputation."""
    return contextlib.nullcontext(), contextlib.nullcontext()


def detach_variable(inputs: tuple) -> tuple:
    """Detached copies of the tensors of ``inputs`` keeping ``requires_grad`` (others as-is)."""
    if not isinstance(inputs, tuple):
        raise RuntimeError("Only tuple of tensors is supported. Got Unsupported input type: "
                           f"{type(inputs).__name__}")
    return tuple(x.detach().requires_grad_(x.requires_grad) if isinstance(x, Tensor) else x
                 for x in inputs)


def check_backward_validity(inputs: Any) -> None:
    if not any(x.requires_grad for x in inputs if isinstance(x, Tensor)):
        warnings.warn("None of the inputs have requires_grad=True. Gradients will be None",
                      stacklevel=3)


@contextlib.contextmanager
def _rng_replay(state: Tensor | None):
    """Run the block from the saved generator ``state``, then put the current one back."""
    if state is None:
        yield
        return
    current = get_rng_state()
    set_rng_state(state)
    try:
        yield
    finally:
        set_rng_state(current)


class CheckpointFunction(Function):
    """The reentrant checkpoint (``use_reentrant=True``)."""

    @staticmethod
    def forward(ctx, run_function: Callable, preserve_rng_state: bool, *args: Any) -> Any:
        check_backward_validity(args)
        ctx.run_function = run_function
        ctx.fwd_rng_state = get_rng_state() if preserve_rng_state else None
        ctx.inputs = [None if isinstance(a, Tensor) else a for a in args]
        ctx.tensor_indices = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        ctx.save_for_backward(*(a for a in args if isinstance(a, Tensor)))
        with no_grad():
            return run_function(*args)

    @staticmethod
    def backward(ctx, *grads: Any) -> tuple:
        inputs = list(ctx.inputs)
        for i, t in zip(ctx.tensor_indices, ctx.saved_tensors):
            inputs[i] = t
        with _rng_replay(ctx.fwd_rng_state):
            detached = detach_variable(tuple(inputs))
            with enable_grad():
                outputs = ctx.run_function(*detached)
        if isinstance(outputs, Tensor):
            outputs = (outputs,)
        pairs = [(o, g) for o, g in zip(outputs, grads)
                 if isinstance(o, Tensor) and o.requires_grad and g is not None]
        if not pairs:
            raise RuntimeError("none of output has requires_grad=True, this checkpoint() is "
                               "not necessary")
        autograd.backward([o for o, _ in pairs], [g for _, g in pairs])
        return (None, None) + tuple(x.grad if isinstance(x, Tensor) else None
                                    for x in detached)


def _flatten(obj: Any) -> tuple[list, Callable]:
    """The tensors inside nested tuples/lists/dicts and a function putting new ones back."""
    if isinstance(obj, Tensor):
        return [obj], lambda leaves: leaves[0]
    if isinstance(obj, (tuple, list, dict)):
        items = list(obj.items()) if isinstance(obj, dict) else list(enumerate(obj))
        parts = [_flatten(v) for _, v in items]
        counts = [len(p[0]) for p in parts]

        def rebuild(leaves: list) -> Any:
            values, start = [], 0
            for (_, rb), n in zip(parts, counts):
                values.append(rb(leaves[start:start + n]))
                start += n
            if isinstance(obj, dict):
                return type(obj)(zip(obj.keys(), values))
            return type(obj)(values) if not hasattr(obj, "_fields") else type(obj)(*values)

        return [t for p in parts for t in p[0]], rebuild
    return [], lambda leaves: obj


def _leaves_reached(outputs: list, exclude: list) -> list:
    """Leaf tensors needing grad that the graph of ``outputs`` reaches (not in ``exclude``),
    in a stable order."""
    seen, found = set(), []
    skip = {id(t) for t in exclude}
    stack = [o.grad_fn for o in outputs if o.grad_fn is not None]
    stack += [o for o in outputs if o.grad_fn is None and o.requires_grad]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, Tensor):
            if id(node) not in skip:
                found.append(node)
            continue
        stack.extend(edge[0] for edge in node.next if edge is not None)
    return found


class _NonReentrant(Function):
    """Outputs computed before ``apply``; backward recomputes ``run`` and differentiates it
    with respect to the tensor inputs and the leaves the forward graph reached."""

    @staticmethod
    def forward(ctx, run: dict, *tensors: Tensor) -> tuple:
        ctx.run = run
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(*tensors[:run["n_inputs"]])
        outputs = tuple(run.pop("outputs"))
        ctx.mark_non_differentiable(*(outputs[i] for i in run["constant"]))
        return outputs

    @staticmethod
    def backward(ctx, *grads: Any) -> tuple:
        run = ctx.run
        inputs = list(ctx.saved_tensors)
        if not ctx.create_graph:
            # fresh leaves: the recomputed graph stops here. For double backward the inputs
            # keep their history instead, so the gradients returned connect to it.
            inputs = [t.detach().requires_grad_(t.requires_grad) for t in inputs]
        leaves = run["leaves"]
        with _rng_replay(run["rng_state"]):
            outs = run["recompute"](inputs)
        _check_metadata(outs, run["meta"], run["check"])
        pairs = [(o, g) for o, g in zip(outs, grads)
                 if g is not None and o.requires_grad]
        targets = [t for t in inputs if t.requires_grad] + leaves
        if not pairs or not targets:
            return (None,) * (1 + len(inputs) + len(leaves))
        got = iter(autograd.grad([o for o, _ in pairs], targets, [g for _, g in pairs],
                                 allow_unused=True, create_graph=ctx.create_graph))
        input_grads = [next(got) if t.requires_grad else None for t in inputs]
        return (None, *input_grads, *got)


def _cut(t: Tensor) -> Tensor:
    """``t`` without its history, holding nothing of the graph that made it: ``detach()``
    alone returns an alias whose base keeps that graph (and its activations) alive, and an
    in-place ``detach_()`` could cut a tensor the caller owns, so a tensor with history is
    copied out."""
    return t.detach() if t.grad_fn is None else t.detach().clone()


def _meta(outputs: list) -> list:
    return [(tuple(o.shape), o.dtype, o.device) for o in outputs]


def _check_metadata(outputs: list, meta: list, check: str) -> None:
    if check == "none":
        return
    now = _meta(outputs)
    if now != meta:
        bad = [f"output {i}: {m} vs recomputed {n}"
               for i, (m, n) in enumerate(zip(meta, now)) if m != n]
        bad += [f"{len(meta)} outputs vs {len(now)} recomputed"] if len(now) != len(meta) else []
        raise CheckpointError("torch.utils.checkpoint: Recomputed values for the following "
                              "tensors have different metadata than during the forward pass.\n"
                              + "\n".join(bad))


def _checkpoint_without_reentrant(function: Callable, preserve: bool, context_fn: Callable,
                                  determinism_check: str, args: tuple, kwargs: dict) -> Any:
    if determinism_check not in ("default", "none"):
        raise ValueError("determinism_check should be one of ['default', 'none'], but got "
                         f"{determinism_check}")
    if not is_grad_enabled():
        return function(*args, **kwargs)  # nothing to differentiate: a plain call
    positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]

    def call(tensors: list, ctx_manager: ContextManager) -> Any:
        full = list(args)
        for i, t in zip(positions, tensors):
            full[i] = t
        with enable_grad(), ctx_manager:
            return function(*full, **kwargs)

    rng_state = get_rng_state() if preserve else None
    forward_ctx, _ = context_fn()
    inputs = [args[i].detach().requires_grad_(args[i].requires_grad) for i in positions]
    out_struct = call(inputs, forward_ctx)
    flat, rebuild = _flatten(out_struct)
    leaves = _leaves_reached([o for o in flat if o.requires_grad], inputs)
    run = {"n_inputs": len(inputs), "leaves": leaves, "rng_state": rng_state,
           "meta": _meta(flat), "check": determinism_check,
           "constant": [i for i, o in enumerate(flat) if not o.requires_grad],
           "outputs": [_cut(o) for o in flat],
           "recompute": lambda ts: _flatten(call(ts, context_fn()[1]))[0]}
    del out_struct, flat  # frees the forward graph: backward rebuilds it
    if not run["outputs"]:
        return rebuild([])
    outs = _NonReentrant.apply(run, *(args[i] for i in positions), *leaves)
    return rebuild(list(outs))


def checkpoint(function: Callable, *args: Any, use_reentrant: bool | None = None,
               context_fn: Callable = noop_context_fn, determinism_check: str = "default",
               debug: bool = False, early_stop: bool = True, **kwargs: Any) -> Any:
    """``function(*args, **kwargs)``, recomputed during backward instead of keeping its
    activations. ``preserve_rng_state`` (keyword, default True) replays the forward's random
    numbers. ``debug`` and ``early_stop`` are accepted for PyTorch compatibility and change
    nothing here (the recomputation always runs the whole function)."""
    if use_reentrant is None:
        warnings.warn("torch.utils.checkpoint: the use_reentrant parameter should be passed "
                      "explicitly. Starting in PyTorch 2.9, calling checkpoint without "
                      "use_reentrant will raise an exception. use_reentrant=False is "
                      "recommended, but if you need to preserve the current default behavior, "
                      "you can pass use_reentrant=True. Refer to docs for more details on the "
                      "differences between the two variants.", stacklevel=2)
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs and use_reentrant:
        raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
    if use_reentrant:
        if context_fn is not noop_context_fn or debug is not False:
            raise ValueError("Passing `context_fn` or `debug` is only supported when "
                             "use_reentrant=False.")
        return CheckpointFunction.apply(function, preserve, *args)
    return _checkpoint_without_reentrant(function, preserve, context_fn, determinism_check,
                                         args, kwargs)


def checkpoint_sequential(functions: Any, segments: int, input: Any,
                          use_reentrant: bool | None = None, **kwargs: Any) -> Any:
    """Run a sequence of modules (or an ``nn.Sequential``) in ``segments`` chunks, each chunk
    but the last checkpointed."""
    if use_reentrant is None:
        warnings.warn("torch.utils.checkpoint.checkpoint_sequential: the use_reentrant "
                      "parameter should be passed explicitly. In version 2.9 we will raise an "
                      "exception if use_reentrant is not passed. use_reentrant=False is "
                      "recommended, but if you need to preserve the current default behavior, "
                      "you can pass use_reentrant=True. Refer to docs for more details on the "
                      "differences between the two variants.", stacklevel=2)
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
    from ..nn import Sequential

    if isinstance(functions, Sequential):
        functions = list(functions.children())
    functions = list(functions)

    def run_function(start: int, end: int) -> Callable:
        def forward(x: Any) -> Any:
            for j in range(start, end + 1):
                x = functions[j](x)
            return x
        return forward

    segment_size = len(functions) // segments
    end = -1
    for start in range(0, segment_size * (segments - 1), segment_size):
        end = start + segment_size - 1
        input = checkpoint(run_function(start, end), input, use_reentrant=use_reentrant,
                           preserve_rng_state=preserve)
    return run_function(end + 1, len(functions) - 1)(input)
