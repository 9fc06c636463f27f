"""Quantized ``Linear``: ``quint8`` input, ``qint8`` weight (per-tensor or per-channel), float
bias, ``quint8`` output with the module's ``scale``/``zero_point``. The state-dict layout is
described in ``utils.py``."""

from __future__ import annotations

from typing import Any

import mbtorch as _mt

from .....core.tensor import Tensor
from .....nn.modules.module import Module
from .. import functional as qF
from .utils import (
    WeightedQuantizedModule,
    _calibrated_qparams,
    _check_bias,
    _check_qweight,
    _check_weight_dtype,
    _qparam_tensors,
    _quantize_weight,
    _register_state_hooks,
)

__all__ = ["Linear"]


def _placeholder_weight(shape: tuple) -> Tensor:
    """An all-zero ``qint8`` weight (scale 1, zero point 0) until ``set_weight_bias``; PyTorch
    starts from ``_empty_affine_quantized``."""
    return _mt._make_per_tensor_quantized_tensor(_mt.zeros(shape, dtype=_mt.int8), 1.0, 0)


class _QuantizedLinearBase(WeightedQuantizedModule):
    """Weight/bias storage, accessors and state dict shared by the static and dynamic
    ``Linear``; subclasses add ``forward`` and their output qparams."""

    _version = 3
    _HAS_OUTPUT_QPARAMS = True

    def __init__(self, in_features: int, out_features: int, bias_: bool = True,
                 dtype: Any = None) -> None:
        super().__init__()
        dtype = _mt.qint8 if dtype is None else dtype
        if dtype is not _mt.qint8:
            raise RuntimeError(f"{self._get_name()}: unsupported weight dtype {dtype} "
                               "(mbtorch supports mbtorch.qint8)")
        self.in_features, self.out_features = in_features, out_features
        self.set_weight_bias(_placeholder_weight((out_features, in_features)),
                             _mt.zeros(out_features) if bias_ else None)
        self.scale, self.zero_point = 1.0, 0
        _register_state_hooks(self)

    def _weight_bias(self) -> tuple[Tensor, Tensor | None]:
        return self._qweight, self._bias

    def weight(self) -> Tensor:
        return self._qweight

    def bias(self) -> Tensor | None:
        return self._bias

    def set_weight_bias(self, w: Tensor, b: Tensor | None) -> None:
        _check_qweight(w, (self.out_features, self.in_features), self._get_name())
        _check_bias(b, self.out_features, self._get_name())
        self._qweight = w
        self._bias = None if b is None else b.detach()

    def _qstate(self) -> dict:
        out = {"weight": self._qweight, "bias": self._bias}
        if self._HAS_OUTPUT_QPARAMS:
            out.update(_qparam_tensors(self.scale, self.zero_point))
        return out

    def _load_qstate(self, found: dict) -> None:
        if "weight" in found or "bias" in found:
            self.set_weight_bias(found.get("weight", self._qweight),
                                 found.get("bias", self._bias))
        if "scale" in found:
            self.scale = float(found["scale"].item())
        if "zero_point" in found:
            self.zero_point = int(found["zero_point"].item())


class Linear(_QuantizedLinearBase):
    """A linear layer on quantized tensors (``torch.ao.nn.quantized.Linear``).

    >>> m = Linear(20, 30)
    >>> x = mbtorch.quantize_per_tensor(mbtorch.randn(128, 20), 1.0, 0, mbtorch.quint8)
    >>> m(x).shape
    mbtorch.Size([128, 30])
    """

    def _get_name(self) -> str:
        return "QuantizedLinear"

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"scale={self.scale}, zero_point={self.zero_point}, "
                f"qscheme={self.weight().qscheme()}")

    def forward(self, x: Tensor) -> Tensor:
        return qF._linear(x, self._qweight, self._bias, self.scale, self.zero_point,
                          relu=False)

    @classmethod
    def _is_fused(cls) -> bool:
        return False

    @classmethod
    def _float_modules(cls) -> tuple:
        from .....nn.modules.linear import Linear as FloatLinear
        from .....nn.modules.linear import NonDynamicallyQuantizableLinear

        return (FloatLinear, NonDynamicallyQuantizableLinear)

    @classmethod
    def from_float(cls, mod: Module, use_precomputed_fake_quant: bool = False) -> "Linear":
        """Quantize an observed float (or QAT) module: the weight with the qconfig's weight
        observer (or the QAT module's ``weight_fake_quant``), the output with the qparams of
        its ``activation_post_process``."""
        owner = f"nnq.{cls.__name__}"
        activation_post_process = getattr(mod, "activation_post_process", None)
        if hasattr(mod, "weight_fake_quant"):
            _fold_linear_bn(mod)
            weight_post_process = mod.weight_fake_quant
        else:
            linear = _unwrap_float(cls, mod, owner)
            weight_post_process = linear.qconfig.weight()
            mod = linear
        return cls._from_parts(mod, weight_post_process, activation_post_process,
                               use_precomputed_fake_quant, owner)

    @classmethod
    def _from_parts(cls, linear: Module, weight_post_process: Module,
                    activation_post_process: Module | None, use_precomputed: bool,
                    owner: str) -> "Linear":
        weight = linear.weight.detach().float()
        if not use_precomputed:
            weight_post_process(weight)
        _check_weight_dtype(weight_post_process, owner)
        scale, zero_point = _calibrated_qparams(activation_post_process, owner)
        qlinear = cls(linear.in_features, linear.out_features, linear.bias is not None)
        qlinear.set_weight_bias(_quantize_weight(weight, weight_post_process), linear.bias)
        qlinear.scale, qlinear.zero_point = scale, zero_point
        return qlinear


def _unwrap_float(cls: Any, mod: Module, owner: str) -> Module:
    """Check the float module's type and qconfig; a fused ``LinearReLU`` gives its Linear."""
    allowed = cls._float_modules()
    if type(mod) not in allowed:
        names = ", ".join(m.__name__ for m in allowed)
        raise TypeError(f"{owner}.from_float only works for {names}, but got: "
                        f"{type(mod).__name__}")
    if getattr(mod, "qconfig", None) is None:
        raise RuntimeError(f"{owner}.from_float: input float module must have qconfig defined")
    if cls._is_fused():
        inner = mod[0]
        if getattr(inner, "qconfig", None) is None:
            inner.qconfig = mod.qconfig
        return inner
    return mod


def _fold_linear_bn(mod: Module) -> None:
    """A QAT ``LinearBn1d`` converts with its BatchNorm folded into the weight and bias."""
    bn = getattr(mod, "bn", None)
    if bn is None:
        return
    from .....nn.utils.fusion import fuse_linear_bn_weights

    mod.weight, mod.bias = fuse_linear_bn_weights(mod.weight, mod.bias, bn.running_mean,
                                                  bn.running_var, bn.eps, bn.weight, bn.bias)
