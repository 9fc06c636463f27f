"""Parameter handling shared by several distributions.

The probs/logits pair, the ``(loc, scale)`` pair and the scale-tril matrix views recur
across the families ported from ``torch.distributions``; they live here once so that a
fix to one (say, how a Python-number argument sets the batch shape) reaches them all.
"""

from __future__ import annotations

from typing import Any

from ..core.tensor import Size, Tensor
from . import constraints
from ._linalg import tri_inverse
from .utils import broadcast_all, lazy_property, logits_to_probs, probs_to_logits

__all__ = [
    "BaseDistParams",
    "BinaryParamShape",
    "BinaryProbsLogits",
    "CategoricalParams",
    "LocMeanMode",
    "ScaleTrilMatrices",
    "UnitIntervalConcentrations",
    "binary_logits",
    "binary_param",
    "binary_probs",
    "count_binary_param",
    "loc_scale_param",
]

_NUMBERS = (int, float)


def binary_param(self: Any, probs: Any, logits: Any) -> Size:
    """Store exactly one of ``probs``/``logits`` (broadcast) and return the batch shape."""
    if (probs is None) == (logits is None):
        raise ValueError("Either `probs` or `logits` must be specified, but not both.")
    given = probs if probs is not None else logits
    (param,) = broadcast_all(given)
    if probs is not None:
        self.probs = param
    else:
        self.logits = param
    self._param = param
    return Size() if isinstance(given, _NUMBERS) else param.size()


def count_binary_param(self: Any, total_count: Any, probs: Any, logits: Any) -> Size:
    """As :func:`binary_param`, with ``total_count`` broadcast alongside and cast to the
    parameter's dtype (Binomial, NegativeBinomial); returns the batch shape."""
    if (probs is None) == (logits is None):
        raise ValueError("Either `probs` or `logits` must be specified, but not both.")
    if probs is not None:
        self.total_count, self.probs = broadcast_all(total_count, probs)
        self.total_count = self.total_count.type_as(self.probs)
    else:
        self.total_count, self.logits = broadcast_all(total_count, logits)
        self.total_count = self.total_count.type_as(self.logits)
    self._param = self.probs if probs is not None else self.logits
    return self._param.size()


def loc_scale_param(self: Any, loc: Any, scale: Any) -> Size:
    """Broadcast and store ``loc``/``scale``; the batch shape is empty when both are
    Python numbers, as PyTorch's."""
    self.loc, self.scale = broadcast_all(loc, scale)
    if isinstance(loc, _NUMBERS) and isinstance(scale, _NUMBERS):
        return Size()
    return self.loc.size()


def _logits_from_probs(self: Any) -> Tensor:
    return probs_to_logits(self.probs, is_binary=True)


def _probs_from_logits(self: Any) -> Tensor:
    return logits_to_probs(self.logits, is_binary=True)


# Assigned in each class body (``logits = binary_logits``) rather than inherited, so the
# lazy properties stay in the class's own ``__dict__`` as in PyTorch; lazy_property caches
# under the wrapped function's ``__name__``, which must therefore be the attribute name.
_logits_from_probs.__name__ = "logits"
_probs_from_logits.__name__ = "probs"
binary_logits = lazy_property(_logits_from_probs)
binary_probs = lazy_property(_probs_from_logits)


class BinaryProbsLogits:
    """Expansion for the families holding one of ``probs``/``logits`` (the other is
    derived lazily by :data:`binary_logits`/:data:`binary_probs`)."""

    def _expand_binary(self, cls: type, batch_shape: Any, _instance: Any,
                       names: tuple = ("probs", "logits")) -> Any:
        # ``_param`` must follow whichever parameter the original was built from
        new = self._expand_params(cls, batch_shape, _instance, names)  # type: ignore[attr-defined]
        new._param = new.probs if "probs" in self.__dict__ else new.logits
        return new


class BinaryParamShape(BinaryProbsLogits):
    """:class:`BinaryProbsLogits` plus the ``param_shape`` of the stored parameter."""

    @property
    def param_shape(self) -> Size:
        return self._param.size()  # type: ignore[attr-defined]


class LocMeanMode:
    """``mean`` and ``mode`` are both ``loc`` (symmetric unimodal families)."""

    @property
    def mean(self) -> Tensor:
        return self.loc  # type: ignore[attr-defined]

    @property
    def mode(self) -> Tensor:
        return self.loc  # type: ignore[attr-defined]


class ScaleTrilMatrices:
    """``scale_tril``/``covariance_matrix``/``precision_matrix`` derived from
    ``_unbroadcasted_scale_tril`` and expanded to the subclass's ``_matrix_shape()``."""

    @lazy_property
    def scale_tril(self) -> Tensor:
        return self._unbroadcasted_scale_tril.expand(self._matrix_shape())  # type: ignore

    @lazy_property
    def covariance_matrix(self) -> Tensor:
        lower = self._unbroadcasted_scale_tril  # type: ignore[attr-defined]
        return (lower @ lower.mT).expand(self._matrix_shape())  # type: ignore

    @lazy_property
    def precision_matrix(self) -> Tensor:
        inv = tri_inverse(self._unbroadcasted_scale_tril)  # type: ignore[attr-defined]
        return (inv.mT @ inv).expand(self._matrix_shape())  # type: ignore


class UnitIntervalConcentrations:
    """The declarations of the two-concentration families on ``[0, 1]`` (Beta, Kumaraswamy)."""

    arg_constraints = {"concentration1": constraints.positive,
                       "concentration0": constraints.positive}
    support = constraints.unit_interval
    has_rsample = True


class CategoricalParams:
    """``logits``/``probs``/``param_shape`` read through to a wrapped ``_categorical``,
    whose batch shape and category count are the wrapper's batch and event shapes."""

    def _categorical_shapes(self) -> tuple:
        cat = self._categorical  # type: ignore[attr-defined]
        return cat.batch_shape, cat.param_shape[-1:]

    @property
    def logits(self) -> Tensor:
        return self._categorical.logits  # type: ignore[attr-defined]

    @property
    def probs(self) -> Tensor:
        return self._categorical.probs  # type: ignore[attr-defined]

    @property
    def param_shape(self) -> Size:
        return self._categorical.param_shape  # type: ignore[attr-defined]


class BaseDistParams:
    """``temperature``/``logits``/``probs`` read through to ``base_dist`` (the relaxed
    wrappers around a logit-space base distribution)."""

    @property
    def temperature(self) -> Tensor:
        return self.base_dist.temperature  # type: ignore[attr-defined]

    @property
    def logits(self) -> Tensor:
        return self.base_dist.logits  # type: ignore[attr-defined]

    @property
    def probs(self) -> Tensor:
        return self.base_dist.probs  # type: ignore[attr-defined]
