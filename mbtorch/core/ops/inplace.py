"""In-place spellings: PyTorch's top-level in-place functions (``torch.exp_(x)`` is
``x.exp_()``) and the ``Tensor`` in-place methods that are aliases of others
(``x.greater_(y)`` is ``x.gt_(y)``, ``x.arccos_()`` is ``x.acos_()``).

The top-level functions forward to the ``Tensor`` method of the same name, so each keeps one
definition (its checks, version-counter bump and autograd recording). The in-place forms of
``nn.functional``'s activations and dropouts that torch exposes at the top level
(``torch.relu_``, ``torch.dropout_``...) forward to ``mbtorch.nn.functional``, loaded on first
use.
"""

from __future__ import annotations

from typing import Any, Callable

from .. import dtypes as _dt
from ..tensor import Tensor, method_table
from . import binary as _b
from . import ternary as _t
from . import unary as _u
from .copying import write_result

# Tensor methods of the same name, forwarded to at the top level (each exists on Tensor)
_METHOD_FORWARDS = (
    "abs_", "acos_", "acosh_", "arccos_", "arccosh_", "arcsin_", "arcsinh_", "arctan_",
    "arctanh_", "as_strided_", "asin_", "asinh_", "atan_", "atanh_", "ceil_", "clamp_",
    "clamp_max_", "clamp_min_", "clip_", "cos_", "cosh_", "deg2rad_", "erf_", "erfc_", "exp2_",
    "exp_", "expm1_", "fill_", "fix_", "floor_", "frac_", "i0_", "log10_", "log1p_", "log2_",
    "log_", "logit_", "nan_to_num_", "neg_", "negative_", "rad2deg_", "reciprocal_", "relu_",
    "round_", "rsqrt_", "sigmoid_", "sin_", "sinc_", "sinh_", "sqrt_", "square_", "tan_",
    "tanh_", "trunc_", "xlogy_", "zero_",
)
# nn.functional's in-place activations and dropouts that torch has at the top level
_FUNCTIONAL_FORWARDS = (
    "selu_", "celu_", "rrelu_", "threshold_", "dropout_", "alpha_dropout_",
    "feature_alpha_dropout_", "feature_dropout_",
)

__all__ = [*_METHOD_FORWARDS, *_FUNCTIONAL_FORWARDS, "fill"]

TENSOR_METHODS: dict = {}
"""The ``Tensor`` methods this module provides, by name (installed by ``mbtorch.core.ops``)."""
tensor_method = method_table(TENSOR_METHODS)


def _check_input(input: Any, name: str) -> None:
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")


def _method_forward(name: str) -> Callable:
    def fn(input: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        _check_input(input, name)
        return getattr(type(input), name)(input, *args, **kwargs)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"``input.{name}(...)``: writes into ``input`` and returns it."
    return fn


for _name in _METHOD_FORWARDS:
    globals()[_name] = _method_forward(_name)


def fill(input: Tensor, value: Any) -> Tensor:
    """A new tensor of ``input``'s shape, dtype and device filled with ``value`` (a number or
    a 0-d tensor), as ``torch.fill``: differentiable, the gradient goes to ``value``."""
    _check_input(input, "fill")
    if isinstance(value, Tensor) and value.dim() != 0:
        raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with "
                           f"{value.dim()} dimensions.")
    from ._common import cast
    from .creation import full, full_like

    if isinstance(value, Tensor):
        v = cast(value.to(input._device), input._dtype)
    else:
        v = full((), value, dtype=input._dtype, device=input._device)
    # where(), not a new filled tensor: the result stays in the graph of input (with a zero
    # gradient) and of value, as PyTorch's FillBackward
    return _t.where(full_like(input, True, dtype=_dt.bool), v, input)


# -- nn.functional's in-place forms ---------------------------------------------------------
def _functional() -> Any:
    from ...nn import functional

    return functional


def selu_(input: Tensor) -> Tensor:
    """SELU in place (``torch.selu_``)."""
    _check_input(input, "selu_")
    return _functional().selu(input, inplace=True)


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """CELU in place (``torch.celu_``)."""
    _check_input(input, "celu_")
    return _functional().celu(input, alpha, inplace=True)


def rrelu_(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3,
           training: bool = False, generator: Any = None) -> Tensor:
    """Randomized leaky ReLU in place (``torch.rrelu_``)."""
    _check_input(input, "rrelu_")
    if generator is not None:
        raise NotImplementedError("rrelu_(): a generator argument is not supported; seed with "
                                  "mbtorch.manual_seed")
    return _functional().rrelu(input, lower, upper, training, inplace=True)


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    """``input`` where ``input > threshold``, else ``value``, in place (``torch.threshold_``)."""
    _check_input(input, "threshold_")
    return _functional().threshold(input, threshold, value, inplace=True)


def _dropout_checks(input: Tensor, p: float, train: bool, name: str, feature: bool) -> None:
    _check_input(input, name)
    if not 0.0 <= p <= 1.0:
        raise RuntimeError(f"dropout probability has to be between 0 and 1, but got {p}")
    if feature and input.dim() < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    if train and not input._dtype.is_floating_point:
        # the scaled result is floating, as PyTorch's, and cannot be written back
        raise RuntimeError(f"{name}(): result type Float can't be cast to the desired output "
                           f"type {input._dtype.scalar_name}")


def dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    """Dropout in place (``torch.dropout_``); ``input`` itself when not ``train``."""
    _dropout_checks(input, p, train, "dropout_", False)
    return _functional().dropout(input, p, train, inplace=True)


def alpha_dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    """Alpha dropout in place (``torch.alpha_dropout_``)."""
    _dropout_checks(input, p, train, "alpha_dropout_", False)
    return _functional().alpha_dropout(input, p, train, inplace=True)


def feature_dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    """Dropout of whole channels (dim 1 of an ``(N, C, *)`` input) in place
    (``torch.feature_dropout_``)."""
    _dropout_checks(input, p, train, "feature_dropout_", True)
    if not train or p == 0.0:
        return input
    from .random import rand

    keep = _b.ge(rand(tuple(input.shape[:2]) + (1,) * (input.dim() - 2),
                      dtype=input.dtype, device=input.device), p)
    scaled = _b.mul(input, 1.0 / (1.0 - p)) if p < 1.0 else _b.mul(input, 0.0)
    return write_result(input, _t.where(keep, scaled, 0.0), "feature_dropout_")


def feature_alpha_dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    """Alpha dropout of whole channels in place (``torch.feature_alpha_dropout_``)."""
    _dropout_checks(input, p, train, "feature_alpha_dropout_", True)
    return _functional().feature_alpha_dropout(input, p, train, inplace=True)


# -- Tensor in-place methods that are other methods' aliases --------------------------------
def _alias_inplace(fn: Callable, name: str) -> Callable:
    def method(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        return write_result(self, fn(self, *args, **kwargs), name)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"``{fn.__name__}`` written into ``self`` (torch's ``{name}``)."
    return method


for _name, _fn in (
        ("absolute_", _u.abs), ("arccos_", _u.acos), ("arcsin_", _u.asin),
        ("arctan_", _u.atan), ("fix_", _u.trunc), ("negative_", _u.neg),
        ("arctan2_", _b.atan2), ("greater_", _b.gt), ("greater_equal_", _b.ge),
        ("less_", _b.lt), ("less_equal_", _b.le), ("not_equal_", _b.ne),
        ("clamp_min_", _t.clamp_min), ("clamp_max_", _t.clamp_max),
        ("nan_to_num_", _t.nan_to_num)):
    TENSOR_METHODS[_name] = _alias_inplace(_fn, _name)
