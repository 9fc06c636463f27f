"""A replay plan: a kernel-level graph (``kernel_capture.KernelTracer``) turned into one
generated Python function of straight-line kernel calls on backend handles — no meta rules,
no dispatch, no autograd bookkeeping, no ``Tensor`` objects in between. Intermediates are
locals, dropped right after their last use.

``Plan.run(inputs)`` feeds the input tensors' handles and the captured tensors' current
storage, draws random bits where eager execution would have (each generator's offset read
at the start and advanced by what the traced call drew), bumps the version counters of the
captured tensors it wrote, and returns the output handles and the ``.grad`` assignments the
traced call made, which ``Plan.finish`` applies.

Planned buffers: where the backend has out variants of kernels (``BackendSpec.out_kernels``),
the first replay is a probe (the plain code, noting which of those kernels' results came out
contiguous); later replays write those results into buffers the plan keeps, one buffer per
value alive at once (``buffers.plan_buffers``), and new buffers of the traced call (``empty``)
become planned buffers too. What escapes the replay (outputs, ``.grad``s, roots of returned
views) is never in a planned buffer, so a tensor a replay returned stays as it was. A replay
entered while another runs the same plan (another thread) runs the plain code.
"""

from __future__ import annotations

__all__ = ["Plan", "PlanError", "grad_guards"]

import threading
from typing import Any

from ..core.dispatch import wrap
from ..core.op import Op
from ..core.plugins import get_backend
from ..core.tensor import Tensor, is_contiguous_layout
from .buffers import BufferPlan, plan_buffers
from .fusion import fuse_pointwise
from .ir import ALLOC, CONST, OP, PLACEHOLDER, WRITE, Value
from .kernel_capture import KernelTracer

_U64 = 2**64
_PHILOX, _COPY = Op.PHILOX, Op.COPY_


class PlanError(RuntimeError):
    """The traced call did something a replay cannot reproduce; the message says what."""


