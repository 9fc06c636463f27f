"""Define-by-run automatic differentiation.

Ops record a graph while grad mode is on and an input requires grad (``record.py``, called
by the core dispatcher); ``Tensor.backward`` / ``autograd.grad`` walk it (``engine.py``)
applying the one derivative table (``derivatives.py``). ``Function`` adds user-defined ops,
``gradcheck`` compares against finite differences, ``detect_anomaly`` finds NaN sources.
"""

from __future__ import annotations

from ..core import dispatch as _dispatch
from ..core.op import Op as _Op
from . import record as _record
from .anomaly import detect_anomaly, is_anomaly_enabled, set_detect_anomaly  # noqa: F401
from .api import backward, grad, install_tensor_methods
from .derivatives import DECOMPOSED, DERIVATIVES, HANDLED, NON_DIFFERENTIABLE  # noqa: F401
from .engine_flags import is_multithreading_enabled, set_multithreading_enabled  # noqa: F401
from .function import Function, FunctionCtx, once_differentiable  # noqa: F401
from .grad_mode import (  # noqa: F401
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from .gradcheck import gradcheck, gradgradcheck  # noqa: F401
from .graph import Node  # noqa: F401
from .variable import Variable  # noqa: F401
from . import functional  # noqa: F401,E402  (torch.autograd.functional: jacobian, hvp, ...)


class _Autograd:
    """What the dispatcher calls (``dispatch.install_autograd``)."""

    record = staticmethod(_record.record)
    record_transfer = staticmethod(_record.record_transfer)
    # ops the dispatcher runs as one recorded node: table entries and listed
    # non-differentiable ops (a composite in neither is decomposed, its parts recorded)
    derivatives = HANDLED
    grad_plan = [_dispatch.RECORD if op in DERIVATIVES else
                 _dispatch.UNRECORDED if op in NON_DIFFERENTIABLE else _dispatch.DECOMPOSE
                 for op in _Op]


install_tensor_methods()
_dispatch.install_autograd(_Autograd())

__all__ = ["backward", "grad", "Function", "FunctionCtx", "once_differentiable", "gradcheck",
           "gradgradcheck", "no_grad", "enable_grad", "set_grad_enabled", "inference_mode",
           "is_grad_enabled", "detect_anomaly", "set_detect_anomaly", "Node", "Variable",
           "functional", "is_multithreading_enabled", "set_multithreading_enabled"]
