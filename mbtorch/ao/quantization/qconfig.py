"""``QConfig``: which observer (or fake-quantize) constructors to attach to a layer's
activation and weight; the default qconfigs per backend (``torch.ao.quantization.qconfig``).

>>> qconfig = QConfig(activation=MinMaxObserver.with_args(dtype=mbtorch.quint8),
...                   weight=default_weight_observer)
>>> model.qconfig = get_default_qconfig("x86")
"""

from __future__ import annotations

import copy
import warnings
from collections import namedtuple
from typing import Any

import mbtorch as mt
from mbtorch import nn

from .fake_quantize import (
    FakeQuantize,
    FakeQuantizeBase,
    FusedMovingAvgObsFakeQuantize,
    default_dynamic_fake_quant,
    default_fake_quant,
    default_fused_act_fake_quant,
    default_fused_per_channel_wt_fake_quant,
    default_fused_wt_fake_quant,
    default_per_channel_weight_fake_quant,
    default_weight_fake_quant,
    fused_per_channel_wt_fake_quant_range_neg_127_to_127,
    fused_wt_fake_quant_range_neg_127_to_127,
)
from .observer import (
    HistogramObserver,
    MinMaxObserver,
    MovingAverageMinMaxObserver,
    NoopObserver,
    PlaceholderObserver,
    ReuseInputObserver,
    _PartialWrapper,
    default_debug_observer,
    default_dynamic_quant_observer,
    default_float_qparams_observer,
    default_observer,
    default_per_channel_weight_observer,
    default_placeholder_observer,
    default_reuse_input_observer,
    default_weight_observer,
    per_channel_weight_observer_range_neg_127_to_127,
    weight_observer_range_neg_127_to_127,
)

__all__ = [
    "QConfig", "QConfigDynamic", "default_qconfig", "default_debug_qconfig",
    "default_per_channel_qconfig", "default_dynamic_qconfig", "per_channel_dynamic_qconfig",
    "float_qparams_weight_only_qconfig", "default_quint8_weight_qconfig",
    "default_qat_qconfig", "default_dynamic_qat_qconfig", "default_weight_only_qconfig",
    "default_activation_only_qconfig", "default_qat_qconfig_v2", "default_reuse_input_qconfig",
    "default_symmetric_qnnpack_qconfig", "default_per_channel_symmetric_qnnpack_qconfig",
    "default_symmetric_qnnpack_qat_qconfig",
    "default_per_channel_symmetric_qnnpack_qat_qconfig", "get_default_qconfig",
    "get_default_qat_qconfig", "get_default_qconfig_dict", "get_default_qat_qconfig_dict",
    "QConfigAny", "qconfig_equals",
]

_BACKENDS = ["fbgemm", "x86", "qnnpack", "onednn"]


class QConfig(namedtuple("QConfig", ["activation", "weight"])):
    """Observer *constructors* (classes or ``with_args`` factories) for a layer's activation
    and weight; ``prepare`` builds fresh observers from them for every layer."""

    __slots__ = ()

    def __new__(cls, activation: Any, weight: Any) -> QConfig:
        if isinstance(activation, nn.Module) or isinstance(weight, nn.Module):
            raise ValueError("QConfig received observer instance, please pass observer class "
                             "instead. Use MyObserver.with_args(x=1) to override arguments to "
                             "constructor if needed")
        return super().__new__(cls, activation, weight)


class QConfigDynamic(namedtuple("QConfigDynamic", ["activation", "weight"])):
    """Deprecated spelling of ``QConfig`` for dynamic quantization."""

    __slots__ = ()

    def __new__(cls, activation: Any = nn.Identity, weight: Any = nn.Identity) -> Any:
        warnings.warn("`QConfigDynamic` is going to be deprecated in PyTorch 1.12, please use "
                      "`QConfig` instead", FutureWarning, stacklevel=2)
        if isinstance(weight, nn.Module):
            raise ValueError("QConfigDynamic received observer instance, please pass observer "
                             "class instead. Use MyObserver.with_args(x=1) to override "
                             "arguments to constructor if needed")
        return super().__new__(cls, activation, weight)


QConfigAny = QConfig | None

default_qconfig = QConfig(activation=default_observer, weight=default_weight_observer)
default_debug_qconfig = QConfig(weight=default_weight_observer,
                                activation=default_debug_observer)
default_per_channel_qconfig = QConfig(activation=default_observer,
                                      weight=default_per_channel_weight_observer)
default_dynamic_qconfig = QConfig(activation=default_dynamic_quant_observer,
                                  weight=default_weight_observer)
per_channel_dynamic_qconfig = QConfig(activation=default_dynamic_quant_observer,
                                      weight=default_per_channel_weight_observer)
float_qparams_weight_only_qconfig = QConfig(activation=default_placeholder_observer,
                                            weight=default_float_qparams_observer)
