"""Helpers shared by the quantized modules: weight quantization from an observer (PyTorch's
``_quantize_weight``), the ``_get_name``-based repr, and the state-dict plumbing that keeps a
module's quantized weight, float bias and output ``scale``/``zero_point`` as state-dict entries
while the module itself holds them as plain attributes (``scale`` is a Python float, as in
PyTorch, and ``weight()``/``bias()`` are methods).

State-dict layout of a weighted quantized module (``Linear``, ``Conv1d``/``Conv2d``, their fused
forms, the dynamic ``Linear``), one flat entry per tensor so that safetensors can hold it (the
dynamic ``LSTM`` uses the float LSTM's names, ``weight_ih_l0`` ... ``bias_hh_l0``):

- ``<prefix>weight``: the quantized weight (``qint8``, per-tensor or per-channel);
- ``<prefix>bias``: the float bias (absent when the module has none);
- ``<prefix>scale`` / ``<prefix>zero_point``: the output qparams as 0-d ``float64`` / ``int64``
  tensors (PyTorch stores ``float32``; ``float64`` makes the round trip exact). Dynamic modules
  have no output qparams and store neither.

PyTorch's ``Linear`` keeps the weight inside ``_packed_params._packed_params``; mbtorch has no
prepacked kernels, so its keys are those of PyTorch's quantized ``Conv2d`` for every module.
"""

from __future__ import annotations

from typing import Any

import mbtorch as _mt

from .....core.tensor import Tensor
from .....nn.modules.module import Module

__all__ = ["WeightedQuantizedModule"]

_PER_TENSOR = ("per_tensor_affine", "per_tensor_symmetric")
_PER_CHANNEL = ("per_channel_affine", "per_channel_symmetric")


def _scheme_name(qscheme: Any) -> str:
    return str(qscheme).rsplit(".", 1)[-1]


def _quantized_repr(module: Module) -> str:
    """``Module.__repr__`` with ``_get_name()`` as the head (``QuantizedLinear(...)``), as
    PyTorch prints quantized modules."""
    extra = module.extra_repr()
    lines = extra.split("\n") if extra else []
    children = []
    for name, child in module._modules.items():
        children.append(f"({name}): " + repr(child).replace("\n", "\n  "))
    head = module._get_name() + "("
    if len(lines) == 1 and not children:
        return head + lines[0] + ")"
    if lines or children:
        head += "\n  " + "\n  ".join(lines + children) + "\n"
    return head + ")"


class _QuantizedReprMixin:
    def __repr__(self) -> str:
        return _quantized_repr(self)  # type: ignore[arg-type]


class WeightedQuantizedModule(_QuantizedReprMixin, Module):
    """Base of the quantized modules that hold a quantized weight; subclasses implement
    ``from_float`` and ``from_reference`` as PyTorch's do."""

    @classmethod
    def from_reference(cls, ref_module: Module, output_scale: float,
                       output_zero_point: int) -> Module:
        raise NotImplementedError(f"{cls.__name__}.from_reference: mbtorch has no reference "
                                  "quantized modules; use from_float")


def _weight_observer(observer: Module) -> Module:
    """A FakeQuantize's qparams come from its inner observer (``activation_post_process``)."""
    inner = getattr(observer, "activation_post_process", None)
    return inner if isinstance(inner, Module) else observer


def _clamp_int(qweight: Tensor, observer: Module, scale: Any, zero_point: Any) -> Tensor:
    """Clamp the integers to the observer's [quant_min, quant_max] when it is narrower than
    the dtype (PyTorch's ``_clamp_weights``)."""
    obs = _weight_observer(observer)
    info = _mt.iinfo(_mt.int8 if qweight.dtype is _mt.qint8 else _mt.uint8)
    qmin, qmax = getattr(obs, "quant_min", info.min), getattr(obs, "quant_max", info.max)
    if qmin <= info.min and qmax >= info.max:
        return qweight
    ints = qweight.int_repr().clamp(qmin, qmax)
    if qweight.qscheme() in (_mt.per_tensor_affine, _mt.per_tensor_symmetric):
        return _mt._make_per_tensor_quantized_tensor(ints, float(scale), int(zero_point))
    return _mt._make_per_channel_quantized_tensor(ints, scale, zero_point,
                                                  qweight.q_per_channel_axis())


def _quantize_weight(float_wt: Tensor, observer: Module) -> Tensor:
    """Quantize a float weight with the qparams of an observer that has seen it."""
    scale, zero_point = observer.calculate_qparams()
    obs = _weight_observer(observer)
    scheme = _scheme_name(obs.qscheme)
    dtype = obs.dtype
    if scheme in _PER_TENSOR:
        q = _mt.quantize_per_tensor(float_wt, float(scale), int(zero_point), dtype)
    elif scheme in _PER_CHANNEL:
        q = _mt.quantize_per_channel(float_wt, scale.to(_mt.float64),
                                     zero_point.to(_mt.int64), obs.ch_axis, dtype)
    else:
        raise ValueError(f"_quantize_weight: unexpected qscheme {obs.qscheme} of the weight "
                         f"observer {type(obs).__name__}")
    return _clamp_int(q, observer, scale, zero_point)


