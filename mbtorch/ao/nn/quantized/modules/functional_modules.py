"""``FloatFunctional`` (float ops with an observation point), ``FXFloatFunctional`` and their
quantized counterpart ``QFunctional`` (PyTorch's classes).

In a float model ``FloatFunctional.add(x, y)`` is ``x + y`` passed through
``activation_post_process`` (an ``Identity`` until ``prepare`` puts an observer there); after
``convert`` the module is a ``QFunctional`` whose ops take quantized tensors and quantize their
result with the calibrated ``scale``/``zero_point``. ``add_scalar``/``mul_scalar`` choose their
output qparams from the input's, by PyTorch's rules, so they need no observer.
"""

from __future__ import annotations

from typing import Any

import mbtorch as _mt

from .....core.tensor import Tensor
from .....nn import functional as F
from .....nn.modules.container import Identity
from .....nn.modules.module import Module
from .. import functional as qF
from .utils import _calibrated_qparams, _qparam_tensors, _register_state_hooks

__all__ = ["FloatFunctional", "FXFloatFunctional", "QFunctional"]

_NO_FORWARD = ("{} is not intended to use the 'forward'. Please use the underlying "
               "operation")


class FloatFunctional(Module):
    """State collector for float ops, replaced by ``QFunctional`` at ``convert``.

    >>> f_add = FloatFunctional()
    >>> r = f_add.add(a, b)  # instead of a + b
    """

    def __init__(self) -> None:
        super().__init__()
        self.activation_post_process = Identity()

    def forward(self, x: Any) -> Any:
        raise RuntimeError(_NO_FORWARD.format("FloatFunctional"))

    def add(self, x: Tensor, y: Tensor) -> Tensor:
        return self.activation_post_process(_mt.add(x, y))

    def add_scalar(self, x: Tensor, y: float) -> Tensor:
        return _mt.add(x, y)  # not observed: the quantized op derives its output qparams

    def mul(self, x: Tensor, y: Tensor) -> Tensor:
        return self.activation_post_process(_mt.mul(x, y))

    def mul_scalar(self, x: Tensor, y: float) -> Tensor:
        return _mt.mul(x, y)

    def cat(self, x: list[Tensor], dim: int = 0) -> Tensor:
        return self.activation_post_process(_mt.cat(x, dim=dim))

    def add_relu(self, x: Tensor, y: Tensor) -> Tensor:
        return self.activation_post_process(F.relu(_mt.add(x, y)))

    def matmul(self, x: Tensor, y: Tensor) -> Tensor:
        return self.activation_post_process(_mt.matmul(x, y))


class FXFloatFunctional(Module):
    """``FloatFunctional`` without an observation point (graph-mode quantization observes the
    ops in the graph instead)."""

    def forward(self, x: Any) -> Any:
        raise RuntimeError(_NO_FORWARD.format("FloatFunctional"))

    def add(self, x: Tensor, y: Tensor) -> Tensor:
        return _mt.add(x, y)

    def add_scalar(self, x: Tensor, y: float) -> Tensor:
        return _mt.add(x, y)

    def mul(self, x: Tensor, y: Tensor) -> Tensor:
        return _mt.mul(x, y)

    def mul_scalar(self, x: Tensor, y: float) -> Tensor:
        return _mt.mul(x, y)

    def cat(self, x: list[Tensor], dim: int = 0) -> Tensor:
        return _mt.cat(x, dim=dim)

    def add_relu(self, x: Tensor, y: Tensor) -> Tensor:
        return F.relu(_mt.add(x, y))

    def matmul(self, x: Tensor, y: Tensor) -> Tensor:
        return _mt.matmul(x, y)


def _qrange(dtype: Any) -> tuple[int, int]:
    return (0, 255) if dtype is _mt.quint8 else (-128, 127)


