"""The dispatcher: the one path from an op whose meta rule has run to a kernel, or its
decomposition, with autograd recorded. Nothing else in mbtorch looks up a kernel and records.

``run`` (out of place) and ``write`` (in place) are the two entries; both resolve the same
plan for ``(op, backend, grad needed)``:

- grad mode on, an input requires grad and the op has no derivative entry: run the
  decomposition with grad on, so its parts are recorded (a primitive without one is a bug);
  a listed non-differentiable op runs and records nothing;
- the backend has a kernel: call it on handles, wrap the result; a kernel that raises
  ``NotImplementedError`` goes to the opt-in CPU fallback (``fallback.py``);
- no kernel: run the decomposition (grad off under a recorded op: the op is one node) and
  check it produced what the meta rule promised;
- then, when grad is needed, ``AUTOGRAD.record`` builds the op's one node.

The per-op path is hot (``a + b`` on small tensors costs about as much here as in the kernel):
the resolution is a list index (``backend.kernels[op]``, built once at registration) and a
set test, one- and two-input calls skip building argument lists, and the result is wrapped
inline. The elementwise and reduction meta rules in ``ops/`` keep their own fast checks for
the common case (one dtype, one device) and then call ``run`` like every other op.
"""

from __future__ import annotations

__all__ = [
    "AUTOGRAD", "RECORD", "UNRECORDED", "DECOMPOSE", "TRACING", "install_autograd", "wrap",
    "needs_grad", "note_alias", "run", "write"
]

from typing import Any

from . import fallback
from .op import OPS, Op
from .state import STATE
from .tensor import Tensor

_new = object.__new__
_COPY = Op.COPY_

TRACING = 0
"""How many ``mbtorch.graph`` tracers are active (on any thread): while 0, the one test on the
hot path is this global; the thread's own tracer is ``STATE.tracer``."""


# what grad mode does to an op with an input that requires grad (``engine.grad_plan[op]``)
RECORD, UNRECORDED, DECOMPOSE = 0, 1, 2


class _NoAutograd:
    derivatives: frozenset = frozenset()
    grad_plan: list = [DECOMPOSE] * len(Op)

    @staticmethod
    def record(op, inputs, attrs, outputs):  # pragma: no cover - replaced at import
        raise RuntimeError("mbtorch.autograd is not installed")


AUTOGRAD: Any = _NoAutograd()


def install_autograd(engine: Any) -> None:
    """Called once by ``mbtorch.autograd``: ``engine.record(op, inputs, attrs, out)``,
    ``engine.record_transfer``, ``engine.derivatives`` (the ops run as one node) and
    ``engine.grad_plan`` (per op: ``RECORD`` a node, ``UNRECORDED`` for the listed
    non-differentiable ops, ``DECOMPOSE`` to record the decomposition's parts)."""
    global AUTOGRAD
    AUTOGRAD = engine


def wrap(handle: Any, shape: tuple, dtype, device, be) -> Tensor:
    """A new root tensor around a kernel's output handle."""
    t = _new(Tensor)
    t._data = handle
    t._shape = shape
    t._dtype = dtype
    t._device = device
    t._be = be
    return t


def note_alias(new: Tensor, old: Tensor) -> None:
    """``new`` was made around ``old``'s handle outside any op (autograd's saved outputs):
    while a graph is traced they are one value. Callers test ``TRACING`` first."""
    if STATE.tracer is not None:
        STATE.tracer.alias(new, old)


def needs_grad(inputs) -> bool:
    """Grad mode is on and some input tensor requires grad: the op will be recorded."""
    for t in inputs:
        if isinstance(t, Tensor) and t._requires_grad:
            return STATE.grad_enabled
    return False


def decomposes(op: Op, inputs: tuple, be) -> bool:
    """Whether ``run`` will take ``op``'s decomposition (no kernel, or recorded through its
    parts) rather than a kernel: for the meta rules that widen half precision first."""
    if be.kernels[op] is None:
        return True
    return needs_grad(inputs) and op not in AUTOGRAD.derivatives


class _GradOff:
    """``no_grad`` without importing autograd (decompositions under a recorded op)."""

    __slots__ = ("prev",)

    def __enter__(self):
        self.prev = STATE.grad_enabled
        STATE.grad_enabled = False

    def __exit__(self, *exc):
        STATE.grad_enabled = self.prev


