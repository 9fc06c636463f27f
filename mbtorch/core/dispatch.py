"""The dispatcher: meta has run; now look up the kernel, or decompose, and record autograd.

Per-op path (hot, keep it lean): ``backend.kernels[op]`` is a list lookup; a hit calls the
kernel on handles and wraps the result; a miss runs the op's decomposition (other ops, so it
lands on primitives in the end). When grad mode is on and an input requires grad, autograd
(installed by ``mbtorch.autograd`` through ``install_autograd``) records one node per op that
has a derivative entry; a composite without one is decomposed so its parts are recorded.
"""

from __future__ import annotations

__all__ = ["AUTOGRAD", "install_autograd", "wrap", "needs_grad", "run"]

from typing import Any

from . import fallback
from .op import OPS, Op
from .state import STATE
from .tensor import Tensor

_new = object.__new__


class _NoAutograd:
    derivatives: frozenset = frozenset()

    @staticmethod
    def record(op, inputs, attrs, outputs):  # pragma: no cover - replaced at import
        raise RuntimeError("mbtorch.autograd is not installed")

    record_binary = record


AUTOGRAD: Any = _NoAutograd()


def install_autograd(engine: Any) -> None:
    """Called once by ``mbtorch.autograd``: ``engine.record``, ``engine.record_binary`` (the
    same for two tensors of one dtype) and ``engine.derivatives``."""
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


def needs_grad(inputs) -> bool:
    if not STATE.grad_enabled:
        return False
    for t in inputs:
        if type(t) is not Tensor and not isinstance(t, Tensor):
            continue
        if t._requires_grad:
            return True
    return False


class _GradOff:
    """``no_grad`` without importing autograd (decompositions under a recorded op)."""

    __slots__ = ("prev",)

    def __enter__(self):
        self.prev = STATE.grad_enabled
        STATE.grad_enabled = False

    def __exit__(self, *exc):
        STATE.grad_enabled = self.prev


def _handle(x: Any) -> Any:
    return x._data if isinstance(x, Tensor) else x


def run(op: Op, inputs: tuple, attrs: tuple, meta: Any, device, be) -> Any:
    """Run ``op`` on validated inputs.

    ``inputs`` are tensors (or scalars where the kernel allows them), ``attrs`` the kernel's
    remaining arguments, ``meta`` the output's ``(shape, dtype)`` (a list of them for several
    outputs; a shape of ``None`` means data-dependent: asked of the backend).
    """
    grad = needs_grad(inputs)
    kernel = be.kernels[op]
    if grad and op not in AUTOGRAD.derivatives:
        decomposition = OPS[op].decomposition
        if decomposition is None:
            raise RuntimeError(f"{op.name.lower()}(): the primitive has no derivative entry, so "
                               "it cannot be differentiated (a bug: add it to "
                               "mbtorch/autograd/derivatives.py)")
        return _checked(op, decomposition(*inputs, *attrs), meta)  # its parts get recorded
    if kernel is not None:
        try:
            res = kernel(*[_handle(x) for x in inputs], *attrs)
        except NotImplementedError as exc:
            if not fallback.applies(be):
                raise
            return fallback.run_on_cpu(op, inputs, attrs, meta, device, be, exc)
        if type(meta) is list:
            out = tuple(_wrap_meta(r, m, device, be) for r, m in zip(res, meta))
        else:
            out = _wrap_meta(res, meta, device, be)
    elif grad:
        with _GradOff():
            out = _checked(op, OPS[op].decomposition(*inputs, *attrs), meta)
    else:
        out = _checked(op, OPS[op].decomposition(*inputs, *attrs), meta)
    if grad:
        AUTOGRAD.record(op, inputs, attrs, out)
    return out


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


def _wrap_meta(res: Any, meta: tuple, device, be) -> Tensor:
    shape, dtype = meta
    if shape is None:
        shape = tuple(be.storage.shape(res))
    return wrap(res, shape, dtype, device, be)
