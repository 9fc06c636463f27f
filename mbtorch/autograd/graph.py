"""The recorded graph: one ``Node`` per differentiable op call, linked to its inputs' nodes.

A node holds its rule (an entry of the derivative table), one *edge* per op input (``(node,
output_nr)`` for a computed tensor, ``(tensor, 0)`` for a leaf that requires grad, ``None``
for an input that gets no gradient), the input shapes (to undo broadcasting) and the values
its rule reads at backward time, saved with the version of their storage so a later in-place
write is caught, as PyTorch does.

Leaves are their own graph targets: the engine accumulates into ``leaf.grad`` directly, so
recording creates no per-leaf object (``AccumulateGrad`` only appears when a user looks at
``next_functions``).
"""

from __future__ import annotations

import weakref
from typing import Any, Callable

from ..core import dispatch
from ..core import dtypes as _dt
from ..core.dispatch import wrap
from ..core.tensor import Tensor
from ._grad_ops import sum_to

__all__ = [
    "FREED_MESSAGE", "RemovableHandle", "Node", "add_pre_hook", "AccumulateGrad", "type_name",
    "version_error", "unpack", "SavedOutput", "G", "INPUT", "RESULT", "ATTR", "SHAPE", "DTYPE",
    "INDEX", "SHAPES", "STRIDES", "Rule", "OpNode", "MultiOpNode"
]

_new = object.__new__

FREED_MESSAGE = (
    "Trying to backward through the graph a second time (or directly access saved tensors "
    "after they have already been freed). Saved intermediate values of the graph are freed "
    "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
    "backward through the graph a second time or if you need to access saved tensors after "
    "calling backward.")

_TYPE_NAMES = {_dt.float32: "Float", _dt.float64: "Double", _dt.float16: "Half",
               _dt.bfloat16: "BFloat16", _dt.int64: "Long", _dt.int32: "Int",
               _dt.int16: "Short", _dt.int8: "Char", _dt.uint8: "Byte", _dt.bool: "Bool"}


class RemovableHandle:
    """Returned by ``register_hook``; ``remove()`` unregisters the hook."""

    def __init__(self, hooks: list, fn: Callable) -> None:
        self._hooks, self._fn = hooks, fn

    def remove(self) -> None:
        if self._fn in self._hooks:
            self._hooks.remove(self._fn)

    def __enter__(self) -> "RemovableHandle":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.remove()


class Node:
    """A backward function. ``name()`` reads like PyTorch's (``MulBackward0``)."""

    __slots__ = ("next", "saved", "__dict__", "__weakref__")
    is_view = False
    n_out = 1
    # rarely set (hooks, anomaly mode's forward trace): class defaults, so building a node on
    # the hot path stores only what every node has
    pre_hooks: list | None = None
    post_hooks: list | None = None
    trace: list | None = None

    def name(self) -> str:
        return type(self).__name__

    def apply(self, grads: list, create_graph: bool) -> list:
        """Gradients for each edge (``None`` where none), from the outputs' ``grads``."""
        raise NotImplementedError

    @property
    def next_functions(self) -> tuple:
        out = []
        for edge in self.next:
            if edge is None:
                out.append((None, 0))
            elif isinstance(edge[0], Tensor):
                out.append((AccumulateGrad(edge[0]), 0))
            else:
                out.append(edge)
        return tuple(out)

    @property
    def metadata(self) -> dict:
        return {}

    def register_hook(self, fn: Callable) -> RemovableHandle:
        """``fn(grad_inputs, grad_outputs)`` runs after this node; may return new inputs."""
        if self.post_hooks is None:
            self.post_hooks = []
        self.post_hooks.append(fn)
        return RemovableHandle(self.post_hooks, fn)

    def register_prehook(self, fn: Callable) -> RemovableHandle:
        """``fn(grad_outputs)`` runs before this node; may return new grad_outputs."""
        return add_pre_hook(self, ("node", fn))

    def __repr__(self) -> str:
        return f"<{self.name()} object at {hex(id(self))}>"

    def __call__(self, *grads: Any) -> Any:
        res = self.apply(list(grads), False)
        return res[0] if len(res) == 1 else tuple(res)


def add_pre_hook(node: Node, entry: tuple) -> RemovableHandle:
    """Pre-hooks: ``("node", fn)`` sees all output grads; ``(nr, fn)`` a tensor hook on
    output ``nr``; ``(nr, weakref)`` stores the grad into a tensor that called retain_grad."""
    if node.pre_hooks is None:
        node.pre_hooks = []
    node.pre_hooks.append(entry)
    return RemovableHandle(node.pre_hooks, entry)


