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

from ..tensor import install_methods

__all__ = []

# binary.py still attaches its methods itself (mbtorch.core.tensor.tensor_method)
install_methods(
    copying, creation, dlpack, random, ternary, unary, views, gathering, indexing, joining,
    rearranging, sorting, linalg, norms, reductions, scans, softmax, statistics, attributes,
    index_writes, matrices, searching, special, gamma, errorfn, bessel, sampling,
)
