"""``torch.ao.nn.quantized.dynamic``: ``Linear`` and ``LSTM`` with int8 weights whose inputs
are quantized on the fly and whose outputs are float.

As PyTorch's x86/fbgemm engine does, each call quantizes the input per tensor to ``quint8``
with qparams chosen from its min/max and ``reduce_range=True`` (7 bits, 0..127: fbgemm's
int8 x uint8 products accumulate in 16-bit pairs that an 8-bit input could overflow), then
computes ``dequantize(x_q) @ dequantize(W_q)^T + b`` in float. PyTorch accumulates the integer
products in int32 and scales once; the results agree to float rounding, plus a step of the
input quantization where fbgemm's vectorized quantizer rounds an element the other way.
"""

from __future__ import annotations

from typing import Any

import mbtorch as _mt

from .....core.tensor import Tensor
from .....nn import functional as F
from .....nn.modules.module import Module
from ..modules.linear import _placeholder_weight, _QuantizedLinearBase
from ..modules.utils import (
    WeightedQuantizedModule,
    _check_bias,
    _check_qweight,
    _check_weight_dtype,
    _quantize_weight,
    _register_state_hooks,
)

__all__ = ["Linear", "LSTM"]


def _dynamic_linear(x: Tensor, qweight: Tensor, bias: Tensor | None) -> Tensor:
    """``x W^T + b`` with ``x`` quantized per tensor to quint8, reduce_range (fbgemm)."""
    xq = _mt.quantize_per_tensor_dynamic(x.detach().float(), _mt.quint8, True)
    return F.linear(xq.dequantize(), qweight.dequantize(), bias)


def _weight_observer(qconfig: Any, owner: str) -> Any:
    """The qconfig's weight observer constructor (PyTorch's default dynamic one when the
    qconfig has none), checked to quantize to qint8."""
    if qconfig is not None and qconfig.weight is not None:
        ctor = qconfig.weight
    else:
        from ....quantization.qconfig import default_dynamic_qconfig

        ctor = default_dynamic_qconfig.weight
    _check_weight_dtype(ctor(), owner)
    return ctor


def _observed_qweight(weight: Tensor, ctor: Any) -> Tensor:
    observer = ctor()
    weight = weight.detach().float()
    observer(weight)
    return _quantize_weight(weight, observer)


class Linear(_QuantizedLinearBase):
    """A dynamically quantized linear layer (``torch.ao.nn.quantized.dynamic.Linear``): float
    input and output, ``qint8`` weight (per-tensor or per-channel).

    >>> m = Linear(20, 30)
    >>> m(mbtorch.randn(128, 20)).shape
    mbtorch.Size([128, 30])
    """

    _version = 4
    _HAS_OUTPUT_QPARAMS = False

    def __init__(self, in_features: int, out_features: int, bias_: bool = True,
                 dtype: Any = None) -> None:
        super().__init__(in_features, out_features, bias_, dtype)
        self.version = 4

    def forward(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor) or x.is_quantized or not x.is_floating_point():
            raise TypeError(f"{self._get_name()}: expected a float input tensor, got "
                            f"{x.dtype if isinstance(x, Tensor) else type(x).__name__}")
        return _dynamic_linear(x, self._qweight, self._bias).to(x.dtype)

    def _get_name(self) -> str:
        return "DynamicQuantizedLinear"

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"dtype={self._qweight.dtype}, qscheme={self._qweight.qscheme()}")

    @classmethod
    def _float_modules(cls) -> tuple:
        from .....nn.modules.linear import Linear as FloatLinear
        from .....nn.modules.linear import NonDynamicallyQuantizableLinear

        # PyTorch also takes a fused LinearReLU here and drops its ReLU; mbtorch refuses it
        return (FloatLinear, NonDynamicallyQuantizableLinear)

    @classmethod
    def from_float(cls, mod: Module, use_precomputed_fake_quant: bool = False) -> "Linear":
        """Quantize the weight with the qconfig's weight observer (PyTorch's default dynamic
        qconfig when the module's qconfig has none)."""
        owner = "nnqd.Linear"
        allowed = cls._float_modules()
        if type(mod) not in allowed:
            raise TypeError(f"{owner}.from_float only works for one of "
                            f"{[m.__name__ for m in allowed]}, got {type(mod).__name__}")
        if not hasattr(mod, "qconfig"):
            raise RuntimeError(f"{owner}.from_float: input float module must have qconfig "
                               "defined")
        ctor = _weight_observer(mod.qconfig, owner)
        qlinear = cls(mod.in_features, mod.out_features, mod.bias is not None)
        qlinear.set_weight_bias(_observed_qweight(mod.weight, ctor), mod.bias)
        return qlinear