class AccumulateGrad:
    """What ``next_functions`` shows for a leaf (the engine needs no such object)."""

    def __init__(self, variable: Tensor) -> None:
        self.variable = variable
        self.next_functions = ()

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"

    def __repr__(self) -> str:
        return f"<AccumulateGrad object at {hex(id(self))}>"


def type_name(t: Tensor) -> str:
    kind = _TYPE_NAMES.get(t._dtype, t._dtype.name.capitalize())
    dev = "" if t._device.type == "cpu" else f"{t._device.type}."
    return f"mbtorch.{dev}{kind}Tensor"


def version_error(t: Tensor, now: int, expected: int) -> RuntimeError:
    fn = t._grad_fn
    which = f", which is output {t._output_nr} of {fn.name()}," if fn is not None else ""
    return RuntimeError(
        "one of the variables needed for gradient computation has been modified by an inplace "
        f"operation: [{type_name(t)} {list(t._shape)}]{which} is at version {now}; expected "
        f"version {expected} instead. Hint: enable anomaly detection to find the operation "
        "that failed to compute its gradient, with "
        "mbtorch.autograd.set_detect_anomaly(True).")


def unpack(saved: tuple) -> Tensor:
    """A saved ``(tensor, version)`` pair, checked against the storage's current version."""
    t, version = saved
    now = t._version
    if now != version:
        raise version_error(t, now, version)
    return t


class SavedOutput:
    """An op's own output, saved without its ``grad_fn`` (a strong reference would make a
    cycle output -> node -> output). The version is read through a weak reference: a dead
    output can no longer be written to."""

    __slots__ = ("twin", "ref", "version")

    def __init__(self, out: Tensor) -> None:
        twin = _new(Tensor)
        twin._data, twin._shape, twin._dtype = out._data, out._shape, out._dtype
        twin._device, twin._be = out._device, out._be
        root = out._root
        if root is not None:
            twin._root, twin._offset, twin._stride = root, out._offset, out._stride
            self.version = root._vc
        else:
            self.version = out._vc
        self.twin = twin
        self.ref = weakref.ref(out)
        if dispatch.TRACING:
            dispatch.note_alias(twin, out)

    def unpack(self, node: Node, nr: int, create_graph: bool) -> Tensor:
        out = self.ref()
        if out is not None:
            now = out._version
            if now != self.version:
                raise version_error(out, now, self.version)
        if not create_graph:
            return self.twin
        # higher order: the saved output must carry this node as its history
        t = wrap(self.twin._data, self.twin._shape, self.twin._dtype, self.twin._device,
                 self.twin._be)
        if dispatch.TRACING:
            dispatch.note_alias(t, self.twin)
        t._grad_fn, t._requires_grad = node, True
        if nr:
            t._output_nr = nr
        return t


# -- nodes of the derivative table -------------------------------------------------------
# what a rule's parameter asks for, resolved once when the table is built
G, INPUT, RESULT, ATTR, SHAPE, DTYPE, INDEX, SHAPES, STRIDES = range(9)


class Rule:
    """One derivative-table entry: a gradient function per op input.

    ``signature`` names the op's inputs and, after ``|``, its attrs (``"x | dims, keepdim"``).
    Each function's *parameter names* say what it reads: ``g`` (the output's gradient; a
    tuple for multi-output ops), an input's name (saved at record time, only for inputs that
    need a gradient), ``result`` (the op's output), an attr's name, ``<input>_shape``,
    ``<input>_dtype`` or ``<input>_strides`` (its layout, without saving its values). A
    variadic op (``"*tensors | dim"``) has one function for every input, which may read ``i``
    (the input's position) and ``shapes`` (all inputs' shapes).
    """

    def __init__(self, name: str, signature: str, fns: tuple, view: bool = False) -> None:
        head, _, tail = signature.partition("|")
        inputs = [s.strip() for s in head.split(",") if s.strip()]
        attrs = [s.strip() for s in tail.split(",") if s.strip()]
        self.variadic = inputs[0].startswith("*")
        if self.variadic:
            inputs = []
        elif len(fns) != len(inputs):
            raise ValueError(f"{name}: {len(fns)} gradient functions for inputs {inputs}")
        self.name, self.fns, self.view = name, fns, view
        self.specs = tuple(None if fn is None else _spec(name, fn, inputs, attrs) for fn in fns)
        self.plans: dict[int, tuple] = {}
        kinds = {kind for spec in self.specs if spec for kind, _ in spec}
        self.wants_dtypes = DTYPE in kinds
        self.wants_strides = STRIDES in kinds
        self.wants_meta = self.wants_dtypes or self.wants_strides

    def plan(self, mask: int) -> tuple:
        """``(saved input indices, save result?)`` when the inputs in bit ``mask`` need grads."""
        plan = self.plans.get(mask)
        if plan is None:
            if self.variadic:
                return self.plans.setdefault(mask, ((), False))
            wanted = [s for i, s in enumerate(self.specs) if s is not None and mask >> i & 1]
            idx = sorted({k for spec in wanted for kind, k in spec if kind == INPUT})
            result = any(kind == RESULT for spec in wanted for kind, _ in spec)
            plan = self.plans[mask] = (tuple(idx), result)
        return plan


