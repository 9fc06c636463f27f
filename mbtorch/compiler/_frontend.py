"""``mbtorch.compile``: trace a call once per signature, replay it after.

The first call of a signature (argument structure, tensor shapes/dtypes/devices/
``requires_grad``, Python values, grad mode) runs eagerly under a ``KernelTracer``, so its
own results are eager ones; if the trace holds (no host read of a traced value, no
data-dependent shape, nothing a replay cannot reproduce) it becomes a ``Plan``, guarded by
the state of the modules and optimizers the call used and the plain Python values the
function reads. Later calls whose guards hold replay the plan: the same kernels in the same
order on the current storage of parameters, buffers and optimizer state, updated in place as
eager execution would. A call that cannot be captured runs eagerly, and says why once
(``fullgraph=True`` raises instead).
"""

from __future__ import annotations

__all__ = ["CompiledFunction", "reset", "RECOMPILE_LIMIT"]

import warnings
import weakref
from typing import Any, Callable

from ..core.state import STATE
from ..core.tensor import Tensor
from ..graph.capture import GraphBreak
from ..graph.kernel_capture import KernelTracer
from ..graph.replay import Plan, PlanError, grad_guards
from ._guards import Guards, arg_key, flatten, python_values, unflatten

RECOMPILE_LIMIT = 8
"""Traces kept per compiled function (torch.compile's ``recompile_limit``); beyond it new
signatures run eagerly."""

_ALL: weakref.WeakSet = weakref.WeakSet()


def reset() -> None:
    """Forget every compiled function's traces (``mbtorch.compiler.reset``)."""
    for f in list(_ALL):
        f.clear()


_TENSOR = object()  # marks an output leaf that is a tensor (the others are kept as they were)


class _Entry:
    __slots__ = ("plan", "guards", "spec", "leaves")

    def __init__(self, plan: Plan, guards: Guards, spec: Any, leaves: list) -> None:
        self.plan, self.guards, self.spec, self.leaves = plan, guards, spec, leaves


class CompiledFunction:
    """``fn`` compiled: call it as ``fn``."""

    def __init__(self, fn: Callable, fullgraph: bool = False,
                 recompile_limit: int = RECOMPILE_LIMIT) -> None:
        self.fn = fn
        self.fullgraph = fullgraph
        self.recompile_limit = recompile_limit
        self._entries: dict[tuple, list[_Entry]] = {}
        self._eager: dict[tuple, str] = {}
        self.stats = {"traces": 0, "replays": 0, "eager": 0}
        _ALL.add(self)

    def clear(self) -> None:
        self._entries.clear()
        self._eager.clear()

    @property
    def __name__(self) -> str:
        return getattr(self.fn, "__qualname__", type(self.fn).__name__)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if STATE.tracer is not None:  # inside another trace: part of that one
            return self.fn(*args, **kwargs)
        leaves: list = []
        spec = flatten((args, kwargs), leaves)
        key = arg_key(spec, leaves)
        for entry in reversed(self._entries.get(key, ())):  # the latest trace first
            if entry.guards.holds():
                self.stats["replays"] += 1
                return self._replay(entry, leaves)
        if key in self._eager:
            self.stats["eager"] += 1
            return self.fn(*args, **kwargs)
        if sum(len(v) for v in self._entries.values()) >= self.recompile_limit:
            self._give_up(key, f"recompile limit ({self.recompile_limit}) reached; the "
                          f"last change: {self._last_change(key)}")
            return self.fn(*args, **kwargs)
        return self._trace(key, leaves, args, kwargs)

    def _last_change(self, key: tuple) -> str:
        entries = self._entries.get(key)
        if entries:
            return entries[-1].guards.why_not()
        return "the arguments (shapes, dtypes, devices, requires_grad or Python values)"

    def _replay(self, entry: _Entry, leaves: list) -> Any:
        outs = iter(entry.plan.finish(entry.plan.run(_feeds(leaves))))
        return unflatten(entry.spec, iter([next(outs) if x is _TENSOR else x
                                           for x in entry.leaves]))

    def _trace(self, key: tuple, leaves: list, args: tuple, kwargs: dict) -> Any:
        self.stats["traces"] += 1
        tracer = KernelTracer()
        if self.fullgraph:
            tracer.on_host_read = "raise"
        tensors = _feeds(leaves)
        values = python_values(self.fn)
        if hasattr(self.fn, "modules"):  # a module compiled: its state before the call
            tracer.note_object(self.fn)
        with tracer:
            for i, t in enumerate(tensors):
                if not tracer.knows(t):
                    tracer.placeholder(t, "input", f"input{i}")
            result = self.fn(*args, **kwargs)
        reason = tracer.broken or self._output_problem(tracer, result)
        if reason is None:
            try:
                entry = self._entry(tracer, tensors, result, values)
            except PlanError as exc:
                reason = str(exc)
        if reason is not None:
            if self.fullgraph:
                raise GraphBreak(f"compile(fullgraph=True): {self.__name__}: {reason}")
            self._give_up(key, reason)
            return result
        self._entries.setdefault(key, []).append(entry)
        return result

    @staticmethod
    def _output_problem(tracer: KernelTracer, result: Any) -> str | None:
        outs: list = []
        flatten(result, outs)
        for t in outs:
            if isinstance(t, Tensor) and t._requires_grad and STATE.grad_enabled \
                    and not tracer.backward_ran:
                return ("an output requires grad and no backward ran in the call: a replay "
                        "records no autograd history, so compile the whole training step "
                        "(forward, backward(), optimizer.step()) instead")
        return None

    def _entry(self, tracer: KernelTracer, tensors: list, result: Any,
               values: tuple) -> _Entry:
        outs: list = []
        spec = flatten(result, outs)
        out_tensors = [t for t in outs if isinstance(t, Tensor)]
        plan = Plan(tracer, tensors, out_tensors)
        guards = Guards(self.fn, list(tracer.objects.values()), values, grad_guards(tracer))
        return _Entry(plan, guards, spec,
                      [_TENSOR if isinstance(x, Tensor) else x for x in outs])

    def _give_up(self, key: tuple, reason: str) -> None:
        self._eager[key] = reason
        warnings.warn(f"mbtorch.compile: {self.__name__}: {reason}; calls like this one run "
                      "eagerly", UserWarning, stacklevel=3)


def _feeds(leaves: list) -> list[Tensor]:
    """The argument tensors, then the roots of those that are views (a view's replay reads
    its root's storage, as eager execution does)."""
    tensors = [x for x in leaves if isinstance(x, Tensor)]
    return tensors + [t._root for t in tensors if t._root is not None]
