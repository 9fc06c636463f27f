"""Neural-network layers, losses and utilities, written only against the public Tensor API
(DESIGN.md), so they run on every backend."""

from . import functional, init, utils  # noqa: F401
from .modules import *  # noqa: F401,F403
from .parameter import Buffer, Parameter  # noqa: F401
from . import parallel  # noqa: F401,E402