class _Code:
    """Builds the generated function's lines and the tables its names index."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.kernels: list = []
        self.consts: list = []
        self.names: dict[int, str] = {}

    def name(self, v: Value) -> str:
        return self.names.setdefault(id(v), f"v{len(self.names)}")

    def const(self, x: Any) -> str:
        self.consts.append(x)
        return f"C[{len(self.consts) - 1}]"

    def kernel(self, k: Any) -> str:
        self.kernels.append(k)
        return f"K[{len(self.kernels) - 1}]"

    def arg(self, a: Any) -> str:
        return self.name(a) if isinstance(a, Value) else self.const(a)


class Plan:
    """The replay of one traced call (see the module docstring)."""

    def __init__(self, tracer: KernelTracer, inputs: list[Tensor],
                 outputs: list[Tensor]) -> None:
        graph = tracer.graph
        self.inputs = [tracer.value_of(t) for t in inputs]
        self.captured = [tracer.tensor_of(n.outputs[0]) for n in graph.placeholders("captured")]
        self.written = list({id(t): t for t in tracer.written}.values())
        self.generators = list(tracer.generators)
        self.grad_effects = _grad_effects(tracer)
        self.out_meta, roots = _outputs(tracer, outputs)
        self.results = [tracer.value_of(t) for t in outputs]
        self.results += [v for _, v, _ in self.grad_effects if v is not None]
        self.results += roots
        self.body = _live([n for n in graph.nodes if n.kind != PLACEHOLDER], self.results)
        self.body, self.fused = fuse_pointwise(self.body, self.results)
        self.n_kernels = len(self.body)
        self.offsets = [(gen._offset - tracer.generators[gen]) % _U64 for gen in self.generators]
        self._random = {}  # id(PHILOX node) -> (generator index, offset from its start)
        for n in self.body:
            if n.kind == OP and n.op is _PHILOX:
                gen, rel = tracer.random[id(n)]
                self._random[id(n)] = (self.generators.index(gen), rel)
        self.graph = graph  # the kernel-level graph (for explain and tests)
        self.out_kernels = _out_kernels(self.body)
        self.buffer_plan: BufferPlan | None = None
        self.buffers: list = []  # the planned buffers, kept from one replay to the next
        self._plain = self._compile()
        self.source = self._plain[2]
        # no out kernel anywhere: the plain code is all there is; else the next run probes
        self._state = "plain" if not self.out_kernels else "probe"
        self._lock = threading.Lock()

    # -- code generation -------------------------------------------------------------------
    def _compile(self, probe: dict | None = None, plan: BufferPlan | None = None) -> tuple:
        """``(function, tables, source)``: the plain replay; with ``probe`` (id(value) ->
        index) also noting those values' strides; with ``plan``, on planned buffers."""
        code = _Code()
        lines = ["def replay(ins, cap, K, C, G, B, S):"]
        for i, v in enumerate(self.inputs):
            lines.append(f"    {code.name(v)} = ins[{i}]")
        for i, n in enumerate(self.graph.placeholders("captured")):
            lines.append(f"    {code.name(n.outputs[0])} = cap[{i}]._data")
        for i, _ in enumerate(self.generators):
            lines.append(f"    g{i} = G[{i}]._offset")
        slot = {} if plan is None else plan.slot
        if slot:
            names = [f"b{i}" for i in range(len(plan.buffers))]
            lines.append(f"    {', '.join(names)}, = B")
            for node in self.body:
                for v in node.outputs:
                    if id(v) in slot:
                        code.names[id(v)] = f"b{slot[id(v)]}"
        last = _last_uses(self.body, self.results)
        for pos, node in enumerate(self.body):
            planned = bool(node.outputs) and id(node.outputs[0]) in slot
            if not (planned and node.kind == ALLOC):
                lines.append("    " + self._line(code, node, planned))
            if probe is not None and node.outputs and id(node.outputs[0]) in probe:
                v = node.outputs[0]
                st = code.kernel(self.out_kernels[id(node)][1])
                lines.append(f"    S[{probe[id(v)]}] = {st}({code.name(v)})")
            dead = [code.name(v) for v in last.get(pos, ())
                    if v.producer.kind != PLACEHOLDER and id(v) not in slot]
            if dead:
                lines.append(f"    del {', '.join(dead)}")
        for i, total in enumerate(self.offsets):
            lines.append(f"    G[{i}]._offset = (g{i} + {total}) % {_U64}")
        lines.append(f"    return ({''.join(code.name(v) + ', ' for v in self.results)})")
        source = "\n".join(lines)
        scope: dict[str, Any] = {}
        exec(compile(source, "<mbtorch.compile replay>", "exec"), scope)  # noqa: S102
        return scope["replay"], (code.kernels, code.consts, self.generators), source

    def _line(self, code: _Code, node: Any, planned: bool) -> str:
        if planned:  # the out kernel writes into the value's buffer
            args = [code.arg(a) for a in node.inputs] + [code.const(a) for a in node.attrs]
            k = code.kernel(self.out_kernels[id(node)][0])
            return f"{k}({', '.join([code.name(node.outputs[0])] + args)})"
        k = code.kernel(node.kernel)
        if node.kind == WRITE and node.op is None:  # fused writes: kernel(dst, *inputs)
            return f"{k}({', '.join(code.arg(a) for a in node.inputs)})"
        if node.kind == WRITE:
            dst, src = code.name(node.inputs[0]), code.arg(node.inputs[1])
            return f"{k}({dst}, {src})" if node.op is _COPY else f"{k}({dst}, {dst}, {src})"
        outs = ", ".join(code.name(v) for v in node.outputs) + ("," if node.multi else "")
        if node.kind == ALLOC:
            shape, dtype, index = node.attrs
            return f"{outs} = {k}({code.const(shape)}, {code.const(dtype)}, {index})"
        if node.kind == CONST:
            host, index = node.attrs
            return f"{outs} = {k}({code.const(host)}.copy(), {index})"
        if node.kind != OP:
            raise PlanError(f"a {node.kind} step cannot be replayed")
        args = [code.arg(a) for a in node.inputs]
        attrs = [code.const(a) for a in node.attrs]
        if node.op is _PHILOX:
            g, rel = self._random[id(node)]
            attrs[0] = f"G[{g}]._seed"
            attrs[1] = f"(g{g} + {rel}) % {_U64}"
        return f"{outs} = {k}({', '.join(args + attrs)})"

    # -- planned buffers --------------------------------------------------------------------
    def _plan(self, strides: list, probed: list) -> None:
        """Plan the buffers from the probe's strides and compile the code that uses them."""
        contiguous = {id(v) for v, st in zip(probed, strides)
                      if st is not None and is_contiguous_layout(v.shape, tuple(st))}
        plan = plan_buffers(self.body, self.results,
                            lambda n: id(n) in self.out_kernels,
                            lambda n: id(n.outputs[0]) in contiguous)
        self.buffers = [get_backend(dev.type).storage.empty(shape, dtype, dev.index or 0)
                        for shape, dtype, dev in plan.buffers]
        self.buffer_plan = plan
        fn, tables, self.source = self._compile(plan=plan)
        self._fast = fn, tables

    # -- running ---------------------------------------------------------------------------
    def run(self, inputs: list[Tensor]) -> tuple:
        feeds = [t._data for t in inputs]
        state = self._state
        if state == "planned" and self._lock.acquire(blocking=False):
            try:
                fn, (k, c, g) = self._fast
                handles = fn(feeds, self.captured, k, c, g, self.buffers, None)
            finally:
                self._lock.release()
        elif state == "probe" and self._lock.acquire(blocking=False):
            try:
                handles = self._probe(feeds)
            finally:
                self._lock.release()
        else:
            fn, (k, c, g), _ = self._plain
            handles = fn(feeds, self.captured, k, c, g, None, None)
        for t in self.written:
            t._bump_version()
        return handles

    def __getstate__(self) -> dict:
        # a copy (``copy.deepcopy`` of a compiled module) replays the plain code: its buffer
        # plan and the probe key on the identity of the original's graph nodes
        state = dict(self.__dict__, buffers=[], buffer_plan=None, _state="plain")
        state.pop("_lock")
        state.pop("_fast", None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def _probe(self, feeds: list) -> tuple:
        probed = [n.outputs[0] for n in self.body if id(n) in self.out_kernels]
        index = {id(v): i for i, v in enumerate(probed)}
        fn, (k, c, g), _ = self._compile(probe=index)
        strides: list = [None] * len(probed)
        handles = fn(feeds, self.captured, k, c, g, None, strides)
        self._plan(strides, probed)
        self._state = "planned"
        return handles

    def finish(self, handles: tuple) -> list[Tensor]:
        """Apply the ``.grad`` assignments; the outputs as new tensors (a view output as a
        view of its root: a captured tensor itself, or a new tensor around the root)."""
        n = len(self.out_meta)
        extra = iter(handles[n:])
        for t, v, meta in self.grad_effects:
            t._grad = None if v is None else wrap(next(extra), *meta)
        outs = []
        for h, (meta, view) in zip(handles, self.out_meta):
            t = wrap(h, *meta)
            if view is not None:
                root, root_meta, offset, stride = view
                t._root = root if root_meta is None else wrap(next(extra), *root_meta)
                t._offset, t._stride = offset, stride
            outs.append(t)
        return outs


def _meta(t: Tensor, what: str) -> tuple:
    if t._root is not None:
        raise PlanError(f"the compiled call's {what} is a view of another tensor")
    return (t._shape, t._dtype, t._device, t._be)


def _outputs(tracer: KernelTracer, outputs: list[Tensor]) -> tuple[list, list[Value]]:
    """Per output ``(meta, view)`` (``view``: ``(root or None, root meta, offset, stride)``)
    and the root values the replay must also return (roots made in the call)."""
    metas, roots = [], []
    for t in outputs:
        meta = (t._shape, t._dtype, t._device, t._be)
        root = t._root
        if root is None:
            metas.append((meta, None))
            continue
        rv = tracer.value_of(root)
        if rv.producer.kind == PLACEHOLDER:  # a view of an input or a captured tensor
            metas.append((meta, (root, None, t._offset, t._stride)))
        else:
            roots.append(rv)
            metas.append((meta, (None, _meta(root, "output's root"), t._offset, t._stride)))
    return metas, roots


def _out_kernels(body: list) -> dict[int, tuple]:
    """``id(node) -> (out kernel, the storage's strides)`` for the steps whose kernel has an
    out variant (``BackendSpec.out_kernels``: the traced kernel itself is the backend's for
    that op; a fused kernel's ``out`` attribute, ``mbtorch.core.fusion``), with one non-empty
    result."""
    found = {}
    for node in body:
        if node.kind != OP or node.multi or len(node.outputs) != 1:
            continue
        v = node.outputs[0]
        be = get_backend(v.device.type)
        if node.op is None:  # a fused kernel, with its out form where the backend gave one
            out = getattr(node.kernel, "out", None)
        else:
            out = be.out[node.op] if be.kernels[node.op] is node.kernel else None
        if out is None or 0 in v.shape:
            continue
        found[id(node)] = (out, be.storage.strides)
    return found


# kernels that check their inputs (index bounds): kept even when their result is unused
_CHECKS = frozenset({Op.GATHER, Op.SCATTER, Op.INDEX, Op.INDEX_PUT, Op.INDEX_SELECT})


def _live(body: list, results: list[Value]) -> list:
    """``body`` without the kernels whose results nothing reads (dead code: a view made and
    dropped, a value computed for a branch not taken); writes, new buffers that are written
    and checking kernels stay."""
    used = {id(v) for v in results}
    keep = []
    for node in reversed(body):
        if node.kind == OP and node.op not in _CHECKS and \
                not any(id(v) in used for v in node.outputs):
            continue
        if node.kind in (ALLOC, CONST) and not any(id(v) in used for v in node.outputs):
            continue
        keep.append(node)
        used.update(id(a) for a in node.inputs if isinstance(a, Value))
    return keep[::-1]


def _last_uses(body: list, results: list[Value]) -> dict[int, list[Value]]:
    """For each step, the values last read there (never the results)."""
    keep = {id(v) for v in results}
    last: dict[int, tuple[int, Value]] = {}
    for pos, node in enumerate(body):
        for v in (*node.inputs, *node.outputs):
            if isinstance(v, Value):
                last[id(v)] = (pos, v)
    out: dict[int, list[Value]] = {}
    for key, (pos, v) in last.items():
        if key not in keep:
            out.setdefault(pos, []).append(v)
    return out


def _grad_effects(tracer: KernelTracer) -> list[tuple]:
    """``(tensor, value or None, meta)``: the ``.grad`` each tensor whose gradient the traced
    call set or accumulated into ends with, where the call replaced it."""
    effects = []
    for t, before in tracer.grads_before.values():
        g = t._grad
        if g is before:
            continue  # accumulated in place into the same tensor
        if g is None:
            effects.append((t, None, None))
        elif tracer.knows(g):
            effects.append((t, tracer.value_of(g), _meta(g, ".grad")))
        else:
            raise PlanError("a .grad was set to a tensor made outside the compiled call")
    return effects


def grad_guards(tracer: KernelTracer) -> list[tuple]:
    """``(tensor, .grad before the call, whether the replay reads that very tensor)``: a
    replay is valid while each ``.grad`` is absent or present as it was, and is the same
    tensor where the plan reads or writes it."""
    return [(t, g, g is not None and tracer.knows(g))
            for t, g in tracer.grads_before.values()]
