"""Every op's public function and decomposition, one module per family.

Importing this package registers all composites in ``mbtorch.core.op.OPS`` and installs the
``Tensor`` methods: each module lists the torch-level functions it contributes to ``mbtorch`` in
``__all__`` and the ``Tensor`` methods it provides in ``TENSOR_METHODS``; this is the one place
that puts the tables on the class (``mbtorch.core.tensor.install_methods``).
"""

from . import binary, copying, creation, dlpack, random, ternary, unary, views  # noqa: F401
from . import gathering, indexing, joining, rearranging, sorting  # noqa: F401
from . import einsum, linalg, norms, reductions, scans, softmax, statistics  # noqa: F401
from . import attributes, combining, index_writes, matrices, searching, special  # noqa: F401
from . import bessel, errorfn, gamma  # noqa: F401
from . import sampling, windows  # noqa: F401  (windows after the families it uses)
from . import convolution  # noqa: F401  (after windows)
from . import quantize  # noqa: F401  (quantized tensors: mbtorch/core/quantized.py)
from . import decompositions, factorizations, householder, ldl, matfuncs, solvers  # noqa: F401

from ..tensor import install_methods

__all__ = []

# binary.py still attaches its methods itself (mbtorch.core.tensor.tensor_method)
install_methods(
    copying, creation, dlpack, random, ternary, unary, views, gathering, indexing, joining,
    rearranging, sorting, linalg, norms, reductions, scans, softmax, statistics, attributes,
    index_writes, matrices, searching, special, gamma, errorfn, bessel, sampling,
    decompositions, householder, matfuncs, quantize,
)

# math, statistics, splitting and indexing compositions (issue 15), after the families they use
from . import covariance, histograms, quantiles, scatter_reduce, splitting  # noqa: E402
from . import float_math, integer_math, integration, view_scatter  # noqa: E402, F401
from . import buffer_factories, signal_windows, spaced_ranges  # noqa: E402, F401
from . import consecutive_runs, index_math, log_cumulative, random_counts  # noqa: E402, F401

install_methods(consecutive_runs, covariance, float_math, histograms, index_math, integer_math,
                log_cumulative, quantiles, scatter_reduce, splitting, view_scatter)

# complex numbers (issue 15): after the views and joins they are built on
from . import complex  # noqa: E402

install_methods(complex)

# eigh and svd and what stands on them (issue 15)
from . import lobpcg, lowrank, spectral  # noqa: E402

install_methods(spectral)

# in-place spellings, in-place geometry, tensor metadata (issue 15)
from . import hyperbolic, inplace, inplace_views, storages, tensor_misc  # noqa: E402

install_methods(hyperbolic, inplace, inplace_views, storages, tensor_misc)
