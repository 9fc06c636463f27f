"""Lazy layers: ``LazyLinear``, ``LazyConv*``, ``LazyConvTranspose*``, ``LazyBatchNorm*``,
``LazyInstanceNorm*``. Their weights start as ``UninitializedParameter``; the first call
infers the input size, materialises and initialises them (PyTorch's initialisation), and the
module becomes the ordinary class (``LazyLinear`` -> ``Linear``), as in PyTorch."""

from __future__ import annotations

from typing import Any

import mbtorch as _mt

from ...core.tensor import Tensor
from ..parameter import UninitializedBuffer, UninitializedParameter
from .batchnorm import BatchNorm1d, BatchNorm2d, BatchNorm3d
from .conv import Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from .instancenorm import InstanceNorm1d, InstanceNorm2d, InstanceNorm3d
from .linear import Linear

__all__ = [
    "LazyLinear", "LazyConv1d", "LazyConv2d", "LazyConv3d",
    "LazyConvTranspose1d", "LazyConvTranspose2d", "LazyConvTranspose3d", "LazyBatchNorm1d",
    "LazyBatchNorm2d", "LazyBatchNorm3d", "LazyInstanceNorm1d", "LazyInstanceNorm2d",
    "LazyInstanceNorm3d"
]


def _is_lazy(t: Any) -> bool:
    return isinstance(t, (UninitializedParameter, UninitializedBuffer))


class LazyModuleMixin:
    """Runs ``initialize_parameters(*input)`` before the first forward, then turns the module
    into ``cls_to_become``."""

    cls_to_become: type | None = None

    def _lazy_setup(self) -> None:
        self._initialize_hook = self.register_forward_pre_hook(_infer_parameters,
                                                               with_kwargs=True)

    def has_uninitialized_params(self) -> bool:
        return any(_is_lazy(t) for t in list(self._parameters.values())
                   + list(self._buffers.values()))

    def load_state_dict(self, state_dict: dict, strict: bool = True, assign: bool = False):
        """Materialise uninitialised tensors to the checkpoint's shapes, then load."""
        for store in (self._parameters, self._buffers):
            for name, t in store.items():
                if _is_lazy(t) and name in state_dict:
                    t.materialize(tuple(state_dict[name].shape))
        if not self.has_uninitialized_params():
            self._finish()
        from .module import Module

        return Module.load_state_dict(self, state_dict, strict, assign)

    def _finish(self) -> None:
        hook = self.__dict__.pop("_initialize_hook", None)
        if hook is not None:
            hook.remove()
        if self.cls_to_become is not None:
            self.__class__ = self.cls_to_become


def _infer_parameters(module: Any, args: tuple, kwargs: dict) -> None:
    with _mt.no_grad():
        module.initialize_parameters(*args, **kwargs)
    if module.has_uninitialized_params():
        raise RuntimeError(f"module {type(module).__name__} has not been fully initialized")
    module._finish()


class LazyLinear(LazyModuleMixin, Linear):
    cls_to_become = Linear

    def __init__(self, out_features: int, bias: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__(0, 0, False)
        f = {"device": device, "dtype": dtype}
        self.weight = UninitializedParameter(**f)
        self.out_features = out_features
        if bias:
            self.bias = UninitializedParameter(**f)
        self._lazy_setup()

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.in_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, input: Tensor, *args: Any, **kwargs: Any) -> None:
        if self.has_uninitialized_params():
            self.in_features = input.shape[-1]
            self.weight.materialize((self.out_features, self.in_features))
            if self.bias is not None:
                self.bias.materialize((self.out_features,))
            self.reset_parameters()


