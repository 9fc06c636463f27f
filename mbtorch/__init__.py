"""mbtorch: a PyTorch-style tensor framework whose devices are plugins.

``import mbtorch as torch`` and write PyTorch code; ``device='cpu'`` runs on NumPy, other
devices come from separately installed backend packages (see ``mbtorch.backends.status()``).
"""

from __future__ import annotations

__version__ = "0.1.0"

from .core.device import device
from .core.dtypes import (  # noqa: F401
    bfloat16, bool, double, dtype, float, float16, float32, float64, get_default_dtype, half,
    int, int8, int16, int32, int64, long, promote_types, set_default_dtype, short, uint8,
)
from .core.formatting import set_printoptions  # noqa: F401
from .core.host import finfo, iinfo
from .core.meta import broadcast_shapes as _broadcast_two
from .core.ops.binary import *  # noqa: F401,F403
from .core.ops.copying import clone, contiguous  # noqa: F401
from .core.ops.creation import (  # noqa: F401
    arange, as_tensor, asarray, empty, empty_like, eye, from_numpy, full, full_like,
    linspace, ones, ones_like, tensor, zeros, zeros_like,
)
from .core.ops.dlpack import from_dlpack  # noqa: F401
from .core.ops.random import (  # noqa: F401
    Generator, bernoulli, default_generator, get_rng_state, initial_seed, manual_seed, normal,
    rand, rand_like, randint, randint_like, randn, randn_like, randperm, seed, set_rng_state,
)
from .core.ops.unary import *  # noqa: F401,F403
from .core.ops.gathering import *  # noqa: F401,F403
from .core.ops.indexing import *  # noqa: F401,F403
from .core.ops.joining import *  # noqa: F401,F403
from .core.ops.rearranging import *  # noqa: F401,F403
from .core.ops.sorting import *  # noqa: F401,F403
from .core.ops.views import *  # noqa: F401,F403
from .core.ops.einsum import einsum  # noqa: F401
from .core.ops.linalg import *  # noqa: F401,F403
from .core.ops.norms import cdist, dist, norm  # noqa: F401
from .core.ops.reductions import *  # noqa: F401,F403
from .core.ops.scans import *  # noqa: F401,F403
from .core.ops.softmax import *  # noqa: F401,F403
from .core.ops.special import *  # noqa: F401,F403
from .core.ops.searching import *  # noqa: F401,F403
from .core.ops.combining import *  # noqa: F401,F403
from .core.ops.matrices import *  # noqa: F401,F403
from .core.ops.index_writes import *  # noqa: F401,F403
from .core.ops.attributes import *  # noqa: F401,F403
from .core.ops.statistics import *  # noqa: F401,F403
from .core.tensor import Size, Tensor
from . import backends  # noqa: F401,E402
from . import autograd  # noqa: E402
from .autograd import (  # noqa: F401,E402
    enable_grad, inference_mode, is_grad_enabled, is_inference_mode_enabled, no_grad,
    set_grad_enabled,
)
from . import cuda, data, utils  # noqa: F401,E402
from . import linalg  # noqa: F401,E402
from .serialization import load, save  # noqa: F401,E402
from . import nn, optim  # noqa: E402
from . import distributed  # noqa: F401,E402