default_qat_qconfig = QConfig(activation=default_fake_quant, weight=default_weight_fake_quant)
default_dynamic_qat_qconfig = QConfig(activation=default_dynamic_fake_quant,
                                      weight=default_weight_fake_quant)
default_weight_only_qconfig = QConfig(activation=nn.Identity, weight=default_weight_fake_quant)
default_activation_only_qconfig = QConfig(activation=default_fake_quant, weight=nn.Identity)
default_qat_qconfig_v2 = QConfig(activation=default_fused_act_fake_quant,
                                 weight=default_fused_wt_fake_quant)
default_reuse_input_qconfig = QConfig(activation=default_reuse_input_observer,
                                      weight=NoopObserver)
default_symmetric_qnnpack_qconfig = QConfig(
    activation=HistogramObserver.with_args(dtype=mt.qint8, reduce_range=False, eps=2**-12),
    weight=weight_observer_range_neg_127_to_127)
default_per_channel_symmetric_qnnpack_qconfig = QConfig(
    activation=HistogramObserver.with_args(dtype=mt.qint8, reduce_range=False, eps=2**-12),
    weight=per_channel_weight_observer_range_neg_127_to_127)
default_quint8_weight_qconfig = QConfig(activation=HistogramObserver, weight=MinMaxObserver)
_SYM_QAT_ACT = FusedMovingAvgObsFakeQuantize.with_args(
    observer=MovingAverageMinMaxObserver, quant_min=-128, quant_max=127, dtype=mt.qint8,
    reduce_range=False, eps=2**-12)
default_symmetric_qnnpack_qat_qconfig = QConfig(
    activation=_SYM_QAT_ACT, weight=fused_wt_fake_quant_range_neg_127_to_127)
default_per_channel_symmetric_qnnpack_qat_qconfig = QConfig(
    activation=_SYM_QAT_ACT, weight=fused_per_channel_wt_fake_quant_range_neg_127_to_127)


def _check_backend(fn: str, backend: Any) -> None:
    if backend not in _BACKENDS:
        raise AssertionError(f"{fn}(): backend: {backend} not supported. backend must be one "
                             f"of {_BACKENDS}")


def get_default_qconfig(backend: str = "x86", version: int = 0) -> QConfig:
    """The default post-training qconfig for ``backend`` ('x86', 'fbgemm', 'qnnpack',
    'onednn'): a histogram observer for activations (reduced range on x86/fbgemm) and a
    per-channel symmetric weight observer (per-tensor on qnnpack)."""
    _check_backend("get_default_qconfig", backend)
    if version != 0:
        raise AssertionError(f"Version number: {version} in get_default_qconfig is not "
                             "supported. Version number must be 0")
    if backend == "qnnpack":
        return QConfig(activation=HistogramObserver.with_args(reduce_range=False),
                       weight=default_weight_observer)
    reduce = backend in ("fbgemm", "x86")
    return QConfig(activation=HistogramObserver.with_args(reduce_range=reduce),
                   weight=default_per_channel_weight_observer)


def get_default_qat_qconfig(backend: str = "x86", version: int = 1) -> QConfig:
    """The default QAT qconfig for ``backend``: moving-average fake quantization of
    activations and weights (``version=1``: the fused observer + fake-quant modules)."""
    _check_backend("get_default_qat_qconfig", backend)
    if version not in (0, 1):
        raise AssertionError(f"Version number: {version}in get_default_qat_qconfig is not "
                             "supported. Version number must be 0 or 1")
    act_cls = FakeQuantize if version == 0 else FusedMovingAvgObsFakeQuantize
    act_kwargs: dict[str, Any] = {"observer": MovingAverageMinMaxObserver, "quant_min": 0,
                                  "quant_max": 255}
    if backend != "onednn":
        act_kwargs["reduce_range"] = backend != "qnnpack"
    if version == 0:
        weight = (default_weight_fake_quant if backend == "qnnpack"
                  else default_per_channel_weight_fake_quant)
    else:
        weight = (default_fused_wt_fake_quant if backend == "qnnpack"
                  else default_fused_per_channel_wt_fake_quant)
    return QConfig(activation=act_cls.with_args(**act_kwargs), weight=weight)


def get_default_qconfig_dict(backend: str = "x86", version: int = 0) -> dict:
    """Deprecated: ``get_default_qconfig_mapping(backend, version).to_dict()``."""
    warnings.warn("`mbtorch.ao.quantization.get_default_qconfig_dict` is deprecated and will be "
                  "removed in a future version. Please use "
                  "`mbtorch.ao.quantization.get_default_qconfig_mapping` instead.",
                  FutureWarning, stacklevel=2)
    from .qconfig_mapping import get_default_qconfig_mapping

    return get_default_qconfig_mapping(backend, version).to_dict()