def _spec(name: str, fn: Callable, inputs: list, attrs: list) -> tuple:
    code = fn.__code__
    spec = []
    for p in code.co_varnames[:code.co_argcount]:
        if p == "g":
            spec.append((G, 0))
        elif p == "i":
            spec.append((INDEX, 0))
        elif p == "shapes":
            spec.append((SHAPES, 0))
        elif p == "result":
            spec.append((RESULT, 0))
        elif p in inputs:
            spec.append((INPUT, inputs.index(p)))
        elif p in attrs:
            spec.append((ATTR, attrs.index(p)))
        elif p.endswith("_shape") and p[:-6] in inputs:
            spec.append((SHAPE, inputs.index(p[:-6])))
        elif p.endswith("_dtype") and p[:-6] in inputs:
            spec.append((DTYPE, inputs.index(p[:-6])))
        elif p.endswith("_strides") and p[:-8] in inputs:
            spec.append((STRIDES, inputs.index(p[:-8])))
        else:
            raise ValueError(f"{name}: gradient parameter {p!r} names nothing in the signature")
    return tuple(spec)


class OpNode(Node):
    """The backward of one recorded op; its rule comes from the derivative table."""

    __slots__ = ("rule", "attrs", "shapes", "result")
    dtypes: list | None = None  # the inputs' dtypes and strides, for rules that read them
    strides: list | None = None

    def name(self) -> str:
        return self.rule.name

    def apply(self, grads: list, create_graph: bool) -> list:
        saved = self.saved
        if saved is None:
            raise RuntimeError(FREED_MESSAGE)
        rule = self.rule
        g = grads[0] if self.n_out == 1 else tuple(grads)
        out = []
        variadic = rule.variadic
        for i, edge in enumerate(self.next):
            spec = rule.specs[0 if variadic else i]
            if edge is None or spec is None:
                out.append(None)
                continue
            args = []
            for kind, k in spec:
                if kind == G:
                    args.append(g)
                elif kind == INPUT:
                    s = saved[k]
                    args.append(unpack(s) if type(s) is tuple else s)
                elif kind == ATTR:
                    args.append(self.attrs[k])
                elif kind == SHAPE:
                    args.append(self.shapes[k])
                elif kind == DTYPE:
                    args.append(self.dtypes[k])
                elif kind == STRIDES:
                    args.append(self.strides[k])
                elif kind == INDEX:
                    args.append(i)
                elif kind == SHAPES:
                    args.append(self.shapes)
                else:
                    args.append(self._result(create_graph))
            gi = rule.fns[0 if variadic else i](*args)
            if gi is not None and gi._shape != self.shapes[i]:
                gi = sum_to(gi, self.shapes[i])  # undo broadcasting
            out.append(gi)
        return out

    def _result(self, create_graph: bool) -> Any:
        res = self.result
        if type(res) is tuple:
            return tuple(r.unpack(self, nr, create_graph) for nr, r in enumerate(res))
        return res.unpack(self, 0, create_graph)

    def release(self) -> None:
        """Free saved values after a backward without ``retain_graph``."""
        if self.result is not None or any(s is not None for s in self.saved or ()):
            self.saved, self.result = None, None


class MultiOpNode(OpNode):
    """An op with several outputs (``sort``: values and indices)."""

    __slots__ = ("n_out", "out_meta")
