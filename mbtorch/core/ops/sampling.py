"""Sampling categories from given weights: ``multinomial``, on the generator's words like
every sampler in ``random.py``, so the draws are the same on every backend.

- with replacement: one uniform ``u`` per draw; the category is the first whose cumulative
  weight exceeds ``u`` times the total (zero-weight categories are never chosen);
- without replacement: the exponential race: each category gets the key ``E / w`` with
  ``E = -log(1 - u)`` standard exponential, and the ``num_samples`` smallest keys win, in
  order. That is sequential sampling without replacement with probabilities proportional to
  the weights; once the positive categories are used up, zero-weight ones follow (as
  PyTorch's cpu kernel does).
"""

from __future__ import annotations

from typing import Any

from .. import dtypes as _dt
from ..tensor import Tensor, method_table
from . import binary as _b
from . import unary as _u
from ._common import cast
from ._generator import Generator, check_generator
from .random import uniforms
from .searching import searchsorted

__all__ = ["multinomial"]

TENSOR_METHODS: dict = {}
"""The ``Tensor`` methods this module provides, by name (installed by ``mbtorch.core.ops``)."""
tensor_method = method_table(TENSOR_METHODS)


def _check(input: Any, num_samples: Any, replacement: bool) -> int:
    if not isinstance(input, Tensor):
        raise TypeError(f"multinomial(): argument 'input' must be Tensor, not "
                        f"{type(input).__name__}")
    if input.dim() not in (1, 2):
        raise RuntimeError("multinomial(): prob_dist must be 1 or 2 dim")
    if input._dtype.category != _dt.FLOATING_CATEGORY:
        raise RuntimeError(f"multinomial(): only supports floating-point dtypes for input, got: "
                           f"{input._dtype.scalar_name}")
    if type(num_samples) is not int or num_samples <= 0:
        raise RuntimeError(f"multinomial(): cannot sample n_sample <= 0 samples (argument "
                           f"'num_samples' is {num_samples!r})")
    n_categories = input.shape[-1]
    if not replacement and num_samples > n_categories:
        raise RuntimeError("multinomial(): cannot sample n_sample > prob_dist.size(-1) samples "
                           "without replacement")
    w = input.detach().numpy(force=True)
    import numpy as np

    if not np.isfinite(w).all() or (w < 0).any():
        raise RuntimeError("multinomial(): probability tensor contains either `inf`, `nan` or "
                           "element < 0")
    positive = (w > 0).sum(-1)
    if (positive == 0).any():
        raise RuntimeError("multinomial(): invalid multinomial distribution (sum of "
                           "probabilities <= 0)")
    return n_categories


@tensor_method
def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *,
                generator: Generator | None = None) -> Tensor:
    """int64 category indices drawn with probabilities proportional to the rows of
    ``input`` (1-D: ``(num_samples,)``, 2-D: ``(rows, num_samples)``)."""
    n_categories = _check(input, num_samples, replacement)
    g = check_generator(generator, "multinomial")
    cd = _dt.float64 if input._dtype is _dt.float64 else _dt.float32
    w = cast(input.detach(), cd)
    rows = input.shape[:-1]
    if replacement:
        cdf = w.cumsum(-1)
        u = uniforms(rows + (num_samples,), 1, cd, input._device, input._be, g)[0]
        target = _b.mul(u, cdf.narrow(-1, n_categories - 1, 1))  # u times each row's total
        # the first category whose cumulative weight exceeds the target
        picked = searchsorted(cdf, target, right=True)
        return picked.clamp(max=n_categories - 1)
    u = uniforms(input.shape, 1, cd, input._device, input._be, g)[0]
    keys = _b.div(_u.neg(_u.log1p(_u.neg(u))), w)  # E / w: inf where the weight is 0
    return keys.topk(num_samples, dim=-1, largest=False, sorted=True).indices
