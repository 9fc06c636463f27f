"""The random draws the samplers and the loader need, in one place.

Every draw takes a ``mbtorch.Generator`` (or ``None`` for the default one, which
``mbtorch.manual_seed`` seeds), so a seeded generator gives the same shuffles and splits on
every run and on every device. Indices live on the host (they index Python datasets), so the
draws are made on ``cpu`` and returned as lists.
"""

from __future__ import annotations

from typing import Any

import mbtorch

__all__ = ["randperm", "randint", "multinomial", "seed"]

from ..core._lazy import lazy_import

np = lazy_import("numpy", globals(), "np")


def randperm(n: int, generator: Any) -> list[int]:
    """A random permutation of ``range(n)``."""
    return mbtorch.randperm(n, generator=generator).tolist()


def randint(high: int, size: int, generator: Any) -> list[int]:
    """``size`` ints drawn uniformly from ``[0, high)``."""
    return mbtorch.randint(0, high, (size,), generator=generator).tolist()


def _check_weights(w: np.ndarray, num_samples: int, replacement: bool) -> None:
    # torch.multinomial's checks and messages.
    if not np.all(np.isfinite(w)):
        raise RuntimeError("invalid multinomial distribution (encountering probability entry = "
                           "infinity or NaN)")
    if np.any(w < 0):
        raise RuntimeError("invalid multinomial distribution (encountering probability entry "
                           "< 0)")
    if w.sum() <= 0:
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    if not replacement:
        if num_samples > w.size:
            raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without "
                               "replacement")
        if num_samples > np.count_nonzero(w):
            raise RuntimeError("invalid multinomial distribution (with replacement=False, not "
                               "enough non-negative category to sample)")


def multinomial(weights: Any, num_samples: int, replacement: bool,
                generator: Any) -> list[int]:
    """``num_samples`` indices drawn with probabilities proportional to ``weights`` (as
    ``torch.multinomial`` on a 1-d input)."""
    w = np.asarray(weights, dtype=np.float64)
    _check_weights(w, num_samples, replacement)
    if replacement:
        # Inverse CDF: each uniform picks the first category whose cumulative weight exceeds it.
        u = mbtorch.rand(num_samples, dtype=mbtorch.float64, generator=generator).numpy()
        cdf = np.cumsum(w)
        idx = np.searchsorted(cdf, u * cdf[-1], side="right")
        return np.minimum(idx, w.size - 1).tolist()
    # Without replacement: the k largest w / Exp(1) keys (the exponential race, as torch).
    u = mbtorch.rand(w.size, dtype=mbtorch.float64, generator=generator).numpy()
    with np.errstate(divide="ignore"):
        keys = w / -np.log1p(-u)
    return np.argsort(-keys, kind="stable")[:num_samples].tolist()


def seed(generator: Any) -> int:
    """A fresh 62-bit seed drawn from ``generator`` (the workers' base seed)."""
    return int(mbtorch.randint(0, 1 << 62, (), generator=generator).item())