def _calibrated_qparams(observer: Module, owner: str) -> tuple[float, int]:
    """(scale, zero_point) of an activation observer as Python numbers."""
    if observer is None or not hasattr(observer, "calculate_qparams"):
        raise RuntimeError(f"{owner}.from_float: the float module has no observer "
                           "(activation_post_process); run prepare() and calibrate first")
    scale, zero_point = observer.calculate_qparams()
    return float(scale), int(zero_point)


def _check_weight_dtype(observer: Module, owner: str) -> None:
    dtype = _weight_observer(observer).dtype
    if dtype is not _mt.qint8:
        raise RuntimeError(f"{owner}.from_float: the weight observer must have dtype "
                           f"mbtorch.qint8, got {dtype}")


def _check_qweight(weight: Any, shape: tuple, owner: str) -> None:
    if not isinstance(weight, Tensor) or not weight.is_quantized:
        got = weight.dtype if isinstance(weight, Tensor) else type(weight).__name__
        raise TypeError(f"{owner}.set_weight_bias: weight must be a quantized tensor, got {got}")
    if weight.dtype is not _mt.qint8:
        raise TypeError(f"{owner}.set_weight_bias: weight must have dtype mbtorch.qint8, got "
                        f"{weight.dtype}")
    if tuple(weight.shape) != tuple(shape):
        raise ValueError(f"{owner}.set_weight_bias: weight must have shape {tuple(shape)}, got "
                         f"{tuple(weight.shape)}")


def _check_bias(bias: Any, n: int, owner: str) -> None:
    if bias is None:
        return
    if not isinstance(bias, Tensor) or bias.is_quantized or not bias.is_floating_point():
        raise TypeError(f"{owner}.set_weight_bias: bias must be a float tensor or None")
    if tuple(bias.shape) != (n,):
        raise ValueError(f"{owner}.set_weight_bias: bias must have shape ({n},), got "
                         f"{tuple(bias.shape)}")


def _register_state_hooks(module: Module) -> None:
    """Expose attributes as state-dict entries: ``module._qstate()`` gives {name: tensor or
    None} to save; ``module._load_qstate({name: tensor})`` takes them back. On load the
    entries are consumed by a pre-hook (and hidden from the module's own key list for that
    load), so a quantized tensor is assigned, never copied into. The hooks are module-level
    functions so that the module pickles and deep-copies."""
    module.register_state_dict_post_hook(_save_hook)
    module.register_load_state_dict_pre_hook(_load_pre_hook)
    module.register_load_state_dict_post_hook(_load_post_hook)


def _save_hook(mod: Any, out: dict, prefix: str, _meta: dict) -> None:
    consumed = mod.__dict__.get("_q_consumed", ())
    for name, value in mod._qstate().items():
        if value is not None and name not in consumed:
            out[prefix + name] = value if value.is_quantized else value.detach()


def _load_pre_hook(mod: Any, state_dict: dict, prefix: str, _meta: dict, _strict: bool,
                   _missing: list, _unexpected: list, errors: list) -> None:
    names = [n for n in mod._qstate() if prefix + n in state_dict]
    found = {n: state_dict.pop(prefix + n) for n in names}
    mod.__dict__["_q_consumed"] = set(names)
    try:
        mod._load_qstate(found)
    except (TypeError, ValueError, RuntimeError) as e:
        errors.append(f"While loading '{prefix}' ({mod._get_name()}): {e}")


def _load_post_hook(mod: Module, _incompatible: Any) -> None:
    mod.__dict__.pop("_q_consumed", None)


def _qparam_tensors(scale: float, zero_point: int) -> dict:
    return {"scale": _mt.tensor(scale, dtype=_mt.float64),
            "zero_point": _mt.tensor(zero_point, dtype=_mt.int64)}


class _QParamBuffersMixin:
    """Output ``scale``/``zero_point`` kept as buffers (PyTorch's attributes and state-dict
    entries) plus Python-number copies that ``forward`` reads: reading a buffer's value in
    ``forward`` would be a host read, which ends a graph capture (``mbtorch.export``), while
    numbers become constants of the QuantizeLinear nodes. The copies are refreshed when a
    buffer is assigned and after ``load_state_dict``."""

    def _register_qparams(self, scale: float, zero_point: int, shape: tuple = (),
                          device: Any = None, dtype: Any = None) -> None:
        def make(v: Any, **kw: Any) -> Tensor:
            return _mt.tensor([v] if shape else v, device=device, **kw)

        self.register_buffer("scale", make(scale, dtype=dtype))  # type: ignore[attr-defined]
        self.register_buffer("zero_point", make(zero_point, dtype=_mt.long))  # type: ignore
        self.register_load_state_dict_post_hook(_refresh_qparams)  # type: ignore[attr-defined]
        _refresh_qparams(self)

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        if name in ("scale", "zero_point") and "_out_qparams" in self.__dict__:
            _refresh_qparams(self)

    @property
    def _qparams(self) -> tuple[float, int]:
        return self.__dict__["_out_qparams"]


def _refresh_qparams(mod: Any, _incompatible: Any = None) -> None:
    scale, zero_point = mod._buffers["scale"], mod._buffers["zero_point"]
    mod.__dict__["_out_qparams"] = (float(scale.reshape(-1)[0].item()),
                                    int(zero_point.reshape(-1)[0].item()))
