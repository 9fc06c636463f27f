"""Checks of the eager flows (``quantize.py``) whose failure would otherwise give a silently
wrong model or an error deep inside that does not say which module: observers that saw no data,
qconfigs whose observer dtypes a module cannot use, ``quantize_dynamic`` asked for a type or
name with no quantized counterpart. Every message names the module by its path."""

from __future__ import annotations

from typing import Any, Callable

import mbtorch as _mt

from ... import nn
from . import qconfig as _qc
from .fake_quantize import FakeQuantizeBase
from .observer import ObserverBase

__all__: list[str] = []

_STATIC_ACT_DTYPES = (_mt.quint8, _mt.qint8)


def _describe(path: str, mod: nn.Module) -> str:
    return f"module '{path or '<root>'}' ({type(mod).__name__})"


def _is_activation_post_process(module: Any) -> bool:
    return isinstance(module, (ObserverBase, FakeQuantizeBase))


def _make_observer(qconfig: Any, path: str, mod: nn.Module, special: Callable | None) -> Any:
    """The activation observer of ``qconfig`` (or the special fixed-qparams one), with an
    error naming the module when the qconfig cannot build a usable one."""
    try:
        observer = special() if special is not None else qconfig.activation()
    except (AssertionError, ValueError, TypeError) as e:
        raise ValueError(f"prepare: invalid qconfig for {_describe(path, mod)}: {e}") from e
    dtype = getattr(observer, "dtype", None)
    if not _is_activation_post_process(observer) or dtype not in _STATIC_ACT_DTYPES:
        raise ValueError(f"prepare: invalid qconfig for {_describe(path, mod)}: the activation "
                         f"observer must produce mbtorch.quint8 or mbtorch.qint8, got "
                         f"{type(observer).__name__} with dtype {dtype} (a dynamic qconfig "
                         "belongs to quantize_dynamic)")
    return observer


def _default_dynamic_spec(dtype: Any) -> Any:
    if dtype is _mt.qint8:
        return _qc.default_dynamic_qconfig
    raise ValueError(f"quantize_dynamic: dtype {dtype} is not supported by mbtorch; use "
                     "mbtorch.qint8 (int8 weights) or pass a full qconfig_spec")


def _check_dynamic_spec(model: nn.Module, spec: dict, mapping: dict) -> None:
    """Every type or name the caller asked for must exist and, where it is a leaf, have a
    dynamically quantized counterpart (PyTorch silently leaves it in float)."""
    modules = dict(model.named_modules())
    supported = ", ".join(sorted({t.__name__ for t in mapping}))
    for key, qconfig in spec.items():
        if qconfig is None:
            continue
        if isinstance(key, str):
            if key not in modules:
                raise ValueError(f"quantize_dynamic: qconfig_spec names '{key}', which is not "
                                 "a submodule of the model")
            targets = [(key, modules[key])]
        elif isinstance(key, type):
            targets = [(p, m) for p, m in modules.items() if type(m) is key]
        else:
            raise TypeError(f"quantize_dynamic: qconfig_spec keys must be module types or "
                            f"submodule names, got {key!r}")
        for path, mod in targets:
            if not mod._modules and type(mod) not in mapping:
                raise ValueError(f"quantize_dynamic: {_describe(path, mod)} has no dynamically "
                                 f"quantized counterpart (supported: {supported})")


def _check_dynamic_qconfigs(model: nn.Module, mapping: dict) -> None:
    for path, mod in model.named_modules():
        if type(mod) in mapping and getattr(mod, "qconfig", None) is not None:
            _check_weight_qconfig(mod.qconfig, path, mod, "quantize_dynamic")


def _check_weight_qconfig(qconfig: Any, path: str, mod: nn.Module, fn: str) -> None:
    if qconfig.weight is None:
        return
    try:
        _qc._check_qconfig_dtypes(qconfig, f"{fn}: {_describe(path, mod)}",
                                  weight_dtypes=(_mt.qint8,))
    except (AssertionError, TypeError) as e:
        raise ValueError(f"{fn}: invalid qconfig for {_describe(path, mod)}: {e}") from e


def _uncalibrated(observer: nn.Module) -> bool:
    """Whether an observer (or a FakeQuantize's inner observer) never saw a tensor: its
    min/max are still the initial +inf/-inf (or empty, per channel)."""
    inner = getattr(observer, "activation_post_process", None)
    if _is_activation_post_process(inner):
        observer = inner
    lo, hi = getattr(observer, "min_val", None), getattr(observer, "max_val", None)
    if not isinstance(lo, _mt.Tensor) or not isinstance(hi, _mt.Tensor):
        return False  # fixed-qparams and placeholder observers need no data
    if lo.numel() == 0 or hi.numel() == 0:
        return True
    return bool(_mt.all(_mt.isinf(lo) & (lo > 0))) and bool(_mt.all(_mt.isinf(hi) & (hi < 0)))