class LSTM(WeightedQuantizedModule):
    """A dynamically quantized LSTM (``torch.ao.nn.quantized.dynamic.LSTM``): ``qint8`` weights
    (per tensor, one observer per weight), float biases, float input, state and output.

    As PyTorch's CPU kernel does, each layer quantizes its whole input sequence at once for the
    input-to-hidden product and the hidden state at every step for the hidden-to-hidden one.
    State-dict keys are the float LSTM's names (``weight_ih_l0`` ... ``bias_hh_l0_reverse``),
    the weights being quantized tensors; PyTorch packs them under ``_all_weight_values``.
    """

    _version = 2

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, dtype: Any = None) -> None:
        super().__init__()
        dtype = _mt.qint8 if dtype is None else dtype
        if dtype is not _mt.qint8:
            raise RuntimeError(f"DynamicQuantizedLSTM: unsupported weight dtype {dtype} "
                               "(mbtorch supports mbtorch.qint8)")
        if not bias:
            raise ValueError("DynamicQuantizedLSTM: bias=False is not supported (as PyTorch)")
        self.mode, self.dtype, self.version = "LSTM", dtype, 2
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional = bidirectional
        self._params: dict[str, Tensor] = {}
        for name, shape in self._param_shapes():
            if name.startswith("weight"):
                self._params[name] = _placeholder_weight(shape)
            else:
                self._params[name] = _mt.zeros(shape)
        _register_state_hooks(self)

    def _param_shapes(self) -> list[tuple[str, tuple]]:
        dirs = 2 if self.bidirectional else 1
        out = []
        for layer in range(self.num_layers):
            width = self.input_size if layer == 0 else self.hidden_size * dirs
            for suffix in ("", "_reverse")[:dirs]:
                g = 4 * self.hidden_size
                out += [(f"weight_ih_l{layer}{suffix}", (g, width)),
                        (f"weight_hh_l{layer}{suffix}", (g, self.hidden_size)),
                        (f"bias_ih_l{layer}{suffix}", (g,)), (f"bias_hh_l{layer}{suffix}", (g,))]
        return out

    def _qstate(self) -> dict:
        return dict(self._params)

    def _load_qstate(self, found: dict) -> None:
        shapes = dict(self._param_shapes())
        for name, value in found.items():
            if name.startswith("weight"):
                _check_qweight(value, shapes[name], self._get_name())
            else:
                _check_bias(value, shapes[name][0], self._get_name())
        self._params.update({n: v if n.startswith("weight") else v.detach()
                             for n, v in found.items()})

    def _get_name(self) -> str:
        return "DynamicQuantizedLSTM"

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        for name, default in (("num_layers", 1), ("batch_first", False), ("dropout", 0),
                              ("bidirectional", False)):
            if getattr(self, name) != default:
                s += f", {name}={getattr(self, name)}"
        return s

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None
                ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        if not isinstance(input, Tensor):
            raise NotImplementedError("DynamicQuantizedLSTM: only a padded 3-D tensor input is "
                                      f"supported, got {type(input).__name__}")
        if input.ndim != 3 or input.shape[-1] != self.input_size:
            raise ValueError(f"DynamicQuantizedLSTM: input must be 3-D with {self.input_size} "
                             f"features, got shape {tuple(input.shape)}")
        x = input.transpose(0, 1) if self.batch_first else input
        dirs = 2 if self.bidirectional else 1
        if hx is None:
            zeros = _mt.zeros(self.num_layers * dirs, x.shape[1], self.hidden_size,
                              dtype=input.dtype)
            hx = (zeros, zeros)
        h_n, c_n = [], []
        for layer in range(self.num_layers):
            outs = []
            for d, suffix in enumerate(("", "_reverse")[:dirs]):
                k = layer * dirs + d
                out, h, c = self._run_direction(x, hx[0][k], hx[1][k], f"l{layer}{suffix}",
                                                reverse=d == 1)
                outs.append(out)
                h_n.append(h)
                c_n.append(c)
            x = outs[0] if dirs == 1 else _mt.cat(outs, dim=2)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, True)
        output = x.transpose(0, 1) if self.batch_first else x
        return output, (_mt.stack(h_n), _mt.stack(c_n))

    def _run_direction(self, x: Tensor, h: Tensor, c: Tensor, key: str,
                       reverse: bool) -> tuple[Tensor, Tensor, Tensor]:
        p = self._params
        seq = x.flip(0) if reverse else x
        gates_x = _dynamic_linear(seq, p[f"weight_ih_{key}"], p[f"bias_ih_{key}"])
        outs = []
        for t in range(seq.shape[0]):
            gates = gates_x[t] + _dynamic_linear(h, p[f"weight_hh_{key}"], p[f"bias_hh_{key}"])
            i, f, g, o = gates.chunk(4, dim=1)
            c = _mt.sigmoid(f) * c + _mt.sigmoid(i) * _mt.tanh(g)
            h = _mt.sigmoid(o) * _mt.tanh(c)
            outs.append(h)
        out = _mt.stack(outs)
        return (out.flip(0) if reverse else out), h, c

    @classmethod
    def from_float(cls, mod: Module, use_precomputed_fake_quant: bool = False) -> "LSTM":
        """Quantize each weight of a float ``nn.LSTM`` with its own weight observer."""
        from .....nn.modules.rnn import LSTM as FloatLSTM

        owner = "nnqd.LSTM"
        if type(mod) is not FloatLSTM:
            raise TypeError(f"{owner}.from_float only works for LSTM, got {type(mod).__name__}")
        if not hasattr(mod, "qconfig"):
            raise RuntimeError(f"{owner}.from_float: input float module must have qconfig "
                               "defined")
        if getattr(mod, "proj_size", 0):
            raise NotImplementedError(f"{owner}.from_float: proj_size is not supported")
        ctor = _weight_observer(mod.qconfig, owner)
        qlstm = cls(mod.input_size, mod.hidden_size, mod.num_layers, mod.bias, mod.batch_first,
                    mod.dropout, mod.bidirectional)
        found = {}
        for name, _ in qlstm._param_shapes():
            value = getattr(mod, name)
            found[name] = _observed_qweight(value, ctor) if name.startswith("weight") \
                else value.detach()
        qlstm._load_qstate(found)
        return qlstm
