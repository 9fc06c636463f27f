"""A replay plan: a kernel-level graph (``kernel_capture.KernelTracer``) turned into one
generated Python function of straight-line kernel calls on backend handles — no meta rules,
no dispatch, no autograd bookkeeping, no ``Tensor`` objects in between. Intermediates are
locals, dropped right after their last use.

``Plan.run(inputs)`` feeds the input tensors' handles and the captured tensors' current
storage, draws random bits where eager execution would have (each generator's offset read
at the start and advanced by what the traced call drew), bumps the version counters of the
captured tensors it wrote, and returns the output handles and the ``.grad`` assignments the
traced call made, which ``Plan.finish`` applies.
"""

from __future__ import annotations

__all__ = ["Plan", "PlanError", "grad_guards"]

from typing import Any

from ..core.dispatch import wrap
from ..core.op import Op
from ..core.tensor import Tensor
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
        code = _Code()
        results = [tracer.value_of(t) for t in outputs]
        results += [v for _, v, _ in self.grad_effects if v is not None]
        results += roots
        self._emit(tracer, code, results)
        self.source = "\n".join(code.lines)
        scope: dict[str, Any] = {}
        exec(compile(self.source, "<mbtorch.compile replay>", "exec"), scope)  # noqa: S102
        self._fn = scope["replay"]
        self._tables = (code.kernels, code.consts, self.generators)
        self.graph = graph  # the kernel-level graph (for explain and tests)

    # -- code generation -------------------------------------------------------------------
    def _emit(self, tracer: KernelTracer, code: _Code, results: list[Value]) -> None:
        graph = tracer.graph
        lines = ["def replay(ins, cap, K, C, G):"]
        for i, v in enumerate(self.inputs):
            lines.append(f"    {code.name(v)} = ins[{i}]")
        for i, n in enumerate(graph.placeholders("captured")):
            lines.append(f"    {code.name(n.outputs[0])} = cap[{i}]._data")
        for i, _ in enumerate(self.generators):
            lines.append(f"    g{i} = G[{i}]._offset")
        body = _live([n for n in graph.nodes if n.kind != PLACEHOLDER], results)
        body, self.fused = fuse_pointwise(body, results)
        self.n_kernels = len(body)
        last = _last_uses(body, results)
        for pos, node in enumerate(body):
            lines.append("    " + self._line(tracer, code, node))
            dead = [code.name(v) for v in last.get(pos, ()) if v.producer.kind != PLACEHOLDER]
            if dead:
                lines.append(f"    del {', '.join(dead)}")
        for i, gen in enumerate(self.generators):
            total = (gen._offset - tracer.generators[gen]) % _U64
            lines.append(f"    G[{i}]._offset = (g{i} + {total}) % {_U64}")
        lines.append(f"    return ({''.join(code.name(v) + ', ' for v in results)})")
        code.lines = lines

    def _line(self, tracer: KernelTracer, code: _Code, node: Any) -> str:
        k = code.kernel(node.kernel)
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
            gen, rel = tracer.random[id(node)]
            g = self.generators.index(gen)
            attrs[0] = f"G[{g}]._seed"
            attrs[1] = f"(g{g} + {rel}) % {_U64}"
        return f"{outs} = {k}({', '.join(args + attrs)})"

    # -- running ---------------------------------------------------------------------------
    def run(self, inputs: list[Tensor]) -> tuple:
        handles = self._fn([t._data for t in inputs], self.captured, *self._tables)
        for t in self.written:
            t._bump_version()
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
