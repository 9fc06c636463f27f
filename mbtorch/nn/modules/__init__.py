"""Layer classes; each family in its own module, named as PyTorch names them
(``torch.nn.modules.dropout`` -> ``mbtorch.nn.modules.dropout``), so import paths carry over.
This namespace is the union of their ``__all__`` lists."""

from . import activation, adaptive, batchnorm, channelshuffle, container, conv, distance, dropout
from . import flatten, fold, instancenorm, lazy, linear, loss, module, normalization, padding
from . import pixelshuffle, pooling, rnn, sparse, transformer, upsampling, utils
from .activation import *  # noqa: F403
from .adaptive import *  # noqa: F403
from .batchnorm import *  # noqa: F403
from .channelshuffle import *  # noqa: F403
from .container import *  # noqa: F403
from .conv import *  # noqa: F403
from .distance import *  # noqa: F403
from .dropout import *  # noqa: F403
from .fold import *  # noqa: F403
from .instancenorm import *  # noqa: F403
from .lazy import *  # noqa: F403
from .linear import *  # noqa: F403
from .loss import *  # noqa: F403
from .module import *  # noqa: F403
from .normalization import *  # noqa: F403
from .padding import *  # noqa: F403
from .pixelshuffle import *  # noqa: F403
from .pooling import *  # noqa: F403
from .rnn import *  # noqa: F403
from .transformer import *  # noqa: F403
from .upsampling import *  # noqa: F403
from .sparse import EmbeddingBag  # noqa: E402 - Embedding comes from .linear

_FAMILIES = (activation, adaptive, batchnorm, channelshuffle, container, conv, distance, dropout,
             fold, instancenorm, lazy, linear, loss, module, normalization, padding, pixelshuffle,
             pooling, rnn, transformer, upsampling)

__all__ = list(dict.fromkeys([name for fam in _FAMILIES for name in fam.__all__]
                             + ["EmbeddingBag"]))