class _LazyConvMixin(LazyModuleMixin):
    def _lazy_conv(self, out_channels: int, bias: bool, f: dict) -> None:
        self.weight = UninitializedParameter(**f)
        self.out_channels = out_channels
        if bias:
            self.bias = UninitializedParameter(**f)
        self._lazy_setup()

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.in_channels != 0:
            super().reset_parameters()

    def initialize_parameters(self, input: Tensor, *args: Any, **kwargs: Any) -> None:
        if not self.has_uninitialized_params():
            return
        n = self._n
        if input.dim() not in (n + 1, n + 2):
            raise RuntimeError(f"Expected {n + 1}D (unbatched) or {n + 2}D (batched) input to "
                               f"{type(self).__name__}, but got input of size: "
                               f"{list(input.shape)}")
        self.in_channels = input.shape[1] if input.dim() == n + 2 else input.shape[0]
        if self.in_channels % self.groups:
            raise ValueError("in_channels must be divisible by groups")
        g = self.groups
        shape = ((self.in_channels, self.out_channels // g) if self._transposed
                 else (self.out_channels, self.in_channels // g)) + tuple(self.kernel_size)
        self.weight.materialize(shape)
        if self.bias is not None:
            self.bias.materialize((self.out_channels,))
        self.reset_parameters()


def _lazy_conv_class(name: str, base: type) -> type:
    transposed = base._transposed

    def __init__(self, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 *rest: Any, bias: bool = True, device: Any = None, dtype: Any = None,
                 **kwargs: Any) -> None:
        # torch's positional orders: conv (dilation, groups, bias, padding_mode),
        # transposed conv (output_padding, groups, bias, dilation, padding_mode)
        order = (("output_padding", "groups", "bias", "dilation", "padding_mode") if transposed
                 else ("dilation", "groups", "bias", "padding_mode"))
        opts = dict(zip(order, rest))
        bias = opts.pop("bias", bias)
        opts.update(kwargs)
        base.__init__(self, 0, 0, kernel_size, stride, padding, bias=False, **opts)
        self._lazy_conv(out_channels, bias, {"device": device, "dtype": dtype})

    return type(name, (_LazyConvMixin, base), {"__init__": __init__, "cls_to_become": base,
                                               "__module__": __name__})


LazyConv1d = _lazy_conv_class("LazyConv1d", Conv1d)
LazyConv2d = _lazy_conv_class("LazyConv2d", Conv2d)
LazyConv3d = _lazy_conv_class("LazyConv3d", Conv3d)
LazyConvTranspose1d = _lazy_conv_class("LazyConvTranspose1d", ConvTranspose1d)
LazyConvTranspose2d = _lazy_conv_class("LazyConvTranspose2d", ConvTranspose2d)
LazyConvTranspose3d = _lazy_conv_class("LazyConvTranspose3d", ConvTranspose3d)


class _LazyNormMixin(LazyModuleMixin):
    def _lazy_norm(self, affine: bool, track_running_stats: bool, bias: bool, f: dict) -> None:
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = UninitializedParameter(**f)
            if bias:
                self.bias = UninitializedParameter(**f)
        if track_running_stats:
            self.running_mean = UninitializedBuffer(**f)
            self.running_var = UninitializedBuffer(**f)
            self.num_batches_tracked = _mt.tensor(0, dtype=_mt.long, device=f["device"])
        self._lazy_setup()

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.num_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, input: Tensor, *args: Any, **kwargs: Any) -> None:
        if not self.has_uninitialized_params():
            return
        self.num_features = input.shape[1]  # as PyTorch (also for unbatched instance norm)
        for name in ("weight", "bias", "running_mean", "running_var"):
            t = getattr(self, name)
            if t is not None and _is_lazy(t):
                t.materialize((self.num_features,))
        self.reset_parameters()


def _lazy_norm_class(name: str, base: type, affine_default: bool, track_default: bool) -> type:
    def __init__(self, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = affine_default, track_running_stats: bool = track_default,
                 device: Any = None, dtype: Any = None, *, bias: bool = True) -> None:
        base.__init__(self, 0, eps, momentum, False, False, device, dtype, bias=False)
        self._lazy_norm(affine, track_running_stats, bias, {"device": device, "dtype": dtype})

    return type(name, (_LazyNormMixin, base), {"__init__": __init__, "cls_to_become": base,
                                               "__module__": __name__})


LazyBatchNorm1d = _lazy_norm_class("LazyBatchNorm1d", BatchNorm1d, True, True)
LazyBatchNorm2d = _lazy_norm_class("LazyBatchNorm2d", BatchNorm2d, True, True)
LazyBatchNorm3d = _lazy_norm_class("LazyBatchNorm3d", BatchNorm3d, True, True)
# unlike InstanceNorm*d, the lazy ones default to affine and tracked statistics (PyTorch's)
LazyInstanceNorm1d = _lazy_norm_class("LazyInstanceNorm1d", InstanceNorm1d, True, True)
LazyInstanceNorm2d = _lazy_norm_class("LazyInstanceNorm2d", InstanceNorm2d, True, True)
LazyInstanceNorm3d = _lazy_norm_class("LazyInstanceNorm3d", InstanceNorm3d, True, True)
