"""Fused patterns as ``Sequential`` containers (``torch.ao.nn.intrinsic.modules.fused``):
``fuse_modules`` builds them, ``prepare_qat`` / ``convert`` swap them for their QAT or
quantized counterparts. Each checks the types of its parts, as PyTorch does."""

from __future__ import annotations

from typing import Any

from mbtorch import nn
from mbtorch.nn.utils.parametrize import type_before_parametrizations

__all__ = ["ConvReLU1d", "ConvReLU2d", "ConvReLU3d", "LinearReLU", "ConvBn1d", "ConvBn2d",
           "ConvBn3d", "ConvBnReLU1d", "ConvBnReLU2d", "ConvBnReLU3d", "BNReLU2d", "BNReLU3d",
           "LinearBn1d"]


class _FusedModule(nn.Sequential):
    """Base of the fused containers; ``_PARTS`` lists the module types expected, in order."""

    _PARTS: tuple = ()

    def __init__(self, *mods: Any) -> None:
        types = [type_before_parametrizations(m) for m in mods]
        if len(mods) != len(self._PARTS) or any(t is not p for t, p in zip(types, self._PARTS)):
            names = [t.__name__ for t in types]
            names = (", ".join(names[:-1]) + ", and " + names[-1] if len(names) > 2
                     else " and ".join(names))
            raise AssertionError(f"{type(self).__name__}: Incorrect types for input modules: "
                                 f"{names} (expected "
                                 f"{', '.join(p.__name__ for p in self._PARTS)})")
        super().__init__(*mods)


class ConvReLU1d(_FusedModule):
    """Conv1d then ReLU."""

    _PARTS = (nn.Conv1d, nn.ReLU)

    def __init__(self, conv: nn.Module, relu: nn.Module) -> None:
        super().__init__(conv, relu)


class ConvReLU2d(_FusedModule):
    """Conv2d then ReLU."""

    _PARTS = (nn.Conv2d, nn.ReLU)

    def __init__(self, conv: nn.Module, relu: nn.Module) -> None:
        super().__init__(conv, relu)


class ConvReLU3d(_FusedModule):
    """Conv3d then ReLU."""

    _PARTS = (nn.Conv3d, nn.ReLU)

    def __init__(self, conv: nn.Module, relu: nn.Module) -> None:
        super().__init__(conv, relu)


class LinearReLU(_FusedModule):
    """Linear then ReLU."""

    _PARTS = (nn.Linear, nn.ReLU)

    def __init__(self, linear: nn.Module, relu: nn.Module) -> None:
        super().__init__(linear, relu)


class ConvBn1d(_FusedModule):
    """Conv1d then BatchNorm1d (training-mode fusion, for QAT)."""

    _PARTS = (nn.Conv1d, nn.BatchNorm1d)

    def __init__(self, conv: nn.Module, bn: nn.Module) -> None:
        super().__init__(conv, bn)


class ConvBn2d(_FusedModule):
    """Conv2d then BatchNorm2d (training-mode fusion, for QAT)."""

    _PARTS = (nn.Conv2d, nn.BatchNorm2d)

    def __init__(self, conv: nn.Module, bn: nn.Module) -> None:
        super().__init__(conv, bn)


class ConvBn3d(_FusedModule):
    """Conv3d then BatchNorm3d (training-mode fusion, for QAT)."""

    _PARTS = (nn.Conv3d, nn.BatchNorm3d)

    def __init__(self, conv: nn.Module, bn: nn.Module) -> None:
        super().__init__(conv, bn)


class ConvBnReLU1d(_FusedModule):
    """Conv1d, BatchNorm1d, ReLU."""

    _PARTS = (nn.Conv1d, nn.BatchNorm1d, nn.ReLU)

    def __init__(self, conv: nn.Module, bn: nn.Module, relu: nn.Module) -> None:
        super().__init__(conv, bn, relu)


class ConvBnReLU2d(_FusedModule):
    """Conv2d, BatchNorm2d, ReLU."""

    _PARTS = (nn.Conv2d, nn.BatchNorm2d, nn.ReLU)

    def __init__(self, conv: nn.Module, bn: nn.Module, relu: nn.Module) -> None:
        super().__init__(conv, bn, relu)


class ConvBnReLU3d(_FusedModule):
    """Conv3d, BatchNorm3d, ReLU."""

    _PARTS = (nn.Conv3d, nn.BatchNorm3d, nn.ReLU)

    def __init__(self, conv: nn.Module, bn: nn.Module, relu: nn.Module) -> None:
        super().__init__(conv, bn, relu)


class BNReLU2d(_FusedModule):
    """BatchNorm2d then ReLU."""

    _PARTS = (nn.BatchNorm2d, nn.ReLU)

    def __init__(self, batch_norm: nn.Module, relu: nn.Module) -> None:
        super().__init__(batch_norm, relu)


class BNReLU3d(_FusedModule):
    """BatchNorm3d then ReLU."""

    _PARTS = (nn.BatchNorm3d, nn.ReLU)

    def __init__(self, batch_norm: nn.Module, relu: nn.Module) -> None:
        super().__init__(batch_norm, relu)


class LinearBn1d(_FusedModule):
    """Linear then BatchNorm1d (training-mode fusion, for QAT)."""

    _PARTS = (nn.Linear, nn.BatchNorm1d)

    def __init__(self, linear: nn.Module, bn: nn.Module) -> None:
        super().__init__(linear, bn)