def get_default_qat_qconfig_dict(backend: str = "x86", version: int = 1) -> dict:
    """Deprecated: ``get_default_qat_qconfig_mapping(backend, version).to_dict()``."""
    warnings.warn("`mbtorch.ao.quantization.get_default_qat_qconfig_dict` is deprecated and "
                  "will be removed in a future version. Please use "
                  "`mbtorch.ao.quantization.get_default_qat_qconfig_mapping` instead.",
                  FutureWarning, stacklevel=2)
    from .qconfig_mapping import get_default_qat_qconfig_mapping

    return get_default_qat_qconfig_mapping(backend, version).to_dict()


def _add_module_to_qconfig_obs_ctr(qconfig: Any, module: Any) -> Any:
    """The qconfig with constructors that build their observers on ``module``'s device
    (``prepare`` calls this as it propagates qconfigs); constructors that take no
    ``factory_kwargs`` are kept as they are."""
    if module is None or qconfig is None or qconfig._fields != ("activation", "weight"):
        return qconfig

    def device_kwargs() -> dict | None:
        devices = {p.device for p in module.parameters()} | {b.device for b in
                                                             module.buffers()}
        return {"device": next(iter(devices))} if devices else None

    def on_device(ctor: Any) -> Any:
        try:
            ctor.with_args(factory_kwargs=None)()
        except (AttributeError, TypeError):  # not a with_args factory / no factory_kwargs
            return ctor
        return ctor.with_callable_args(factory_kwargs=device_kwargs)

    return QConfig(on_device(qconfig.activation), on_device(qconfig.weight))


def _obs_or_fq_ctr_equals(a: Any, b: Any) -> bool:
    if isinstance(a, _PartialWrapper) and isinstance(b, _PartialWrapper):
        return _partial_wrapper_equals(a, b)
    return a == b


def _partial_wrapper_equals(a: _PartialWrapper, b: _PartialWrapper) -> bool:
    ka, kb = copy.copy(a.p.keywords), copy.copy(b.p.keywords)
    same = True
    if "observer" in ka and "observer" in kb:
        same = _obs_or_fq_ctr_equals(ka.pop("observer"), kb.pop("observer"))
    return a.p.func == b.p.func and a.p.args == b.p.args and same and ka == kb


def qconfig_equals(q1: Any, q2: Any) -> bool:
    """Whether two qconfigs build the same observers (``with_args`` factories compare by
    their class and bound arguments)."""
    if q1 is None or q2 is None:
        return q1 == q2
    try:
        return (_obs_or_fq_ctr_equals(q1.activation, q2.activation)
                and _obs_or_fq_ctr_equals(q1.weight, q2.weight))
    except AttributeError:
        return q1 == q2


def _activation_is_memoryless(qconfig: QConfig) -> bool:
    """Whether the activation observer keeps no history (moving average with constant 1)."""
    act = qconfig.activation()
    if isinstance(act, FakeQuantizeBase) and hasattr(act, "activation_post_process"):
        act = act.activation_post_process
    return hasattr(act, "averaging_constant") and act.averaging_constant == 1


def _is_reuse_input_qconfig(qconfig: Any) -> bool:
    return (qconfig is not None and isinstance(qconfig.activation(), ReuseInputObserver)
            and isinstance(qconfig.weight(), NoopObserver))


def _assert_valid_qconfig(qconfig: Any, mod: Any) -> None:
    """PyTorch's check: per-channel weight observers are not supported for ConvTranspose."""
    if qconfig is None or qconfig.weight is None:
        return
    if isinstance(mod, (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)):
        from .observer import MovingAveragePerChannelMinMaxObserver, PerChannelMinMaxObserver

        if isinstance(qconfig.weight(), (PerChannelMinMaxObserver,
                                         MovingAveragePerChannelMinMaxObserver)):
            raise AssertionError("Per channel weight observer is not supported yet for "
                                 "ConvTranspose{n}d.")


def _check_qconfig_dtypes(qconfig: Any, where: str, weight_dtypes: tuple = (),
                          activation_dtypes: tuple = ()) -> None:
    """Raise a clear error when the observers a qconfig builds have a dtype the consumer
    cannot use, e.g. a float32 weight observer where qint8 is needed. ``where`` names the
    module or function for the message."""
    if qconfig is None:
        return
    for role, wanted in (("weight", weight_dtypes), ("activation", activation_dtypes)):
        ctor = getattr(qconfig, role)
        if not wanted or ctor is None:
            continue
        obs = ctor()
        dtype = getattr(obs, "dtype", None)
        if dtype not in wanted:
            raise ValueError(f"{where}: qconfig.{role} observer dtype must be one of "
                             f"{list(wanted)}, got {dtype} ({type(obs).__name__})")


_default_fp32_placeholder_qconfig = QConfig(
    activation=PlaceholderObserver.with_args(dtype=mt.float32),
    weight=PlaceholderObserver.with_args(dtype=mt.float32))
_default_quint8_placeholder_qconfig = QConfig(
    activation=PlaceholderObserver.with_args(dtype=mt.quint8), weight=None)