def run(op: Op, inputs: tuple, attrs: tuple, meta: Any, device, be) -> Any:
    """Run ``op`` on validated inputs.

    ``inputs`` are tensors (or scalars where the kernel allows them), ``attrs`` the kernel's
    remaining arguments, ``meta`` the output's ``(shape, dtype)`` (a list of them for several
    outputs; a shape of ``None`` means data-dependent: asked of the backend).
    """
    if TRACING and STATE.tracer is not None and not STATE.tracer.depth \
            and STATE.tracer.records_ops:
        return STATE.tracer.capture(op, inputs, attrs, meta, device, be)
    kernel = be.kernels[op]
    grad = off = False
    for x in inputs:  # requires_grad first: the thread-local grad mode costs more to read
        if isinstance(x, Tensor) and x._requires_grad:
            if STATE.grad_enabled:
                plan = AUTOGRAD.grad_plan[op]
                if plan == RECORD:
                    grad = True
                elif plan == DECOMPOSE:
                    return _decompose_recorded(op, inputs, attrs, meta)
                else:  # non-differentiable: nothing recorded, not even a decomposition's parts
                    off = True
            break
    if kernel is None:
        if grad or off:
            with _GradOff():
                out = _checked(op, OPS[op].decomposition(*inputs, *attrs), meta)
        else:
            return _checked(op, OPS[op].decomposition(*inputs, *attrs), meta)
    else:
        try:
            if len(inputs) == 2 and not attrs:
                a, b = inputs
                res = kernel(a._data if isinstance(a, Tensor) else a,
                             b._data if isinstance(b, Tensor) else b)
            elif len(inputs) == 1:
                x = inputs[0]
                res = kernel(x._data, *attrs) if attrs else kernel(x._data)
            else:
                res = kernel(*[x._data if isinstance(x, Tensor) else x for x in inputs],
                             *attrs)
        except NotImplementedError as exc:
            if not fallback.applies(be):
                raise
            if TRACING and STATE.tracer is not None and not STATE.tracer.depth:
                STATE.tracer.on_fallback(op)
            return fallback.run_on_cpu(op, inputs, attrs, meta, device, be, exc)
        if type(meta) is tuple and meta[0] is not None:
            out = _new(Tensor)
            out._data = res
            out._shape, out._dtype = meta
            out._device = device
            out._be = be
        else:
            out = _wrap_all(res, meta, device, be)
        if TRACING and STATE.tracer is not None and not STATE.tracer.depth:
            STATE.tracer.on_kernel(op, kernel, inputs, attrs, out)
    if grad:
        AUTOGRAD.record(op, inputs, attrs, out)
    return out


def _decompose_recorded(op: Op, inputs: tuple, attrs: tuple, meta: Any) -> Any:
    """Grad is needed and ``op`` has no derivative entry: its decomposition's parts are
    recorded instead (a composite), or it cannot be differentiated (a primitive: a bug)."""
    decomposition = OPS[op].decomposition
    if decomposition is None:
        raise RuntimeError(f"{op.name.lower()}(): the primitive has no derivative entry, so it "
                           "cannot be differentiated (a bug: add it to "
                           "mbtorch/autograd/derivatives.py)")
    return _checked(op, decomposition(*inputs, *attrs), meta)


def writes_in_place(op: Op, be) -> bool:
    """Whether ``be`` registered an in-place kernel for ``op`` (``op.INPLACE``)."""
    return be.inplace[op] is not None


def write(op: Op, dst: Tensor, src: Any, *, fresh: bool = False) -> None:
    """Write into ``dst`` in place: ``src`` itself (``COPY_``: a tensor of ``dst``'s dtype
    and device broadcastable to it, or a Python scalar of its type) or ``op(dst, src)``
    through the backend's in-place kernel (``op.INPLACE``; the caller has checked it exists,
    that nothing needs recording and that the result has ``dst``'s dtype and shape).

    A recorded write is recorded *before* the kernel runs, so autograd can keep the values it
    destroys; the version counter is bumped after. ``fresh``: ``dst`` is a new output being
    filled by a decomposition (nothing to record, no version to bump).
    """
    if TRACING and STATE.tracer is not None and not STATE.tracer.depth:
        STATE.tracer.capture_write(op, dst, src, fresh)
    handle = src._data if isinstance(src, Tensor) else src
    if op is _COPY:
        if not fresh and needs_grad((src, dst)):
            AUTOGRAD.record(_COPY, (dst, src), (), dst)
        dst._be.kernels[_COPY](dst._data, handle)
    else:
        dst._be.inplace[op](dst._data, dst._data, handle)
    if not fresh:
        dst._bump_version()


def _checked(op: Op, out: Any, meta: Any) -> Any:
    """A decomposition must produce what the op's meta rule promised (a wrong dtype or shape
    would otherwise pass silently on every backend that decomposes)."""
    outs, metas = (out, meta) if type(meta) is list else ((out,), (meta,))
    for o, (shape, dtype) in zip(outs, metas):
        if o._dtype is not dtype or (shape is not None and o._shape != shape):
            raise RuntimeError(f"{op.name.lower()}(): internal error: the decomposition "
                               f"returned {o._dtype.name}{list(o._shape)} where the meta rule "
                               f"promised {dtype.name}{list(shape or ())}")
    return out


def _wrap_all(res: Any, meta: Any, device, be) -> Any:
    """Wrap several outputs (``meta`` a list) or one of data-dependent shape."""
    if type(meta) is list:
        return tuple(_wrap_meta(r, m, device, be) for r, m in zip(res, meta))
    return _wrap_meta(res, meta, device, be)


def _wrap_meta(res: Any, meta: tuple, device, be) -> Tensor:
    shape, dtype = meta
    if shape is None:
        shape = tuple(be.storage.shape(res))
    return wrap(res, shape, dtype, device, be)
