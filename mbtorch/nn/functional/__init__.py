"""``mbtorch.nn.functional``: stateless layers, losses and helpers on public tensor ops. Each
family lives in its own module; this namespace is the union of their ``__all__`` lists."""

from . import _utils
from . import activation as _activation
from . import attention as _attention
from . import conv as _conv
from . import ctc as _ctc
from . import dropout as _dropout
from . import linear as _linear
from . import loss as _loss
from . import loss_extra as _loss_extra
from . import norm as _norm
from . import padding as _padding
from . import pooling as _pooling
from . import pooling_extra as _pooling_extra
from . import sampling as _sampling
from . import vision as _vision
from ._utils import assert_int_or_pair  # noqa: F401
from .activation import *  # noqa: F403
from .attention import *  # noqa: F403
from .conv import *  # noqa: F403
from .ctc import *  # noqa: F403
from .dropout import *  # noqa: F403
from .linear import *  # noqa: F403
from .loss import *  # noqa: F403
from .loss_extra import *  # noqa: F403
from .norm import *  # noqa: F403
from .padding import *  # noqa: F403
from .pooling import *  # noqa: F403
from .pooling_extra import *  # noqa: F403
from .sampling import *  # noqa: F403
from .vision import *  # noqa: F403

__all__ = [name for mod in (_utils, _activation, _attention, _conv, _ctc, _dropout, _linear, _loss,
                            _loss_extra, _norm, _padding, _pooling, _pooling_extra, _sampling,
                            _vision)
           for name in mod.__all__]
