"""``mbtorch.special``: PyTorch's special functions (``torch.special``).

The functions live in the core (``mbtorch.core.ops``: ``gamma``, ``errorfn``, ``bessel`` and
the elementwise modules); this namespace gives them PyTorch's ``special`` names. Each is a
composition of the primitives, so it runs and differentiates on every backend; the accuracy of
each is stated in its module and held to PyTorch's by tests/test_special.py.

Every function of ``torch.special`` in PyTorch 2.13 is here.
"""

from __future__ import annotations

from .core import dtypes as _dt
from .core.ops.bessel import (
    airy_ai,
    bessel_j0,
    bessel_j1,
    bessel_y0,
    bessel_y1,
    i0,
    i0e,
    i1,
    i1e,
    modified_bessel_k0,
    modified_bessel_k1,
    scaled_modified_bessel_k0,
    scaled_modified_bessel_k1,
)
from .core.ops.errorfn import (
    entr,
    erfc,
    erfcx,
    log_ndtr,
    ndtr,
    ndtri,
    sinc,
    spherical_bessel_j0,
    xlog1py,
)
from .core.ops.gamma import digamma, igamma, igammac, lgamma, mvlgamma, polygamma, zeta
from .core.ops.polynomials import (
    chebyshev_polynomial_t,
    chebyshev_polynomial_u,
    chebyshev_polynomial_v,
    chebyshev_polynomial_w,
    hermite_polynomial_h,
    hermite_polynomial_he,
    laguerre_polynomial_l,
    legendre_polynomial_p,
    shifted_chebyshev_polynomial_t,
    shifted_chebyshev_polynomial_u,
    shifted_chebyshev_polynomial_v,
    shifted_chebyshev_polynomial_w,
)
from .core.ops.softmax import log_softmax as _log_softmax
from .core.ops.softmax import logsumexp
from .core.ops.softmax import softmax as _softmax
from .core.ops.special import erfinv, logit, xlogy
from .core.ops.unary import erf, exp2, expm1, log1p, round, sigmoid
from .core.tensor import Tensor

__all__ = [
    "airy_ai", "bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "chebyshev_polynomial_t",
    "chebyshev_polynomial_u", "chebyshev_polynomial_v", "chebyshev_polynomial_w", "digamma",
    "entr", "erf", "erfc", "erfcx", "erfinv", "exp2", "expit", "expm1", "gammainc", "gammaincc",
    "gammaln", "hermite_polynomial_h", "hermite_polynomial_he", "i0", "i0e", "i1", "i1e",
    "laguerre_polynomial_l", "legendre_polynomial_p", "log1p", "log_ndtr", "log_softmax", "logit",
    "logsumexp", "modified_bessel_i0", "modified_bessel_i1", "modified_bessel_k0",
    "modified_bessel_k1", "multigammaln", "ndtr", "ndtri", "polygamma", "psi", "round",
    "scaled_modified_bessel_k0", "scaled_modified_bessel_k1", "shifted_chebyshev_polynomial_t",
    "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v",
    "shifted_chebyshev_polynomial_w", "sinc", "softmax", "spherical_bessel_j0", "xlog1py", "xlogy",
    "zeta",
]

expit = sigmoid
gammaln = lgamma
gammainc = igamma
gammaincc = igammac
psi = digamma
modified_bessel_i0 = i0
modified_bessel_i1 = i1


def multigammaln(input: Tensor, p: int) -> Tensor:
    """The multivariate log-gamma function of dimension ``p`` (``mvlgamma``)."""
    return mvlgamma(input, p)


def softmax(input: Tensor, dim: int, *, dtype: _dt.dtype | None = None) -> Tensor:
    """``exp(x) / sum(exp(x), dim)``; ``dtype`` converts the input first."""
    return _softmax(input, dim, dtype)


def log_softmax(input: Tensor, dim: int, *, dtype: _dt.dtype | None = None) -> Tensor:
    """``log(softmax(x, dim))``, computed stably; ``dtype`` converts the input first."""
    return _log_softmax(input, dim, dtype)
