"""Count-valued random sampling: ``poisson`` and ``binomial``.

The rejection samplers live with the distributions (``mbtorch.distributions._samplers``:
Knuth's method for small Poisson rates, PTRS for large ones, exact trial counting for the
binomial); these are PyTorch's top-level functions over them, with its argument checks. They
draw from the default generator.
"""

from __future__ import annotations

from typing import Any

from ..tensor import Tensor
from .combining import broadcast_tensors
from .unary import isnan


def _check_generator(generator: Any, name: str) -> None:
    from .random import default_generator

    if generator is not None and generator is not default_generator:
        raise NotImplementedError(f"{name}(): only the default generator is supported here "
                                  "(seed it with mbtorch.manual_seed); got another Generator")


def poisson(input: Tensor, generator: Any = None) -> Tensor:
    """Samples from Poisson distributions with the rates in ``input`` (same shape and dtype).
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"poisson(): argument 'input' must be Tensor, not "
                        f"{type(input).__name__}")
    if not input._dtype.is_floating_point:
        raise NotImplementedError(f'"poisson_cpu" not implemented for '
                                  f"'{input._dtype.scalar_name}'")
    _check_generator(generator, "poisson")
    if input.numel() and bool(((input < 0) | isnan(input)).any()):
        raise RuntimeError("invalid Poisson rate, expected rate to be non-negative")
    from ...distributions._samplers import poisson as sample

    return sample(input.detach())


def binomial(count: Tensor, prob: Tensor, generator: Any = None) -> Tensor:
    """Samples of the number of successes in ``count`` trials of success probability
    ``prob`` (broadcast together; floating dtypes)."""
    for arg, t in (("count", count), ("prob", prob)):
        if not isinstance(t, Tensor):
            raise TypeError(f"binomial(): argument '{arg}' must be Tensor, not "
                            f"{type(t).__name__}")
        if not t._dtype.is_floating_point:
            raise ValueError(f"binomial only supports floating-point dtypes for {arg}, got: "
                             f"{t._dtype.scalar_name}")
    _check_generator(generator, "binomial")
    count, prob = broadcast_tensors(count.detach(), prob.detach())
    from ...distributions._samplers import binomial as sample

    # torch clamps out-of-range arguments: a negative count draws 0, prob past 1 always hits
    return sample(count.clamp_min(0), prob.to(count.dtype))


__all__ = ["binomial", "poisson"]