def _add_scalar_qparams(x: Tensor, c: float) -> tuple[float, int]:
    """PyTorch's ``quantized::add_scalar`` output qparams: shift the zero point by round(c/s)
    while it stays in range, else widen the scale and pin the zero point to the range end."""
    s, z = x.q_scale(), x.q_zero_point()
    qmin, qmax = _qrange(x.dtype)
    shifted = z - round(c / s)
    if shifted < qmin:
        return (qmax - shifted) / (qmax - qmin) * s, qmin
    if shifted > qmax:
        return (shifted - qmin) / (qmax - qmin) * s, qmax
    return s, shifted


def _mul_scalar_qparams(x: Tensor, c: float) -> tuple[float, int]:
    """PyTorch's ``quantized::mul_scalar``: scale times |c|; a negative c mirrors the zero
    point; c == 0 gives scale 1, zero point 0."""
    s, z = x.q_scale(), x.q_zero_point()
    qmin, qmax = _qrange(x.dtype)
    if c == 0:
        return 1.0, 0
    if c > 0:
        return s * c, z
    return s * -c, qmax - (z - qmin)


class QFunctional(Module):
    """Quantized ops with the output qparams ``scale``/``zero_point`` (saved in the state
    dict as 0-d tensors under ``scale`` and ``zero_point``)."""

    def __init__(self) -> None:
        super().__init__()
        self.scale, self.zero_point = 1.0, 0
        self.activation_post_process = Identity()
        _register_state_hooks(self)

    def _qstate(self) -> dict:
        return _qparam_tensors(self.scale, self.zero_point)

    def _load_qstate(self, found: dict) -> None:
        if "scale" in found:
            self.scale = float(found["scale"].item())
        if "zero_point" in found:
            self.zero_point = int(found["zero_point"].item())

    def _get_name(self) -> str:
        return "QFunctional"

    def extra_repr(self) -> str:
        return f"scale={self.scale}, zero_point={self.zero_point}"

    def forward(self, x: Any) -> Any:
        raise RuntimeError(_NO_FORWARD.format("Functional"))

    def _out(self, y: Tensor, like: Tensor) -> Tensor:
        return qF._quant(y, self.scale, self.zero_point, like.dtype)

    def add(self, x: Tensor, y: Tensor) -> Tensor:
        r = _mt.add(qF._dequant(x, "add"), qF._dequant(y, "add"))
        return self.activation_post_process(self._out(r, x))

    def add_scalar(self, x: Tensor, y: float) -> Tensor:
        scale, zero_point = _add_scalar_qparams(x, y)
        return qF._quant(_mt.add(qF._dequant(x, "add_scalar"), y), scale, zero_point, x.dtype)

    def mul(self, x: Tensor, y: Tensor) -> Tensor:
        r = _mt.mul(qF._dequant(x, "mul"), qF._dequant(y, "mul"))
        return self.activation_post_process(self._out(r, x))

    def mul_scalar(self, x: Tensor, y: float) -> Tensor:
        scale, zero_point = _mul_scalar_qparams(x, y)
        return qF._quant(_mt.mul(qF._dequant(x, "mul_scalar"), y), scale, zero_point, x.dtype)

    def cat(self, x: list[Tensor], dim: int = 0) -> Tensor:
        r = _mt.cat([qF._dequant(t, "cat") for t in x], dim=dim)
        return self.activation_post_process(self._out(r, x[0]))

    def add_relu(self, x: Tensor, y: Tensor) -> Tensor:
        r = F.relu(_mt.add(qF._dequant(x, "add_relu"), qF._dequant(y, "add_relu")))
        return self.activation_post_process(self._out(r, x))

    def matmul(self, x: Tensor, y: Tensor) -> Tensor:
        r = _mt.matmul(qF._dequant(x, "matmul"), qF._dequant(y, "matmul"))
        return self._out(r, x)

    @classmethod
    def from_float(cls, mod: Module, use_precomputed_fake_quant: bool = False) -> "QFunctional":
        if type(mod) is not FloatFunctional:
            raise TypeError("QFunctional.from_float expects an instance of FloatFunctional, "
                            f"got {type(mod).__name__}")
        scale, zero_point = _calibrated_qparams(getattr(mod, "activation_post_process", None),
                                                "QFunctional")
        new_mod = cls()
        new_mod.scale, new_mod.zero_point = scale, zero_point
        return new_mod
