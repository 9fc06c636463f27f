"""Every op's public function and decomposition, one module per family.

Importing this package registers all composites in ``mbtorch.core.op.OPS`` and attaches the
``Tensor`` methods.
"""

from . import binary, copying, creation, dlpack, random, ternary, unary, views  # noqa: F401
from . import gathering, indexing, joining, rearranging, sorting  # noqa: F401
from . import einsum, linalg, norms, reductions, scans, softmax, statistics  # noqa: F401
from . import attributes, combining, index_writes, matrices, searching, special  # noqa: F401
from . import windows  # noqa: F401  (after the families its decompositions use)

__all__ = []
